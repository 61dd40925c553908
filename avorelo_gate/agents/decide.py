"""The one decision core every agent shares: a parsed event and the environment in, a
Decision out. Paths are judged by the engine itself (``gate/engine.py evaluate``, the same
call ``check`` makes), so every rule it applies to a path (scope, forbid, protected and how
they compare names) applies to an agent's write before it happens.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from avorelo_gate.agents.events import Decision, Event, SessionStart, StopRequest, ToolCall

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from avorelo_gate.agents.workspace import Workspace

# The engine's rules about a path; the others (budgets, proof) are about the whole change
# and are judged at stop and at commit.
MAX_SHOWN = 5


def decide(event: Event, environ: Mapping[str, str]) -> Decision:
    if isinstance(event, ToolCall):
        return _tool(event, environ)
    if isinstance(event, StopRequest):
        from avorelo_gate.agents.finish import decide_stop

        return decide_stop(event, environ)
    return _session_start(event, environ)


def _tool(call: ToolCall, environ: Mapping[str, str]) -> Decision:
    writes = list(call.writes)
    refusal = None
    for command in call.commands:
        from avorelo_gate.agents.shell import bypass_reason

        why = bypass_reason(command)
        if why:
            refusal = Decision(False, reason=f"avorelo-gate denied this command: {why}. Run "
                               "it without that; if the hooks stop you, fix what they report.")
            break
        if "*** Begin Patch" in command:   # apply_patch run through the shell writes too
            from avorelo_gate.agents.patch import patch_paths

            writes += patch_paths(command, call.agent)
    if refusal is None and not writes and call.model is None:
        return Decision(True)
    from avorelo_gate.agents.workspace import NothingToEnforce, open_workspace

    try:
        ws = open_workspace(call.cwd, environ, call.agent, call.model)
    except NothingToEnforce as e:
        return refusal or Decision(True, warning=str(e) if writes else "")
    if refusal is not None:
        return refusal
    if not writes:
        return Decision(True)
    return judge_writes(ws, call.cwd, writes)


def judge_writes(ws: Workspace, cwd: str, paths: list[str]) -> Decision:
    denials: list[str] = []
    judged: dict[str, str] = {}          # repo-relative path -> the path the agent named
    for named in paths:
        where = _locate(ws, cwd, named)
        if isinstance(where, str):
            denials.append(where)
            continue
        for rel in where:
            judged.setdefault(rel, named)
    denials += _engine_denials(ws, judged)
    if denials:
        return Decision(False, reason="avorelo-gate denied this write: " + " ".join(denials))
    if not ws.has_task:
        return Decision(True, warning="no active task and no .avorelo/task.yaml: only the "
                        "policy's protected paths are enforced (avorelo-gate task start ID)")
    return Decision(True)


def _locate(ws: Workspace, cwd: str, named: str) -> list[str] | str:
    """The repository paths a write to ``named`` changes, or why it may not happen at all.

    The path as written (``..`` folded) and the path the filesystem reaches (every symlink
    followed) are both judged: a symlinked directory inside the scope that points outside
    writes outside, and a link named outside the scope that points in is still a change to
    a path outside it.
    """
    from avorelo_gate.git.paths import display_path

    shown = display_path(named)
    if "\0" in named or not named.strip():
        return f"{shown!r} is not a path."
    joined = os.path.join(cwd, os.path.expanduser(named))
    real = os.path.realpath(joined)
    real_rel = _inside(real, ws.real_top)
    if real_rel is None:
        if not ws.has_task:
            return []   # no task: the repository's own paths are all there is to guard
        return (f"{shown} is outside the repository {display_path(ws.top)}; write only inside "
                f"it{_scope_phrase(ws)}.")
    for git_dir in {ws.repo.git_dir, ws.repo.common_dir, _hooks_dir(ws)}:
        if _inside(real, os.path.realpath(git_dir)) is not None:
            return (f"{shown} is inside git's own directory ({display_path(git_dir)}); no "
                    "task writes there: the gate's hooks and receipts live there.")
    lexical = os.path.normpath(joined)
    rels = [real_rel]
    for top in (ws.top, ws.real_top):
        lex_rel = _inside(lexical, top)
        if lex_rel is not None:
            if lex_rel.split("/", 1)[0] == ".git":
                return f"{shown} is inside .git; no task writes there."
            rels.append(lex_rel)
            break
    from avorelo_gate.agents.config import is_agent_config

    for rel in rels:
        if is_agent_config(rel):
            return (f"{shown} is where a coding agent reads its hooks (the gate among them); "
                    "no task may change it. Leave it alone: a maintainer changes it.")
    return list(dict.fromkeys(rels))


def _inside(path: str, top: str) -> str | None:
    rel = os.path.relpath(path, top)
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep) or \
            os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def _hooks_dir(ws: Workspace) -> str:
    try:
        return ws.repo.hooks_dir()
    except Exception:
        return ws.repo.git_dir


def _engine_denials(ws: Workspace, judged: dict[str, str]) -> list[str]:
    if not judged:
        return []
    from avorelo_gate.gate.engine import Options
    from avorelo_gate.gate.paths import path_violations
    from avorelo_gate.task.declare import ResolvedTask

    found: dict[str, str] = {}       # path -> the rule that denies it (first one found)
    forbid: list[str] = []
    # Without a task the engine still applies the policy (protected, the policy file).
    for task in ws.tasks or (ResolvedTask(),):
        for v in path_violations(ws.repo, task, ws.policy, judged, Options(label="agent")):
            if v.path is not None and v.path not in found:
                found[v.path] = "protected" if v.rule == "policy-changed" else v.rule
                forbid += [f for f in task.forbid if f not in forbid]
    return [_explain(ws, rule, [p for p in sorted(found) if found[p] == rule], forbid)
            for rule in ("protected", "forbidden", "out-of-scope")
            if rule in found.values()]


def _explain(ws: Workspace, rule: str, paths: list[str], forbid: list[str]) -> str:
    from avorelo_gate.git.paths import display_path

    shown = ", ".join(display_path(p) for p in paths[:MAX_SHOWN])
    if len(paths) > MAX_SHOWN:
        shown += f" (and {len(paths) - MAX_SHOWN} more)"
    tid = ws.task.id or "(unnamed)"
    if rule == "protected":
        return (f"{shown}: protected by the repository policy; no task may change it. Leave "
                "it alone: a maintainer changes it in a change of its own.")
    if rule == "forbidden":
        return (f"{shown}: forbidden by task {tid} (forbid: {', '.join(forbid)}). Do not "
                "write it; if it must change, ask for the task to be changed.")
    scope = _scope_text(ws)
    return (f"{shown}: outside the scope of task {tid} ({scope}). Stay inside {scope}; if "
            "this file is needed, ask for the task to be widened.")


def _scope_text(ws: Workspace) -> str:
    scopes = [", ".join(s) for t in ws.tasks for s in t.scopes()]
    return " and ".join(dict.fromkeys(scopes)) or "no paths"


def _scope_phrase(ws: Workspace) -> str:
    if not ws.has_task or not ws.task.scopes():
        return ""
    return f", within task {ws.task.id or '(unnamed)'}'s scope ({_scope_text(ws)})"


def _session_start(event: SessionStart, environ: Mapping[str, str]) -> Decision:
    from avorelo_gate.agents.workspace import NothingToEnforce, open_workspace

    try:
        ws = open_workspace(event.cwd, environ, event.agent, event.model)
    except NothingToEnforce as e:
        return Decision(True, warning=str(e))
    from avorelo_gate.agents.finish import task_summary

    if not ws.has_task:
        return Decision(True, warning="no active task and no .avorelo/task.yaml: writes are "
                        "not limited to a scope (start one: avorelo-gate task start ID)")
    return Decision(True, context=task_summary(ws))
