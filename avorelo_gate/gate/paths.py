"""Would writing these paths be allowed? The engine's own path rules, asked before a change
exists: by an agent's pre-tool hook (``agents``) and by ``task check-paths`` / the MCP tool.

Each path becomes a modification in the working tree, judged by ``engine.evaluate`` exactly as
a commit touching it would be; only the rules about paths are kept (scope, forbid, protected,
the policy file), since budgets and proof are about a whole change that does not exist yet.
"""
from __future__ import annotations

from collections.abc import Iterable

from avorelo_gate.gate.engine import Options, evaluate
from avorelo_gate.git.change import Change
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import WORKTREE, Snapshot
from avorelo_gate.result import TouchedFile, Violation
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import Policy

PATH_RULES = ("policy-changed", "protected", "forbidden", "out-of-scope")


def path_violations(repo: Repo, task: ResolvedTask, policy: Policy, paths: Iterable[str],
                    options: Options | None = None) -> list[Violation]:
    """The path rules' violations for writing each of ``paths`` (repository-relative)."""
    touched = tuple(TouchedFile(path=p, status="M", added=0, removed=0, binary=False)
                    for p in sorted(set(paths)))
    if not touched:
        return []
    change = Change(base=repo.head or repo.empty_tree, head="WORKTREE", touched=touched,
                    snapshot=Snapshot(repo, WORKTREE), base_commit=repo.head, mode="worktree")
    return [v for v in evaluate(change, task, policy, options or Options()).violations
            if v.rule in PATH_RULES and v.path is not None]
