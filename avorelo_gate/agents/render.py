"""A decision in each agent's own protocol: the exit code, stdout and stderr it reads.

Every deny is exit 0 with the agent's documented deny JSON (the form Codex's published
schemas accept, and the one the others document first); allow is exit 0 with nothing on
stdout, except where the protocol wants a body. Warnings go where each agent shows them.
"""
from __future__ import annotations

import json

from avorelo_gate.agents.events import Decision
from avorelo_gate.dataclass_lite import dataclass

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Answer:
    """What the agent reads back: an exit code, stdout and stderr."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False) + "\n"


def render(agent: str, event: str, decision: Decision, vscode: bool = False) -> Answer:
    if agent == "cline":
        return _cline(event, decision)
    if agent == "copilot" and not vscode:
        return _copilot(event, decision)
    return _claude_like(agent, event, decision, copilot_vscode=vscode)


def _claude_like(agent: str, event: str, d: Decision, copilot_vscode: bool) -> Answer:
    """Claude Code, Codex and Gemini (and Copilot's VS Code format, which copies Claude's)."""
    doc: dict[str, Any] = {}
    if event == "pre-tool" and not d.allow:
        if agent == "gemini":
            doc = {"decision": "deny", "reason": d.reason}
        else:
            doc = {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                          "permissionDecision": "deny",
                                          "permissionDecisionReason": d.reason}}
            if copilot_vscode:   # one object that either of Copilot's parsers reads as deny
                doc.update(permissionDecision="deny", permissionDecisionReason=d.reason)
    elif event == "stop" and not d.allow:
        doc = {"decision": "deny" if agent == "gemini" else "block", "reason": d.reason}
    elif event == "session-start" and d.context:
        doc = {"hookSpecificOutput": {"hookEventName": "SessionStart",
                                      "additionalContext": d.context}}
    if d.warning:
        doc["systemMessage"] = d.warning
    return Answer(0, _json(doc) if doc else "")


def _copilot(event: str, d: Decision) -> Answer:
    doc: dict[str, Any] = {}
    if event == "pre-tool" and not d.allow:
        doc = {"permissionDecision": "deny", "permissionDecisionReason": d.reason}
    elif event == "stop" and not d.allow:
        doc = {"decision": "block", "reason": d.reason}
    elif event == "session-start" and d.context:
        doc = {"additionalContext": d.context}
    # Copilot documents no warning field: stderr is the one place a person may see it.
    return Answer(0, _json(doc) if doc else "",
                  f"avorelo-gate: {d.warning}\n" if d.warning else "")


def _cline(event: str, d: Decision) -> Answer:
    # Cline cannot block a task from completing, and cancel on TaskStart would cancel the
    # task: only pre-tool ever cancels. contextModification is the model's channel.
    doc: dict[str, Any] = {"cancel": event == "pre-tool" and not d.allow}
    if doc["cancel"]:
        doc["errorMessage"] = d.reason
    notes = [n for n in (d.reason if event == "stop" and not d.allow else "", d.context,
                         d.warning) if n]
    if notes:
        doc["contextModification"] = "\n".join(notes)
    return Answer(0, _json(doc))
