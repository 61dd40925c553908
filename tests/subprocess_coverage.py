"""``pytest --decision-coverage``: line and branch coverage of the package, subprocesses included,
reported in one line at the end of the run (what .ci/run runs; issue 17).

Most of the gate runs in child processes: ``run_gate`` starts the console entry point, and git
starts the installed hooks. coverage.py (>= 7.10) follows them with ``patch = ["subprocess"]``
([tool.coverage.run] in pyproject.toml): starting coverage here puts the configuration in the
environment (``COVERAGE_PROCESS_CONFIG``), and the ``.pth`` file coverage installs starts
measuring in every Python process that inherits it: the xdist workers, the CLI, the hooks. Each
writes its own data file (``parallel``) under .coverage-data/; they are combined at the end.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".coverage-data"
# The decision modules (issue 17's list): the figures the report line gives.
DECISION = ("task/scope.py", "task/trailers.py", "task/declare.py", "gate/engine.py",
            "proof/check.py", "proof/requirements.py", "task/approvals.py",
            "receipts/build.py", "receipts/verify.py", "receipts/credit.py",
            "points/prepush.py", "points/ci.py")
TARGET_LINES, TARGET_BRANCHES = 95.0, 90.0
_STATE: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--decision-coverage", action="store_true",
                     help="measure coverage (subprocesses too) and print a line about the "
                          "decision modules at the end")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--decision-coverage") or hasattr(config, "workerinput"):
        return  # xdist workers are measured as subprocesses of this process
    import coverage

    DATA.mkdir(exist_ok=True)
    for old in DATA.glob(".coverage*"):
        old.unlink()
    cov = coverage.Coverage(data_file=str(DATA / ".coverage"),
                            config_file=str(ROOT / "pyproject.toml"))
    cov.start()   # with patch = ["subprocess"]: sets COVERAGE_PROCESS_CONFIG for children
    _STATE["cov"] = cov


def pytest_terminal_summary(terminalreporter: Any) -> None:
    cov = _STATE.pop("cov", None)
    if cov is None:
        return
    import coverage

    cov.stop()
    cov.save()
    combined = coverage.Coverage(data_file=str(DATA / ".coverage"),
                                 config_file=str(ROOT / "pyproject.toml"))
    combined.combine([str(DATA)], keep=False)
    combined.save()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        combined.json_report(outfile=str(out))
        files = json.loads(out.read_text(encoding="utf-8"))["files"]
    terminalreporter.write_line(summary_line(files))


def summary_line(files: dict[str, Any]) -> str:
    def numbers(names: list[str]) -> tuple[int, int, int, int]:
        sums = [0, 0, 0, 0]
        for name in names:
            s = files[name]["summary"]
            for i, key in enumerate(("covered_lines", "num_statements", "covered_branches",
                                     "num_branches")):
                sums[i] += s.get(key, 0)
        return sums[0], sums[1], sums[2], sums[3]

    def pct(a: int, b: int) -> float:
        return 100.0 * a / b if b else 100.0

    by_module = {name.replace(os.sep, "/").split("avorelo_gate/", 1)[-1]: name for name in files}
    decision = [by_module[m] for m in DECISION if m in by_module]
    lines, statements, branches, all_branches = numbers(decision)
    whole = numbers(list(files))
    below = [m for m in DECISION if m in by_module and (
        pct(*numbers([by_module[m]])[:2]) < TARGET_LINES
        or pct(*numbers([by_module[m]])[2:]) < TARGET_BRANCHES)]
    return (f"coverage (subprocesses included): decision modules {pct(lines, statements):.1f}% "
            f"lines, {pct(branches, all_branches):.1f}% branches; whole package "
            f"{pct(whole[0], whole[1]):.1f}% lines, {pct(whole[2], whole[3]):.1f}% branches"
            + (f"; below {TARGET_LINES:.0f}/{TARGET_BRANCHES:.0f}: {', '.join(below)}"
               if below else ""))
