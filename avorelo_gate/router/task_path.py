"""The task's whole path, in the router's order: the context to assemble, the scope and what is
forbidden, the tools, the approvals that will apply, the proof owed, and only last the model
weight (with reasons, evidence and the model the policy maps it to).

Every part comes from the piece that enforces it: ``task/context.py`` (context and pins),
``task/declare.py`` (scope, forbid, tools), ``task/approvals.py`` (which rules hold),
``proof/requirements.py`` (the proof owed) and ``router/route.py`` (the weight); this module
only puts them in order (``task start``, ``task show``, the MCP tool ``task_path``).
"""
from __future__ import annotations

import json
from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError
from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import INDEX, WORKTREE, Snapshot
from avorelo_gate.proof.requirements import label_of, requirements_of
from avorelo_gate.router.route import Route, describe_model, head_policy, render_route, route
from avorelo_gate.task.active import Routed, valid_task_id
from avorelo_gate.task.approvals import conditions_hold
from avorelo_gate.task.context import ContextSet, assemble
from avorelo_gate.task.declare import ResolvedTask, resolve_task
from avorelo_gate.task.policy import TASKS_DIR, Policy

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

TASK_PATH_SCHEMA = "avorelo.task-path/v1"


@dataclass(frozen=True)
class TaskPath:
    task: ResolvedTask
    policy: Policy
    context: ContextSet
    route: Route
    active: bool = False
    routed_at_start: Routed | None = None

    def approvals(self) -> list[dict[str, Any]]:
        """The policy's approval rules that hold for this task at the routed weight; a rule
        with paths applies when the change touches one of them."""
        return [{"rule": i, "paths": list(a.paths), "approvers": list(a.approvers),
                 "count": a.count, "risk": a.risk, "weights": list(a.weights),
                 "signal": a.signal}
                for i, a in enumerate(self.policy.approvals)
                if conditions_hold(a, self.task.risk, self.route.weight)]

    def proof(self) -> list[dict[str, Any]]:
        return [{"requirement": label_of(r), **dict(r)}
                for r in requirements_of(self.task, self.policy)]

    def context_dict(self) -> dict[str, Any]:
        stale = {v.path for v in self.context.violations if v.rule == "context-stale"}
        files = [dict(f.to_dict(), fresh=f.path not in stale if f.pinned else None)
                 for f in self.context.files]
        return {"at": self.context.where, "files": files,
                "total_bytes": self.context.total_bytes,
                "fresh": not self.context.violations,
                "violations": [v.to_dict() for v in self.context.violations]}

    def to_dict(self) -> dict[str, Any]:
        t = self.task
        routed = self.routed_at_start
        route = self.route.to_dict()
        route.pop("schema")
        route.pop("task")
        return {
            "schema": TASK_PATH_SCHEMA,
            "task": {"id": t.id, "title": t.title, "file": t.file, "file_blob": t.file_blob,
                     "risk": t.risk, "budget": t.budget.to_dict(), "active": self.active},
            "context": self.context_dict(),
            "scope": {"scope": list(t.scope), "forbid": list(t.forbid),
                      "protected": list(self.policy.protected)},
            "tools": list(t.tools) if t.tools is not None else None,
            "approvals": self.approvals(),
            "proof": self.proof(),
            "route": dict(route, routed_at_start={
                "weight": routed.weight, "name": routed.name, "alias": routed.alias}
                if routed else None),
        }


def require_task_file(repo: Repo, task_id: str) -> None:
    """``task start`` names a planned task: its file must exist (in the working tree)."""
    if not valid_task_id(task_id):
        raise BadInputError(f"task {task_id!r} is not a task id (letters, digits, "
                            ". _ -, starting with a letter or digit)")
    rel = f"{TASKS_DIR}/{task_id}.yaml"
    if rel not in Snapshot(repo, WORKTREE).read([rel]):
        raise BadInputError(f"task {task_id}: {rel} does not exist; write the task file "
                            "first (avorelo-gate validate checks it)")


def task_path(repo: Repo, task_id: str, environ: Mapping[str, str], *, active: bool = False,
              routed_at_start: Routed | None = None) -> TaskPath:
    # The named task, whatever AVORELO_TASK says (route does the same).
    env = {k: v for k, v in environ.items() if k != "AVORELO_TASK"}
    task = resolve_task(Snapshot(repo, WORKTREE), explicit_id=task_id, environ=env)
    if task.file != f"{TASKS_DIR}/{task_id}.yaml":
        raise BadInputError(f"task {task_id}: {TASKS_DIR}/{task_id}.yaml does not exist")
    policy = head_policy(repo)
    context = assemble(repo, repo.head, task.context)
    found = route(repo, task_id, (), env)
    return TaskPath(task, policy, context, found, active, routed_at_start)


def routed_of(path: TaskPath) -> Routed:
    m = path.route.model
    return Routed(path.route.weight, m.name if m else None, m.alias if m else None)


def render_task_path(path: TaskPath, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(path.to_dict(), indent=2, ensure_ascii=False) + "\n"
    t = path.task
    out = [f"task {t.id}{' (active)' if path.active else ''}: {t.title or ''}".rstrip(": "),
           f"  file: {t.file} (blob {(t.file_blob or '')[:12]})"]
    ctx = path.context_dict()
    out.append(f"1. context: {len(ctx['files'])} file(s), {ctx['total_bytes']} bytes at "
               f"{'the index' if ctx['at'] == INDEX else ctx['at'][:12]}"
               + ("" if ctx["fresh"] else "  (NOT fresh: see below)"))
    for f in ctx["files"]:
        pin = "" if f["fresh"] is None else "  pinned, fresh" if f["fresh"] else \
            "  pinned, STALE"
        out.append(f"     {f['blob'][:12]}  {f['size']:>9}  {display_path(f['path'])}{pin}")
    out.extend(f"     {v['rule']}: {v['message']}" for v in ctx["violations"])
    out.append(f"2. scope: {', '.join(t.scope) or '(none declared: every path)'}")
    out.append(f"   forbid: {', '.join(t.forbid) or '-'}; protected by the policy: "
               f"{', '.join(path.policy.protected)}")
    out.append("3. tools: " + (", ".join(t.tools) if t.tools is not None
                               else "any (the task lists none)"))
    approvals = path.approvals()
    out.append(f"4. approvals: {len(approvals) or 'none'}")
    for a in approvals:
        where = f"changes to {', '.join(a['paths'])}" if a["paths"] else "every change"
        out.append(f"     {where}: {a['count']} of {', '.join(a['approvers'])}")
    proof = path.proof()
    out.append(f"5. proof owed: {len(proof) or 'none'}")
    out.extend(f"     {p['requirement']}" for p in proof)
    model = f" -> {describe_model(path.route.model)}" if path.route.model else \
        " (no model mapped: policy models:)"
    out.append(f"6. weight: {path.route.weight}{model}")
    if path.routed_at_start and path.routed_at_start.weight != path.route.weight:
        out.append(f"   (routed {path.routed_at_start.weight} at task start)")
    out.extend("   " + line for line in render_route(path.route, "text").splitlines()[1:]
               if not line.startswith("  model:"))
    return "\n".join(out) + "\n"


# -- the commands -----------------------------------------------------------------------------
def start_task(repo: Repo, task_id: str, environ: Mapping[str, str]) -> TaskPath:
    """``task start ID``: the file must exist and validate; the routed weight is kept."""
    from avorelo_gate.task.active import ActiveTask, write_active

    require_task_file(repo, task_id)
    path = task_path(repo, task_id, environ, active=True)
    routed = routed_of(path)
    write_active(repo, ActiveTask(task_id, routed=routed))
    return TaskPath(path.task, path.policy, path.context, path.route, True, routed)


def show_task(repo: Repo, task_id: str | None, environ: Mapping[str, str]) -> TaskPath:
    """The active task's path; with ``task_id``, that task's (active or not)."""
    from avorelo_gate.task.active import read_active

    active = read_active(repo)
    if task_id is not None:
        require_task_file(repo, task_id)
    elif active is None:
        raise BadInputError("task show: no active task; start one: avorelo-gate task start ID")
    wanted = task_id or (active.id if active else "")
    is_active = active is not None and active.id == wanted
    return task_path(repo, wanted, environ, active=is_active,
                     routed_at_start=active.routed if is_active and active else None)


def stop_task(repo: Repo) -> str:
    from avorelo_gate.task.active import clear_active, read_active

    active = read_active(repo)
    clear_active(repo)
    return f"stopped task {active.id}\n" if active else "no active task\n"
