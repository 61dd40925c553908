"""The performance benchmark (issues 6 and 14): the gate against a floor measured in the same run.

    python benchmarks/run.py            # the full fixtures (built once, cached)
    python benchmarks/run.py --quick    # smaller fixtures: a smoke run of every case

Each case runs once to warm up and then ``--runs`` times; the gate and its floor alternate,
sample by sample, so that a change in the machine's load falls on both, and the table shows
the median with the lowest and highest sample. The gate and its floor get the same
repository, the same interpreter (one that starts as an installed package does:
``fixtures.bench_python``), the same environment and the same caches (the OS page cache,
warmed by the warm-up runs of both); the gate keeps no cache of its own that the floor would
lack, except the receipt index ``route`` is specified to use warm. Exits 1 when any case
misses its ceiling (a ``--quick`` smoke run exits 0 once every case has run).
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases
from cases import Bench, Outcome
from fixtures import FIXTURES, FULL, QUICK, bench_env, bench_python, fixture
from measure import load1, wait_for_quiet

# Whole commits first: what a user feels.
CASES: dict[str, Callable[[Bench], Outcome | list[Outcome] | str]] = {
    "commit": cases.case_commit,
    "framework": cases.case_framework,
    "hook": cases.case_hook,
    "check": cases.case_check,
    "ci-flask": cases.case_flask,
    "ci-range": cases.case_range,
    "verify": cases.case_verify,
    "agent": cases.case_agent,
    "route": cases.case_route,
    "scope": cases.case_scope,
}
FIXTURES_OF = {"commit": "small", "framework": "framework", "hook": "small", "check": "big",
               "ci-range": "range", "verify": "receipts", "route": "receipts",
               "agent": "small"}


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
    rows = [("case", "gate: median (min-max)", "floor: median (min-max)", "result", "goal",
             "ceiling", "status")]
    for o in outcomes:
        gate = f"{o.value:.2f} µs" if o.unit == "us" else str(o.gate) if o.gate else "-"
        rows.append((o.name, gate, str(o.floor) if o.floor else "-", fmt_value(o, o.value),
                     fmt_value(o, o.goal), fmt_value(o, o.ceiling)
                     + (" (RSS < 80 MB)" if "RSS" in o.note else ""), o.status))
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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller fixtures (a smoke run)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per case "
                    "(default 9, or 3 with --quick)")
    ap.add_argument("--only", action="append", choices=list(CASES), help="run only this case "
                    "(repeatable)")
    ap.add_argument("--build-only", action="store_true", help="build the fixtures and stop")
    ap.add_argument("--max-load", type=float, default=float(os.cpu_count() or 1) * 0.5,
                    help="wait before each case until the 1-minute load is below this")
    ap.add_argument("--patience", type=float, default=300,
                    help="how long to wait for a quiet machine (seconds) before measuring")
    opts = ap.parse_args(argv)
    sizes = QUICK if opts.quick else FULL
    runs = opts.runs or (3 if opts.quick else 9)
    wanted = [c for c in CASES if c in (opts.only or CASES)]
    python = bench_python()
    for name in dict.fromkeys(FIXTURES_OF[c] for c in wanted if c in FIXTURES_OF):
        fixture(name, opts.quick)
    if opts.build_only:
        return 0
    bench = Bench(python=python, env=bench_env(FIXTURES / "home"), quick=opts.quick,
                  runs=runs, sizes=sizes)
    print(f"machine: {machine()}")
    loads = [load1()]
    outcomes: list[Outcome] = []
    skipped: list[str] = []
    for name in wanted:
        loads.append(wait_for_quiet(opts.max_load, opts.patience))
        print(f"case {name} (load {loads[-1]:.2f}) ...", flush=True)
        got = CASES[name](bench)
        if isinstance(got, str):
            print(f"  {got}", flush=True)
            skipped.append(f"{name}: {got}")
            continue
        for o in got if isinstance(got, list) else [got]:
            outcomes.append(o)
            print(f"  {o.status}: {fmt_value(o, o.value)} (goal {fmt_value(o, o.goal)}, "
                  f"ceiling {fmt_value(o, o.ceiling)}){'; ' + o.note if o.note else ''}",
                  flush=True)
    loads.append(load1())
    print()
    print(table(outcomes))
    print()
    for o in outcomes:
        if o.note:
            print(f"{o.name}: {o.note}")
    for line in skipped:
        print(f"not measured: {line}")
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
