"""``avorelo-gate install --agent AGENT``: each agent's project config, merged without losing a
key, idempotent; ``--uninstall`` removes only what install added."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from agent_support import CONFIG_EVENTS, installed_command
from conftest import GitRepo, assert_clean_error

FILES = {agent: rel for agent, (rel, _) in CONFIG_EVENTS.items()}
CLINE = [".clinerules/hooks/PreToolUse", ".clinerules/hooks/TaskComplete",
         ".clinerules/hooks/TaskStart", ".clinerules/hooks/TaskResume"]


def test_install_writes_each_agents_own_file(repo: GitRepo) -> None:
    args = [a for agent in [*FILES, "cline"] for a in ("--agent", agent)]
    proc = repo.gate("install", *args)
    assert proc.returncode == 0, proc.stderr
    for agent, rel in FILES.items():
        assert f"{agent}: {rel} written" in proc.stdout
        for event in ("pre-tool", "stop", "session-start"):
            assert installed_command(repo, agent, event) == [
                "sh", "-c", f"avorelo-gate agent-hook {agent} {event}"]
    for rel in CLINE:
        script = repo.path / rel
        assert os.access(script, os.X_OK)
        assert "exec avorelo-gate agent-hook cline" in script.read_text()
    assert not (repo.path / ".git" / "hooks" / "pre-commit").exists()  # --agent only
    again = repo.gate("install", *args)
    assert again.returncode == 0 and "written" not in again.stdout
    assert again.stdout.count("unchanged") == len(FILES) + len(CLINE)


def test_install_merges_into_an_existing_file_without_losing_a_key(repo: GitRepo) -> None:
    theirs = {"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]},
              "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
                  {"type": "command", "command": "./their-check.sh"}]}],
                        "PostToolUse": [{"hooks": [{"type": "command", "command": "fmt"}]}]}}
    repo.write(".claude/settings.json", json.dumps(theirs, indent=4))
    assert repo.gate("install", "--agent", "claude").returncode == 0
    doc = json.loads((repo.path / ".claude/settings.json").read_text())
    assert doc["model"] == "opus" and doc["permissions"] == theirs["permissions"]
    assert doc["hooks"]["PostToolUse"] == theirs["hooks"]["PostToolUse"]
    assert doc["hooks"]["PreToolUse"][0] == theirs["hooks"]["PreToolUse"][0]
    assert len(doc["hooks"]["PreToolUse"]) == 2
    assert repo.gate("install", "--agent", "claude").stdout.strip() == \
        "claude: .claude/settings.json unchanged"
    out = repo.gate("install", "--agent", "claude", "--uninstall")
    assert out.returncode == 0 and "updated" in out.stdout
    assert json.loads((repo.path / ".claude/settings.json").read_text()) == theirs


@pytest.mark.parametrize("agent", ["codex", "gemini", "copilot", "cline"])
def test_uninstall_removes_only_what_install_added(repo: GitRepo, agent: str) -> None:
    before = sorted(p.relative_to(repo.path) for p in repo.path.rglob("*")
                    if ".git" not in p.parts)
    assert repo.gate("install", "--agent", agent).returncode == 0
    out = repo.gate("install", "--agent", agent, "--uninstall")
    assert out.returncode == 0 and "removed" in out.stdout
    after = sorted(p.relative_to(repo.path) for p in repo.path.rglob("*")
                   if ".git" not in p.parts)
    assert after == before
    assert "absent" in repo.gate("install", "--agent", agent, "--uninstall").stdout


def test_a_hook_written_into_a_users_group_is_taken_out_alone(repo: GitRepo) -> None:
    mixed = {"hooks": {"BeforeTool": [{"matcher": "write_file", "hooks": [
        {"type": "command", "command": "mine"},
        {"type": "command", "command": "avorelo-gate agent-hook gemini pre-tool"}]}]}}
    repo.write(".gemini/settings.json", json.dumps(mixed))
    assert repo.gate("install", "--agent", "gemini", "--uninstall").returncode == 0
    doc = json.loads((repo.path / ".gemini/settings.json").read_text())
    assert doc == {"hooks": {"BeforeTool": [{"matcher": "write_file", "hooks": [
        {"type": "command", "command": "mine"}]}]}}


def test_a_foreign_cline_script_is_never_overwritten(repo: GitRepo) -> None:
    repo.write(".clinerules/hooks/PreToolUse", "#!/bin/sh\necho '{}'\n")
    proc = repo.gate("install", "--agent", "cline")
    assert_clean_error(proc, 2, ".clinerules/hooks/PreToolUse", "did not write")
    assert (repo.path / ".clinerules/hooks/PreToolUse").read_text() == "#!/bin/sh\necho '{}'\n"
    uninstall = repo.gate("install", "--agent", "cline", "--uninstall")
    assert uninstall.returncode == 0
    assert (repo.path / ".clinerules/hooks/PreToolUse").exists()


@pytest.mark.parametrize(("content", "needle"), [
    ("{not json", "not valid JSON"), ("[1]", "JSON object"),
    ('{"hooks": []}', "'hooks' must be an object"),
    ('{"hooks": {"PreToolUse": {}}}', "hooks.PreToolUse must be a list")])
def test_a_config_that_cannot_be_merged_is_bad_input(repo: GitRepo, content: str,
                                                      needle: str) -> None:
    repo.write(".claude/settings.json", content)
    proc = repo.gate("install", "--agent", "claude")
    assert_clean_error(proc, 2, ".claude/settings.json", needle)
    assert (repo.path / ".claude/settings.json").read_text() == content


def test_install_agent_usage(repo: GitRepo) -> None:
    assert_clean_error(repo.gate("install", "--agent", "aider"), 2, "aider")
    assert_clean_error(repo.gate("install", "--uninstall"), 2, "--agent")


def test_init_mentions_the_agent_hooks(repo: GitRepo, tmp_path: Path) -> None:
    proc = repo.gate("init")
    assert proc.returncode == 0 and "install --agent claude" in proc.stdout


def test_demo_agent_runs_a_session_through_the_installed_hooks(tmp_path: Path) -> None:
    from conftest import run_gate

    proc = run_gate("demo", "--agent", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "UNEXPECTED" not in proc.stdout
    assert "outside the scope of task DEMO-A" in proc.stdout
    assert "--no-verify skips the gate's hooks" in proc.stdout
    assert "avorelo-gate prove --name tests" in proc.stdout


def test_the_readmes_agent_commands_run_as_written(repo: GitRepo) -> None:
    import shlex

    from test_readme import section, shell_lines

    lines = shell_lines(section("Coding agents"))
    assert lines and all(line.startswith("avorelo-gate install --agent") for line in lines)
    for line in lines:
        proc = repo.gate(*shlex.split(line)[1:])
        assert proc.returncode == 0, (line, proc.stderr)
    for rel in FILES.values():
        assert (repo.path / rel).is_file(), rel
    assert not (repo.path / ".clinerules").exists()   # the README's second line removed it


def test_cline_scripts_refuse_the_tool_when_the_gate_is_missing(repo: GitRepo) -> None:
    import subprocess

    assert repo.gate("install", "--agent", "cline").returncode == 0
    script = repo.path / ".clinerules/hooks/PreToolUse"
    proc = subprocess.run([str(script)], input=b"{}", capture_output=True, cwd=repo.path,
                          env={"PATH": "/usr/bin:/bin"}, check=False)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and doc["cancel"] is True and "not on PATH" in doc["errorMessage"]
