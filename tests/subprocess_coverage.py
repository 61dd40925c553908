"""``pytest --decision-coverage``: line and branch coverage of the decision modules, child
processes included, reported in one line at the end of the run (issue 17).

Most of the gate runs in child processes: ``run_gate`` starts the console entry point, git
starts the installed hooks. Measuring a process costs coverage.py ~100 ms of CPU whatever it
runs (importing coverage ~80 ms, starting ~15, saving its data file ~10; 35 more when the
whole package is measured), about as much as a hook's own work, and the suite starts ~2,100
Python processes. So a process is measured only from the moment it imports its first
decision module (the README's "Testing the tests" has the numbers):

- The decision modules are ``[tool.coverage.run] include`` in pyproject.toml; the tracer
  records nothing else, and nothing else is reported.
- ``--decision-coverage`` writes a ``.pth`` file into this environment's site-packages (inert
  unless ``DECISION_COVERAGE_START`` and ``DECISION_COVERAGE_DATA`` are set; kept between
  runs so that concurrent runs never remove each other's). In a process of this environment
  it puts a finder first on ``sys.meta_path`` that, when a decision module is about to be
  imported, calls coverage.py's documented ``coverage.process_startup()`` with
  ``COVERAGE_PROCESS_START`` naming pyproject.toml, then steps aside. A process that never
  imports one (the pre-commit framework, a proof command, ``install``, ``route``, most
  post-commit hooks) never imports coverage. The variables are inherited, so the xdist
  workers, the CLI, the hooks and their children are all covered the same way;
  ``COVERAGE_PROCESS_START`` itself is not left in the environment, so grandchildren wait for
  a decision module too.
- Every decision module's lines run after its import, so starting there loses none of them.
- Each measured process writes one data file (``parallel``) in this run's directory under
  .coverage-data/ (the ``data_file`` setting reads ``DECISION_COVERAGE_DATA``: children run in
  other directories); this process combines them into .coverage-data/.coverage at the end and
  reports every decision module, measured or not.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"
DATA = ROOT / ".coverage-data"
START_VAR, DATA_VAR = "DECISION_COVERAGE_START", "DECISION_COVERAGE_DATA"
PTH = "avorelo_gate_decision_coverage.pth"
TARGET_LINES, TARGET_BRANCHES = 95.0, 90.0
_STATE: dict[str, Any] = {}

# Run by the .pth line in every Python process of this environment that has START_VAR, and
# by this process itself (with its own start function). It must stay cheap and quiet: it runs
# before anything else in the CLI and in every hook.
HOOK = '''
import os, sys


class DecisionCoverageStart:
    """Starts coverage when the first decision module is about to be imported."""

    def __init__(self, modules, start):
        self.modules, self.start = frozenset(modules), start

    def find_spec(self, name, path=None, target=None):
        if name in self.modules:
            sys.meta_path.remove(self)
            self.start()
        return None


def process_start():
    try:
        import coverage
    except ImportError:   # a Python without coverage (the pre-commit framework's own venvs)
        return
    os.environ["COVERAGE_PROCESS_START"] = os.environ["DECISION_COVERAGE_START"]
    try:
        coverage.process_startup()
    finally:
        del os.environ["COVERAGE_PROCESS_START"]
'''


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--decision-coverage", action="store_true",
                     help="measure line and branch coverage of the decision modules (child "
                          "processes too) and print one line about it at the end")


def decision_files() -> dict[str, Path]:
    """Dotted module name -> source file, from ``[tool.coverage.run] include``."""
    import coverage

    import avorelo_gate  # the copy the tests import (under mutmut: mutants/)

    patterns = coverage.Coverage(config_file=str(CONFIG)).get_option("run:include")
    assert isinstance(patterns, list) and patterns, "[tool.coverage.run] include is empty"
    package = Path(avorelo_gate.__file__).resolve().parent
    files = {}
    for pattern in patterns:
        assert pattern.startswith("*/avorelo_gate/") and pattern.endswith(".py"), pattern
        rel = pattern[len("*/avorelo_gate/"):]
        files["avorelo_gate." + rel[:-3].replace("/", ".")] = package / rel
    return files


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--decision-coverage") or hasattr(config, "workerinput"):
        return   # an xdist worker is a child process: the .pth measures it
    import coverage

    modules = decision_files()
    # This run's own directory: another run in the same checkout must not combine (and so
    # delete) this one's data files, nor this one its.
    run = DATA / f"run-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    _write_pth(HOOK, sorted(modules))
    os.environ[START_VAR] = str(CONFIG)
    os.environ[DATA_VAR] = str(run / ".coverage")
    # This process runs the tests itself when xdist is off: the same finder, starting a
    # Coverage object this process saves before combining (an atexit save would come late).
    cov = coverage.Coverage(config_file=str(CONFIG))
    namespace: dict[str, Any] = {"__name__": "decision_coverage_start"}
    exec(HOOK, namespace)
    _STATE.update(cov=cov, modules=modules, run=run)

    def start() -> None:
        cov.start()
        _STATE["started"] = True

    if any(name in sys.modules for name in modules):
        start()   # imported already: its module-level lines count as missed, never as run
    else:
        sys.meta_path.insert(0, namespace["DecisionCoverageStart"](modules, start))


def _write_pth(hook: str, modules: list[str]) -> None:
    source = hook + f"\nsys.meta_path.insert(0, DecisionCoverageStart({modules!r}, " \
                    "process_start))\n"
    # Both variables, or nothing: without DATA_VAR a child would leave its data file in the
    # test repository it runs in.
    line = (f"import os; os.environ.get({START_VAR!r}) and os.environ.get({DATA_VAR!r}) and "
            f"exec({source!r}, {{'__name__': 'decision_coverage_start'}})\n")
    target = Path(sysconfig.get_path("purelib")) / PTH
    if target.exists() and target.read_text(encoding="utf-8") == line:
        return
    tmp = target.with_name(f".{PTH}.{os.getpid()}")
    tmp.write_text(line, encoding="utf-8")
    os.replace(tmp, target)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    cov = _STATE.pop("cov", None)
    if cov is None:
        return
    import coverage

    if _STATE.pop("started", False):
        cov.stop()
        cov.save()
    began = time.perf_counter()
    run = _STATE["run"]
    parts = [p for p in run.iterdir() if p.name.startswith(".coverage.")]
    # Combined where `coverage report -m --data-file=.coverage-data/.coverage` finds it.
    combined = coverage.Coverage(data_file=str(DATA / ".coverage"), config_file=str(CONFIG))
    combined.combine([str(run)], keep=False)
    combined.save()
    shutil.rmtree(run, ignore_errors=True)
    files = _STATE["modules"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        # Named explicitly, so that a decision module no process imported shows at 0%.
        combined.json_report(morfs=[str(p) for p in files.values()], outfile=str(out))
        report = json.loads(out.read_text(encoding="utf-8"))["files"]
    terminalreporter.write_line(summary_line(report, len(parts), time.perf_counter() - began))


def summary_line(files: dict[str, Any], data_files: int, seconds: float) -> str:
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
    below = []
    for module, name in sorted(by_module.items()):
        n = numbers([name])
        if pct(*n[:2]) < TARGET_LINES or pct(*n[2:]) < TARGET_BRANCHES:
            below.append(f"{module} {pct(*n[:2]):.1f}/{pct(*n[2:]):.1f}")
    lines, statements, branches, all_branches = numbers(list(files))
    return (f"coverage (child processes included): {len(files)} decision modules "
            f"{pct(lines, statements):.1f}% lines, {pct(branches, all_branches):.1f}% "
            f"branches ({data_files} data files combined in {seconds:.1f} s)"
            + (f"; below {TARGET_LINES:.0f}/{TARGET_BRANCHES:.0f}: {', '.join(below)}"
               if below else "; each at least "
               f"{TARGET_LINES:.0f}% lines and {TARGET_BRANCHES:.0f}% branches"))
