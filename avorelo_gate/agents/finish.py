"""``stop``: the agent may not finish while ``check --worktree`` fails for its task, and the
reason says what to do; ``session-start``: the task's path, told to the model up front."""
from __future__ import annotations

from collections.abc import Mapping

from avorelo_gate.agents.events import Decision, StopRequest
from avorelo_gate.agents.workspace import (
    NothingToEnforce,
    Workspace,
    open_workspace,
)

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from avorelo_gate.result import TouchedFile

MAX_SHOWN = 5


def decide_stop(event: StopRequest, environ: Mapping[str, str]) -> Decision:
    # The agent is already continuing because a stop hook said so: never hold it twice
    # (Claude, Codex, Gemini and Copilot send this flag; Claude also gives up after 8).
    if event.hook_active:
        return Decision(True)
    try:
        ws = open_workspace(event.cwd, environ, event.agent, event.model)
    except NothingToEnforce as e:
        return Decision(True, warning=str(e))
    if not ws.has_task:
        return Decision(True, warning="no active task and no .avorelo/task.yaml: nothing to "
                        "check before finishing")
    from avorelo_gate.gate.assemble import CheckRequest, check_request

    checked = check_request(ws.repo, CheckRequest(mode="worktree", task_id=ws.explicit_id),
                            environ)
    violations = checked.result.violations
    if not violations:
        return Decision(True)
    steps = [_step(v.rule, v.path, v.message, v.hint, _added(checked.result.touched, v.path))
             for v in violations]
    shown = " ".join(steps[:MAX_SHOWN])
    more = f" (and {len(steps) - MAX_SHOWN} more)" if len(steps) > MAX_SHOWN else ""
    return Decision(False, reason=(
        f"avorelo-gate: task {ws.task.id or '(unnamed)'} is not done: `avorelo-gate check "
        f"--worktree` fails. {shown}{more} Do this, then finish."))


def _added(touched: tuple[TouchedFile, ...], path: str | None) -> bool:
    return any(t.path == path and t.status == "A" for t in touched)


def _step(rule: str, path: str | None, message: str, hint: str | None, added: bool) -> str:
    from avorelo_gate.gate.engine import shell_path
    from avorelo_gate.gate.paths import PATH_RULES
    from avorelo_gate.git.paths import display_path

    if rule in PATH_RULES and path:
        undo = (f"delete it (it is new): rm -- {shell_path(path)}" if added
                else f"revert it: git checkout HEAD -- {shell_path(path)}")
        return f"{rule} {display_path(path)}: {message}; {undo}."
    where = f" {display_path(path)}" if path else ""
    return f"{rule}{where}: {message}" + (f"; {hint}." if hint else ".")


def task_summary(ws: Workspace) -> str:
    task = ws.task
    parts = [f"avorelo-gate: you are working on task {task.id or '(unnamed)'}"
             + (f" ({task.title})" if task.title else "") + "."]
    scopes = [", ".join(s) for s in task.scopes()]
    parts.append(f"Scope: {' and '.join(scopes)}." if scopes else "Scope: not limited.")
    if task.forbid:
        parts.append(f"Forbidden: {', '.join(task.forbid)}.")
    parts.append(f"Protected by the policy: {', '.join(ws.policy.protected)}.")
    owed = [_requirement(r) for r in (*task.proof, *ws.policy.proof)]
    if owed:
        parts.append(f"Proof owed: {'; '.join(owed)} (produce it with avorelo-gate prove).")
    if task.weight or task.model:
        parts.append(f"Model: {task.weight or ''} {task.model or ''}".rstrip() + ".")
    parts.append("Writes outside the scope are denied before they happen; finishing waits "
                 "until `avorelo-gate check --worktree` passes.")
    return " ".join(parts)


def _requirement(req: Mapping[str, object]) -> str:
    for kind in ("command", "junit", "log"):
        if kind in req:
            return f"{kind} {req[kind]}"
    return ", ".join(f"{k}: {v}" for k, v in req.items())
