"""Mutation testing by hand: each mutant of one module against a chosen set of kill tests.

    .venv/bin/python tools/mutation_hand.py generate                 # mutants/, no test run
    .venv/bin/python tools/mutation_hand.py run points/ci.py [--function NAME ...] \\
        [--mutants x_run_ci__mutmut_3 ...] [--again] [--timeout 180] [--jobs 2] [--in-process] \\
        -- tests/test_mutation_kills_points.py -k ci
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
- 124, the tests ran past their time limit (30 s + 5x their time on the unmutated code, at most
  ``--timeout``), or one test past 10 s + 5x its own: **timeout**, counted killed as mutmut
  counts it (the limits are several times the tests' own time, so that only a loop reaches them);
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

Tests that reach the mutant first: before the mutants, the given tests run once on the unmutated
code (they must all pass) with mutmut's trampolines reporting each call, as in mutmut's stats
pass; each mutant then meets first only the tests that called its function in their own
process, fastest first, and, if it passes them, the whole given set (a test may reach the
function only through a git hook or a CLI child, where no call is seen). On receipts/verify.py
a killed mutant took ~0.5 s instead of ~10 s. The test that killed a function's last mutant
runs first for its next one (mutants of one function mostly fall to one test). A mutant
already judged (mutation/results/, or this runner's own file) is skipped unless ``--again``;
``--mutants`` names single ones.
Stopping the runner (SIGTERM, ^C) kills the running mutants' tests and records no verdict
for them.

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
from typing import Any

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


def mutant_names(module: str, functions: list[str], only: list[str] | None = None) -> list[str]:
    meta = ROOT / "mutants" / "avorelo_gate" / (module + ".meta")
    if not meta.is_file():
        raise SystemExit(f"{meta}: no mutants; run `tools/mutation_hand.py generate` first")
    names = list(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    if only:
        # a mutant by its short name (x_f__mutmut_3) or its full one
        unknown = [m for m in only if not any(n == m or n.endswith("." + m) for n in names)]
        if unknown:
            raise SystemExit(f"{module}: no such mutant: {', '.join(unknown)}")
        names = [n for n in names if n in only or n.rsplit(".", 1)[-1] in only]
    if not functions:
        return names
    # mutmut's names: module.x_function__mutmut_N, module.x\u01c1Class\u01c1method__mutmut_N
    wanted = {"x_" + f if "." not in f else "x\u01c1" + f.replace(".", "\u01c1")
              for f in functions}
    return [n for n in names if n.rsplit(".", 1)[-1].split("__mutmut_")[0] in wanted]

def verdict_path(module: str) -> Path:
    return HAND / (module.removesuffix(".py").replace("/", ".") + ".json")


def judged(module: str) -> set[str]:
    """Mutants with a verdict in mutation/results/ (mutmut's, or merged from a hand run)."""
    results = ROOT / "mutation" / "results" / (verdict_path(module).name)
    if not results.is_file():
        return set()
    kept = json.loads(results.read_text(encoding="utf-8"))["mutants"]
    return {name for name, m in kept.items() if m["status"] != "not checked"}


def run(module: str, functions: list[str], only: list[str], again: bool, timeout: float,
        jobs: int, in_process: bool, whole_set: bool, pytest_args: list[str]) -> None:
    refresh_tests()
    names = mutant_names(module, functions, only)
    path = verdict_path(module)
    verdicts: dict[str, int] = json.loads(path.read_text()) if path.is_file() else {}
    if again:   # the named mutants run even if judged before
        verdicts = {n: rc for n, rc in verdicts.items() if n not in names}
    else:
        names = [n for n in names if n not in judged(module)]
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
    reach = Reach(whole_set)
    if todo:
        # A kill must be the mutant's doing: the given tests pass without one (in-process too,
        # when asked). The same run learns which tests reach which function (below).
        read, write = os.pipe()
        clean = os.fork()
        if clean == 0:
            os.close(read)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            rc = int(reach.learn(pytest, [*base, *pytest_args]))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(json.dumps([reach.hits, reach.seconds, reach.failed]).encode())
            os._exit(rc)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            learned = pipe.read()
        _, status = os.waitpid(clean, 0)
        hits, seconds, failed = json.loads(learned) if learned else ({}, {}, [])
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("the given tests fail without a mutant" + (
                " in-process: run without --in-process, or leave those tests out"
                if in_process else "") + "".join(f"\n  {test}" for test in failed))
        reach.hits, reach.seconds = hits, seconds
    print(f"{module}: {len(names)} mutants, {len(todo)} without a verdict", flush=True)
    running: dict[int, tuple[str, float, float]] = {}   # pid: (mutant, started, deadline)

    def stop(signum: int, _frame: object) -> None:
        # Stopped by hand: the running mutants' tests die with their process groups and get
        # no verdict (a signal is not a failed test); those judged so far are on disk.
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        raise SystemExit(f"stopped; {len(running)} running mutants left without a verdict")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while todo or running:
        while todo and len(running) < jobs:
            name = todo.pop(0)
            pid = os.fork()
            if pid == 0:
                os.setpgid(0, 0)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.environ["MUTANT_UNDER_TEST"] = name
                os._exit(reach.judge(pytest, name, base, pytest_args))
            started = time.monotonic()
            running[pid] = (name, started, started + reach.time_limit(name, timeout))
        pid, rc = wait(running)
        name, started, _ = running.pop(pid)
        killer = reach.killer_file(pid)
        if killer.is_file():
            if rc == KILLED:
                reach.killed(name, killer.read_text())
            killer.unlink()
        verdicts[name] = rc
        path.write_text(json.dumps(verdicts, indent=0, sort_keys=True) + "\n")
        print(f"{name} {rc} {time.monotonic() - started:.1f}s", flush=True)


class Reach:
    """Which tests reach which function, learnt on the unmutated code as mutmut's stats pass
    learns it (its trampoline reports every call when the mutant under test is "stats"), so
    that a mutant meets only the tests that call its function, fastest first.

    Calls are seen in the tests' own process and in every Python they start (the CLI, git
    hooks): for that pass a .pth line in this environment's site-packages (inert unless the
    mutant under test is "stats"; tests/subprocess_coverage.py's works the same way) has each
    such child append the functions it calls to the running test's file (MUTATION_REACH_FILE,
    tools/mutation_reach.py). A child whose environment was built without that variable
    goes unseen, so the tests found are a floor: a mutant they
    all pass is no verdict until explained, as before, and ``--whole-set`` runs the rest of
    the given tests too before saying so. A mutant of a function no test was seen to call
    always runs the whole set."""

    PTH = "avorelo_gate_mutation_reach.pth"

    def __init__(self, whole_set: bool = False) -> None:
        self.whole_set = whole_set
        self.hits: dict[str, list[str]] = {}      # test id: functions it called
        self.seconds: dict[str, float] = {}       # test id: its time on the unmutated code
        self.failed: list[str] = []               # tests that fail on it (none, or no run)
        # function: the tests that killed its mutants so far, the latest first. Mutants of one
        # function mostly fall to the same test, so it runs first for the next one.
        self.killers: dict[str, list[str]] = {}

    @classmethod
    def install(cls) -> None:
        """The .pth line children run at start; kept between runs (inert but for the mutant
        "stats"), so that concurrent runs never remove each other's."""
        import sysconfig

        hook = str(ROOT / "tools" / "mutation_reach.py")
        line = (f"import os; exec(open({hook!r}).read(), {{'__name__': 'mutation_reach'}}) "
                "if os.environ.get('MUTANT_UNDER_TEST') == 'stats' else None\n")
        pth = Path(sysconfig.get_path("purelib")) / cls.PTH
        if not pth.is_file() or pth.read_text() != line:
            pth.write_text(line)

    def learn(self, pytest: Any, args: list[str]) -> int:
        import tempfile

        import mutmut.mutation.trampoline as trampoline

        self.install()
        called: set[str] = set()
        trampoline.record_trampoline_hit = lambda name, caller=None: called.add(name)
        os.environ["MUTANT_UNDER_TEST"] = "stats"
        files = Path(tempfile.mkdtemp(prefix="mutation-reach-"))
        reach = self

        class Record:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
                called.clear()
                children = files / f"{len(reach.hits)}.txt"
                os.environ["MUTATION_REACH_FILE"] = str(children)
                started = time.monotonic()
                yield
                reach.seconds[item.nodeid] = time.monotonic() - started
                seen = children.read_text().split() if children.is_file() else []
                reach.hits[item.nodeid] = sorted(called.union(seen))

            def pytest_runtest_logreport(self, report: Any) -> None:
                if report.failed:
                    reach.failed.append(report.nodeid)

        try:
            return int(pytest.main(args, plugins=[Record()]))
        finally:
            shutil.rmtree(files, ignore_errors=True)

    def time_limit(self, mutant: str, most: float) -> float:
        """Seconds before the mutant counts as a loop: 30 + 5x what the tests it runs took on
        the unmutated code (mutmut's own rule is of this shape), at most ``most``. A loop in
        a function the first test calls would otherwise hold a job for ``most``."""
        tests = self.tests_of(mutant)
        if self.whole_set or not tests:
            tests = list(self.seconds)
        return min(most, 30 + 5 * sum(self.seconds.get(t, 0.0) for t in tests))

    def tests_of(self, mutant: str) -> list[str]:
        function = mutant.rsplit("__mutmut_", 1)[0]
        reaching = sorted((test for test, called in self.hits.items() if function in called),
                          key=self.seconds.__getitem__)
        killers = [t for t in self.killers.get(function, []) if t in reaching]
        return killers + [t for t in reaching if t not in killers]

    def killed(self, mutant: str, test: str) -> None:
        function = mutant.rsplit("__mutmut_", 1)[0]
        kept = self.killers.setdefault(function, [])
        if test in kept:
            kept.remove(test)
        kept.insert(0, test)

    @staticmethod
    def killer_file(pid: int) -> Path:
        return HAND / f".killer-{pid}"

    def judge(self, pytest: Any, mutant: str, base: list[str], args: list[str]) -> int:
        first = self.tests_of(mutant)
        killer = self.killer_file(os.getpid())

        class Killer:   # which test failed, for the parent's ordering of the next mutants
            def pytest_runtest_logreport(self, report: Any) -> None:
                if report.failed and not killer.exists():
                    killer.write_text(report.nodeid)

        watch = [self.per_test_limit(pytest), Killer()]
        if first:
            class Only:
                @pytest.hookimpl(trylast=True)
                def pytest_collection_modifyitems(self, items: list[Any]) -> None:
                    by_id = {item.nodeid: item for item in items}
                    items[:] = [by_id[test] for test in first if test in by_id]

            rc = int(pytest.main([*base, *args], plugins=[Only(), *watch]))
            if rc != PASSED or not self.whole_set or len(first) == len(self.hits):
                return rc

        class Rest:   # the tests not run yet (those run passed)
            @pytest.hookimpl(trylast=True)
            def pytest_collection_modifyitems(self, items: list[Any]) -> None:
                items[:] = [item for item in items if item.nodeid not in first]

        return int(pytest.main([*base, *args], plugins=[Rest(), *watch]))

    def per_test_limit(self, pytest: Any) -> object:
        """A plugin ending the run as a timeout when one test runs past 10 s + 5x its own time
        on the unmutated code: a loop the first test meets then costs seconds, not the whole
        run's limit (``_reversed_range``'s loop mutants each held a job ~11 minutes). The
        runner kills the process group, so a looping CLI or hook child dies with it."""
        seconds = self.seconds

        def expire(_signum: int, _frame: object) -> None:
            os._exit(TIMEOUT)

        class Limit:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
                if item.nodeid in seconds:   # a test not timed runs under the run's limit
                    signal.signal(signal.SIGALRM, expire)
                    signal.setitimer(signal.ITIMER_REAL, 10 + 5 * seconds[item.nodeid])
                yield
                signal.setitimer(signal.ITIMER_REAL, 0)

        return Limit()


def wait(running: dict[int, tuple[str, float, float]]) -> tuple[int, int]:
    """The next child to end, with its exit code; one past its deadline is killed (a loop)."""
    while True:
        for pid, (_, _, deadline) in running.items():
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)   # a looping child of a timed-out test
                return pid, os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
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
        current = mutant_names(module, [])
        # A function removed or moved away leaves verdicts on mutants that no longer exist.
        known = set(current)
        mutants = {name: found for name, found in kept["mutants"].items() if name in known}
        for name in current:
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
    one.add_argument("--mutants", nargs="+", default=[], metavar="NAME",
                     help="only these mutants (x_function__mutmut_3, or the full name)")
    one.add_argument("--again", action="store_true",
                     help="run mutants that already have a verdict (by default those judged "
                          "in mutation/results/ are skipped, and so are this runner's own)")
    one.add_argument("--whole-set", action="store_true",
                     help="a mutant the tests that reach it pass runs the rest of the given "
                          "tests too (for a test whose children were not seen)")
    one.add_argument("--timeout", type=float, default=900.0,
                     help="at most this many seconds of wall clock before a mutant counts as "
                          "a loop (each gets 30 + 5x its tests' time without a mutant)")
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
        run(args.module, args.function, args.mutants, args.again, args.timeout, args.jobs,
            args.in_process, args.whole_set, args.pytest_args)
    else:
        merge()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
