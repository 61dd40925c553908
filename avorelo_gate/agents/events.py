"""What an agent's hook asks, as plain values: the same for every agent once parsed.

Frozen dataclasses, not NamedTuples: a write imports ``dataclasses`` for the engine anyway,
and ``typing`` (which NamedTuple needs) would cost every tool call ~13 ms more (issue 14)."""
from __future__ import annotations

from avorelo_gate.dataclass_lite import dataclass

AGENTS = ("claude", "codex", "gemini", "copilot", "cline")
EVENTS = ("pre-tool", "stop", "session-start")


class PayloadError(ValueError):
    """The payload is not the agent's JSON: denied with this one-line reason."""


@dataclass(frozen=True)
class ToolCall:
    """A tool the agent is about to run: the paths it writes and the commands it runs."""

    agent: str
    tool: str
    cwd: str
    writes: tuple[str, ...] = ()      # every path the tool writes, as the payload names them
    commands: tuple[str, ...] = ()    # shell command lines the tool runs
    model: str | None = None


@dataclass(frozen=True)
class StopRequest:
    """The agent wants to end its turn."""

    agent: str
    cwd: str
    hook_active: bool                 # the agent is already continuing because we said so
    model: str | None = None


@dataclass(frozen=True)
class SessionStart:
    """The agent starts (or resumes) a session."""

    agent: str
    cwd: str
    model: str | None = None


Event = ToolCall | StopRequest | SessionStart


@dataclass(frozen=True)
class Decision:
    """The answer, before any agent's protocol shapes it."""

    allow: bool
    reason: str = ""                  # for the model, when denied
    warning: str = ""                 # for the person: why nothing was enforced
    context: str = ""                 # for the model at session start: the task's path
