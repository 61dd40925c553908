"""Proof travels with the commit: CI and pre-push on another machine credit the receipt."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import GitRepo, hooks_run_this_checkout

TASK = ("id: T-1\nscope: ['src/**']\n"
        "proof:\n  - command: tests\n")
PROVE = ("prove", "--name", "tests", "--", sys.executable, "-c", "print('ok')")


@pytest.fixture
def proven(make_repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A project whose commit was proven and committed through the hooks, pushed (with its
    receipts) to a bare remote, and a fresh clone of it: a CI runner with no proof records."""
    hooks_run_this_checkout(monkeypatch)
    dev: GitRepo = make_repo("dev")
    dev.write(".avorelo/tasks/T-1.yaml", TASK)
    dev.write("src/app.py", "a = 1\n")
    dev.add()
    dev.commit("init")
    assert dev.gate("install").returncode == 0
    dev.git("checkout", "-q", "-b", "feature")
    dev.write("src/app.py", "a = 2\n")
    dev.add()
    assert dev.gate(*PROVE).returncode == 0
    dev.git("commit", "-q", "-m", "change\n\nTask: T-1")
    remote = tmp_path / "remote.git"
    dev.git("init", "-q", "--bare", str(remote))
    dev.git("push", "-q", "--no-verify", str(remote), "main", "feature",
            "refs/notes/avorelo")
    ci = GitRepo(tmp_path / "ci")
    dev.git("clone", "-q", str(remote), str(ci.path))
    return dev, ci


def _ci(repo: GitRepo) -> dict:  # type: ignore[type-arg]
    proc = repo.gate("ci", "--base", "origin/main", "--head", "origin/feature",
                     "--format", "json")
    data: dict = json.loads(proc.stdout)  # type: ignore[type-arg]
    assert proc.returncode == (0 if data["verdict"] == "pass" else 1), proc.stderr
    return data


def test_ci_credits_the_proof_recorded_in_the_receipt(proven) -> None:  # type: ignore[no-untyped-def]
    _dev, ci = proven
    ci.git("fetch", "-q", "origin", "refs/notes/avorelo:refs/notes/avorelo")
    report = _ci(ci)
    assert report["verdict"] == "pass", report["violations"]
    commit = report["commits"][0]
    assert commit["proof"][0]["status"] == "ok"
    assert "recorded ok in the receipt" in commit["proof"][0]["detail"]
    assert report["proof"][0]["status"] == "ok"  # the range ends at the proven commit


def test_ci_without_receipts_has_no_proof(proven) -> None:  # type: ignore[no-untyped-def]
    _dev, ci = proven
    report = _ci(ci)
    assert report["verdict"] == "fail"
    assert {v["rule"] for v in report["violations"]} == {"proof-missing"}


def test_a_receipt_for_other_content_proves_nothing(proven) -> None:  # type: ignore[no-untyped-def]
    dev, ci = proven
    # The next commit skips proof: its tree is new, and the older receipt cannot vouch for it.
    dev.write("src/app.py", "a = 3\n")
    dev.add()
    dev.git("commit", "-q", "--no-verify", "-m", "unproven\n\nTask: T-1")
    dev.git("push", "-q", "--no-verify", "-f", str(ci.path / ".." / "remote.git"), "feature",
            "+refs/notes/avorelo:refs/notes/avorelo")
    ci.git("fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*",
           "+refs/notes/avorelo:refs/notes/avorelo")
    report = _ci(ci)
    statuses = [c["proof"][0]["status"] for c in report["commits"]]
    assert statuses[0] == "ok"
    assert statuses[1] != "ok"
    assert report["proof"][0]["status"] != "ok"
