"""The MCP server: one tool per gate command, each returning that command's own JSON.

Each tool runs the CLI in a child process (``python -m avorelo_gate ... --format json``) in
the repository the server was started for. The answer is then the CLI's JSON byte for byte,
the gate's state (the active task, proof records) is the same one the hooks read, and nothing
a command prints can reach the stdio stream the protocol runs on.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any  # at run time: the MCP SDK reads the tools' annotations

from avorelo_gate.errors import BadInputError, EnvironmentFailure

INSTALL_HINT = "the MCP server needs the mcp SDK: pip install 'avorelo-gate[mcp]'"
PROVE_OUTPUT_TAIL = 8000
TOOLS = ("task_start", "task_path", "check_paths", "check", "route", "prove", "receipt_show")


def _sdk() -> tuple[Any, type[Exception]]:
    """(the SDK's server class, its error for a failure the client should read). mcp 2 names
    them MCPServer / ToolError; mcp 1 FastMCP / ToolError."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
        return MCPServer, ToolError
    except ImportError:
        pass
    import importlib

    try:  # by name: the type checker sees the installed SDK, 2.x
        v1 = importlib.import_module("mcp.server.fastmcp")
        v1_errors = importlib.import_module("mcp.server.fastmcp.exceptions")
    except ImportError as e:
        raise EnvironmentFailure(INSTALL_HINT) from e
    return v1.FastMCP, v1_errors.ToolError


class Gate:
    """Runs ``avorelo-gate`` in one repository and hands back what it printed."""

    def __init__(self, repo_dir: str, environ: Mapping[str, str]) -> None:
        self.repo_dir = repo_dir
        self.environ = dict(environ)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(self.environ)
        # The same package as this server, whatever the child's sys.path would say.
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(x for x in (package_root, env.get("PYTHONPATH"))
                                            if x)
        return subprocess.run([sys.executable, "-m", "avorelo_gate", *args],
                              cwd=self.repo_dir, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)

    def json(self, *args: str) -> dict[str, Any]:
        """The command's JSON document; its one-line error when it printed none."""
        proc = self.run(*args)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            line = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise CommandFailed(proc.returncode, line[0])
        return doc


class CommandFailed(Exception):
    def __init__(self, code: int, line: str) -> None:
        super().__init__(f"exit {code}: {line}")
        self.code = code


def _opt(flag: str, value: str | None) -> list[str]:
    return [flag, value] if value else []


def build_server(repo_dir: str, environ: Mapping[str, str]) -> Any:
    server_class, tool_error = _sdk()
    gate = Gate(repo_dir, environ)
    server = server_class("avorelo-gate", instructions=(
        "The avorelo-gate workflow gate for this repository. Start a task (task_start), read "
        "its whole path (task_path), ask before writing (check_paths), record proof (prove), "
        "check the work (check), and read routes and receipts."))

    def call(*args: str) -> dict[str, Any]:
        try:
            return gate.json(*args)
        except CommandFailed as e:
            raise tool_error(str(e)) from e

    def task_start(task_id: str) -> dict[str, Any]:
        """Make .avorelo/tasks/<task_id>.yaml the active task; returns its whole path
        (avorelo.task-path/v1): context, scope, tools, approvals, proof, then the weight."""
        return call("task", "start", "--format", "json", "--", task_id)

    def task_path(task_id: str | None = None) -> dict[str, Any]:
        """The whole path (avorelo.task-path/v1) of the active task, or of task_id."""
        return call("task", "show", "--format", "json", "--", *([task_id] if task_id else []))

    def check_paths(paths: list[str], task_id: str | None = None) -> dict[str, Any]:
        """Would writing these paths (relative to the repository root) be allowed by the
        task's scope, forbid list and the policy's protected paths?"""
        return call("task", "check-paths", *_opt("--task", task_id), "--", *paths)

    def check(mode: str = "worktree", task_id: str | None = None) -> dict[str, Any]:
        """Run the gate (avorelo.check/v1) on the working tree (mode "worktree") or the
        staged change (mode "staged")."""
        if mode not in ("worktree", "staged"):
            raise tool_error(f"mode {mode!r}: one of worktree, staged")
        return call("check", f"--{mode}", *_opt("--task", task_id), "--format", "json")

    def route(task_id: str | None = None, scope: list[str] | None = None) -> dict[str, Any]:
        """The recommended model weight (avorelo.route/v1) with the model the policy maps it
        to, reasons and evidence from earlier receipts."""
        scopes = [x for s in scope or [] for x in ("--scope", s)]
        return call("route", *_opt("--task", task_id), *scopes, "--format", "json")

    def prove(command: list[str], name: str | None = None) -> dict[str, Any]:
        """Run a command through `avorelo-gate prove` (no shell) and record it as proof for
        the current content; returns its exit code and output."""
        if not command:
            raise tool_error("prove: name the command to run, e.g. [\"pytest\", \"-q\"]")
        proc = gate.run("prove", *_opt("--name", name), "--", *command)
        return {"exit_code": proc.returncode, "command": list(command), "name": name,
                "output": proc.stdout[-PROVE_OUTPUT_TAIL:],
                "errors": proc.stderr[-PROVE_OUTPUT_TAIL:]}

    def receipt_show(rev: str = "HEAD") -> dict[str, Any]:
        """The receipt of a commit (an in-toto statement), exactly as stored."""
        if rev.startswith("-"):
            raise tool_error(f"rev {rev!r}: not a revision")
        return call("receipt", "show", rev, "--format", "json")

    for tool in (task_start, task_path, check_paths, check, route, prove, receipt_show):
        server.add_tool(tool)
    return server


def serve(repo_dir: str, environ: Mapping[str, str]) -> int:
    if not os.path.isdir(repo_dir):
        raise BadInputError(f"--repo {repo_dir}: not a directory")
    build_server(os.path.abspath(repo_dir), environ).run()
    return 0


__all__ = ["TOOLS", "build_server", "serve"]
