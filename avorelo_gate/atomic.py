"""Crash-safe writes: a unique temporary file beside the target, fsync, then rename.

A reader sees the old content or the new, never a torn one, and concurrent writers never
share a temporary file. The directory is fsynced too so the rename survives a power cut.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

from avorelo_gate.errors import EnvironmentFailure


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot write: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise EnvironmentFailure(f"{path}: cannot write: {e.strerror}") from e
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
