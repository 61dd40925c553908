"""Git's bytes as paths: NUL-separated output, surrogate-escaped names, and their display."""
from __future__ import annotations


def zsplit(data: bytes) -> list[bytes]:
    """Split NUL-terminated git output; the trailing empty field is not a record."""
    if not data:
        return []
    parts = data.split(b"\0")
    if parts[-1] == b"":
        parts.pop()
    return parts


def fsdecode(raw: bytes) -> str:
    """Git's path bytes as str; non-UTF-8 bytes survive as surrogates (round-trip safe)."""
    return raw.decode("utf-8", "surrogateescape")


def fsencode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def top_literal(path: str) -> str:
    """A pathspec for exactly ``path`` from the repository root, whatever the cwd (a hook or
    a user may run us from a subdirectory; plain pathspecs are relative to it)."""
    return f":(top,literal){path}"


def display_path(path: str) -> str:
    """A path as a person should see it: control characters and undecodable bytes escaped."""
    raw = fsencode(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
    if text.isprintable():   # the usual path: what the loop below would keep as it is
        return text
    out = []
    for ch in text:
        if ch == "\\" or ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)

