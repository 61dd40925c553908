"""Mutation testing of the decision code, with mutmut 3, and its report.

    .venv/bin/pip install mutmut            # not a project dependency: a developer's tool
    .venv/bin/python tools/mutation.py                       # every decision module, in order
    .venv/bin/python tools/mutation.py task/scope.py gate/engine.py   # some of them
    .venv/bin/python tools/mutation.py --report-only          # rewrite mutation/REPORT.md

Configuration is ``[tool.mutmut]`` in pyproject.toml: which modules are mutated and the test
files whose tests may kill a mutant. mutmut copies ``avorelo_gate/`` into ``mutants/``, runs the
selected tests once to learn which tests call which function (the stats pass), then for each
mutant runs only the tests that reach the mutated function, fastest first, stopping at the first
failure. tests/conftest.py makes both halves see through subprocesses: the CLI and the git hooks
import the copy the tests imported (``PACKAGE_ROOT``), and during the stats pass ``run_gate``
calls ``main()`` in the test's process so that CLI tests are attributed to what they reach.
A function reached *only* from a git hook (pre-push run by ``git push``) has no attributed test
unless an in-process test reaches it too; mutmut reports its mutants as "no tests", and the
report counts them as not killed.

The modules are run one at a time in order of importance (the order below), so a run stopped
early still leaves a report on the most important ones. Each module's verdicts are kept in
mutation/results/ (mutmut forgets them all when the test selection changes), and the report is
written from there. Survivors are listed in the report with
the reason given for them in mutation/survivors.json (``{"mutant name": "why it is equivalent,
or the test that now kills it"}``); one with no reason is marked UNEXPLAINED.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "mutation" / "REPORT.md"
REASONS = ROOT / "mutation" / "survivors.json"
RUN_NOTES = ROOT / "mutation" / "RUN.md"       # hand-written: what was run, where, how long
TIMES = ROOT / "mutation" / "times.json"
RESULTS = ROOT / "mutation" / "results"   # one kept verdict file per module

# In order of importance: what decides a verdict first, then what carries it to push and CI.
MODULES = (
    "task/scope.py", "gate/engine.py", "task/trailers.py", "task/declare.py",
    "proof/check.py", "proof/requirements.py", "task/approvals.py", "receipts/credit.py",
    "receipts/verify.py", "receipts/build.py", "points/prepush.py", "points/ci.py",
)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          34: "skipped", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout",
          255: "timeout", None: "not checked"}
NOT_KILLED = ("survived", "no tests", "suspicious")


def dotted(module: str) -> str:
    return "avorelo_gate." + module.removesuffix(".py").replace("/", ".")


def run_module(module: str, max_children: int) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children),
                    dotted(module) + ".*"], cwd=ROOT, check=False)
    return time.monotonic() - started


def statuses(module: str) -> dict[str, str]:
    meta = ROOT / "mutants" / "avorelo_gate" / (module + ".meta")
    if not meta.is_file():
        return {}
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: STATUS.get(code, "suspicious") for name, code in codes.items()}


def changed_lines(name: str) -> str:
    """The mutant's own lines (what mutmut show prints with -/+), shortened for a table."""
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout
    lines = [ln for ln in shown.splitlines()
             if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    text = " / ".join(ln[0] + " " + ln[1:].strip() for ln in lines)
    return (text[:157] + "...") if len(text) > 160 else text


def archive_path(module: str) -> Path:
    return RESULTS / (module.removesuffix(".py").replace("/", ".") + ".json")


def test_selection() -> list[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"])


def archive(module: str) -> None:
    """Keep mutmut's verdicts on ``module`` in mutation/results/: mutmut forgets every verdict
    when the test selection or the timeout changes, and the report must not depend on a
    mutants/ directory that is not in the repository. A verdict mutmut has now (a mutant re-run
    by name) replaces the kept one; a mutant it has not checked keeps its kept verdict."""
    path = archive_path(module)
    kept = json.loads(path.read_text(encoding="utf-8"))["mutants"] if path.is_file() else {}
    found = statuses(module)
    live = {name: status for name, status in found.items() if status != "not checked"}
    if not live:
        return
    merged = dict.fromkeys(found, "not checked") | {name: m["status"]
                                                    for name, m in kept.items()} | live
    mutants = {name: {"status": status,
                      "change": changed_lines(name) if status in NOT_KILLED else ""}
               for name, status in sorted(merged.items())}
    checked = sum(1 for s in merged.values() if s != "not checked")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"module": module, "checked": checked,
                                "test_selection": test_selection(), "mutants": mutants},
                               indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def kind(reason: str | None) -> str:
    """How a survivor is explained, from its reason's first word (mutation/survivors.json)."""
    if reason is None:
        return "unexplained"
    if reason.startswith("KILLED"):
        return "new test"
    if reason.startswith("Equivalent"):
        return "equivalent"
    if reason.startswith("BUG"):
        return "bug"
    return "unexplained"


def reasons() -> dict[str, str]:
    """Every survivor's reason: mutation/survivors.json, and survivors_*.json beside it (one
    per person running mutants at the same time, so that their branches merge cleanly)."""
    found: dict[str, str] = {}
    for path in sorted(REASONS.parent.glob("survivors*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


def write_report(times: dict[str, float]) -> None:
    explained = reasons()
    rows, survivors = [], []
    for module in MODULES:
        path = archive_path(module)
        if not path.is_file():
            rows.append(f"| {module} | not run | | | | | | | |")
            continue
        found = json.loads(path.read_text(encoding="utf-8"))["mutants"]
        counts = Counter(m["status"] for m in found.values())
        tested = sum(counts.values()) - counts["not checked"] - counts["skipped"]
        pending = f" of {len(found)} ({counts['not checked']} not run)" \
            if counts["not checked"] else ""
        killed = counts["killed"] + counts["timeout"]
        left = {n: m for n, m in found.items() if m["status"] in NOT_KILLED}
        kinds = Counter(kind(explained.get(n)) for n in left)
        rate = f"{100 * killed / tested:.1f}%" if tested else "-"
        now = killed + kinds["new test"]
        judged = tested - kinds["equivalent"]
        adjusted = f"{100 * now / judged:.1f}%" if judged else "-"
        rows.append(f"| {module} | {tested}{pending} | {killed} | {len(left)} | "
                    f"{kinds['equivalent']} | {kinds['new test']} | "
                    f"{kinds['unexplained'] + kinds['bug']} | {rate} ({adjusted}) | "
                    + (f"{times[module] / 60:.0f} min |" if module in times else "- |"))
        survivors += [(n, m["status"], m["change"]) for n, m in left.items()]
    out = ["# Mutation testing report", "",
           "Written by `tools/mutation.py --report-only` from the verdicts kept in "
           "mutation/results/ (mutmut 3; see README \"Testing the tests: coverage and "
           "mutation\"). *Killed* counts mutmut's timeouts; *not killed* is every survived or "
           "untested mutant, explained below as *equivalent* (no test can tell it from the "
           "original through the contract) or *new test* (killed by a test written since), "
           "or left *open*. The kill rate in brackets is (killed + new test) / (mutants run - "
           "equivalent): what today's tests kill of what can be killed.",
           "", *([RUN_NOTES.read_text(encoding="utf-8").strip(), ""] if RUN_NOTES.is_file()
                 else []),
           "| module | mutants run | killed | not killed | equivalent | new test | open | "
           "kill rate | time |",
           "|---|---|---|---|---|---|---|---|---|", *rows, "",
           "## Survivors", "",
           "Each with the reason it is equivalent to the original, the test that now kills "
           "it, the bug it shows (BUG: an xfail test), or UNEXPLAINED.", ""]
    for name, status, change in survivors:
        out.append(f"- `{name}` ({status}): `{change}`  \n  "
                   f"{explained.get(name, 'UNEXPLAINED')}")
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="paths under avorelo_gate/ (default: all)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    times: dict[str, float] = json.loads(TIMES.read_text()) if TIMES.is_file() else {}
    if not args.report_only:
        for module in args.modules or MODULES:
            if module not in MODULES:
                parser.error(f"{module}: not one of the decision modules ({', '.join(MODULES)})")
            times[module] = run_module(module, args.max_children)
            TIMES.parent.mkdir(exist_ok=True)
            TIMES.write_text(json.dumps(times, indent=1) + "\n")
            archive(module)
    for module in MODULES:   # verdicts from runs of single mutants (mutmut run NAME) too
        archive(module)
    write_report(times)
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main())
