"""The benchmark's cases (issue 14): each the gate against a floor measured in the same run.

A case returns an ``Outcome``; ``None`` from a case means it cannot run here (it says why).
"""
from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fixtures import COMMIT_MESSAGE, COMMIT_STAGES, FIXTURES, ROOT, Sizes, big_paths, fixture
from measure import Sample, Spread, cpu_note, git_out, paired, run_timed

from avorelo_gate.adopt.hook_scripts import LAUNCHER


@dataclass(frozen=True)
class Outcome:
    name: str
    value: float          # what the goal is about: ms, a ratio, ms over the floor, µs
    gate: Spread | None
    floor: Spread | None
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


@dataclass(frozen=True)
class Bench:
    """What every case gets: the interpreter, the environment, sizes and repetitions."""

    python: Path
    env: dict[str, str]
    quick: bool
    runs: int
    sizes: Sizes

    @property
    def gate(self) -> list[str]:
        # What the installed hooks run (adopt/hook_scripts.py LAUNCHER), and what the console
        # script `avorelo-gate` that agents' configs call does: no runpy, as `-m` would import.
        return [str(self.python), "-c", LAUNCHER]

    def python_pass(self, repo: Path) -> Sample:
        return run_timed([str(self.python), "-c", "pass"], repo, self.env)


def ratio(name: str, gates: Sequence[Sample], floors: Sequence[Sample], goal: float,
          ceiling: float, note: str = "") -> Outcome:
    g, f = Spread.of(gates), Spread.of(floors)
    return Outcome(name, g.median / f.median, g, f, "x", goal, ceiling,
                   note=note or cpu_note(gates, floors))


def delta(name: str, gates: Sequence[Sample], floors: Sequence[Sample], goal: float,
          ceiling: float) -> Outcome:
    g, f = Spread.of(gates), Spread.of(floors)
    return Outcome(name, g.median - f.median, g, f, "+ms", goal, ceiling,
                   note=cpu_note(gates, floors))


# -- whole commits -----------------------------------------------------------------------------
def _commit(b: Bench, repo: Path, *config: str) -> Sample:
    """One real `git commit` of the staged file, then (untimed) the index as it was."""
    sample = run_timed(["git", *config, "commit", "-q", "-m", COMMIT_MESSAGE], repo, b.env)
    subprocess.run(["git", "reset", "-q", "--soft", "HEAD~1"], cwd=repo, env=b.env, check=True)
    return sample


def case_commit(b: Bench) -> Outcome:
    """`git commit` with the hooks `install` writes against `git commit` with none."""
    repo = fixture("small", b.quick)
    subprocess.run([*b.gate, "install", "--force"], cwd=repo, env=b.env, check=True,
                   capture_output=True)
    empty = FIXTURES / "no-hooks"
    empty.mkdir(exist_ok=True)
    gates, floors = paired(lambda: _commit(b, repo),
                           lambda: _commit(b, repo, "-c", f"core.hooksPath={empty}"), b.runs)
    return delta(f"whole `git commit`, hooks from `install` ({b.sizes.small_files} files, "
                 "1 staged)", gates, floors, 60, 120)


def case_framework(b: Bench) -> Outcome:
    """The pre-commit framework running the gate's stages against it running `true` there."""
    path = fixture("framework", b.quick)
    for name in ("gate", "true"):
        subprocess.run([str(b.python), "-m", "pre_commit", "install", "-f",
                        *(a for s in COMMIT_STAGES for a in ("--hook-type", s))],
                       cwd=path / name, env=b.env, check=True, capture_output=True)
    gates, floors = paired(lambda: _commit(b, path / "gate"), lambda: _commit(b, path / "true"),
                           b.runs)
    return ratio(f"whole `git commit` through the pre-commit framework ({len(COMMIT_STAGES)} "
                 "stages)", gates, floors, 1.2, 1.5)


# -- single hooks and checks -------------------------------------------------------------------
def case_hook(b: Bench) -> Outcome:
    repo = fixture("small", b.quick)

    def floor() -> Sample:
        return b.python_pass(repo) + run_timed(["git", "diff", "--cached", "--numstat", "-z"],
                                               repo, b.env)

    gates, floors = paired(lambda: run_timed([*b.gate, "hook", "pre-commit"], repo, b.env),
                           floor, b.runs)
    return delta("`hook pre-commit`, small commit", gates, floors, 40, 60)


def case_check(b: Bench) -> Outcome:
    repo = fixture("big", b.quick)

    def floor() -> Sample:
        return b.python_pass(repo) + run_timed(["git", "diff", "--cached", "--numstat", "-z"],
                                               repo, b.env)

    gates, floors = paired(lambda: run_timed([*b.gate, "check"], repo, b.env, expect=(1,)),
                           floor, b.runs)
    own = gate_own_peak_mb(b, ["check"], repo)
    out = ratio(f"`check`, {b.sizes.big_staged:,} staged of {b.sizes.big_files:,} files, one "
                "out of scope", gates, floors, 1.3, 1.6)
    return Outcome(out.name, out.value, out.gate, out.floor, out.unit, out.goal, out.ceiling,
                   extra_ok=own < 80,
                   note=f"peak RSS of the gate's process {own:.0f} MB (ceiling 80); {out.note}")


def gate_own_peak_mb(b: Bench, args: Sequence[str], cwd: Path, runs: int = 3) -> float:
    """The gate's own peak RSS (its Python process, not the git processes it waits for).
    VmHWM is this process's own peak; getrusage's would also count its parent's."""
    code = ("import sys\nfrom avorelo_gate.main import main\n"
            f"rc = main({list(args)!r})\n"
            "peak = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
            "sys.stderr.write('PEAK %s\\n' % peak[0].split()[1])\n")
    peaks = []
    for _ in range(runs):
        proc = subprocess.run([str(b.python), "-c", code], cwd=cwd, env=b.env,
                              capture_output=True, check=False)
        line = [ln for ln in proc.stderr.decode().splitlines() if ln.startswith("PEAK ")]
        peaks.append(int(line[-1].split()[1]) / 1024)
    return statistics.median(peaks)


# -- many commits ------------------------------------------------------------------------------
def _ci_against_log(b: Bench, repo: Path, base: str, head: str, name: str) -> Outcome:
    floor_argv = ["git", "log", "--raw", "--numstat", "-z", f"{base}..{head}"]
    gate_argv = [*b.gate, "ci", "--base", base, "--head", head]
    # The verdict depends on the history, not on the benchmark: take the warm-up's.
    code = subprocess.run(gate_argv, cwd=repo, env=b.env, capture_output=True).returncode
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(gate_argv)} exited {code}")
    gates, floors = paired(lambda: run_timed(gate_argv, repo, b.env, expect=(code,)),
                           lambda: run_timed(floor_argv, repo, b.env), b.runs)
    return ratio(name, gates, floors, 1.5, 2.0)


def base_for(repo: Path, env: dict[str, str], wanted: int) -> tuple[str, int]:
    """A first-parent ancestor of HEAD whose range to HEAD holds at least ``wanted``
    commits, the nearest such (0: the root, every commit after it)."""
    chain = git_out(repo, env, "rev-list", "--first-parent", "HEAD").split()

    def count(i: int) -> int:
        return int(git_out(repo, env, "rev-list", "--count", "HEAD", f"^{chain[i]}"))

    if wanted == 0:
        return chain[-1], count(len(chain) - 1)
    lo, hi = 1, len(chain) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) >= wanted:
            hi = mid
        else:
            lo = mid + 1
    return chain[lo], count(lo)


def case_flask(b: Bench) -> list[Outcome] | str:
    from fixtures import flask_bundle

    if flask_bundle() is None:
        return ("skipped: the Flask history is not here (shared/fixtures/flask.bundle beside "
                "the checkout, or set AVORELO_SHARED)")
    repo = fixture("flask", b.quick)
    outcomes = []
    for wanted in b.sizes.flask_ranges:
        base, n = base_for(repo, b.env, wanted)
        outcomes.append(_ci_against_log(b, repo, base, "HEAD", f"`ci`, Flask, {n:,} commits"))
        print(f"  {outcomes[-1].name}: {outcomes[-1].value:.2f}x", flush=True)
    return outcomes


def case_range(b: Bench) -> Outcome:
    """A synthetic pull request of many one-file commits (kept from issue 6, now against the
    floor issue 14 set: git's own listing of the same commits)."""
    repo = fixture("range", b.quick)
    base = git_out(repo, b.env, "merge-base", "main", "HEAD")
    return _ci_against_log(b, repo, base, "HEAD", f"`ci`, synthetic pull request, "
                           f"{b.sizes.range_commits:,} commits")


def case_verify(b: Bench) -> Outcome:
    repo = fixture("receipts", b.quick)
    spec = f"HEAD~{b.sizes.verify_commits}..HEAD"
    gates, floors = paired(
        lambda: run_timed([*b.gate, "receipt", "verify", spec], repo, b.env),
        lambda: run_timed(["git", "log", "--raw", "--numstat", "--notes=avorelo", spec],
                          repo, b.env),
        max(3, b.runs // 3))
    return ratio(f"`receipt verify`, {b.sizes.verify_commits:,} commits", gates, floors, 2, 3)


def case_route(b: Bench) -> Outcome:
    repo = fixture("receipts", b.quick)
    gates, _ = paired(
        lambda: run_timed([*b.gate, "route", "--scope", "src/area7/**"], repo, b.env),
        None, b.runs)
    g = Spread.of(gates)
    return Outcome(f"`route` over {b.sizes.receipts:,} receipts, warm", g.median, g, None,
                   "ms", 200, 400, note=cpu_note(gates, ()))


# -- an agent's pre-tool decision --------------------------------------------------------------
PAYLOAD = ROOT / "tests" / "data" / "agents" / "claude" / "pre_tool_write.json"


def case_agent(b: Bench) -> Outcome | str:
    repo = fixture("small", b.quick)
    argv = [*b.gate, "agent-hook", "claude", "pre-tool"]
    probe = subprocess.run([*b.gate, "agent-hook", "--help"], cwd=repo, env=b.env,
                           capture_output=True)
    if probe.returncode != 0 or not PAYLOAD.is_file():
        return "not available: this version has no `avorelo-gate agent-hook` (issue 15)"
    text = PAYLOAD.read_text().replace("__CWD__", str(repo)).replace(
        "__HOME__", b.env["HOME"]).replace("src/x.py", "src/pkg3/mod3.py")
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=FIXTURES, delete=False) as f:
        f.write(text)
    payload = Path(f.name)
    try:
        json.loads(text)
        gates, floors = paired(lambda: run_timed(argv, repo, b.env, stdin=payload),
                               lambda: b.python_pass(repo), b.runs)
    finally:
        payload.unlink()
    return delta("one agent `pre-tool` decision (Claude Code, Write in scope)", gates, floors,
                 40, 80)


# -- in-process --------------------------------------------------------------------------------
SCOPE_PATTERNS = (
    [f"src/d{i}/**" for i in range(20)]
    + [f"tests/d{i}/s{i % 10}/*.txt" for i in range(10)]
    + ["docs/**/*.md", "*.py", "**/generated/**", "!src/d3/s3/**", "!src/d5/s1/f5*.txt",
       ".avorelo/tasks/**", "build/", "src/**/s[0-4]/f1?.txt", "tests/**/fixtures/**",
       "!tests/d2/**", "lib/*/mod?.py", "**/*.rst", "vendor/**", "!vendor/keep/**",
       "scripts/*.sh", "src/d9?/**", "tools/**/*.py", "**/__pycache__/**", "README*",
       "!docs/internal/**"]
)


def case_scope(b: Bench) -> Outcome:
    """In-process: the compiled matcher over 100,000 paths (50 patterns)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]   # the tests' oracle: scope_oracle.py
    from scope_oracle import match_reference

    from avorelo_gate.task.scope import Matcher

    paths = big_paths(100_000 if not b.quick else 20_000)
    assert len(SCOPE_PATTERNS) == 50
    matcher = Matcher.compile(SCOPE_PATTERNS)
    sample = random.Random(6).sample(paths, 2000)
    # Same answers as pathspec (tests/test_scope.py proves it in general; this guards the
    # benchmark's own patterns).
    assert all(matcher.match(p) == match_reference(SCOPE_PATTERNS, p) for p in sample)
    match = matcher.match
    times = []
    for _ in range(max(3, b.runs // 2) + 1):
        start = time.perf_counter()
        for p in paths:
            match(p)
        times.append((time.perf_counter() - start) / len(paths))
    per_path = statistics.median(times[1:]) * 1e6
    return Outcome(f"scope matching, {len(SCOPE_PATTERNS)} patterns", per_path, None, None,
                   "us", 3, 6, note=f"{len(paths):,} paths")
