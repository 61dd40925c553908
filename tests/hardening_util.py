"""Helpers shared by the hardening suite (tests/test_hardening_*.py).

Building a repository with commits, receipts, a remote and proof records costs a second or
two; hypothesis wants hundreds of fresh ones. So each kind is built once per worker process
(``template``) and every example works on a copy (``clone``): a copy is a few milliseconds
and starts from exactly the same state, so a failing example reproduces on its own.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from conftest import PACKAGE_ROOT
from inproc import run_main

# The hook scripts find this interpreter and this checkout of the package.
HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(PACKAGE_ROOT)}

_TEMPLATES: dict[str, Path] = {}

# Anything a terminal would obey: C0 controls but newline and tab, DEL, the C1 controls
# (U+0080..U+009F: \x9b is a one-byte CSI) and the Unicode line/paragraph separators.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def template(key: str, base: Path, build: Callable[[Path], None]) -> Path:
    """The directory ``build`` fills, built once per process under ``base`` and reused."""
    found = _TEMPLATES.get(key)
    if found is not None and found.exists():
        return found
    where = base / f"template-{key}"
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    build(where)
    _TEMPLATES[key] = where
    return where


def clone(src: Path, dst: Path) -> Path:
    """A byte-for-byte copy of a template (symlinks as symlinks, modes kept)."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def git(cwd: Path, *args: str, input: bytes | None = None, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                          check=False, env=dict(os.environ, **(env or {})))
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc


def run_main_stdin(*args: str, cwd: Path, stdin: bytes = b"",
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``run_main`` with ``stdin`` as the process's standard input (pre-push and post-rewrite
    read theirs through ``sys.stdin.buffer``, as they do under git)."""
    with stdin_bytes(stdin):
        return run_main(*args, cwd=cwd, env=env)


@contextlib.contextmanager
def stdin_bytes(data: bytes) -> Iterator[None]:
    before = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")
    try:
        yield
    finally:
        sys.stdin = before


def assert_no_traceback(proc: subprocess.CompletedProcess[str],
                        allowed: frozenset[int] = frozenset({0, 1, 2, 3}),
                        passed_through: int | None = None) -> None:
    """The contract's promise under any input: a known exit code, no trace, and no bug.
    ``passed_through``: the exit code of the command ``prove`` ran, which prove exits with."""
    both = proc.stdout + proc.stderr
    assert proc.returncode in allowed, (proc.args, proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in both, (proc.args, proc.stderr[-4000:])
    # exit 3 is also what a bug becomes; an "internal error" line is a bug the fuzzer found.
    assert "internal error" not in proc.stderr, (proc.args, proc.stderr[-2000:])
    if proc.returncode in (2, 3) and proc.returncode != passed_through:
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("avorelo-gate: error")]
        # A group named with no subcommand (``receipt``) prints its help instead, on purpose.
        helped = proc.returncode == 2 and proc.stdout.lower().startswith("usage:")
        assert errors or helped, (proc.args, proc.returncode, proc.stderr[-2000:])


def raw_controls(text: str) -> list[str]:
    return sorted({repr(m.group()) for m in RAW_CONTROL.finditer(text)})


def gate_process(*args: str, cwd: Path, env: dict[str, str] | None = None,
                 stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """The console entry point, started and not waited for (the crash tests kill it).
    A new session: the test can wait for every child it started before judging the state."""
    full = dict(os.environ, **(env or {}))
    full["PYTHONPATH"] = str(PACKAGE_ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "avorelo_gate", *args], cwd=cwd, env=full,
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
