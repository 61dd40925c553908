"""The real entry point (``avorelo_gate.main.main``) called in this process.

A subprocess costs ~300 ms of interpreter start and imports; the parametrized bad-input
tables run hundreds of cases, so they call ``main`` directly with the same argv, cwd and
environment. A few cases per file still go through ``run_gate`` (a real subprocess) so the
console entry point itself stays covered. An exception escaping ``main`` is not caught here:
it fails the test, as a traceback would.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from avorelo_gate.main import main


def run_main(*args: str, cwd: Path, env: dict[str, str] | None = None,
             input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    environ = dict(os.environ, **(env or {}))
    before, stdin = os.getcwd(), sys.stdin
    os.chdir(cwd)
    if input is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(input))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args), environ)
    finally:
        os.chdir(before)
        sys.stdin = stdin
    return subprocess.CompletedProcess(["avorelo-gate", *args], code, out.getvalue(),
                                       err.getvalue())
