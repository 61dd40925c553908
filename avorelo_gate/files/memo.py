"""What a hook parsed once, kept by content: the clone's memo (issue 14).

Every commit and every agent tool call starts a new process that reads the same task and
policy files and compiles the same patterns. Importing the YAML parser and pathspec costs
such a process more than everything it then decides, so what they produce from a given input
is kept here with exactly that input beside it, and given back only for an input equal to it
byte for byte: a task file that changes is a miss, never a stale answer. (The file name is a
CRC of the input, only to find it: ``zlib`` loads in a fraction of ``hashlib``'s time, and
the comparison, not the name, decides.)

The memo is local state, like the hooks themselves: a process that can write it can as well
delete the hooks. So only the points that run inside the clone use it (the commit hooks,
the agents' hooks and ``check``); pre-push, ``ci`` and ``receipt verify`` always parse
afresh, so no receipt is ever accepted on its word. It is off unless a caller opens it
(``using``); anything unreadable in it is a miss.
"""
from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Iterator

from avorelo_gate import __version__
from avorelo_gate.errors import EnvironmentFailure
from avorelo_gate.files.atomic import TEMP_PREFIX, write_atomic

# Bump when what a kind keeps changes meaning (what load_yaml refuses, how scope.py reads
# pathspec's regexes), so that no memo written before answers for the code after.
FORMAT = "1"
MAX_ENTRIES = 512      # a directory listing costs more than a miss past this
_DIRECTORY: list[str] = []   # the open memo's directory, innermost last
_SESSIONS: list[int] = []    # for each open session, how many directories were open before


@contextlib.contextmanager
def session() -> Iterator[None]:
    """A block in which ``open_at`` may open the memo (once the repository is known); it is
    closed again when the block ends."""
    _SESSIONS.append(len(_DIRECTORY))
    try:
        yield
    finally:
        del _DIRECTORY[_SESSIONS.pop():]


def open_at(state_dir: str) -> None:
    """Open the memo of the clone whose local state is ``state_dir``, inside a session only:
    elsewhere (pre-push, ``ci``, a library call) it stays closed."""
    if _SESSIONS:
        _DIRECTORY.append(os.path.join(state_dir, "memo"))


@contextlib.contextmanager
def using(state_dir: str) -> Iterator[None]:
    """Keep and reuse parsed inputs in this clone's memo while the block runs."""
    with session():
        open_at(state_dir)
        yield


def is_open() -> bool:
    return bool(_DIRECTORY)


def _name(kind: str, data: bytes) -> str:
    # A new release may parse or refuse differently: its memo starts empty.
    return f"{kind}-{__version__}-{FORMAT}-{zlib.crc32(data):08x}-{len(data)}.json"


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def get(kind: str, data: bytes) -> object | None:
    """What was kept for exactly ``data`` under ``kind``, or None (closed, missing, kept for
    other data, or unreadable)."""
    if not _DIRECTORY:
        return None
    try:
        with open(os.path.join(_DIRECTORY[-1], _name(kind, data)), "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("input") != _text(data):
        return None
    return doc.get("value")


def put(kind: str, data: bytes, value: object) -> None:
    """Keep ``value`` (plain JSON data) for exactly ``data``; a memo that cannot be written
    is skipped: it only ever saves time."""
    if not _DIRECTORY:
        return
    directory = _DIRECTORY[-1]
    with contextlib.suppress(OSError, ValueError, EnvironmentFailure):
        _prune(directory)
        doc = {"input": _text(data), "value": value}
        write_atomic(os.path.join(directory, _name(kind, data)),
                     json.dumps(doc, allow_nan=False).encode(), mode=0o600)


def _prune(directory: str) -> None:
    """Past MAX_ENTRIES, forget the older half: what is still in use comes straight back."""
    try:
        names = [n for n in os.listdir(directory) if not n.startswith(TEMP_PREFIX)]
    except FileNotFoundError:
        return
    if len(names) < MAX_ENTRIES:
        return
    paths = sorted((os.path.join(directory, n) for n in names), key=os.path.getmtime)
    for path in paths[: len(paths) // 2]:
        with contextlib.suppress(OSError):
            os.unlink(path)


def is_plain(value: object, depth: int = 0) -> bool:
    """True when ``value`` survives a JSON round trip unchanged (the only values kept)."""
    if depth > 64:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(is_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v, depth + 1) for k, v in value.items())
    return False
