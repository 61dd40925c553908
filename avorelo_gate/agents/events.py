"""What an agent's hook asks, as plain values: the same for every agent once parsed.

NamedTuples, not dataclasses: this runs on every tool call, and a read or a shell command
needs nothing that would import ``dataclasses`` (and ``inspect`` with it)."""
from __future__ import annotations

from typing import NamedTuple

AGENTS = ("claude", "codex", "gemini", "copilot", "cline")
EVENTS = ("pre-tool", "stop", "session-start")


class PayloadError(ValueError):
    """The payload is not the agent's JSON: denied with this one-line reason."""


class ToolCall(NamedTuple):
    agent: str
    tool: str
    cwd: str
    writes: tuple[str, ...] = ()      # every path the tool writes, as the payload names them
    commands: tuple[str, ...] = ()    # shell command lines the tool runs
    model: str | None = None


class StopRequest(NamedTuple):
    agent: str
    cwd: str
    hook_active: bool                 # the agent is already continuing because we said so
    model: str | None = None


class SessionStart(NamedTuple):
    agent: str
    cwd: str
    model: str | None = None


Event = ToolCall | StopRequest | SessionStart


class Decision(NamedTuple):
    """The answer, before any agent's protocol shapes it."""

    allow: bool
    reason: str = ""                  # for the model, when denied
    warning: str = ""                 # for the person: why nothing was enforced
    context: str = ""                 # for the model at session start: the task's path
