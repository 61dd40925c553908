"""Crash-safe writes: a unique temporary file beside the target, fsync, then rename.

A reader sees the old content or the new, never a torn one, and concurrent writers never
share a temporary file. The directory is fsynced too so the rename survives a power cut,
unless the caller says the file need not outlive one (``durable=False``): the rename alone
keeps a killed writer's file whole.
A writer killed between the two leaves its temporary file behind: readers never look at one,
and the next write in that directory removes those more than an hour old.
"""
from __future__ import annotations

import contextlib
import os
import time

from avorelo_gate.errors import EnvironmentFailure

TEMP_PREFIX = ".avorelo-tmp-"
STALE_SECONDS = 3600


def write_atomic(path: str, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        # mkstemp's way (a new name, O_EXCL, mode 0600) without importing tempfile, which
        # brings shutil, bz2, lzma and random into every commit-msg hook.
        tmp = os.path.join(directory, f"{TEMP_PREFIX}{os.getpid()}-{os.urandom(8).hex()}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)   # POSIX | Windows
        fd = os.open(tmp, flags, 0o600)
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot write: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise EnvironmentFailure(f"{path}: cannot write: {e.strerror}") from e
        raise
    if durable:
        _fsync_dir(directory)
    sweep_stale_temps(directory)


def sweep_stale_temps(directory: str, now: float | None = None) -> int:
    """Remove temporary files that killed writers left (only ours, only old ones: a live
    writer's file is seconds old)."""
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    removed = 0
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
    return removed


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
