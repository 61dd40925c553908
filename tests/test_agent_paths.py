"""Adversarial writes: every path a write names is judged where it really lands, by the
engine's own rules (the verdict ``check`` gives for the same path)."""
from __future__ import annotations

import io
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from agent_support import payload, set_active, task_repo
from conftest import GitRepo

from avorelo_gate.agents.hook import run_agent_hook


def claude_write(repo: GitRepo, file_path: str, cwd: Path | None = None) -> tuple[str, str]:
    doc = payload("claude", "pre_tool_write", cwd or repo.path)
    doc["tool_input"]["file_path"] = file_path
    return ask(doc, "claude")


def ask(doc: dict[str, Any] | bytes, agent: str, env: dict[str, str] | None = None,
        ) -> tuple[str, str]:
    """('deny', reason) or ('allow', '') from the hook itself, in this process."""
    out, err = io.StringIO(), io.StringIO()
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    code = run_agent_hook([agent, "pre-tool"], dict(os.environ, **(env or {})),
                          stdin=io.BytesIO(raw), stdout=out, stderr=err)
    assert code == 0 and "Traceback" not in err.getvalue()
    if not out.getvalue().strip():
        return "allow", ""
    answer = json.loads(out.getvalue())
    if agent == "gemini":
        return ("deny", answer["reason"]) if answer.get("decision") == "deny" else ("allow", "")
    specific = answer.get("hookSpecificOutput", {})
    if specific.get("permissionDecision") == "deny":
        return "deny", specific["permissionDecisionReason"]
    return "allow", ""


@pytest.fixture
def work(repo: GitRepo) -> GitRepo:
    return task_repo(repo)


@pytest.mark.parametrize(("path", "needle"), [
    ("../outside.py", "outside the repository"),
    ("/etc/passwd", "outside the repository"),
    ("src/../../escape.py", "outside the repository"),
    ("src/../docs/guide.md", "outside the scope of task IN-1"),
    ("./src/./../docs/x.md", "outside the scope"),
    (".git/hooks/pre-commit", "git's own directory"),
    ("src/../.git/config", "git's own directory"),
    (".github/workflows/ci.yml", "protected by the repository policy"),
    (".avorelo/policy.yaml", "protected by the repository policy"),
    ("src/keys/id_rsa", "forbidden by task IN-1"),
    (".claude/settings.json", "where a coding agent reads its hooks"),
    (".CLINERULES/hooks/PreToolUse", "where a coding agent reads its hooks"),
])
def test_paths_that_leave_the_task_are_denied(work: GitRepo, path: str, needle: str) -> None:
    verdict, reason = claude_write(work, path)
    assert verdict == "deny" and needle in reason, reason


@pytest.mark.parametrize("path", ["src/new.py", "src/deep/er/x.py", "nb/analysis.ipynb",
                                  ".avorelo/tasks/IN-1.yaml"])
def test_paths_inside_the_scope_are_allowed(work: GitRepo, path: str) -> None:
    assert claude_write(work, path) == ("allow", "")
    assert claude_write(work, str(work.path / path)) == ("allow", "")


def test_relative_paths_resolve_against_the_payloads_cwd(work: GitRepo) -> None:
    (work.path / "src").mkdir(exist_ok=True)
    assert claude_write(work, "y.py", cwd=work.path / "src") == ("allow", "")
    verdict, reason = claude_write(work, "../docs/z.md", cwd=work.path / "src")
    assert verdict == "deny" and "docs/z.md" in reason


def test_a_symlinked_directory_inside_the_scope_pointing_outside_is_outside(
        work: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (work.path / "src" / "ext").symlink_to(outside)
    (work.path / "src" / "docs").symlink_to(work.path / "docs")
    verdict, reason = claude_write(work, "src/ext/a.py")
    assert verdict == "deny" and "outside the repository" in reason
    verdict, reason = claude_write(work, "src/docs/new.md")
    assert verdict == "deny" and "docs/new.md" in reason and "outside the scope" in reason


def test_a_symlinked_file_is_judged_where_it_points(work: GitRepo) -> None:
    work.write(".github/workflows/ci.yml", "on: push\n")
    (work.path / "src" / "ci.yml").symlink_to(work.path / ".github" / "workflows" / "ci.yml")
    verdict, reason = claude_write(work, "src/ci.yml")
    assert verdict == "deny" and ".github/workflows/ci.yml" in reason and "protected" in reason


def test_the_git_directory_is_never_writable_even_in_scope(repo: GitRepo) -> None:
    task_repo(repo)
    repo.write(".avorelo/tasks/ALL-1.yaml", 'id: ALL-1\nscope: ["**"]\n')
    set_active(repo, "ALL-1")
    assert claude_write(repo, "anything/at/all.txt") == ("allow", "")
    for path in (".git/hooks/pre-commit", ".git/refs/notes/avorelo", ".git/config"):
        assert claude_write(repo, path)[0] == "deny"


def test_a_patch_that_moves_a_protected_file_into_scope_is_denied(work: GitRepo) -> None:
    doc = payload("codex", "pre_tool_apply_patch", work.path)
    doc["tool_input"]["command"] = ("*** Begin Patch\n*** Update File: .github/workflows/ci.yml"
                                    "\n*** Move to: src/ci.yml\n@@\n-a\n+b\n*** End Patch\n")
    verdict, reason = ask(doc, "codex")
    assert verdict == "deny" and ".github/workflows/ci.yml" in reason and "protected" in reason


def test_a_patch_that_deletes_an_out_of_scope_file_is_denied(work: GitRepo) -> None:
    doc = payload("codex", "pre_tool_apply_patch", work.path)
    doc["tool_input"]["command"] = "*** Begin Patch\n*** Delete File: docs/guide.md\n" \
                                   "*** End Patch\n"
    assert ask(doc, "codex")[0] == "deny"


def test_a_very_long_patch_is_judged_whole(work: GitRepo) -> None:
    # 2,000 files: long enough to show the whole body is read (the shell and patch parsers'
    # linear work is counted in test_agent_shell.py); 20,000 cost half a minute of CI.
    body = "".join(f"*** Add File: src/gen/f{i}.py\n+x = {i}\n" for i in range(2000))
    doc = payload("codex", "pre_tool_apply_patch", work.path)
    doc["tool_input"]["command"] = f"*** Begin Patch\n{body}*** Add File: docs/late.md\n+x\n" \
                                   "*** End Patch\n"
    verdict, reason = ask(doc, "codex")
    assert verdict == "deny" and "docs/late.md" in reason


def test_the_task_file_edited_on_disk_cannot_widen_the_scope(work: GitRepo) -> None:
    work.write(".avorelo/tasks/IN-1.yaml", 'id: IN-1\nscope: ["**"]\n')
    verdict, reason = claude_write(work, "docs/guide.md")
    assert verdict == "deny" and "outside the scope" in reason
    (work.path / ".avorelo" / "tasks" / "IN-1.yaml").unlink()
    assert claude_write(work, "docs/guide.md")[0] == "deny"


def test_the_environment_task_comes_before_the_active_task(work: GitRepo) -> None:
    doc = payload("claude", "pre_tool_write", work.path)
    doc["tool_input"]["file_path"] = "lib/a.py"
    assert ask(doc, "claude")[0] == "deny"
    assert ask(doc, "claude", env={"AVORELO_TASK": "OUT-1"}) == ("allow", "")


VARIANTS = [".GITHUB/workflows/ci.yml", ".github/WORKFLOWS/ci.yml",
            ".Avorelo/policy.yaml", unicodedata.normalize("NFD", ".github/workflows/café.yml")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_case_and_unicode_variants_get_the_engines_verdict(repo: GitRepo,
                                                           variant: str) -> None:
    """Whatever the engine says of a path at commit, the agent hook says before the write:
    the two share the engine's comparison (case folding and NFC included, where it does)."""
    repo.write(".avorelo/policy.yaml", 'version: 1\nprotected: [".github/workflows/**", '
               f'"{unicodedata.normalize("NFC", ".github/workflows/café.yml")}"]\n')
    repo.write(".avorelo/tasks/ALL-1.yaml", 'id: ALL-1\nscope: ["**"]\n')
    repo.write("README.md", "x\n")
    repo.add()
    repo.commit("init")
    set_active(repo, "ALL-1")
    repo.write(variant, "x\n")
    check = repo.gate("check", "--worktree", "--format", "json", env={"AVORELO_TASK": "ALL-1"})
    rules = {v["rule"] for v in json.loads(check.stdout)["violations"]
             if v["path"] == variant}
    (repo.path / variant).unlink()
    verdict, reason = claude_write(repo, variant)
    assert (verdict == "deny") == bool(rules & {"protected", "policy-changed"}), (rules, reason)


def test_reads_and_other_tools_are_never_blocked(work: GitRepo) -> None:
    doc = payload("claude", "pre_tool_write", work.path)
    doc["tool_name"], doc["tool_input"] = "Read", {"file_path": "/etc/passwd"}
    assert ask(doc, "claude") == ("allow", "")
    doc["tool_name"], doc["tool_input"] = "mcp__db__query", {"sql": "select 1"}
    assert ask(doc, "claude") == ("allow", "")


@pytest.mark.parametrize("tool_input", [{}, {"file_path": 3}, {"file_path": ""},
                                        {"file_path": "a\u0000b"}])
def test_a_write_without_a_usable_path_is_denied(work: GitRepo,
                                                 tool_input: dict[str, Any]) -> None:
    doc = payload("claude", "pre_tool_write", work.path)
    doc["tool_input"] = tool_input
    verdict, reason = ask(doc, "claude")
    assert verdict == "deny" and reason.startswith("avorelo-gate: claude:")


def test_apply_patch_run_through_the_shell_is_judged_as_a_write(work: GitRepo) -> None:
    doc = payload("codex", "pre_tool_shell", work.path)
    doc["tool_input"]["command"] = ("apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: "
                                    "docs/sneaky.md\n+x\n*** End Patch\nEOF\n")
    verdict, reason = ask(doc, "codex")
    assert verdict == "deny" and "docs/sneaky.md" in reason


def test_without_a_task_only_the_repositorys_guards_apply(repo: GitRepo,
                                                          tmp_path: Path) -> None:
    repo.write("README.md", "x\n")
    repo.add()
    repo.commit("init")
    assert claude_write(repo, "docs/anything.md")[0] == "allow"
    assert claude_write(repo, str(tmp_path / "scratch.txt"))[0] == "allow"
    assert claude_write(repo, ".avorelo/policy.yaml")[0] == "deny"
    assert claude_write(repo, ".git/hooks/pre-commit")[0] == "deny"


def test_damaged_local_state_is_a_deny_naming_the_file(work: GitRepo) -> None:
    (work.path / ".git" / "avorelo" / "active-task").write_text("{broken")
    verdict, reason = claude_write(work, "src/x.py")
    assert verdict == "deny" and "active-task" in reason and "\n" not in reason
