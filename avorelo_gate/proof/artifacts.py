"""Safe access to the artifact files that proof requirements name (reports, logs).

A task file says "reports/junit.xml" and the gate reads it, so an artifact path is untrusted:
it must stay inside the repository after symlinks are resolved, name a regular file (a FIFO
would hang the gate), and be read in bounded memory whatever its size.

Log needles: plain text is matched as UTF-8 bytes anywhere in the file, across chunk and line
boundaries. "regex:<pattern>" is a Python regex matched line by line: a match never spans
lines, a trailing "\\r" is not part of the line, and lines longer than MAX_LINE_BYTES are
matched in pieces.

Every failure is an ArtifactError with a one-line reason that does not repeat the path;
callers name the requirement.
"""
from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.files.digest import sha256
from avorelo_gate.task.schema import validate_artifact_pattern

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
REGEX_PREFIX = "regex:"


class ArtifactError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ArtifactMissing(ArtifactError):
    pass


def resolve_artifact(toplevel: str, rel: str) -> str:
    reason = validate_artifact_pattern(rel)
    if reason:
        raise ArtifactError(reason)
    root = os.path.realpath(toplevel)
    real = os.path.realpath(os.path.join(root, rel))
    # With no ".." left in rel, only a symlink (in rel or a dangling one) can lead out.
    if not _is_within(root, real):
        raise ArtifactError("symlink points outside the repository")
    try:
        st = os.stat(real)
    except OSError as e:
        raise _os_error(e) from None
    if not stat.S_ISREG(st.st_mode):
        raise ArtifactError(_not_regular(st.st_mode))
    return real


def _is_within(root: str, path: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:  # Windows: different drives
        return False


def sha256_file(path: str) -> str:
    digest = sha256()
    with _open_regular(path) as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def read_capped(path: str, cap: int) -> bytes:
    with _open_regular(path) as f:
        if os.fstat(f.fileno()).st_size > cap:
            raise ArtifactError(f"larger than {cap} bytes")
        data = f.read(cap + 1)  # the file may have grown since fstat
    if len(data) > cap:
        raise ArtifactError(f"larger than {cap} bytes")
    return data


def file_nonempty(path: str) -> bool:
    with _open_regular(path) as f:
        return os.fstat(f.fileno()).st_size > 0


def validate_needle(needle: str) -> str | None:
    try:
        _compile(needle)
    except ArtifactError as e:
        return e.reason
    return None


def log_matches(path: str, needle: str) -> bool:
    missing, _ = log_requirement(path, [needle], [])
    return not missing


def log_requirement(path: str, must_contain: list[str],
                    must_not_contain: list[str]) -> tuple[list[str], list[str]]:
    wanted = [_compile(n) for n in must_contain]
    banned = [_compile(n) for n in must_not_contain]
    found = _scan(path, wanted + banned)
    missing = [n.text for i, n in enumerate(wanted) if i not in found]
    forbidden = [n.text for i, n in enumerate(banned, start=len(wanted)) if i in found]
    return missing, forbidden


@dataclass(frozen=True)
class _Needle:
    text: str  # as written in the task file, for reporting
    plain: bytes | None = None
    regex: re.Pattern[str] | None = None


def _compile(needle: str) -> _Needle:
    if needle.startswith(REGEX_PREFIX):
        pattern = needle[len(REGEX_PREFIX):]
        if not pattern:
            raise ArtifactError(f"empty regex needle {needle!r}")
        try:
            return _Needle(needle, regex=re.compile(pattern))
        except re.error as e:
            raise ArtifactError(f"invalid regex {_clip(needle)!r}: {e.msg}") from None
    if not needle:
        raise ArtifactError("empty needle")
    return _Needle(needle, plain=needle.encode("utf-8"))


def _scan(path: str, needles: list[_Needle]) -> set[int]:
    found: set[int] = set()
    tail = b""  # last bytes of the previous chunk, so plain needles may straddle chunks
    partial = b""  # the unfinished last line, for regex needles
    with _open_regular(path) as f:
        # Stop as soon as nothing is left to find: a verdict never needs the rest of the log.
        while len(found) < len(needles) and (chunk := f.read(CHUNK_SIZE)):
            tail = _scan_plain(tail + chunk, needles, found)
            partial = _scan_lines(partial + chunk, needles, found, final=False)
    if partial and len(found) < len(needles):
        _scan_lines(partial, needles, found, final=True)
    return found


def _scan_plain(window: bytes, needles: list[_Needle], found: set[int]) -> bytes:
    keep = 0
    for i, n in enumerate(needles):
        if n.plain is None or i in found:
            continue
        if n.plain in window:
            found.add(i)
        else:
            keep = max(keep, len(n.plain) - 1)
    return window[-keep:] if keep else b""


def _scan_lines(data: bytes, needles: list[_Needle], found: set[int], *, final: bool) -> bytes:
    pending = [(i, n.regex) for i, n in enumerate(needles)
               if n.regex is not None and i not in found]
    if not pending:
        return b""
    cut = len(data) if final else data.rfind(b"\n") + 1
    rest = data[cut:]
    if len(rest) > MAX_LINE_BYTES:  # one endless line must not cost endless memory
        cut, rest = len(data), b""
    if cut:
        # Complete lines end on "\n", so the block never splits a UTF-8 sequence.
        lines = [line.removesuffix("\r") for line in
                 data[:cut].decode("utf-8", "replace").removesuffix("\n").split("\n")]
        for i, rx in pending:
            if any(rx.search(line) for line in lines):
                found.add(i)
    return rest


@contextlib.contextmanager
def _open_regular(path: str) -> Iterator[BinaryIO]:
    # O_NONBLOCK so that opening a FIFO cannot block before fstat refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise _os_error(e) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ArtifactError(_not_regular(mode))
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        try:
            yield f
        except OSError as e:
            raise _os_error(e) from None


def _os_error(e: OSError) -> ArtifactError:
    if isinstance(e, (FileNotFoundError, NotADirectoryError)):
        return ArtifactMissing("no such file")
    if isinstance(e, IsADirectoryError):
        return ArtifactError("not a regular file (a directory)")
    return ArtifactError(f"cannot read: {e.strerror or type(e).__name__}")


def _not_regular(mode: int) -> str:
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device")
    return f"not a regular file ({kind})"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
