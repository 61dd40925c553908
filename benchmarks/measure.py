"""Timing processes: one sample per run, gate and floor interleaved, medians with min and max."""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    seconds: float
    maxrss_kb: int   # the process tree's peak (the largest process in it), from wait4
    cpu: float       # user + system seconds of the process and the children it waited for

    def __add__(self, other: Sample) -> Sample:
        return Sample(self.seconds + other.seconds, max(self.maxrss_kb, other.maxrss_kb),
                      self.cpu + other.cpu)


@dataclass(frozen=True)
class Spread:
    """Milliseconds: the median and the range of one series of samples."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Spread:
        ms = [s.seconds * 1000 for s in samples]
        return cls(statistics.median(ms), min(ms), max(ms))

    def __str__(self) -> str:
        return f"{self.median:.0f} ms ({self.low:.0f}-{self.high:.0f})"


def run_timed(argv: Sequence[str], cwd: Path, env: dict[str, str],
              expect: Collection[int] = (0,), stdin: Path | None = None) -> Sample:
    """One process, timed from spawn to reaped; its exit code must be one of ``expect``."""
    with tempfile.TemporaryFile() as err, \
            (open(stdin, "rb") if stdin else open(os.devnull, "rb")) as inp:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=inp,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in expect:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}, expected "
                               f"{sorted(expect)}: {err.read().decode(errors='replace')[:800]}")
    return Sample(elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def paired(gate: Callable[[], Sample], floor: Callable[[], Sample] | None,
           runs: int) -> tuple[list[Sample], list[Sample]]:
    """Warm up both, then alternate floor and gate ``runs`` times, so that a change in the
    machine's load falls on both."""
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


def cpu_note(gates: Sequence[Sample], floors: Sequence[Sample]) -> str:
    """CPU time (user + system, children included): what the work costs whatever the load."""
    gate = statistics.median(s.cpu for s in gates) * 1000
    if not floors:
        return f"CPU {gate:.0f} ms"
    return f"CPU {gate:.0f} ms, floor's {statistics.median(s.cpu for s in floors) * 1000:.0f} ms"


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


def git_out(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True,
                          check=True).stdout.decode().strip()
