"""Generating a history of commits with receipts fast: two ``git fast-import`` runs (the commits,
then one notes commit holding every receipt) instead of thousands of hook runs.

Used by tests/test_route.py and benchmarks/route_bench.py.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avorelo_gate.receipts.build import (
    build_statement,
    encode_receipt,
    paths_digest,
    sign_statement,
)

COMMITTER = "Gen <gen@example.org> 1767225600 +0000"


@dataclass(frozen=True)
class Work:
    """One generated commit and what its receipt says."""

    paths: tuple[str, ...]
    weight: str | None = "light"
    verdict: str = "pass"
    rules: tuple[str, ...] = ()        # violations recorded (verdict fail when non-empty)
    task: str = "GEN-1"


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def predicate_for(w: Work, time: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    paths = sorted(w.paths)
    return {
        "verdict": "fail" if w.rules else w.verdict,
        "violations": [{"rule": r, "message": f"generated {r}", "path": paths[0], "hint": None}
                       for r in w.rules],
        "warnings": [],
        "task": {"id": w.task, "scope": ["**"], "forbid": [], "sources": ["trailer"],
                 "field_sources": {"id": "trailer:Task"}},
        "diff": {"files": len(paths), "added": 3, "removed": 1,
                 "paths_sha256": paths_digest(paths), "paths": paths,
                 "paths_truncated": False},
        "proof": [],
        "model": None if w.weight is None else {
            "weight": w.weight, "name": f"model-{w.weight}", "claimed": True,
            "source": {"weight": "trailer:Model-Weight", "name": "trailer:Model"}},
        "policy": {"blob": None},
        "gate": {"version": "0.1.0"},
        "options": {"allow_policy_change": False},
        "time": time,
        "context": None,
        "tools": None,
        "approvals": None,
    }


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")}
    return subprocess.run(["git", *args], cwd=repo, input=input, env=env, check=True,
                          capture_output=True).stdout


def make_commits(repo: Path, works: Sequence[Work], branch: str = "main") -> list[str]:
    """One commit per Work on ``branch`` (appended to it), each touching its paths."""
    head = subprocess.run(["git", "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
                          cwd=repo, capture_output=True).stdout.decode().strip()
    stream = bytearray()
    for i, w in enumerate(works, 1):
        stream += f"commit refs/heads/{branch}\nmark :{i}\ncommitter {COMMITTER}\n".encode()
        stream += _data(f"generated {i}\n\nTask: {w.task}\n".encode())
        if i == 1 and head:
            stream += f"from {head}\n".encode()
        for p in w.paths:
            stream += f"M 100644 inline {p}\n".encode() + _data(f"{i}\n".encode())
    _git(repo, "fast-import", "--quiet", "--done", input=bytes(stream) + b"done\n")
    shas = _git(repo, "rev-list", "--reverse", f"-n{len(works)}", branch).decode().split()
    return shas


def add_receipts(repo: Path, receipts: Mapping[str, bytes]) -> None:
    """Attach notes (commit -> bytes) under refs/notes/avorelo in one notes commit."""
    parent = subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/notes/avorelo"],
                            cwd=repo, capture_output=True).stdout.decode().strip()
    stream = bytearray(f"commit refs/notes/avorelo\ncommitter {COMMITTER}\n".encode())
    stream += _data(b"generated receipts")
    if parent:
        stream += f"from {parent}\n".encode()
    for commit, note in receipts.items():
        stream += f"N inline {commit}\n".encode() + _data(note)
    _git(repo, "fast-import", "--quiet", "--done", input=bytes(stream) + b"done\n")


def generate(repo: Path, works: Sequence[Work], branch: str = "main") -> list[str]:
    """Commits and their (unsigned) receipts; returns the commit ids in order."""
    shas = make_commits(repo, works, branch)
    trees = dict(line.split() for line in _git(
        repo, "log", "--format=%H %T", f"-n{len(works)}", branch).decode().splitlines())
    receipts = {sha: encode_receipt(sign_statement(
        build_statement(sha, trees[sha], predicate_for(w)), None))
        for sha, w in zip(shas, works, strict=True)}
    add_receipts(repo, receipts)
    return shas
