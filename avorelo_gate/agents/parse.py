"""Each agent's hook payload (the JSON on stdin) into one plain event (``events.py``).

Shapes and sources: ``tests/data/agents/PROTOCOLS.md`` and each agent's ``SOURCES.md``.
Anything that is not the agent's JSON raises PayloadError naming the agent and what was
expected; a tool we do not judge (a read, a search, an MCP tool) is a ToolCall with nothing
to write and nothing to run, which the core allows.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping

from avorelo_gate.agents.events import Event, PayloadError, SessionStart, StopRequest, ToolCall
from avorelo_gate.agents.patch import patch_paths

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

MAX_PAYLOAD_BYTES = 32 * 1024 * 1024

# The hook event names each agent sends for our three events (None: the payload names none).
EVENT_NAMES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "claude": {"pre-tool": ("PreToolUse",), "stop": ("Stop", "SubagentStop"),
               "session-start": ("SessionStart",)},
    "codex": {"pre-tool": ("PreToolUse",), "stop": ("Stop",), "session-start": ("SessionStart",)},
    "gemini": {"pre-tool": ("BeforeTool",), "stop": ("AfterAgent",),
               "session-start": ("SessionStart",)},
    "copilot": {"pre-tool": ("PreToolUse", "preToolUse"), "stop": ("Stop", "agentStop"),
                "session-start": ("SessionStart", "sessionStart")},
    "cline": {"pre-tool": ("PreToolUse",), "stop": ("TaskComplete", "TaskCancel"),
              "session-start": ("TaskStart", "TaskResume")},
}
# Claude's file tools (Copilot's VS Code format uses the same names) and the key of the path.
CLAUDE_WRITES = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
                 "NotebookEdit": "notebook_path"}
CLAUDE_SHELLS = ("Bash", "PowerShell")
GEMINI_WRITES = {"write_file": "file_path", "replace": "file_path"}
COPILOT_WRITES = ("create", "edit", "str_replace_editor", "write")
CLINE_WRITES = ("write_to_file", "replace_in_file", "editor", "delete_file", "new_rule")


def load_payload(raw: bytes, agent: str) -> dict[str, Any]:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"{agent}: the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise PayloadError(f"{agent}: stdin is not JSON ({type(e).__name__}); expected the "
                           f"{agent} hook's JSON object") from e
    if not isinstance(doc, dict):
        raise PayloadError(f"{agent}: expected the {agent} hook's JSON object, got "
                           f"{type(doc).__name__}")
    return doc


def parse_event(agent: str, event: str, doc: dict[str, Any]) -> Event:
    _check_event_name(agent, event, doc)
    return PARSERS[agent](event, doc)


def _check_event_name(agent: str, event: str, doc: Mapping[str, Any]) -> None:
    named = doc.get("hookName" if agent == "cline" else "hook_event_name")
    expected = EVENT_NAMES[agent][event]
    if named is not None and named not in expected:
        raise PayloadError(f"{agent}: this is a {named!r} payload; `agent-hook {agent} {event}` "
                           f"expects {' or '.join(expected)}")


def _text(doc: Mapping[str, Any], key: str, agent: str, what: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value or "\0" in value:
        raise PayloadError(f"{agent}: expected {what} with a string {key!r}")
    return value


def _optional_text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _object(doc: Mapping[str, Any], key: str, agent: str, what: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{agent}: expected {what} with an object {key!r}")
    return value


def _flag(doc: Mapping[str, Any], key: str, agent: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise PayloadError(f"{agent}: {key!r} must be true or false")
    return value


def _tool(agent: str, doc: Mapping[str, Any], cwd: str, tool: str, args: Mapping[str, Any],
          model: str | None) -> ToolCall:
    """A tool call in the Claude/Codex/Gemini shape (also Copilot's VS Code format)."""
    key = CLAUDE_WRITES.get(tool) or GEMINI_WRITES.get(tool)
    what = f"a {tool} tool_input"
    if key:
        return ToolCall(agent, tool, cwd, writes=(_text(args, key, agent, what),), model=model)
    if tool == "apply_patch":
        return ToolCall(agent, tool, cwd, writes=patch_paths(args.get("command"), agent),
                        model=model)
    if tool in CLAUDE_SHELLS or tool == "run_shell_command":
        return ToolCall(agent, tool, cwd, commands=(_text(args, "command", agent, what),),
                        model=model)
    return ToolCall(agent, tool, cwd, model=model)


def _claude_like(agent: str) -> Callable[[str, dict[str, Any]], Event]:
    def parse(event: str, doc: dict[str, Any]) -> Event:
        what = f"the {agent} hook's JSON"
        cwd = _text(doc, "cwd", agent, what)
        model = _optional_text(doc, "model")
        if event == "stop":
            return StopRequest(agent, cwd, _flag(doc, "stop_hook_active", agent), model)
        if event == "session-start":
            return SessionStart(agent, cwd, model)
        tool = _text(doc, "tool_name", agent, "a PreToolUse payload")
        args = _object(doc, "tool_input", agent, "a PreToolUse payload")
        return _tool(agent, doc, cwd, tool, args, model)
    return parse


def _copilot(event: str, doc: dict[str, Any]) -> Event:
    if "tool_name" in doc or "hook_event_name" in doc:   # the VS Code compatible format
        return _claude_like("copilot")(event, doc)
    cwd = _text(doc, "cwd", "copilot", "the copilot hook's JSON")
    if event == "stop":
        return StopRequest("copilot", cwd, _flag(doc, "stop_hook_active", "copilot"))
    if event == "session-start":
        return SessionStart("copilot", cwd)
    tool = _text(doc, "toolName", "copilot", "a preToolUse payload")
    raw = doc.get("toolArgs", {})
    if isinstance(raw, str):   # documented as a JSON string; typed `unknown` in the reference
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError as e:
            raise PayloadError("copilot: toolArgs is a string that is not JSON") from e
    if not isinstance(raw, dict):
        raise PayloadError("copilot: expected toolArgs as a JSON object (or its JSON text)")
    if tool in COPILOT_WRITES:
        return ToolCall("copilot", tool, cwd,
                        writes=(_text(raw, "path", "copilot", f"{tool} toolArgs"),))
    if tool in ("bash", "powershell"):
        return ToolCall("copilot", tool, cwd,
                        commands=(_text(raw, "command", "copilot", f"{tool} toolArgs"),))
    if tool == "apply_patch":
        body = next((v for v in raw.values() if isinstance(v, str) and "*** " in v), "")
        return ToolCall("copilot", tool, cwd, writes=patch_paths(body, "copilot"))
    return ToolCall("copilot", tool, cwd)


def _cline(event: str, doc: dict[str, Any]) -> Event:
    roots = doc.get("workspaceRoots")
    if roots is not None and (not isinstance(roots, list)
                              or not all(isinstance(r, str) for r in roots)):
        raise PayloadError("cline: workspaceRoots must be a list of paths")
    # Cline sends no cwd: the hook runs in the workspace root, which workspaceRoots names.
    cwd = roots[0] if roots else os.getcwd()
    model_doc = doc.get("model")
    slug = model_doc.get("slug") if isinstance(model_doc, dict) else None
    model = slug if isinstance(slug, str) and slug.strip() and slug != "unknown" else None
    _text(doc, "hookName", "cline", "the cline hook's JSON")
    if event == "stop":
        return StopRequest("cline", cwd, False, model)
    if event == "session-start":
        return SessionStart("cline", cwd, model)
    pre = _object(doc, "preToolUse", "cline", "a PreToolUse payload")
    tool = _text(pre, "toolName", "cline", "preToolUse")
    params = pre.get("parameters", {})
    if not isinstance(params, dict):
        raise PayloadError("cline: expected preToolUse.parameters as an object")
    if tool in CLINE_WRITES:
        return ToolCall("cline", tool, cwd, writes=(_text(params, "path", "cline", tool),),
                        model=model)
    if tool == "apply_patch":
        return ToolCall("cline", tool, cwd, writes=patch_paths(params.get("input"), "cline"),
                        model=model)
    if tool == "execute_command":
        return ToolCall("cline", tool, cwd,
                        commands=(_text(params, "command", "cline", tool),), model=model)
    if tool == "run_commands":
        return ToolCall("cline", tool, cwd, commands=_cline_commands(params.get("commands")),
                        model=model)
    return ToolCall("cline", tool, cwd, model=model)


def _cline_commands(value: object) -> tuple[str, ...]:
    # parameters is map<string,string>: a list arrives JSON-stringified; a bare string is
    # one of the looser shapes the SDK schema also accepts.
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            return (text,)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return tuple(str(v.get("command", "")) for v in value)
    raise PayloadError("cline: run_commands expects commands as a list of strings")


PARSERS: Mapping[str, Callable[[str, dict[str, Any]], Event]] = {
    "claude": _claude_like("claude"), "codex": _claude_like("codex"),
    "gemini": _claude_like("gemini"), "copilot": _copilot, "cline": _cline,
}
