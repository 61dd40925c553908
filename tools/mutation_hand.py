"""Mutation testing by hand: each mutant of one module against a chosen set of kill tests.

    .venv/bin/python tools/mutation_hand.py generate                 # mutants/, no test run
    .venv/bin/python tools/mutation_hand.py run points/ci.py [--function NAME ...] \\
        [--timeout 180] [--jobs 2] [--in-process] -- tests/test_mutation_kills_points.py -k ci
    .venv/bin/python tools/mutation_hand.py merge                    # into mutation/results/

Why: ``mutmut run`` first runs every selected test once to learn which tests reach which
function (the stats pass), then every test that reaches a mutant's module once more (the clean
run). On the 2-core development machine under load that took 20-35 minutes before the first
mutant, for every invocation. This runner skips both: it generates the mutants with mutmut's
own code, collects the given tests once, and for each mutant forks, switches it on exactly as
mutmut does (``MUTANT_UNDER_TEST``, read by mutmut's trampoline at every call and inherited by
the CLI and the git hooks the tests start) and runs the tests with ``-x``.

Verdicts (mutation/hand/<module>.json, one exit code per mutant, kept across runs):
- 1, a test failed: **killed**, by mutmut's own criterion (the tests are in its selection);
- 124, the tests ran past ``--timeout``: **timeout**, counted killed as mutmut counts it (give a
  timeout several times the tests' own time, so that only a loop reaches it);
- 0, every given test passed: **not a verdict**. The mutant may be killed by a test outside the
  given set, or be equivalent. ``merge`` records it as survived only when
  mutation/survivors.json explains it (equivalent, or the new test that kills it, checked by
  hand against it); otherwise it stays "not checked" and the report counts it as not run.
- anything else (an error collecting the tests, a crash): not a verdict either.

``--in-process``: the tests' CLI calls (``run_gate``) run ``main()`` in the test's process, as
mutmut's stats pass runs them, instead of a new Python each: about twice as fast for the
CLI-heavy kill tests. The mutant is on there as in a child (mutmut's trampoline reads
``MUTANT_UNDER_TEST`` at every call); the git hooks still run as children. A kill stays the
mutant's doing only if the tests pass in this mode without one, so the runner checks that
first and refuses to go on otherwise. One blind spot, found on points/ci.py: a mutant that
drops the environment the CLI passes down makes the code fall back to ``os.environ``, which
in a child holds the test's variables and in-process does not (``_check_range`` 32 survived
in-process and is killed in a child). A survivor of an in-process run is therefore re-run
without ``--in-process`` before it is called equivalent; kills need no second run.

``merge`` writes only into mutants mutmut itself has not judged: mutmut's verdict, when there
is one, stands.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HAND = ROOT / "mutation" / "hand"
KILLED, TIMEOUT, PASSED = 1, 124, 0


def generate() -> None:
    """mutants/ as ``mutmut run`` makes it before its first test: the package with every
    mutant (behind mutmut's trampolines), the also_copy files and the tests, refreshed."""
    import mutmut.__main__ as mutmut

    os.chdir(ROOT)
    mutmut.set_mutant_under_test("mutant_generation")
    (ROOT / "mutants").mkdir(exist_ok=True)
    mutmut.copy_src_dir()
    mutmut.copy_also_copy_files()
    mutmut.setup_source_paths()
    mutmut.create_mutants(2)
    refresh_tests()


def refresh_tests() -> None:
    """mutmut copies tests/ once and then skips files that exist: a kill test written since
    would not be seen. Copy them every time."""
    shutil.copytree(ROOT / "tests", ROOT / "mutants" / "tests", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))


def mutant_names(module: str, functions: list[str]) -> list[str]:
    meta = ROOT / "mutants" / "avorelo_gate" / (module + ".meta")
    if not meta.is_file():
        raise SystemExit(f"{meta}: no mutants; run `tools/mutation_hand.py generate` first")
    names = list(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    if not functions:
        return names
    # mutmut's names: module.x_function__mutmut_N, module.x\u01c1Class\u01c1method__mutmut_N
    wanted = {"x_" + f if "." not in f else "x\u01c1" + f.replace(".", "\u01c1")
              for f in functions}
    return [n for n in names if n.rsplit(".", 1)[-1].split("__mutmut_")[0] in wanted]

def verdict_path(module: str) -> Path:
    return HAND / (module.removesuffix(".py").replace("/", ".") + ".json")


def run(module: str, functions: list[str], timeout: float, jobs: int, in_process: bool,
        pytest_args: list[str]) -> None:
    refresh_tests()
    names = mutant_names(module, functions)
    path = verdict_path(module)
    verdicts: dict[str, int] = json.loads(path.read_text()) if path.is_file() else {}
    os.chdir(ROOT / "mutants")   # so that the mutated copy is the one imported
    sys.path.insert(0, os.getcwd())
    import pytest

    base = ["-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:xdist"]
    os.environ["MUTANT_UNDER_TEST"] = ""
    if in_process:
        os.environ["AVORELO_TESTS_CLI_IN_PROCESS"] = "1"   # read by tests/conftest.py
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1), os.dup(2)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    collected = pytest.main(["--collect-only", *base, *pytest_args])   # imports, once
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    if collected != 0:
        raise SystemExit(f"collecting {' '.join(pytest_args)} failed (exit {collected})")
    HAND.mkdir(parents=True, exist_ok=True)
    todo = [n for n in names if n not in verdicts]
    if in_process and todo:
        # A kill must be the mutant's doing: the given tests pass in this mode without one.
        clean = os.fork()
        if clean == 0:
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os._exit(int(pytest.main([*base, *pytest_args])))
        _, status = os.waitpid(clean, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("the given tests fail in-process without a mutant: run without "
                             "--in-process, or leave those tests out")
    print(f"{module}: {len(names)} mutants, {len(todo)} without a verdict", flush=True)
    running: dict[int, tuple[str, float]] = {}   # pid: (mutant, started)
    while todo or running:
        while todo and len(running) < jobs:
            name = todo.pop(0)
            pid = os.fork()
            if pid == 0:
                os.setpgid(0, 0)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.environ["MUTANT_UNDER_TEST"] = name
                os._exit(int(pytest.main([*base, *pytest_args])))
            running[pid] = (name, time.monotonic())
        pid, rc = wait(running, timeout)
        name, started = running.pop(pid)
        verdicts[name] = rc
        path.write_text(json.dumps(verdicts, indent=0, sort_keys=True) + "\n")
        print(f"{name} {rc} {time.monotonic() - started:.1f}s", flush=True)


def wait(running: dict[int, tuple[str, float]], timeout: float) -> tuple[int, int]:
    """The next child to end, with its exit code; one past its time is killed (a loop)."""
    while True:
        for pid, (_, started) in running.items():
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return pid, os.waitstatus_to_exitcode(status)
            if time.monotonic() > started + timeout:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)   # the tests' git and CLI children too
                os.waitpid(pid, 0)
                return pid, TIMEOUT
        time.sleep(0.05)

def merge() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import mutation

    reasons = mutation.reasons()
    for path in sorted(HAND.glob("*.json")):
        dotted = path.stem
        results = mutation.RESULTS / f"{dotted}.json"
        module = dotted.replace(".", "/") + ".py"
        kept = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {
            "module": module, "checked": 0, "test_selection": mutation.test_selection(),
            "mutants": {}}
        mutants = kept["mutants"]
        for name in mutant_names(module, []):
            mutants.setdefault(name, {"status": "not checked", "change": ""})
        counts = {"killed": 0, "timeout": 0, "survived": 0, "left": 0}
        for name, rc in json.loads(path.read_text()).items():
            if mutants.get(name, {}).get("status", "not checked") != "not checked":
                continue
            if rc in (KILLED, TIMEOUT):
                status = "killed" if rc == KILLED else "timeout"
                mutants[name] = {"status": status, "change": ""}
            elif rc == PASSED and name in reasons:
                status = "survived"
                mutants[name] = {"status": status, "change": mutation.changed_lines(name)}
            else:
                counts["left"] += 1
                continue
            counts[status] += 1
        kept["mutants"] = dict(sorted(mutants.items()))
        kept["checked"] = sum(1 for m in mutants.values() if m["status"] != "not checked")
        results.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        print(f"{module}: {counts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate")
    one = sub.add_parser("run")
    one.add_argument("module", help="a path under avorelo_gate/, e.g. points/ci.py")
    one.add_argument("--function", action="append", default=[],
                     help="only this function's mutants (repeatable; Class.method for methods)")
    one.add_argument("--timeout", type=float, default=180.0,
                     help="seconds of wall clock before a mutant counts as a loop")
    one.add_argument("--jobs", type=int, default=1, help="mutants run at once")
    one.add_argument("--in-process", action="store_true",
                     help="the tests' CLI calls run in the test's process, as in mutmut's "
                          "stats pass (about twice as fast; every given test must pass so "
                          "on the unmutated code, which the runner checks first)")
    one.add_argument("pytest_args", nargs="+", help="after --: the kill tests")
    sub.add_parser("merge")
    args = parser.parse_args()
    if args.command == "generate":
        generate()
    elif args.command == "run":
        run(args.module, args.function, args.timeout, args.jobs, args.in_process,
            args.pytest_args)
    else:
        merge()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
