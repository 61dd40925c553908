"""``avorelo-gate install --agent AGENT``: each agent's project hook config, merged into what
is already there without losing a key, idempotent; ``--uninstall`` takes out only our entries.

Our entries are the hooks whose command starts with ``avorelo-gate agent-hook``: that is how
a later install or uninstall finds them, whoever edited the file since. Shapes and sources:
``tests/data/agents/PROTOCOLS.md``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, EnvironmentFailure

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

COMMAND = "avorelo-gate agent-hook"
CLINE_MARKER = "# avorelo-gate managed hook"


def _cmd(agent: str, event: str) -> str:
    return f"{COMMAND} {agent} {event}"


def _claude_style(agent: str, tools: str, starts: str | None,
                  stop_timeout: int | None = None) -> dict[str, Any]:
    def hook(event: str, timeout: int | None = None) -> dict[str, Any]:
        h: dict[str, Any] = {"type": "command", "command": _cmd(agent, event)}
        if timeout:
            h["timeout"] = timeout
        return h

    session: dict[str, Any] = {"hooks": [hook("session-start")]}
    if starts:
        session = {"matcher": starts, **session}
    return {"PreToolUse": [{"matcher": tools, "hooks": [hook("pre-tool")]}],
            "Stop": [{"hooks": [hook("stop", stop_timeout)]}],
            "SessionStart": [session]}


def _gemini() -> dict[str, Any]:
    def hook(event: str) -> dict[str, Any]:
        return {"name": f"avorelo-gate-{event}", "type": "command",
                "command": _cmd("gemini", event)}

    # SessionStart takes no matcher: lifecycle matchers are exact strings (PROTOCOLS.md).
    return {"BeforeTool": [{"matcher": "write_file|replace|run_shell_command",
                            "hooks": [hook("pre-tool")]}],
            "AfterAgent": [{"hooks": [hook("stop")]}],
            "SessionStart": [{"hooks": [hook("session-start")]}]}


def _copilot() -> dict[str, Any]:
    def hook(event: str, timeout: int = 30) -> dict[str, Any]:
        return {"type": "command", "bash": _cmd("copilot", event), "timeoutSec": timeout}

    return {"preToolUse": [hook("pre-tool")], "agentStop": [hook("stop", 120)],
            "sessionStart": [hook("session-start")]}


# agent -> (the file, the events we add under its "hooks" key)
JSON_CONFIGS: Mapping[str, tuple[str, dict[str, Any]]] = {
    "claude": (".claude/settings.json", _claude_style(
        "claude", "Write|Edit|MultiEdit|NotebookEdit|Bash|PowerShell",
        "startup|resume|clear|compact")),
    "codex": (".codex/hooks.json", _claude_style(
        "codex", "Bash|apply_patch", "startup|resume|clear|compact", stop_timeout=120)),
    "gemini": (".gemini/settings.json", _gemini()),
    "copilot": (".github/hooks/avorelo-gate.json", _copilot()),
}
CLINE_DIR = ".clinerules/hooks"
CLINE_SCRIPTS = {"PreToolUse": "pre-tool", "TaskComplete": "stop", "TaskStart": "session-start",
                 "TaskResume": "session-start"}
# Where each agent reads its hooks from: a task's write there could switch the gate off.
CONFIG_PATHS = (*(p for p, _ in JSON_CONFIGS.values()), ".claude/settings.local.json",
                ".codex/config.toml")
CONFIG_DIRS = (".github/hooks/", CLINE_DIR + "/")


def is_agent_config(rel: str) -> bool:
    """A path an agent reads its hooks from (compared case-folded: fail closed)."""
    low = rel.casefold()
    return low in CONFIG_PATHS or low.startswith(CONFIG_DIRS)


def cline_script(event: str) -> str:
    # Cline goes ahead when a hook fails without JSON: without avorelo-gate, say so in
    # Cline's own shape, and refuse the tool rather than let it through unchecked.
    missing = json.dumps({"cancel": event == "pre-tool",
                          "errorMessage" if event == "pre-tool" else "contextModification":
                          "avorelo-gate is not on PATH (pip install avorelo-gate): the "
                          "scope of the task cannot be checked"})
    return (f"#!/usr/bin/env sh\n{CLINE_MARKER}: cline {event}\n"
            "if command -v avorelo-gate >/dev/null 2>&1; then\n"
            f"    exec {_cmd('cline', event)}\n"
            f"fi\necho '{missing}'\n")


@dataclass(frozen=True)
class Configured:
    """One agent's project config, as install --agent left it."""

    agent: str
    path: str          # relative to the repository root
    action: str        # written | updated | unchanged | removed | absent


def configure(top: str, agent: str, uninstall: bool = False) -> list[Configured]:
    if agent == "cline":
        return [_cline(top, name, event, uninstall) for name, event in CLINE_SCRIPTS.items()]
    if agent not in JSON_CONFIGS:
        raise BadInputError(f"--agent {agent!r}: not an agent avorelo-gate knows (one of: "
                            "claude, codex, gemini, copilot, cline)")
    rel, events = JSON_CONFIGS[agent]
    path = os.path.join(top, rel)
    text = _read(path)
    doc: dict[str, Any] = {} if text is None else _parse(text, rel)
    before = json.dumps(doc, sort_keys=False)
    hooks = doc.get("hooks", {})
    if not isinstance(hooks, dict):
        raise BadInputError(f"{rel}: 'hooks' must be an object")
    for event in events:
        kept = [_without_ours(g, rel, event) for g in _event_list(hooks, event, rel)]
        hooks[event] = [g for g in kept if g is not None]
        if not uninstall:
            hooks[event] += events[event]
        if not hooks[event]:
            del hooks[event]
    if hooks:
        doc["hooks"] = hooks
        if agent == "copilot":
            doc = {"version": doc.pop("version", 1), **doc}
    else:
        doc.pop("hooks", None)
    if json.dumps(doc, sort_keys=False) == before and text is not None:
        return [Configured(agent, rel, "unchanged")]
    if text is None and uninstall:
        return [Configured(agent, rel, "absent")]
    if uninstall and not hooks and set(doc) <= {"version"}:
        _remove(path, top)   # nothing left but what we wrote
        return [Configured(agent, rel, "removed")]
    from avorelo_gate.files.atomic import write_atomic

    write_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
    return [Configured(agent, rel, "updated" if text is not None else "written")]


def _parse(text: str, rel: str) -> dict[str, Any]:
    try:
        doc = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise BadInputError(f"{rel}: not valid JSON ({e}); fix it or move it aside, then "
                            "install again") from e
    if not isinstance(doc, dict):
        raise BadInputError(f"{rel}: expected a JSON object at the top")
    return doc


def _event_list(hooks: dict[str, Any], event: str, rel: str) -> list[Any]:
    groups = hooks.get(event, [])
    if not isinstance(groups, list):
        raise BadInputError(f"{rel}: hooks.{event} must be a list")
    return groups


def _ours(hook: object) -> bool:
    return isinstance(hook, dict) and any(
        isinstance(hook.get(k), str) and hook[k].lstrip().startswith(COMMAND)
        for k in ("command", "bash"))


def _without_ours(group: Any, rel: str, event: str) -> Any:
    """A matcher group without our hooks (None when nothing else was in it)."""
    if _ours(group):   # Copilot lists hooks directly, not in groups
        return None
    if not isinstance(group, dict) or not isinstance(group.get("hooks", []), list):
        return group   # not ours, not understood: left exactly as it was
    inner = group.get("hooks", [])
    kept = [h for h in inner if not _ours(h)]
    if len(kept) == len(inner):
        return group
    return {**group, "hooks": kept} if kept else None


def _cline(top: str, name: str, event: str, uninstall: bool) -> Configured:
    rel = f"{CLINE_DIR}/{name}"
    path = os.path.join(top, rel)
    text = _read(path)
    if text is not None and CLINE_MARKER not in text:
        if uninstall:
            return Configured("cline", rel, "unchanged")
        raise BadInputError(f"{rel}: a hook script avorelo-gate did not write is already "
                            f"there; call `{_cmd('cline', event)}` from it, or move it aside "
                            "and install again")
    if uninstall:
        if text is None:
            return Configured("cline", rel, "absent")
        _remove(path, top)
        return Configured("cline", rel, "removed")
    content = cline_script(event)
    if text == content and os.access(path, os.X_OK):
        return Configured("cline", rel, "unchanged")
    from avorelo_gate.files.atomic import write_atomic

    write_atomic(path, content.encode(), mode=0o755)
    return Configured("cline", rel, "updated" if text is not None else "written")


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(4 * 1024 * 1024).decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as e:
        raise BadInputError(f"{path}: not UTF-8 text") from e
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot read: {e.strerror}") from e


def _remove(path: str, top: str) -> None:
    """Remove ``path``, then the folders install made for it if nothing else is in them."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot remove: {e.strerror}") from e
    folder = os.path.dirname(path)
    while os.path.realpath(folder) != os.path.realpath(top):
        try:
            os.rmdir(folder)   # only ever succeeds on an empty folder
        except OSError:
            return
        folder = os.path.dirname(folder)
