"""Receipts the gate itself records through the hooks carry ``model.routed`` (from ``task start``)
and ``model.observed`` (from an agent's payload) beside the claim; ``route`` counts the work that
followed the route and the work that did not, and how each went.

The orchestrator's flow end to end, with documented commands only: ``task start``, ``task show``,
``eval "$(avorelo-gate route --format env --agent claude)"``, work committed through the
installed hooks, then ``route`` and ``receipt show`` / ``receipt verify``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from conftest import ROOT, GitRepo

from avorelo_gate.git.repo import open_repo
from avorelo_gate.task.active import ObservedModel, write_observed

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
POLICY = """\
version: 1
models:
  light: {name: claude-haiku-4-5, alias: avorelo-light}
  standard: {name: claude-sonnet-4-5, alias: avorelo-standard}
  heavy: {name: claude-opus-4-1, alias: avorelo-heavy}
"""
TASK = """\
id: AUTH-1
scope: ["src/auth/**"]
budget: {max_files: 3, max_lines: 60}
risk: low
"""
BASH = shutil.which("bash")


def project(repo: GitRepo) -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/tasks/AUTH-1.yaml", TASK)
    repo.write(".avorelo/tasks/DOCS-1.yaml", "id: DOCS-1\nscope: ['docs/**']\n")
    repo.write("src/auth/token.py", "TOKEN = 1\n")
    repo.write("docs/guide.md", "guide\n")
    repo.add()
    repo.commit("plan")
    assert repo.gate("install", env=HOOK_ENV).returncode == 0
    return repo


def orchestrate(repo: GitRepo, script: str) -> subprocess.CompletedProcess[str]:
    """Run shell lines as an orchestrator would, the gate on PATH as `avorelo-gate`."""
    bindir = repo.path.parent / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "avorelo-gate"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m avorelo_gate "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, **HOOK_ENV, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([BASH or "sh", "-c", "set -e\n" + script], cwd=repo.path, env=env,
                          capture_output=True, text=True, check=False)


def receipt(repo: GitRepo, rev: str = "HEAD") -> dict[str, Any]:
    proc = repo.gate("receipt", "show", rev, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)["predicate"]
    return doc


def route(repo: GitRepo) -> dict[str, Any]:
    proc = repo.gate("route", "--task", "AUTH-1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def commit(repo: GitRepo, message: str, *args: str,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return repo.git("commit", "-q", *args, "-m", message, check=False,
                    env={**HOOK_ENV, **(env or {})})


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_orchestrator_flow_routes_hands_over_and_reads_the_outcome(repo: GitRepo) -> None:
    project(repo)
    proc = orchestrate(repo, """
avorelo-gate task start AUTH-1 --format json > path.json
avorelo-gate task show > /dev/null
eval "$(avorelo-gate route --format env --agent claude)"
test "$ANTHROPIC_MODEL" = avorelo-light
case "$ANTHROPIC_CUSTOM_HEADERS" in 'x-litellm-tags: avorelo-task:AUTH-1,'*) ;; *) exit 9;; esac
# the agent works inside the hooks
echo 'TOKEN = 2' > src/auth/token.py
git add src/auth/token.py
git commit -q -m 'Refresh the token'
echo 'TOKEN = 3' > src/auth/token.py
git add src/auth/token.py
git commit -q -m 'Refresh it again'
avorelo-gate receipt verify HEAD~2..HEAD
""")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = json.loads((repo.path / "path.json").read_text())
    assert path["route"]["recommendation"] == "light"
    model = receipt(repo)["model"]
    assert model["routed"] == {"weight": "light", "name": "claude-haiku-4-5",
                               "alias": "avorelo-light"}
    assert (model["weight"], model["name"]) == ("light", "claude-haiku-4-5")
    assert model["source"] == {"weight": "env:AVORELO_MODEL_WEIGHT",
                               "name": "env:AVORELO_MODEL"}
    routing = route(repo)["evidence"]["routing"]
    assert routing["light"]["followed"] == {"receipts": 2, "passed": 2, "scope_failed": 0,
                                            "proof_failed": 0, "used": {"light": 2}}
    assert routing["light"]["not_followed"] is None
    assert routing["unrouted"] == 0  # the planning commit predates the hooks: no receipt
    assert "routed light, followed: 2 receipt(s), 2 passed" in repo.gate(
        "route", "--task", "AUTH-1").stdout


def test_route_counts_work_that_did_not_follow_the_route_and_how_it_went(
        repo: GitRepo) -> None:
    project(repo)
    assert repo.gate("task", "start", "AUTH-1").returncode == 0
    # Followed: the routed weight claimed.
    repo.write("src/auth/token.py", "TOKEN = 2\n")
    repo.add()
    assert commit(repo, "Light\n\nTask: AUTH-1\nModel-Weight: light").returncode == 0
    # Not followed: a heavier model did it.
    repo.write("src/auth/token.py", "TOKEN = 3\n")
    repo.add()
    assert commit(repo, "Heavy\n\nTask: AUTH-1\nModel-Weight: heavy").returncode == 0
    # Not followed, and outside the scope: the hooks refuse it; forced past them with
    # --no-verify, post-commit still records what happened.
    repo.write("src/auth/token.py", "TOKEN = 4\n")
    repo.write("docs/guide.md", "changed\n")
    repo.add()
    blocked = commit(repo, "Standard\n\nTask: AUTH-1\nModel-Weight: standard")
    assert blocked.returncode == 1
    assert commit(repo, "Standard\n\nTask: AUTH-1\nModel-Weight: standard",
                  "--no-verify").returncode == 0
    forced = receipt(repo)
    assert forced["verdict"] == "fail" and forced["model"]["routed"]["weight"] == "light"
    routing = route(repo)["evidence"]["routing"]
    assert routing["light"]["followed"]["receipts"] == 1
    assert routing["light"]["not_followed"] == {
        "receipts": 2, "passed": 1, "scope_failed": 1, "proof_failed": 0,
        "used": {"heavy": 1, "standard": 1}}
    verify = repo.gate("receipt", "verify", "HEAD~3..HEAD")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_routed_weight_counts_only_for_the_task_it_was_routed_for(repo: GitRepo) -> None:
    project(repo)
    assert repo.gate("task", "start", "AUTH-1").returncode == 0
    repo.write("docs/guide.md", "better guide\n")
    repo.add()
    assert commit(repo, "Docs\n\nTask: DOCS-1").returncode == 0
    assert "routed" not in (receipt(repo)["model"] or {})


def test_observed_model_is_recorded_and_a_disagreeing_claim_warned(repo: GitRepo) -> None:
    project(repo)
    write_observed(open_repo(str(repo.path)),
                   ObservedModel(name="claude-opus-4-1-20250805", agent="claude"))
    repo.write("src/auth/token.py", "TOKEN = 2\n")
    repo.add()
    proc = commit(repo, "Claimed light\n\nTask: AUTH-1\nModel: claude-haiku-4-5")
    assert proc.returncode == 0, proc.stderr
    said = proc.stderr.decode()
    assert "warning: the claimed model 'claude-haiku-4-5' is not the model claude reported " \
           "using ('claude-opus-4-1-20250805')" in said
    p = receipt(repo)
    assert p["model"]["observed"] == {"name": "claude-opus-4-1-20250805", "agent": "claude"}
    assert p["model"]["name"] == "claude-haiku-4-5"
    assert any("is not the model claude reported using" in w for w in p["warnings"])
    assert repo.gate("receipt", "verify").returncode == 0
    # The same model under a provider prefix and a date stamp is no disagreement.
    write_observed(open_repo(str(repo.path)),
                   ObservedModel(name="anthropic/claude-haiku-4-5-20251001", agent="codex"))
    repo.write("src/auth/token.py", "TOKEN = 3\n")
    repo.add()
    proc = commit(repo, "Same model\n\nTask: AUTH-1\nModel: claude-haiku-4-5")
    assert proc.returncode == 0 and b"is not the model" not in proc.stderr
    assert receipt(repo)["warnings"] == []


def test_history_recorded_later_gets_no_local_model(repo: GitRepo) -> None:
    """`receipt record` of an older commit must not lend it today's route or agent."""
    project(repo)
    repo.write("src/auth/token.py", "TOKEN = 2\n")
    repo.add()
    repo.commit("Earlier work\n\nTask: AUTH-1")  # --no-verify: no hooks at all
    assert repo.gate("task", "start", "AUTH-1").returncode == 0
    write_observed(open_repo(str(repo.path)), ObservedModel(name="gpt-5-codex", agent="codex"))
    assert repo.gate("receipt", "record", "HEAD").returncode == 0
    assert receipt(repo)["model"] is None  # nothing claimed, nothing routed or observed
    assert repo.gate("receipt", "verify").returncode == 0


def _edit_note(repo: GitRepo, edit: Any) -> None:
    note = json.loads(repo.git("notes", "--ref=refs/notes/avorelo", "show", "HEAD").stdout)
    edit(note["predicate"]["model"])
    repo.git("notes", "--ref=refs/notes/avorelo", "add", "-f", "-m", json.dumps(note), "HEAD")


def test_routed_and_observed_are_parsed_strictly_and_signed(repo: GitRepo) -> None:
    project(repo)
    key = {"AVORELO_RECEIPT_KEY": "k" * 32}
    assert repo.gate("task", "start", "AUTH-1").returncode == 0
    repo.write("src/auth/token.py", "TOKEN = 2\n")
    repo.add()
    assert commit(repo, "Work\n\nTask: AUTH-1", env=key).returncode == 0
    assert repo.gate("receipt", "verify", env=key).returncode == 0
    # Claiming afterwards that the route was heavy: the signature no longer matches.
    _edit_note(repo, lambda m: m["routed"].update(weight="heavy"))
    proc = repo.gate("receipt", "verify", env=key)
    assert proc.returncode == 1 and "signature" in proc.stdout + proc.stderr
    # Not a weight at all: not a receipt.
    _edit_note(repo, lambda m: m["routed"].update(weight="gigantic"))
    proc = repo.gate("receipt", "verify")
    assert proc.returncode == 1 and "model.routed.weight" in proc.stdout + proc.stderr
    _edit_note(repo, lambda m: m.update(routed={"weight": "light"}, observed={"name": "x"}))
    proc = repo.gate("receipt", "verify")
    assert proc.returncode == 1 and "model." in proc.stdout + proc.stderr


@pytest.mark.slow
def test_demo_shows_the_routed_weight_followed(tmp_path: Any) -> None:
    from conftest import run_gate

    proc = run_gate("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "ok: avorelo-gate task start DEMO-5" in proc.stdout
    assert "routed light, followed: 1 receipt(s), 1 passed" in proc.stdout
    assert "claimed (weight from env:AVORELO_MODEL_WEIGHT); routed light" in proc.stdout


def test_route_escalates_on_failures_the_hooks_recorded(repo: GitRepo) -> None:
    """Light work forced past the hooks twice, outside the scope: post-commit records each
    failure, and the next route for those paths no longer says light."""
    project(repo)
    assert route(repo)["recommendation"] == "light"
    for i in range(2):
        repo.write("src/auth/token.py", f"TOKEN = {i + 2}\n")
        repo.write("docs/guide.md", f"guide {i}\n")
        repo.add()
        assert commit(repo, "Light\n\nTask: AUTH-1\nModel-Weight: light",
                      "--no-verify").returncode == 0
        assert receipt(repo)["verdict"] == "fail"
    doc = route(repo)
    assert doc["recommendation"] == "standard"
    assert "escalate: light failed scope or proof on these paths in 2 of 2 receipt(s)" in \
        doc["reasons"]
