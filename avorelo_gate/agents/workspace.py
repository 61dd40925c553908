"""What an agent's hook is judged against: the repository its cwd is in, the task, the policy.

The task comes first from ``AVORELO_TASK``, then the clone's active task (``task start``),
then ``.avorelo/task.yaml``: the contract's order, so that the agent's writes and its
commits are judged by one task. Like a commit, a write is judged by the policy at HEAD, and
by the task as it is at HEAD *and* as it is on disk: an agent that edits its own task file
can narrow its scope, never widen it (the engine is asked about both versions; a path must
pass both).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from avorelo_gate.git.repo import Repo
    from avorelo_gate.task.declare import ResolvedTask
    from avorelo_gate.task.policy import Policy


@dataclass(frozen=True)
class Workspace:
    """The repository, task versions and policy an agent's write is judged against."""

    repo: Repo
    top: str                           # the working tree, as git names it
    real_top: str                      # ... with every symlink resolved
    task: ResolvedTask                 # as on disk: what the agent sees and is told
    tasks: tuple[ResolvedTask, ...]    # every version a write must satisfy (disk, HEAD)
    policy: Policy
    explicit_id: str | None            # the active task's id, when it is the source

    @property
    def has_task(self) -> bool:
        return self.task.declared


class NothingToEnforce(Exception):
    """Outside a git repository, or without a working tree: allow, and say why."""


def open_workspace(cwd: str, environ: Mapping[str, str], agent: str,
                   model: str | None) -> Workspace:
    """The workspace an agent's event in ``cwd`` is judged in; the model the agent's payload
    names is recorded for the next receipt (every event does this first)."""
    ws = _open(cwd, environ)
    observe_model(ws, agent, model)
    return ws


def _open(cwd: str, environ: Mapping[str, str]) -> Workspace:
    from avorelo_gate.errors import NotARepositoryError
    from avorelo_gate.git.process import Git, no_git_env
    from avorelo_gate.git.repo import discover

    if not os.path.isdir(cwd):
        raise BadInputError(f"the payload's cwd {cwd!r} is not a directory")
    # The repository is the one the agent works in, whatever git variables reach the hook.
    env = no_git_env(environ)
    try:
        repo = discover(Git.from_environ(cwd, env))
    except NotARepositoryError as e:
        raise NothingToEnforce(f"{cwd} is not inside a git repository: nothing to enforce") \
            from e
    if repo.bare or not repo.toplevel:
        raise NothingToEnforce(f"{cwd} has no working tree: nothing to enforce")
    from avorelo_gate.files import memo

    memo.open_at(repo.state_dir())   # within the agent hook's session (agents/hook.py)
    return _load(repo, environ)


def _load(repo: Repo, environ: Mapping[str, str]) -> Workspace:
    from avorelo_gate.gate.engine import load_policy
    from avorelo_gate.git.snapshot import WORKTREE, Snapshot
    from avorelo_gate.task.active import read_active
    from avorelo_gate.task.declare import resolve_task

    explicit = None
    if not environ.get("AVORELO_TASK", "").strip():
        active = read_active(repo)
        explicit = active.id if active else None
    disk = resolve_task(Snapshot(repo, WORKTREE), explicit_id=explicit, environ=environ)
    repo = _with_head_files(repo, explicit or environ.get("AVORELO_TASK", "").strip() or None)
    tasks = [disk] if disk.declared else []
    if repo.head:
        try:
            at_head = resolve_task(Snapshot(repo, repo.head), explicit_id=explicit,
                                   environ=environ)
        except BadInputError:
            at_head = None   # HEAD only ever narrows; a task it cannot read adds nothing
        # The same task file as committed: deleting or widening it on disk changes nothing.
        if at_head is not None and at_head.file and disk.file in (None, at_head.file):
            tasks.append(at_head)
    primary = disk if disk.declared or not tasks else tasks[0]
    policy = load_policy(repo, repo.head, Snapshot(repo, WORKTREE))
    top = repo.toplevel or ""
    return Workspace(repo=repo, top=top, real_top=os.path.realpath(top), task=primary,
                     tasks=tuple(tasks), policy=policy, explicit_id=explicit)


def _with_head_files(repo: Repo, task_id: str | None) -> Repo:
    """``repo`` answering HEAD's policy and task files from one ``cat-file`` (this runs on
    every write an agent makes: one git process fewer than asking for each)."""
    if not repo.head:
        return repo
    from avorelo_gate.dataclass_lite import fields
    from avorelo_gate.gate.prefetch import PrefetchedRepo
    from avorelo_gate.git.repo import Repo as BaseRepo
    from avorelo_gate.task.policy import POLICY_PATH, TASK_PATH, TASKS_DIR

    paths = [POLICY_PATH, TASK_PATH, *([f"{TASKS_DIR}/{task_id}.yaml"] if task_id else [])]
    names = [f"{repo.head}:{p}" for p in paths]
    base = {f.name: getattr(repo, f.name) for f in fields(BaseRepo)}
    return PrefetchedRepo(**base, objects=repo.cat_objects(names))


def observe_model(ws: Workspace, agent: str, model: str | None) -> None:
    """Record the model the agent's own payload names (for the next receipt)."""
    if not model:
        return
    from avorelo_gate.errors import BadInputError
    from avorelo_gate.task.active import ObservedModel, read_observed, write_observed

    name = model.strip()[:200]
    if not name.isprintable():
        return   # a model id is a plain name; anything else is not worth recording
    seen = ObservedModel(name=name, agent=agent)
    try:
        if read_observed(ws.repo) == seen:
            return
    except BadInputError:
        pass  # damaged state: what the agent says now replaces it
    write_observed(ws.repo, seen)
