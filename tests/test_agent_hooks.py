"""agent-hook through each agent's installed config, with the payloads the agents send
(tests/data/agents/, sources in each folder's SOURCES.md), in real repositories."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_support import (
    DATA,
    MODEL,
    install,
    payload,
    reason,
    run_hook,
    set_active,
    task_repo,
    verdict,
)
from conftest import GitRepo

WRITES = [
    ("claude", "pre_tool_write"), ("claude", "pre_tool_edit"),
    ("claude", "pre_tool_multiedit_legacy"), ("claude", "pre_tool_notebookedit"),
    ("codex", "pre_tool_apply_patch"),
    ("gemini", "pre_tool_write_file"), ("gemini", "pre_tool_replace"),
    ("copilot", "pre_tool_create"), ("copilot", "pre_tool_edit"),
    ("cline", "pre_tool_write_to_file"), ("cline", "pre_tool_replace_in_file"),
    ("cline", "pre_tool_editor_sdk"), ("cline", "pre_tool_apply_patch_sdk"),
]
SHELLS = [
    ("claude", "pre_tool_bash"), ("codex", "pre_tool_shell"), ("gemini", "pre_tool_shell"),
    ("copilot", "pre_tool_bash"), ("copilot", "pre_tool_bash_object_args"),
    ("copilot", "pre_tool_bash_vscode_format"), ("cline", "pre_tool_execute_command"),
    ("cline", "pre_tool_run_commands_sdk"),
]
AGENTS = ["claude", "codex", "gemini", "copilot", "cline"]
SCHEMAS = DATA / "codex" / "schemas"
CODEX_EVENT_SCHEMA = {"pre-tool": "pre-tool-use", "stop": "stop",
                      "session-start": "session-start"}


def validate_codex(event: str, stdout: str) -> None:
    """Codex's own published schema for what a hook prints (empty stdout: no decision)."""
    import jsonschema

    if not stdout.strip():
        return
    schema = json.loads((SCHEMAS / f"{CODEX_EVENT_SCHEMA[event]}.command.output.schema.json")
                        .read_text())
    jsonschema.validate(json.loads(stdout), schema)


@pytest.fixture
def setup(repo: GitRepo, tmp_path: Path) -> GitRepo:
    from avorelo_gate.agents.config import configure

    task_repo(repo)
    for agent in AGENTS:   # the CLI's own install is tested in test_agent_install.py
        configure(str(repo.path), agent)
    repo.add()
    repo.commit("agent hooks")
    return repo


@pytest.mark.parametrize(("agent", "name"), WRITES)
def test_write_in_scope_is_allowed(setup: GitRepo, tmp_path: Path, agent: str,
                                   name: str) -> None:
    proc = run_hook(setup, agent, "pre-tool", payload(agent, name, setup.path), tmp_path)
    assert verdict(agent, "pre-tool", proc) == "allow", proc.stdout
    if agent == "codex":
        validate_codex("pre-tool", proc.stdout)


@pytest.mark.parametrize(("agent", "name"), WRITES)
def test_write_out_of_scope_is_denied_with_an_actionable_reason(
        setup: GitRepo, tmp_path: Path, agent: str, name: str) -> None:
    set_active(setup, "OUT-1")
    proc = run_hook(setup, agent, "pre-tool", payload(agent, name, setup.path), tmp_path)
    assert verdict(agent, "pre-tool", proc) == "deny"
    text = reason(agent, "pre-tool", proc)
    assert "OUT-1" in text and "lib/**" in text and "ask for the task to be widened" in text
    assert "\n" not in text
    assert "src/" in text or "nb/" in text
    if agent == "codex":
        validate_codex("pre-tool", proc.stdout)


def test_codex_patch_names_every_path_and_both_sides_of_a_move(setup: GitRepo,
                                                               tmp_path: Path) -> None:
    set_active(setup, "OUT-1")
    proc = run_hook(setup, "codex", "pre-tool", payload("codex", "pre_tool_apply_patch",
                                                        setup.path), tmp_path)
    text = reason("codex", "pre-tool", proc)
    for path in ("src/new_module.py", "src/x.py", "src/renamed.py", "src/obsolete.py"):
        assert path in text


@pytest.mark.parametrize(("agent", "name"), SHELLS)
def test_shell_command_that_keeps_to_the_rules_is_allowed(setup: GitRepo, tmp_path: Path,
                                                          agent: str, name: str) -> None:
    proc = run_hook(setup, agent, "pre-tool", payload(agent, name, setup.path), tmp_path)
    assert verdict(agent, "pre-tool", proc) == "allow", proc.stdout


def with_command(agent: str, doc: dict[str, Any], command: str) -> dict[str, Any]:
    if agent == "cline":
        params = doc["preToolUse"]["parameters"]
        key = "commands" if "commands" in params else "command"
        params[key] = json.dumps([command]) if key == "commands" else command
    elif "toolArgs" in doc:
        args = doc["toolArgs"]
        if isinstance(args, str):
            doc["toolArgs"] = json.dumps({**json.loads(args), "command": command})
        else:
            args["command"] = command
    else:
        doc["tool_input"]["command"] = command
    return doc


@pytest.mark.parametrize(("agent", "name"), SHELLS)
@pytest.mark.parametrize("command", [
    "git commit --no-verify -m done", "git add -A && git commit -qnm done",
    "git -c core.hooksPath=/dev/null push origin HEAD", "git notes --ref avorelo remove HEAD",
    "AVORELO_ALLOW_POLICY_CHANGE=1 git commit -m policy", "bash -c 'git push --no-verify'",
    "git commit -m 'unbalanced"])
def test_shell_command_that_gets_round_the_gate_is_denied(
        setup: GitRepo, tmp_path: Path, agent: str, name: str, command: str) -> None:
    doc = with_command(agent, payload(agent, name, setup.path), command)
    proc = run_hook(setup, agent, "pre-tool", doc, tmp_path)
    assert verdict(agent, "pre-tool", proc) == "deny"
    assert "\n" not in reason(agent, "pre-tool", proc)
    if agent == "codex":
        validate_codex("pre-tool", proc.stdout)


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini", "copilot"])
def test_stop_is_refused_while_the_worktree_check_fails_and_never_loops(
        setup: GitRepo, tmp_path: Path, agent: str) -> None:
    setup.write("docs/new.md", "outside the scope\n")
    proc = run_hook(setup, agent, "stop", payload(agent, "stop", setup.path), tmp_path)
    assert verdict(agent, "stop", proc) == "deny"
    text = reason(agent, "stop", proc)
    assert "IN-1" in text and "docs/new.md" in text and "rm -- docs/new.md" in text
    if agent == "codex":
        validate_codex("stop", proc.stdout)
    again = run_hook(setup, agent, "stop", payload(agent, "stop_active", setup.path), tmp_path)
    assert verdict(agent, "stop", again) == "allow"
    if agent == "codex":
        validate_codex("stop", again.stdout)


def test_stop_waits_for_proof_then_lets_the_agent_finish(setup: GitRepo,
                                                         tmp_path: Path) -> None:
    setup.write("src/x.py", "print('world')\n")
    first = run_hook(setup, "claude", "stop", payload("claude", "stop", setup.path), tmp_path)
    assert verdict("claude", "stop", first) == "deny"
    assert "avorelo-gate prove --name tests" in reason("claude", "stop", first)
    proved = setup.gate("prove", "--name", "tests", "--", "true")
    assert proved.returncode == 0, proved.stderr
    done = run_hook(setup, "claude", "stop", payload("claude", "stop", setup.path), tmp_path)
    assert verdict("claude", "stop", done) == "allow", done.stdout


def test_cline_cannot_block_completion_so_it_is_told_what_is_missing(
        setup: GitRepo, tmp_path: Path) -> None:
    setup.write("docs/new.md", "outside the scope\n")
    proc = run_hook(setup, "cline", "stop", payload("cline", "stop", setup.path), tmp_path)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and doc["cancel"] is False
    assert "docs/new.md" in doc["contextModification"]


@pytest.mark.parametrize("agent", AGENTS)
def test_session_start_tells_the_model_its_task(setup: GitRepo, tmp_path: Path,
                                                agent: str) -> None:
    proc = run_hook(setup, agent, "session-start", payload(agent, "session_start", setup.path),
                    tmp_path)
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    told = {"claude": lambda d: d["hookSpecificOutput"]["additionalContext"],
            "codex": lambda d: d["hookSpecificOutput"]["additionalContext"],
            "gemini": lambda d: d["hookSpecificOutput"]["additionalContext"],
            "copilot": lambda d: d["additionalContext"],
            "cline": lambda d: d["contextModification"]}[agent](doc)
    assert "IN-1" in told and "src/**" in told and "src/keys/**" in told
    if agent == "cline":
        assert doc["cancel"] is False
    if agent == "codex":
        validate_codex("session-start", proc.stdout)


@pytest.mark.parametrize(("agent", "name", "model"), [
    ("claude", "session_start", "claude-sonnet-5"), ("codex", "pre_tool_shell", MODEL),
    ("codex", "session_start", MODEL), ("cline", "pre_tool_write_to_file",
                                        "anthropic/claude-sonnet-4.5")])
def test_a_payload_that_names_the_model_records_it_as_observed(
        setup: GitRepo, tmp_path: Path, agent: str, name: str, model: str) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.active import ObservedModel, read_observed

    event = "session-start" if name == "session_start" else "pre-tool"
    run_hook(setup, agent, event, payload(agent, name, setup.path), tmp_path)
    assert read_observed(open_repo(str(setup.path))) == ObservedModel(model, agent)


def test_codex_fixtures_match_codex_input_schemas() -> None:
    import jsonschema

    for name, schema in (("pre_tool_apply_patch", "pre-tool-use"),
                         ("pre_tool_shell", "pre-tool-use"), ("stop", "stop"),
                         ("session_start", "session-start")):
        doc = payload("codex", name, Path("/tmp/x"))
        jsonschema.validate(doc, json.loads(
            (SCHEMAS / f"{schema}.command.input.schema.json").read_text()))


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize(("body", "expected"), [
    (b"not json at all", "not JSON"), (b"[1, 2]", "JSON object"),
    (b'{"hello": "world"}', "expected"), (b"", "not JSON")])
def test_input_that_is_not_the_agents_json_is_denied_in_one_line(
        setup: GitRepo, tmp_path: Path, agent: str, body: bytes, expected: str) -> None:
    proc = run_hook(setup, agent, "pre-tool", body, tmp_path)
    assert verdict(agent, "pre-tool", proc) == "deny"
    text = reason(agent, "pre-tool", proc)
    assert agent in text and expected in text and "\n" not in text
    if agent == "codex":
        validate_codex("pre-tool", proc.stdout)


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"])
def test_a_payload_for_another_event_is_bad_input(setup: GitRepo, tmp_path: Path,
                                                  agent: str) -> None:
    proc = run_hook(setup, agent, "pre-tool", payload(agent, "stop", setup.path), tmp_path)
    assert verdict(agent, "pre-tool", proc) == "deny"
    assert "expects" in reason(agent, "pre-tool", proc)


def test_outside_a_repository_the_hook_allows_and_says_why(tmp_path: Path,
                                                           repo: GitRepo) -> None:
    install(repo, "claude", tmp_path)
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    proc = run_hook(repo, "claude", "pre-tool", payload("claude", "pre_tool_write", elsewhere),
                    tmp_path, cwd=elsewhere)
    assert verdict("claude", "pre-tool", proc) == "allow"
    assert "not inside a git repository" in json.loads(proc.stdout)["systemMessage"]


def test_without_a_task_writes_are_allowed_with_a_warning(repo: GitRepo,
                                                          tmp_path: Path) -> None:
    repo.write("src/x.py", "x\n")
    repo.add()
    repo.commit("init")
    install(repo, "gemini", tmp_path)
    proc = run_hook(repo, "gemini", "pre-tool", payload("gemini", "pre_tool_write_file",
                                                        repo.path), tmp_path)
    assert verdict("gemini", "pre-tool", proc) == "allow"
    assert "no active task" in json.loads(proc.stdout)["systemMessage"]


def test_agent_hook_usage_errors_exit_2_in_one_line(repo: GitRepo) -> None:
    for args in (("agent-hook",), ("agent-hook", "aider", "pre-tool"),
                 ("agent-hook", "claude", "post-tool")):
        proc = repo.gate(*args)
        assert proc.returncode == 2 and "usage: avorelo-gate agent-hook" in proc.stderr
        assert "Traceback" not in proc.stderr
