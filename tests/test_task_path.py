"""Context, tools and approvals (issue 8) through the real CLI on real repositories."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import GitRepo, assert_clean_error

POLICY_WITH_APPROVALS = """\
version: 1
approvals:
  - paths: ["src/payments/**"]
    approvers: ["Ada Lovelace <ada@example.org>", "Grace Hopper <grace@example.org>"]
    count: 1
    signal: PAYMENTS_APPROVED
"""


def _blob(repo: GitRepo, path: str) -> str:
    return repo.git("rev-parse", f"HEAD:{path}").stdout.decode().strip()


def _check_json(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    proc = repo.gate("check", "--format", "json", *args, env=env)
    data: dict = json.loads(proc.stdout)  # type: ignore[type-arg]
    assert proc.returncode == (0 if data["verdict"] == "pass" else 1), proc.stderr
    return data


def _rules(result: dict) -> list[str]:  # type: ignore[type-arg]
    return [v["rule"] for v in result["violations"]]


@pytest.fixture
def planned(repo: GitRepo) -> GitRepo:
    repo.write("docs/auth.md", "how auth works\n")
    repo.write("src/auth/login.py", "x = 1\n")
    repo.add()
    repo.commit("base")
    blob = _blob(repo, "docs/auth.md")
    digest = hashlib.sha256(b"how auth works\n").hexdigest()
    repo.write(".avorelo/task.yaml",
               "id: AUTH-1\nscope: ['src/auth/**']\ncontext:\n  - src/auth/\n"
               f"  - {{path: docs/auth.md, blob: {blob}}}\n"
               f"  - {{path: docs/auth.md, sha256: {digest}}}\n"
               "tools: [pytest, ruff]\n")
    repo.add()
    repo.commit("plan the task")
    return repo


def test_context_fresh_pins_pass_and_are_recorded(planned: GitRepo) -> None:
    planned.write("src/auth/login.py", "x = 2\n")
    planned.add()
    result = _check_json(planned)
    assert result["verdict"] == "pass", result
    files = {f["path"]: f for f in result["context"]["files"]}
    assert set(files) == {"docs/auth.md", "src/auth/login.py"}
    assert files["docs/auth.md"]["blob"] == _blob(planned, "docs/auth.md")
    assert result["context"]["total_bytes"] == len("how auth works\n") + len("x = 1\n")


def test_context_pin_edited_after_planning_is_stale(planned: GitRepo) -> None:
    planned.write("docs/auth.md", "auth now works differently\n")
    planned.add()
    planned.commit("someone edits the doc the task was planned against")
    planned.write("src/auth/login.py", "x = 3\n")
    planned.add()
    result = _check_json(planned)
    assert _rules(result).count("context-stale") == 2  # the blob pin and the sha256 pin
    assert all(v["path"] == "docs/auth.md" for v in result["violations"])


def test_context_pattern_matching_nothing_is_missing(repo: GitRepo) -> None:
    repo.write("src/a.py", "a\n")
    repo.write(".avorelo/task.yaml", "id: T-1\ncontext: [docs/missing.md, 'spec/**/*.md']\n")
    repo.add()
    repo.commit("base")
    repo.write("src/a.py", "b\n")
    repo.add()
    result = _check_json(repo)
    assert _rules(result) == ["context-missing", "context-missing"]
    assert "docs/missing.md" in result["violations"][0]["message"]


def test_context_command_prints_the_assembled_set(planned: GitRepo) -> None:
    proc = planned.gate("context", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["task"] == "AUTH-1"
    assert [f["path"] for f in data["files"]] == ["docs/auth.md", "src/auth/login.py"]
    assert data["total_bytes"] == sum(f["size"] for f in data["files"])
    text = planned.gate("context")
    assert text.returncode == 0
    assert "docs/auth.md" in text.stdout and "2 file(s)" in text.stdout


def test_context_command_without_a_task_is_bad_input(repo: GitRepo) -> None:
    repo.write("a", "a\n")
    repo.add()
    repo.commit("base")
    assert_clean_error(repo.gate("context"), 2, "no task declared")


def test_tools_used_outside_the_list_is_refused(planned: GitRepo, tmp_path: Path) -> None:
    planned.write("src/auth/login.py", "x = 4\n")
    planned.add()
    msg = tmp_path / "msg"
    msg.write_text("Fix\n\nTools-Used: pytest, curl\n")
    result = _check_json(planned, "--message-file", str(msg))
    assert _rules(result) == ["tool-not-allowed"]
    assert "curl" in result["violations"][0]["message"]
    assert result["tools"] == {"declared": ["pytest", "ruff"], "used": ["pytest", "curl"]}
    msg.write_text("Fix\n\nTools-Used: pytest, ruff\n")
    assert _check_json(planned, "--message-file", str(msg))["verdict"] == "pass"


@pytest.fixture
def guarded(repo: GitRepo) -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY_WITH_APPROVALS)
    repo.write("src/payments/pay.py", "pay = 1\n")
    repo.write("src/other.py", "o = 1\n")
    repo.add()
    repo.commit("base")
    return repo


def test_approval_by_listed_trailer_passes(guarded: GitRepo, tmp_path: Path) -> None:
    guarded.write("src/payments/pay.py", "pay = 2\n")
    guarded.add()
    msg = tmp_path / "msg"
    msg.write_text("Pay more\n\nApproved-by: Ada Lovelace <ADA@example.org>\n")
    result = _check_json(guarded, "--message-file", str(msg))
    assert result["verdict"] == "pass", result
    assert result["approvals"][0]["via"] == "trailer"
    assert result["approvals"][0]["claimed"] is True


def test_approval_by_unlisted_person_is_missing(guarded: GitRepo, tmp_path: Path) -> None:
    guarded.write("src/payments/pay.py", "pay = 3\n")
    guarded.add()
    msg = tmp_path / "msg"
    msg.write_text("Pay more\n\nApproved-by: Mallory <mallory@example.org>\n")
    result = _check_json(guarded, "--message-file", str(msg))
    assert _rules(result) == ["approval-missing"]
    v = result["violations"][0]
    assert v["path"] == "src/payments/pay.py"
    assert "Mallory" in v["message"] and "not on the list" in v["message"]
    assert "Ada Lovelace <ada@example.org>" in v["hint"]


def test_approval_not_needed_outside_its_paths(guarded: GitRepo, tmp_path: Path) -> None:
    guarded.write("src/other.py", "o = 2\n")
    guarded.add()
    msg = tmp_path / "msg"
    msg.write_text("Other\n")
    result = _check_json(guarded, "--message-file", str(msg))
    assert result["verdict"] == "pass"
    assert "approvals" not in result


def test_signal_does_not_count_outside_ci(guarded: GitRepo, tmp_path: Path) -> None:
    guarded.write("src/payments/pay.py", "pay = 4\n")
    guarded.add()
    msg = tmp_path / "msg"
    msg.write_text("Pay\n")
    result = _check_json(guarded, "--message-file", str(msg),
                         env={"PAYMENTS_APPROVED": "1"})
    assert _rules(result) == ["approval-missing"]


def test_approval_rules_with_risk_and_weight(repo: GitRepo, tmp_path: Path) -> None:
    repo.write(".avorelo/policy.yaml",
               "approvals:\n  - {risk: high, weights: [heavy], "
               "approvers: ['Ada <ada@example.org>']}\n")
    repo.write(".avorelo/task.yaml", "id: R-1\nrisk: high\n")
    repo.write("a.txt", "a\n")
    repo.add()
    repo.commit("base")
    repo.write("a.txt", "b\n")
    repo.add()
    msg = tmp_path / "msg"
    msg.write_text("Change\n\nModel-Weight: standard\n")
    assert _check_json(repo, "--message-file", str(msg))["verdict"] == "pass"
    msg.write_text("Change\n\nModel-Weight: heavy\n")
    assert _rules(_check_json(repo, "--message-file", str(msg))) == ["approval-missing"]


@pytest.mark.parametrize("policy, needle", [
    ("approvals: [{paths: ['a/**']}]\n", "approvers"),
    ("approvals: [{approvers: ['no email']}]\n", "approvals[0].approvers[0]"),
    ("approvals: [{approvers: ['A <a@b.c>'], count: 0}]\n", "approvals[0].count"),
    ("approvals: [{approvers: ['A <a@b.c>'], paths: ['../x']}]\n", "approvals[0].paths[0]"),
    ("approvals: [{approvers: ['A <a@b.c>'], signal: 'not a var'}]\n", "signal"),
    ("approvals: [{approvers: ['A <a@b.c>'], wieghts: [heavy]}]\n", "did you mean 'weights'"),
])
def test_bad_approval_policy_is_exit_2(repo: GitRepo, policy: str, needle: str) -> None:
    repo.write(".avorelo/policy.yaml", policy)
    proc = repo.gate("validate", ".avorelo/policy.yaml")
    assert_clean_error(proc, 2, needle)


@pytest.mark.parametrize("task, needle", [
    ("context: [{path: a, blob: xyz}]\n", "context[0].blob"),
    ("context: [{path: a, blob: " + "a" * 40 + ", sha256: " + "b" * 64 + "}]\n", "not both"),
    ("context: ['/etc/passwd']\n", "context[0]"),
    ("tools: ['py test']\n", "tools[0]"),
    ("tools: pytest\n", "tools"),
])
def test_bad_context_and_tools_are_exit_2(repo: GitRepo, task: str, needle: str) -> None:
    repo.write(".avorelo/task.yaml", "id: T-1\n" + task)
    assert_clean_error(repo.gate("validate", ".avorelo/task.yaml"), 2, needle)


def test_prove_refuses_a_tool_outside_the_list(planned: GitRepo) -> None:
    proc = planned.gate("prove", "--name", "t", "--", "git", "--version")
    assert_clean_error(proc, 2, "'git' is not among the tools task AUTH-1 allows")
    assert not list((planned.path / ".git" / "avorelo").glob("proof/t/*.json"))


def test_prove_admits_listed_tools_and_python_m(planned: GitRepo, tmp_path: Path) -> None:
    shim = tmp_path / "bin" / "ruff"
    shim.parent.mkdir()
    shim.write_text("#!/bin/sh\necho ruff-ok\n")
    shim.chmod(0o755)
    import os
    env = {"PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    proc = planned.gate("prove", "--name", "lint", "--", "ruff", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ruff-ok" in proc.stdout
    import sys
    ok = planned.gate("prove", "--name", "tests", "--", sys.executable, "-m", "pytest",
                      "--version")
    assert ok.returncode == 0, ok.stderr
    refused = planned.gate("prove", "--", sys.executable, "-m", "pip", "--version")
    assert_clean_error(refused, 2, "'pip' is not among the tools")


def test_ci_pull_request_cannot_add_its_own_approver(guarded: GitRepo) -> None:
    guarded.git("checkout", "-q", "-b", "pr")
    policy = (guarded.path / ".avorelo/policy.yaml").read_text()
    guarded.write(".avorelo/policy.yaml",
                  policy.replace('"Grace Hopper <grace@example.org>"',
                                 '"Grace Hopper <grace@example.org>", '
                                 '"Mallory <mallory@example.org>"'))
    guarded.write("src/payments/pay.py", "pay = 99\n")
    guarded.add()
    guarded.commit("pay more\n\nApproved-by: Mallory <mallory@example.org>")
    proc = guarded.gate("ci", "--base", "main", "--head", "pr", "--format", "json",
                        "--allow-policy-change")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert "approval-missing" in {v["rule"] for v in report["violations"]}
    # The signal a workflow sets on a maintainer's label does count in CI.
    signalled = guarded.gate("ci", "--base", "main", "--head", "pr", "--format", "json",
                             "--allow-policy-change", env={"PAYMENTS_APPROVED": "1"})
    assert signalled.returncode == 0, signalled.stdout
    approvals = json.loads(signalled.stdout)["approvals"]
    assert approvals[0]["via"] == "signal:PAYMENTS_APPROVED"
