"""The performance benchmark of issue 6: the gate against raw git, measured in the same run.

    python benchmarks/run.py            # the full fixtures (built once, cached)
    python benchmarks/run.py --quick    # smaller fixtures: a smoke run of every case

Each case runs once to warm up and then ``--runs`` times; the gate and its floor alternate,
sample by sample, so that a change in the machine's load falls on both. The gate and its floor
get the same repository, the same environment and the same caches (the OS page cache, warmed
by the warm-up runs of both); the gate keeps no cache of its own that the floor would lack,
except the receipt index ``route`` is specified to use warm. Exits 1 when any case misses its
ceiling (a ``--quick`` smoke run exits 0 once every case has run).
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import FIXTURES, QUICK, Sizes, bench_env, big_paths, fixture

GATE = [sys.executable, "-m", "avorelo_gate"]
MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    seconds: float
    maxrss_kb: int   # the process tree's peak (the largest process in it), from wait4
    cpu: float       # user + system seconds of the process and the children it waited for

    def __add__(self, other: Sample) -> Sample:
        return Sample(self.seconds + other.seconds, max(self.maxrss_kb, other.maxrss_kb),
                      self.cpu + other.cpu)


def run_timed(argv: Sequence[str], cwd: Path, env: dict[str, str],
              expect: int = 0) -> Sample:
    """One process, timed from spawn to reaped; its exit code must be ``expect``."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != expect:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}, expected {expect}: "
                               f"{err.read().decode(errors='replace')[:500]}")
    return Sample(elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def gate_own_peak_mb(args: Sequence[str], cwd: Path, env: dict[str, str],
                     runs: int = 3) -> float:
    """The gate's own peak RSS (its Python process, not the git processes it waits for):
    the median of ``runs`` runs of the same entry point. VmHWM is this process's own peak;
    getrusage's would also count the memory of the parent it was forked from."""
    code = ("import sys\nfrom avorelo_gate.main import main\n"
            f"rc = main({list(args)!r})\n"
            "peak = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
            "sys.stderr.write('PEAK %s\\n' % peak[0].split()[1])\n")
    peaks = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                              capture_output=True, check=False)
        line = [ln for ln in proc.stderr.decode().splitlines() if ln.startswith("PEAK ")]
        peaks.append(int(line[-1].split()[1]) / 1024)
    return statistics.median(peaks)


@dataclass(frozen=True)
class Outcome:
    name: str
    value: float          # what the goal is about: ms, a ratio, ms over the floor, µs
    gate_ms: float
    floor_ms: float | None
    unit: str             # "x" (ratio), "+ms" (delta), "ms", "s", "us"
    goal: float
    ceiling: float
    extra_ok: bool = True  # a further ceiling condition (memory)
    note: str = ""

    @property
    def status(self) -> str:
        if self.value > self.ceiling or not self.extra_ok:
            return "MISSED"
        return "MET" if self.value <= self.goal else "CEILING"


def load1() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_for_quiet(max_load: float, patience: float) -> float:
    """Wait (up to ``patience`` seconds) until the 1-minute load is under ``max_load``."""
    deadline = time.monotonic() + patience
    load = load1()
    while load > max_load and time.monotonic() < deadline:
        print(f"  load {load:.2f} > {max_load:.2f}: waiting", flush=True)
        time.sleep(15)
        load = load1()
    return load


def paired(gate: Callable[[], Sample], floor: Callable[[], Sample] | None,
           runs: int) -> tuple[list[Sample], list[Sample]]:
    """Warm up both, then alternate floor and gate ``runs`` times."""
    gate()
    if floor is not None:
        floor()
    gates: list[Sample] = []
    floors: list[Sample] = []
    for _ in range(runs):
        if floor is not None:
            floors.append(floor())
        gates.append(gate())
    return gates, floors


def ms(samples: Sequence[Sample]) -> float:
    return statistics.median(s.seconds for s in samples) * 1000


def cpu_note(gates: Sequence[Sample], floors: Sequence[Sample]) -> str:
    """CPU time (user + system, children included): what the work costs whatever the load."""
    gate = statistics.median(s.cpu for s in gates) * 1000
    if not floors:
        return f"CPU {gate:.0f} ms"
    return f"CPU {gate:.0f} ms, floor's {statistics.median(s.cpu for s in floors) * 1000:.0f} ms"


# -- the cases -----------------------------------------------------------------------------------
def case_small(env: dict[str, str], quick: bool, runs: int) -> Outcome:
    repo = fixture("small", quick)

    def floor() -> Sample:
        return (run_timed([sys.executable, "-c", "pass"], repo, env)
                + run_timed(["git", "diff", "--cached", "--numstat", "-z"], repo, env))

    gates, floors = paired(lambda: run_timed([*GATE, "hook", "pre-commit"], repo, env),
                           floor, runs)
    g, f = ms(gates), ms(floors)
    return Outcome("small commit: `hook pre-commit`", g - f, g, f, "+ms", 60, 120,
                   note=cpu_note(gates, floors))


def case_big(env: dict[str, str], quick: bool, runs: int, sizes: Sizes) -> Outcome:
    repo = fixture("big", quick)
    gates, floors = paired(
        lambda: run_timed([*GATE, "check"], repo, env, expect=1),
        lambda: run_timed(["git", "diff", "--cached", "--numstat", "-z"], repo, env),
        runs)
    g, f = ms(gates), ms(floors)
    own = gate_own_peak_mb(["check"], repo, env)
    tree = max(s.maxrss_kb for s in gates) / 1024
    return Outcome(f"{sizes.big_staged:,} staged files: `check`", g / f, g, f, "x", 1.3, 1.6,
                   extra_ok=own < 80,
                   note=f"peak RSS: the gate's process {own:.0f} MB (ceiling 80), the largest "
                   f"process it ran (git) {tree:.0f} MB; "
                   + cpu_note(gates, floors))


def case_range(env: dict[str, str], quick: bool, runs: int, sizes: Sizes) -> Outcome:
    repo = fixture("range", quick)

    base = subprocess.run(["git", "merge-base", "main", "HEAD"], cwd=repo, env=env,
                          capture_output=True, check=True).stdout.decode().strip()

    def floor() -> Sample:
        # What git needs to answer "what does this pull request change": the merge base,
        # then the diff from it (whose result is the base just computed, as git would give).
        return (run_timed(["git", "merge-base", "main", "HEAD"], repo, env)
                + run_timed(["git", "diff", "--numstat", "-z", base, "HEAD"], repo, env))

    gates, floors = paired(lambda: run_timed([*GATE, "ci", "--base", "main"], repo, env),
                           floor, runs)
    g, f = ms(gates), ms(floors)
    return Outcome(f"pull-request range ({sizes.range_commits:,} commits): `ci --base`",
                   g / f, g, f, "x", 1.5, 2.0, note=cpu_note(gates, floors))


def case_route(env: dict[str, str], quick: bool, runs: int, sizes: Sizes) -> Outcome:
    repo = fixture("receipts", quick)
    gates, _ = paired(lambda: run_timed([*GATE, "route", "--scope", "src/area7/**"], repo, env),
                      None, runs)
    g = ms(gates)
    return Outcome(f"`route` over {sizes.receipts:,} receipts, warm", g, g, None, "ms",
                   200, 400, note=cpu_note(gates, ()))


def case_verify(env: dict[str, str], quick: bool, runs: int, sizes: Sizes) -> Outcome:
    repo = fixture("receipts", quick)
    spec = f"HEAD~{sizes.verify_commits}..HEAD"
    gates, _ = paired(lambda: run_timed([*GATE, "receipt", "verify", spec], repo, env),
                      None, runs)
    g = ms(gates)
    scale = sizes.verify_commits / 1000  # the goal is 5 ms a commit (5 s for 1,000)
    return Outcome(f"`receipt verify` over {sizes.verify_commits:,} commits", g / 1000, g,
                   None, "s", 5 * scale, 10 * scale, note=cpu_note(gates, ()))


SCOPE_PATTERNS = (
    [f"src/d{i}/**" for i in range(20)]
    + [f"tests/d{i}/s{i % 10}/*.txt" for i in range(10)]
    + ["docs/**/*.md", "*.py", "**/generated/**", "!src/d3/s3/**", "!src/d5/s1/f5*.txt",
       ".avorelo/tasks/**", "build/", "src/**/s[0-4]/f1?.txt", "tests/**/fixtures/**",
       "!tests/d2/**", "lib/*/mod?.py", "**/*.rst", "vendor/**", "!vendor/keep/**",
       "scripts/*.sh", "src/d9?/**", "tools/**/*.py", "**/__pycache__/**", "README*",
       "!docs/internal/**"]
)


def case_scope(sizes: Sizes, repeats: int) -> Outcome:
    """In-process: the compiled matcher over the big fixture's paths (50 patterns)."""
    from avorelo_gate.task.scope import Matcher, match_reference

    paths = big_paths(max(sizes.big_files, 100_000))
    assert len(SCOPE_PATTERNS) == 50
    matcher = Matcher.compile(SCOPE_PATTERNS)
    sample = random.Random(6).sample(paths, 2000)
    # Same answers as pathspec (the hypothesis test in tests/test_scope.py proves it in
    # general; this guards the benchmark's own patterns).
    assert all(matcher.match(p) == match_reference(SCOPE_PATTERNS, p) for p in sample)
    match = matcher.match
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for p in paths:
            match(p)
        times.append((time.perf_counter() - start) / len(paths))
    per_path = statistics.median(times[1:]) * 1e6
    return Outcome(f"scope matching, {len(SCOPE_PATTERNS)} patterns", per_path, per_path * 1e-3,
                   None, "us", 3, 6, note=f"{len(paths):,} paths")


# -- the report ----------------------------------------------------------------------------------
def fmt_value(o: Outcome, v: float) -> str:
    if o.unit == "x":
        return f"{v:.2f}x"
    if o.unit == "+ms":
        return f"floor + {v:.0f} ms"
    if o.unit == "s":
        return f"{v:.2f} s"
    if o.unit == "us":
        return f"{v:.2f} µs/path"
    return f"{v:.0f} ms"


def table(outcomes: Sequence[Outcome]) -> str:
    rows = [("case", "median", "floor", "result", "goal", "ceiling", "status")]
    for o in outcomes:
        median = f"{o.value:.2f} µs" if o.unit == "us" else f"{o.gate_ms:.0f} ms"
        floor = f"{o.floor_ms:.0f} ms" if o.floor_ms is not None else "-"
        rows.append((o.name, median, floor, fmt_value(o, o.value), fmt_value(o, o.goal),
                     fmt_value(o, o.ceiling) + (" (RSS < 80 MB)" if "RSS" in o.note else ""),
                     o.status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = subprocess.run(["git", "--version"], capture_output=True, check=True).stdout
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
            f"{git.decode().strip()}, {platform.system()} {platform.release()}")


CASES = ("small", "big", "range", "route", "verify", "scope")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller fixtures (a smoke run)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per case "
                    "(default 9, or 3 with --quick)")
    ap.add_argument("--only", action="append", choices=CASES, help="run only this case "
                    "(repeatable)")
    ap.add_argument("--build-only", action="store_true", help="build the fixtures and stop")
    ap.add_argument("--max-load", type=float, default=float(os.cpu_count() or 1) * 0.5,
                    help="wait before each case until the 1-minute load is below this")
    ap.add_argument("--patience", type=float, default=300,
                    help="how long to wait for a quiet machine (seconds) before measuring")
    opts = ap.parse_args(argv)
    sizes = QUICK if opts.quick else Sizes()
    runs = opts.runs or (3 if opts.quick else 9)
    wanted = [c for c in CASES if c in (opts.only or CASES)]
    for name, needed in (("small", "small"), ("big", "big"), ("range", "range"),
                         ("receipts", "route"), ("receipts", "verify")):
        if needed in wanted:
            fixture(name, opts.quick)
    if opts.build_only:
        return 0
    home = FIXTURES / "home"
    env = bench_env(home)
    print(f"machine: {machine()}")
    loads = [load1()]
    outcomes = []
    for name in wanted:
        loads.append(wait_for_quiet(opts.max_load, opts.patience))
        print(f"case {name} (load {loads[-1]:.2f}) ...", flush=True)
        if name == "small":
            outcomes.append(case_small(env, opts.quick, runs))
        elif name == "big":
            outcomes.append(case_big(env, opts.quick, runs, sizes))
        elif name == "range":
            outcomes.append(case_range(env, opts.quick, runs, sizes))
        elif name == "route":
            outcomes.append(case_route(env, opts.quick, runs, sizes))
        elif name == "verify":
            outcomes.append(case_verify(env, opts.quick, max(3, runs // 3), sizes))
        else:
            outcomes.append(case_scope(sizes, max(3, runs // 2)))
        o = outcomes[-1]
        print(f"  {o.status}: {fmt_value(o, o.value)} (goal {fmt_value(o, o.goal)}, ceiling "
              f"{fmt_value(o, o.ceiling)}){'; ' + o.note if o.note else ''}", flush=True)
    loads.append(load1())
    print()
    print(table(outcomes))
    print()
    for o in outcomes:
        if o.note:
            print(f"{o.name}: {o.note}")
    print(f"1-minute load average: {min(loads):.2f}-{max(loads):.2f} during the run; "
          f"{runs} timed runs per case after a warm-up, medians")
    if opts.quick:
        # Goals are set for the full fixtures: on tiny ones Python's start dominates every
        # ratio. The smoke run shows that every case builds, runs and answers as expected.
        print("quick fixtures: a smoke run; the statuses are informative, not a verdict")
        return 0
    return 1 if any(o.status == "MISSED" for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
