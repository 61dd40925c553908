"""The benchmark runs: every case of ``benchmarks/run.py --quick`` builds its fixture, runs the
gate and its floor, and gets the exit code it expects (issue 14)."""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from test_readme import section, shell_lines

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_every_case() -> None:
    # The README's own smoke-run line, with one timed run and no waiting for a quiet machine.
    [line] = [ln for ln in shell_lines(section("Performance")) if "--quick" in ln]
    argv = shlex.split(line, comments=True)
    assert argv[:3] == ["python", "benchmarks/run.py", "--quick"], argv
    proc = subprocess.run(
        [sys.executable, *argv[1:], "--runs", "1", "--max-load", "1000", "--patience", "0"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for case in ("whole `git commit`, hooks from `install`",
                 "whole `git commit` through the pre-commit framework",
                 "`hook pre-commit`, small commit", "`check`, 500 staged of 10,000 files",
                 "`ci`, synthetic pull request", "`receipt verify`, 100 commits",
                 "`route` over 1,000 receipts", "scope matching"):
        assert f"| {case}" in out, case
    # Cases that depend on something absent say so instead of passing silently.
    assert ("`ci`, Flask" in out) or ("not measured: ci-flask: skipped" in out)
    assert ("one agent `pre-tool` decision" in out) or ("not measured: agent: not available"
                                                         in out)
