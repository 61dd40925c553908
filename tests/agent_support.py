"""Helpers for the agent-hook tests: the recorded payloads (tests/data/agents/), a repository
with a task, and running a hook exactly as the agent would: the command line the installed
config names, through a shell, with the payload on stdin."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import ROOT, GitRepo

DATA = ROOT / "tests" / "data" / "agents"
MODEL = "gpt-5.1-codex"

POLICY = 'version: 1\nprotected: [".github/workflows/**"]\n'
TASKS = {
    "IN-1": 'id: IN-1\ntitle: Work in src\nscope: ["src/**", "nb/**"]\n'
            'forbid: ["src/keys/**"]\nproof:\n  - command: tests\n',
    "OUT-1": 'id: OUT-1\ntitle: Work in lib\nscope: ["lib/**"]\n',
}


def payload(agent: str, name: str, cwd: Path, **replace: str) -> dict[str, Any]:
    """A recorded payload with its placeholders filled in for this repository."""
    text = (DATA / agent / f"{name}.json").read_text()
    values = {"__CWD__": str(cwd), "__SESSION_ID__": "sess-1", "__TURN_ID__": "turn-1",
              "__MODEL__": MODEL, "__HOME__": str(cwd.parent), "__PROJECT__": "proj",
              "__TASK_ID__": "task-1", "__USER_ID__": "user-1", **replace}
    for key, value in values.items():
        text = text.replace(key, json.dumps(value)[1:-1])
    doc: dict[str, Any] = json.loads(text)
    return doc


def shim_dir(tmp: Path) -> Path:
    """A PATH entry whose ``avorelo-gate`` runs this checkout with this interpreter."""
    folder = tmp / "shim-bin"
    if not folder.exists():
        folder.mkdir()
        script = folder / "avorelo-gate"
        script.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" '
                          f'exec "{sys.executable}" -m avorelo_gate "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def task_repo(repo: GitRepo, active: str = "IN-1") -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY)
    for task_id, text in TASKS.items():
        repo.write(f".avorelo/tasks/{task_id}.yaml", text)
    repo.write("src/x.py", "print('hello')\n")
    repo.write("src/obsolete.py", "old\n")
    repo.write("docs/guide.md", "# Guide\n")
    repo.add()
    repo.commit("init")
    set_active(repo, active)
    return repo


def set_active(repo: GitRepo, task_id: str) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.active import ActiveTask, write_active

    write_active(open_repo(str(repo.path)), ActiveTask(id=task_id))


def install(repo: GitRepo, agent: str, tmp: Path) -> None:
    proc = repo.gate("install", "--agent", agent, env={"PATH": _path(tmp)})
    assert proc.returncode == 0, proc.stderr


def _path(tmp: Path) -> str:
    return f"{shim_dir(tmp)}{os.pathsep}{os.environ.get('PATH', '')}"


# Where each agent's installed config names the command for our events.
CONFIG_EVENTS = {
    "claude": (".claude/settings.json", {"pre-tool": "PreToolUse", "stop": "Stop",
                                         "session-start": "SessionStart"}),
    "codex": (".codex/hooks.json", {"pre-tool": "PreToolUse", "stop": "Stop",
                                    "session-start": "SessionStart"}),
    "gemini": (".gemini/settings.json", {"pre-tool": "BeforeTool", "stop": "AfterAgent",
                                         "session-start": "SessionStart"}),
    "copilot": (".github/hooks/avorelo-gate.json", {
        "pre-tool": "preToolUse", "stop": "agentStop", "session-start": "sessionStart"}),
}
CLINE_EVENTS = {"pre-tool": "PreToolUse", "stop": "TaskComplete", "session-start": "TaskStart"}


def installed_command(repo: GitRepo, agent: str, event: str) -> list[str]:
    """The argv the agent would run: the config's command string through ``sh -c`` (as
    Claude, Codex, Gemini and Copilot run it), or Cline's script file itself."""
    if agent == "cline":
        return [str(repo.path / ".clinerules" / "hooks" / CLINE_EVENTS[event])]
    rel, names = CONFIG_EVENTS[agent]
    doc = json.loads((repo.path / rel).read_text())
    commands = []
    for group in doc["hooks"][names[event]]:
        hooks = group.get("hooks", [group])
        commands += [h.get("command") or h.get("bash") for h in hooks]
    ours = [c for c in commands if c and c.startswith("avorelo-gate agent-hook")]
    assert len(ours) == 1, commands
    return ["sh", "-c", ours[0]]


def run_hook(repo: GitRepo, agent: str, event: str, body: dict[str, Any] | bytes,
             tmp: Path, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    full = dict(os.environ, PATH=_path(tmp), **(env or {}))
    proc = subprocess.run(installed_command(repo, agent, event), cwd=cwd or repo.path,
                          input=data, env=full, capture_output=True, check=False)
    out = subprocess.CompletedProcess(proc.args, proc.returncode,
                                      proc.stdout.decode("utf-8", "replace"),
                                      proc.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    return out


def verdict(agent: str, event: str, proc: subprocess.CompletedProcess[str]) -> str:
    """'deny' or 'allow', read the way the agent reads its hook's answer."""
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if agent == "cline":
        return "deny" if doc["cancel"] else "allow"
    if event == "stop":
        return "deny" if doc.get("decision") in ("block", "deny") else "allow"
    if agent == "gemini":
        return "deny" if doc.get("decision") == "deny" else "allow"
    decision = doc.get("permissionDecision") if agent == "copilot" else \
        doc.get("hookSpecificOutput", {}).get("permissionDecision")
    return "deny" if decision == "deny" else "allow"


def reason(agent: str, event: str, proc: subprocess.CompletedProcess[str]) -> str:
    doc = json.loads(proc.stdout)
    if agent == "cline":
        return str(doc.get("errorMessage") or doc.get("contextModification"))
    if event == "stop" or agent == "gemini":
        return str(doc["reason"])
    if agent == "copilot":
        return str(doc["permissionDecisionReason"])
    return str(doc["hookSpecificOutput"]["permissionDecisionReason"])
