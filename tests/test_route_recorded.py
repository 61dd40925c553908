"""``route`` on receipts the gate itself recorded (issue 17): real commits through the hooks
``avorelo-gate install`` writes, not the generated receipts of tests/receipt_history.py.

A commit the hooks refuse leaves no receipt; one made with ``--no-verify`` skips pre-commit and
commit-msg but not post-commit, which records the failing verdict. Both kinds are here.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from conftest import PACKAGE_ROOT, GitRepo

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(PACKAGE_ROOT)}


def hooked(repo: GitRepo) -> GitRepo:
    repo.write(".avorelo/tasks/AUTH-1.yaml", 'id: AUTH-1\nscope: ["src/auth/**"]\n')
    repo.write(".avorelo/tasks/UI-1.yaml", 'id: UI-1\nscope: ["src/ui/**"]\n')
    repo.write(".avorelo/tasks/AUTH-2.yaml",
               'id: AUTH-2\nscope: ["src/auth/**"]\nbudget: {max_files: 3, max_lines: 50}\n')
    repo.write("README.md", "hello\n")
    repo.add()
    repo.commit("plan")
    assert repo.gate("install", env=HOOK_ENV).returncode == 0
    return repo


def work(repo: GitRepo, path: str, message: str, *flags: str, code: int = 0) -> None:
    repo.write(path, f"{path} {message}\n")
    repo.add()
    proc = repo.git("commit", "-q", *flags, "-m", message, check=False, env=HOOK_ENV)
    assert proc.returncode == code, (proc.stdout + proc.stderr).decode(errors="replace")


def receipt(repo: GitRepo) -> dict[str, Any]:
    proc = repo.gate("receipt", "show", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc["predicate"]


def route(repo: GitRepo, *args: str) -> dict[str, Any]:
    proc = repo.gate("route", *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_route_escalates_on_failures_the_hooks_recorded(repo: GitRepo) -> None:
    hooked(repo)
    light = "Task: AUTH-1\nModel-Weight: light"
    # out of its own Task-Scope: the hooks refuse it, then --no-verify lands it anyway and
    # post-commit records the failing verdict
    narrowed = f"token\n\n{light}\nTask-Scope: src/auth/session.py"
    work(repo, "src/auth/token.py", narrowed, code=1)
    work(repo, "src/auth/token.py", narrowed, "--no-verify")
    assert receipt(repo)["verdict"] == "fail"
    assert [v["rule"] for v in receipt(repo)["violations"]] == ["out-of-scope"]
    work(repo, "src/auth/keys.py", f"keys\n\n{light}\nTask-Scope: src/auth/token.py",
         "--no-verify")
    assert receipt(repo)["verdict"] == "fail"
    work(repo, "src/auth/session.py", f"session\n\n{light}")
    assert receipt(repo)["verdict"] == "pass"
    work(repo, "src/auth/token.py", "token again\n\nTask: AUTH-1\nModel-Weight: standard")
    doc = route(repo, "--task", "AUTH-2")
    assert doc["recommendation"] == "standard", doc["reasons"]
    assert any(r.startswith("escalate: light failed scope or proof on these paths in 2 of 3")
               for r in doc["reasons"]), doc["reasons"]
    by_weight = doc["evidence"]["by_weight"]
    assert (by_weight["light"]["receipts"], by_weight["light"]["passed"],
            by_weight["light"]["scope_failed"]) == (3, 1, 2)
    assert by_weight["standard"]["receipts"] == 1
    # the planning commit touched only task files: no overlap with src/auth/**
    assert doc["evidence"]["receipts_considered"] == 4


def test_route_deescalates_on_passes_the_hooks_recorded(repo: GitRepo) -> None:
    hooked(repo)
    for i in range(4):
        work(repo, f"src/ui/view{i}.py", f"view {i}\n\nTask: UI-1\nModel-Weight: light")
    work(repo, "src/ui/view0.py", "rework\n\nTask: UI-1\nModel-Weight: heavy")
    assert receipt(repo)["model"]["weight"] == "heavy"
    doc = route(repo, "--scope", "src/ui/**")
    assert doc["recommendation"] == "light", doc["reasons"]
    assert any("de-escalate: light passed 4 of 4" in r and "heavier weights were used 1" in r
               for r in doc["reasons"]), doc["reasons"]
    # the evidence is exactly the commits made: nothing else overlaps src/ui/**
    assert doc["evidence"]["receipts_considered"] == 5
    verified = repo.gate("receipt", "verify", "HEAD~5..HEAD")
    assert verified.returncode == 0, verified.stdout


def test_route_index_follows_new_hook_receipts(repo: GitRepo) -> None:
    hooked(repo)
    work(repo, "src/ui/a.py", "a\n\nTask: UI-1\nModel-Weight: light")
    assert route(repo, "--scope", "src/ui/**")["evidence"]["receipts_considered"] == 1
    work(repo, "src/ui/b.py", "b\n\nTask: UI-1\nModel-Weight: light")
    # the incremental index picks up the receipt post-commit just wrote
    assert route(repo, "--scope", "src/ui/**")["evidence"]["receipts_considered"] == 2
