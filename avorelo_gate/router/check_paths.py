"""``task check-paths``: would writing these paths be allowed for the task? Asked before the
work is done (the MCP tool ``check_paths``), answered by the engine itself.

The paths become a change that modifies each of them, judged by ``gate.engine.evaluate``
under the policy at HEAD, exactly as a commit touching them would be; only the rules about
paths are kept (scope, forbid, protected, the policy file), since budgets and proof are about
the whole change, which does not exist yet.
"""
from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence

from avorelo_gate.errors import BadInputError
from avorelo_gate.gate.engine import load_policy
from avorelo_gate.gate.paths import path_violations
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import WORKTREE, Snapshot
from avorelo_gate.router.route import default_task_id
from avorelo_gate.task.declare import resolve_task

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

CHECK_PATHS_SCHEMA = "avorelo.check-paths/v1"


def repo_relative(repo: Repo, path: str) -> str | None:
    """``path`` relative to the repository root (as given, or from the current directory
    when absolute), or None when it lies outside the repository."""
    top = repo.toplevel or ""
    if os.path.isabs(path):
        path = os.path.relpath(os.path.realpath(path), os.path.realpath(top))
    rel = posixpath.normpath(path.replace(os.sep, "/"))
    if rel in (".", "") or rel == ".." or rel.startswith("../") or rel.startswith("/"):
        return None
    return rel


def check_paths(repo: Repo, task_id: str | None, paths: Sequence[str],
                environ: Mapping[str, str]) -> dict[str, Any]:
    if not paths:
        raise BadInputError("check-paths: name at least one path")
    if not repo.toplevel:
        raise BadInputError("check-paths: needs a working tree")
    explicit = default_task_id(repo, task_id, environ)
    task = resolve_task(Snapshot(repo, WORKTREE), explicit_id=explicit, environ=environ)
    policy = load_policy(repo, repo.head, Snapshot(repo, WORKTREE))
    rel = {p: repo_relative(repo, p) for p in paths}
    by_path: dict[str, list[dict[str, Any]]] = {}
    for v in path_violations(repo, task, policy, (r for r in rel.values() if r is not None)):
        assert v.path is not None
        by_path.setdefault(v.path, []).append(v.to_dict())
    answers = []
    for given, r in rel.items():
        if r is None:
            found = [{"rule": "outside-repository", "path": given,
                      "message": "outside the repository", "hint": None}]
        else:
            found = by_path.get(r, [])
        answers.append({"path": given, "repo_path": r, "allowed": not found,
                        "violations": found})
    return {"schema": CHECK_PATHS_SCHEMA, "task": task.to_dict() if task.declared else None,
            "allowed": all(a["allowed"] for a in answers), "paths": answers}
