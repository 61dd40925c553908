"""The README's routing section runs as written: its shell block in a throwaway repository with
the hooks installed, its policy snippet through ``validate``, and the gateway and MCP host
configurations it shows parse and name what the gate exports."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, GitRepo
from test_readme import section, shell_lines

SECTION = section("Routing a task: its whole path, the weight handed to the gateway, MCP")
HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", SECTION, re.M | re.S)


def policy_snippet() -> str:
    return next(b for b in blocks("yaml") if b.startswith("models:"))


def test_models_snippet_is_a_valid_policy(repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\n" + policy_snippet())
    proc = repo.gate("validate", ".avorelo/policy.yaml")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_orchestrators_shell_block_runs_as_written(repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\n" + policy_snippet())
    repo.write(".avorelo/tasks/AUTH-142.yaml",
               "id: AUTH-142\nscope: ['src/auth/**']\nbudget: {max_files: 3, max_lines: 80}\n"
               "risk: low\n")
    repo.write("src/auth/token.py", "TOKEN = 1\n")
    repo.add()
    repo.commit("plan")
    assert repo.gate("install", env=HOOK_ENV).returncode == 0
    assert repo.gate("receipt", "record").returncode == 0
    bindir = repo.path.parent / "bin"
    bindir.mkdir()
    (bindir / "avorelo-gate").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m avorelo_gate "$@"\n')
    (bindir / "avorelo-gate").chmod(0o755)
    lines = shell_lines(SECTION)
    assert lines[0] == "avorelo-gate task start AUTH-142", lines
    proc = subprocess.run(["bash", "-c", "set -e\n" + "\n".join(lines)], cwd=repo.path,
                          env={**os.environ, **HOOK_ENV,
                               "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "routed light: avorelo-light" in proc.stdout
    path = json.loads((repo.path / "task-path.json").read_text())
    assert path["schema"] == "avorelo.task-path/v1" and path["task"]["id"] == "AUTH-142"
    route = json.loads((repo.path / "route.json").read_text())
    assert route["model"] == {"name": "claude-haiku-4-5", "alias": "avorelo-light"}
    assert json.loads((repo.path / "receipt.json").read_text())["predicateType"]
    assert "stopped task AUTH-142" in proc.stdout


def test_litellm_aliases_are_the_policys_aliases() -> None:
    litellm = yaml.safe_load(next(b for b in blocks("yaml") if b.startswith("model_list:")))
    aliases = {m["model_name"] for m in litellm["model_list"]}
    policy = yaml.safe_load(policy_snippet())
    assert aliases == {m["alias"] for m in policy["models"].values()}
    assert "x-litellm-tags: avorelo-task:AUTH-142,avorelo-weight:light" in SECTION


def test_mcp_host_configurations_start_the_server() -> None:
    host = json.loads(blocks("json")[0])
    assert host["mcpServers"]["avorelo-gate"] == {"command": "avorelo-gate", "args": ["mcp"]}
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
    provider, servers = (tomllib.loads(b) for b in blocks("toml"))
    assert servers["mcp_servers"]["avorelo-gate"] == {"command": "avorelo-gate",
                                                      "args": ["mcp"]}
    headers = provider["model_providers"]["avorelo"]["env_http_headers"]
    assert headers == {"x-litellm-tags": "AVORELO_GATEWAY_TAGS"}
