"""The paths an ``apply_patch`` body writes (Codex, Cline's SDK tool).

Grammar (codex-rs apply-patch): ``*** Begin Patch`` … ``*** Add File: P`` / ``*** Delete File:
P`` / ``*** Update File: P`` optionally followed by ``*** Move to: Q`` … ``*** End Patch``.
A move writes both sides. One pass over the lines: linear in the body's length.
"""
from __future__ import annotations

from avorelo_gate.agents.events import PayloadError

HEADERS = ("*** Add File:", "*** Update File:", "*** Delete File:", "*** Move to:")


def patch_paths(body: object, agent: str) -> tuple[str, ...]:
    if not isinstance(body, str):
        raise PayloadError(f"{agent}: apply_patch input must be a string (the patch body)")
    found: list[str] = []
    for line in body.splitlines():
        # Codex's parser trims the header lines it reads; so do we, so that no spacing hides
        # a path from us that the tool would still apply.
        text = line.strip()
        if not text.startswith("*** "):
            continue
        for header in HEADERS:
            if text.startswith(header):
                path = text[len(header):].strip()
                if not path:
                    raise PayloadError(f"{agent}: apply_patch header {header!r} names no path")
                found.append(path)
                break
    return tuple(dict.fromkeys(found))
