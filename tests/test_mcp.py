"""``avorelo-gate mcp``: a real stdio round trip with the official SDK's own client, listing the
tools and calling each; every tool answers with the CLI's own JSON."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, GitRepo, assert_clean_error

pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install '.[mcp]'")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from avorelo_gate.mcp_server.server import TOOLS

POLICY = "version: 1\nmodels:\n  light: {name: claude-haiku-4-5, alias: avorelo-light}\n"
TASK = "id: AUTH-1\nscope: ['src/**']\nforbid: ['src/keys/**']\nbudget: {max_files: 2}\n"


def project(repo: GitRepo) -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/tasks/AUTH-1.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("plan\n\nTask: AUTH-1")
    assert repo.gate("receipt", "record").returncode == 0
    return repo


def server_params(repo: GitRepo) -> StdioServerParameters:
    # The SDK hands the server a minimal environment; the test's hermetic git config and this
    # checkout of the package are passed on explicitly.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return StdioServerParameters(command=sys.executable, args=["-m", "avorelo_gate", "mcp"],
                                 cwd=str(repo.path), env=env)


async def session_calls(repo: GitRepo, calls: list[tuple[str, dict[str, Any]]]) -> \
        tuple[list[str], list[Any]]:
    async with stdio_client(server_params(repo)) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        names = [t.name for t in (await session.list_tools()).tools]
        results = [await session.call_tool(name, args) for name, args in calls]
    return names, results


def cli_json(repo: GitRepo, *args: str) -> dict[str, Any]:
    proc = repo.gate(*args)
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    doc: dict[str, Any] = result.structured_content
    return doc


def test_stdio_round_trip_lists_and_calls_every_tool(repo: GitRepo) -> None:
    project(repo)
    repo.write("src/a.py", "a\nb\n")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("task_start", {"task_id": "AUTH-1"}),
        ("task_path", {}),
        ("check_paths", {"paths": ["src/b.py", "src/keys/k.pem", "docs/x.md"]}),
        ("prove", {"command": [sys.executable, "-c", "print('proved')"], "name": "smoke"}),
        ("check", {"mode": "worktree"}),
        ("route", {}),
        ("receipt_show", {"rev": "HEAD"}),
        ("task_start", {"task_id": "NOPE-1"}),
        ("check", {"mode": "sideways"}),
    ]
    names, results = asyncio.run(session_calls(repo, calls))
    assert sorted(names) == sorted(TOOLS)
    (started, path, paths, proved, checked, routed, shown, unknown, bad_mode) = results

    assert structured(started)["schema"] == "avorelo.task-path/v1"
    assert structured(started)["route"]["model"] == {"name": "claude-haiku-4-5",
                                                     "alias": "avorelo-light"}
    assert structured(path)["task"] == dict(structured(started)["task"], active=True)
    # The same JSON the CLI prints for the same question.
    assert structured(paths) == cli_json(repo, "task", "check-paths", "src/b.py",
                                         "src/keys/k.pem", "docs/x.md")
    assert [p["allowed"] for p in structured(paths)["paths"]] == [True, False, False]
    assert structured(proved)["exit_code"] == 0 and "proved" in structured(proved)["output"]
    check = structured(checked)
    assert check == cli_json(repo, "check", "--worktree", "--format", "json")
    assert (check["schema"], check["verdict"]) == ("avorelo.check/v1", "pass")
    assert structured(routed)["schema"] == "avorelo.route/v1"
    assert structured(routed)["recommendation"] == "light"
    assert structured(shown) == cli_json(repo, "receipt", "show", "HEAD", "--format", "json")
    assert unknown.is_error
    assert ".avorelo/tasks/NOPE-1.yaml does not exist" in unknown.content[0].text
    assert bad_mode.is_error and "one of worktree, staged" in bad_mode.content[0].text
    # task_start really made AUTH-1 the clone's active task (the hooks read the same state).
    assert json.loads(repo.gate("task", "show", "--format", "json").stdout)["task"]["active"]


def test_missing_extra_is_one_line_and_exit_3(repo: GitRepo, tmp_path: Path) -> None:
    blocker = tmp_path / "no-mcp" / "mcp"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('mcp is not installed')\n")
    proc = repo.gate("mcp", env={"PYTHONPATH": f"{ROOT}{os.pathsep}{blocker.parent}"})
    assert_clean_error(proc, 3, "pip install 'avorelo-gate[mcp]'")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_hooks_and_the_cli_never_import_the_sdk() -> None:
    code = ("import sys\n"
            "import avorelo_gate.cli, avorelo_gate.commands, avorelo_gate.points.dispatch\n"
            "import avorelo_gate.router.task_path, avorelo_gate.router.env\n"
            "import avorelo_gate.receipts.recording, avorelo_gate.points.commit_hooks\n"
            "assert not [m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')]\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert proc.returncode == 0, proc.stderr
