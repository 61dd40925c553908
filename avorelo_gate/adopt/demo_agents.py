"""``avorelo-gate demo --agent``: a simulated Claude Code session through the hooks that
``install --agent claude`` wrote. Each payload has the shape Claude Code sends (see
tests/data/agents/claude/) and goes through the command line in .claude/settings.json, exactly
as Claude Code would run it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from avorelo_gate.adopt.demo_repo import DemoRepo

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

POLICY = 'version: 1\nrequire_task: true\nprotected: [".github/workflows/**"]\n'
TASK = """\
id: DEMO-A
title: A friendlier greeting, written by an agent
scope: ["src/**", "tests/**"]
proof:
  - command: tests        # a fresh, passing `avorelo-gate prove --name tests` run
"""
DEMO_TEST = ("import sys; sys.path.insert(0, 'src'); import greet; "
             "assert greet.greet('Ada').startswith('Hello'); print('1 test passed')")
EVENTS = {"pre-tool": "PreToolUse", "stop": "Stop", "session-start": "SessionStart"}


def _shim(d: DemoRepo) -> None:
    """``avorelo-gate`` on PATH, running this interpreter and this copy of the package."""
    folder = os.path.join(os.path.dirname(d.path), "bin")
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(folder, "avorelo-gate")
    with open(script, "w", encoding="utf-8") as f:
        f.write(f'#!/bin/sh\nexec "{sys.executable}" -m avorelo_gate "$@"\n')
    os.chmod(script, 0o755)
    d.env["PATH"] = folder + os.pathsep + d.env.get("PATH", "")


def _hook(d: DemoRepo, event: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run the command the installed .claude/settings.json names for ``event``."""
    with open(os.path.join(d.path, ".claude", "settings.json"), encoding="utf-8") as f:
        settings = json.load(f)
    command = next(h["command"] for group in settings["hooks"][EVENTS[event]]
                   for h in group["hooks"] if h["command"].startswith("avorelo-gate"))
    base = {"session_id": "demo", "transcript_path": "", "cwd": d.path,
            "hook_event_name": EVENTS[event]}
    proc = d.run(["sh", "-c", command], input=json.dumps({**base, **body}).encode())
    answer: dict[str, Any] = json.loads(proc.stdout) if proc.stdout.strip() else {}
    answer["_exit"] = proc.returncode
    return answer


def _write(path: str, content: str) -> dict[str, Any]:
    return {"tool_name": "Write", "tool_use_id": "toolu_demo",
            "tool_input": {"file_path": path, "content": content}}


def _check(d: DemoRepo, what: str, ok: bool, detail: str = "") -> None:
    if detail:
        d.say(f"    | {detail}")
    d.expect(what, subprocess.CompletedProcess([], 0 if ok else 1, "", ""), 0, show=False)


def _denied(answer: dict[str, Any]) -> str:
    specific = answer.get("hookSpecificOutput", {})
    if specific.get("permissionDecision") == "deny":
        return str(specific.get("permissionDecisionReason", ""))
    return str(answer.get("reason", "")) if answer.get("decision") == "block" else ""


def step_agent_setup(d: DemoRepo) -> None:
    d.step("1. A repository with a task, the git hooks, and Claude Code's hooks")
    _shim(d)
    d.git("init", "-q", "-b", "main")
    d.git("config", "commit.gpgSign", "false")
    d.write(".avorelo/policy.yaml", POLICY)
    d.write(".avorelo/tasks/DEMO-A.yaml", TASK)
    d.write("src/greet.py", "def greet(name):\n    return 'hi ' + name\n")
    d.write("docs/guide.md", "# Guide\n")
    d.expect("avorelo-gate install --agent claude writes .claude/settings.json",
             d.gate("install", "--agent", "claude"), 0)
    d.git("add", "-A")
    d.env["AVORELO_ALLOW_POLICY_CHANGE"] = "1"
    d.expect("the first commit, carrying the policy, the task and the agent config",
             d.git("commit", "-q", "--no-verify", "-m", "Initial commit"), 0, show=False)
    del d.env["AVORELO_ALLOW_POLICY_CHANGE"]
    d.expect("avorelo-gate install writes the git hooks", d.gate("install"), 0, show=False)
    d.env["AVORELO_TASK"] = "DEMO-A"   # what `route --format env` hands the agent
    told = _hook(d, "session-start", {"source": "startup", "model": "claude-sonnet-5"})
    context = told.get("hookSpecificOutput", {}).get("additionalContext", "")
    _check(d, "session start: the model is told its task", "DEMO-A" in context, context)


def step_agent_writes(d: DemoRepo) -> None:
    d.step("2. The agent writes: inside the scope allowed, outside it denied before it happens")
    inside = _hook(d, "pre-tool", _write(os.path.join(d.path, "src", "greet.py"), "..."))
    _check(d, "Write src/greet.py (in scope) is allowed", inside == {"_exit": 0})
    outside = _hook(d, "pre-tool", _write(os.path.join(d.path, "docs", "guide.md"), "..."))
    reason = _denied(outside)
    _check(d, "Write docs/guide.md (out of scope) is denied, with its reason",
           "outside the scope of task DEMO-A" in reason, reason)
    bypass = _hook(d, "pre-tool", {"tool_name": "Bash", "tool_use_id": "toolu_demo2",
                                   "tool_input": {"command": "git commit --no-verify -m wip"}})
    reason = _denied(bypass)
    _check(d, "Bash `git commit --no-verify` is denied", "--no-verify" in reason, reason)


def step_agent_stop(d: DemoRepo) -> None:
    d.step("3. The agent may not finish until the proof is run on exactly its work")
    d.write("src/greet.py", "def greet(name):\n    return f'Hello, {name}!'\n")
    refused = _denied(_hook(d, "stop", {"stop_hook_active": False}))
    _check(d, "stop is refused: the proof is missing",
           "avorelo-gate prove --name tests" in refused, refused)
    prove = [sys.executable, "-m", "avorelo_gate", "prove", "--name", "tests", "--",
             sys.executable, "-c", DEMO_TEST]
    d.expect("avorelo-gate prove --name tests -- python -c '<the tests>'", d.run(prove), 0)
    finished = _hook(d, "stop", {"stop_hook_active": False})
    _check(d, "now the agent may finish", finished == {"_exit": 0})
    d.git("add", "-A")
    d.expect("and its commit passes the same gate",
             d.git("commit", "-q", "-m", "Friendlier greeting\n\nTask: DEMO-A\n"), 0)


AGENT_STEPS = [step_agent_setup, step_agent_writes, step_agent_stop]
