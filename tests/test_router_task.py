"""``task start`` / ``task show`` / ``task stop`` and ``task check-paths``: the task's whole path
in the router's order, the active task kept as local state, the engine's own path rules."""
from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import GitRepo, assert_clean_error

from avorelo_gate.git.repo import open_repo
from avorelo_gate.task.active import ActiveTask, Routed, read_active

POLICY = """\
version: 1
protected: [".github/workflows/**"]
proof: [{command: lint}]
models:
  light: {name: claude-haiku-4-5, alias: avorelo-light}
  standard: {name: claude-sonnet-4-5, alias: avorelo-standard}
approvals:
  - {paths: ["src/payments/**"], approvers: ["Ada Lovelace <ada@example.org>"]}
  - {risk: high, approvers: ["Grace Hopper <grace@example.org>"], count: 1}
  - {weights: [heavy], approvers: ["Alan Turing <alan@example.org>"]}
"""


def planned(repo: GitRepo, extra: str = "") -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write("docs/auth.md", "# Auth\n")
    repo.write("src/auth/token.py", "TOKEN = 1\n")
    repo.add()
    repo.commit("base")
    blob = repo.git("rev-parse", "HEAD:src/auth/token.py").stdout.decode().strip()
    repo.write(".avorelo/tasks/AUTH-1.yaml", f"""\
id: AUTH-1
title: Fix token refresh
scope: ["src/auth/**", "tests/auth/**"]
forbid: ["src/auth/keys/**"]
budget: {{max_files: 3, max_lines: 60}}
risk: low
context:
  - docs/auth.md
  - {{path: src/auth/token.py, blob: {blob}}}
tools: [pytest]
proof:
  - junit: reports/junit.xml
    min_tests: 1
{extra}""")
    return repo


def start(repo: GitRepo, *args: str) -> dict[str, Any]:
    proc = repo.gate("task", "start", "AUTH-1", "--format", "json", *args)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_task_start_prints_the_whole_path_in_the_routers_order(repo: GitRepo) -> None:
    doc = start(planned(repo))
    assert doc["schema"] == "avorelo.task-path/v1"
    # The router's order: everything else first, the weight last.
    assert list(doc) == ["schema", "task", "context", "scope", "tools", "approvals", "proof",
                         "route"]
    assert doc["task"]["id"] == "AUTH-1" and doc["task"]["active"] is True
    ctx = doc["context"]
    assert [f["path"] for f in ctx["files"]] == ["docs/auth.md", "src/auth/token.py"]
    assert ctx["total_bytes"] == len("# Auth\n") + len("TOKEN = 1\n")
    assert [f["fresh"] for f in ctx["files"]] == [None, True] and ctx["fresh"] is True
    assert doc["scope"] == {"scope": ["src/auth/**", "tests/auth/**"],
                            "forbid": ["src/auth/keys/**"],
                            "protected": [".avorelo/policy.yaml", ".github/workflows/**"]}
    assert doc["tools"] == ["pytest"]
    # The path rule applies when payments are touched; risk high and heavy do not hold.
    assert [a["rule"] for a in doc["approvals"]] == [0]
    assert [p["requirement"] for p in doc["proof"]] == ["junit:reports/junit.xml",
                                                         "command:lint"]
    route = doc["route"]
    assert route["recommendation"] == "light"
    assert route["model"] == {"name": "claude-haiku-4-5", "alias": "avorelo-light"}
    assert route["reasons"] and "evidence" in route
    assert route["routed_at_start"] == {"weight": "light", "name": "claude-haiku-4-5",
                                        "alias": "avorelo-light"}
    # Kept as the clone's active task, with the routed weight; nothing in the work tree.
    assert read_active(open_repo(str(repo.path))) == ActiveTask(
        "AUTH-1", Routed("light", "claude-haiku-4-5", "avorelo-light"))
    assert repo.git("status", "--porcelain", "--", "src", "docs").stdout == b""


def test_task_start_text_reads_in_the_same_order(repo: GitRepo) -> None:
    proc = planned(repo).gate("task", "start", "AUTH-1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    heads = ["1. context:", "2. scope:", "3. tools: pytest", "4. approvals: 1",
             "5. proof owed: 2", "6. weight: light -> claude-haiku-4-5 / alias avorelo-light"]
    positions = [out.index(h) for h in heads]
    assert positions == sorted(positions), out
    assert "src/auth/token.py  pinned, fresh" in out


def test_task_start_shows_a_stale_pin(repo: GitRepo) -> None:
    planned(repo)
    repo.write("src/auth/token.py", "TOKEN = 2\n")
    repo.add()
    repo.commit("moved on")
    doc = start(repo)
    assert doc["context"]["fresh"] is False
    assert [f["fresh"] for f in doc["context"]["files"]] == [None, False]
    assert [v["rule"] for v in doc["context"]["violations"]] == ["context-stale"]
    assert "pinned, STALE" in repo.gate("task", "show").stdout


def test_high_risk_brings_its_approval_and_its_weight(repo: GitRepo) -> None:
    planned(repo)
    path = repo.path / ".avorelo/tasks/AUTH-1.yaml"
    path.write_text(path.read_text().replace("risk: low", "risk: high"))
    doc = start(repo)
    assert doc["route"]["recommendation"] == "standard"
    assert doc["route"]["model"]["alias"] == "avorelo-standard"
    assert [a["rule"] for a in doc["approvals"]] == [0, 1]


def test_task_show_and_stop(repo: GitRepo) -> None:
    planned(repo)
    assert_clean_error(repo.gate("task", "show"), 2, "no active task",
                       "avorelo-gate task start ID")
    start(repo)
    shown = json.loads(repo.gate("task", "show", "--format", "json").stdout)
    assert shown["task"]["id"] == "AUTH-1" and shown["task"]["active"] is True
    assert shown["route"]["routed_at_start"]["weight"] == "light"
    # Another task's path, without starting it.
    repo.write(".avorelo/tasks/DOCS-1.yaml", "id: DOCS-1\nscope: ['docs/**']\n")
    other = json.loads(repo.gate("task", "show", "DOCS-1", "--format", "json").stdout)
    assert other["task"]["id"] == "DOCS-1" and other["task"]["active"] is False
    assert read_active(open_repo(str(repo.path))).id == "AUTH-1"  # type: ignore[union-attr]
    stop = repo.gate("task", "stop")
    assert (stop.returncode, stop.stdout) == (0, "stopped task AUTH-1\n")
    assert read_active(open_repo(str(repo.path))) is None
    assert repo.gate("task", "stop").stdout == "no active task\n"


@pytest.mark.parametrize(("task_id", "needle"), [
    ("NOPE-1", ".avorelo/tasks/NOPE-1.yaml does not exist"),
    ("../x", "is not a task id"),
    ("-x", "is not a task id"),
])
def test_task_start_refuses_a_task_without_its_file(repo: GitRepo, task_id: str,
                                                    needle: str) -> None:
    planned(repo)
    # .avorelo/task.yaml is not a named task: start needs the tasks/ file.
    repo.write(".avorelo/task.yaml", f"id: {task_id}\nscope: ['src/**']\n")
    assert_clean_error(repo.gate("task", "start", "--", task_id), 2, needle)
    assert read_active(open_repo(str(repo.path))) is None


def test_task_start_refuses_an_invalid_task_file(repo: GitRepo) -> None:
    planned(repo, extra="colour: blue\n")
    assert_clean_error(repo.gate("task", "start", "AUTH-1"), 2,
                       ".avorelo/tasks/AUTH-1.yaml", "colour: unknown key")
    assert read_active(open_repo(str(repo.path))) is None


def check_paths(repo: GitRepo, *paths: str) -> tuple[int, dict[str, Any]]:
    proc = repo.gate("task", "check-paths", "--", *paths)
    assert proc.returncode in (0, 1), proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, doc


def test_check_paths_uses_the_engines_rules(repo: GitRepo) -> None:
    start(planned(repo))
    code, doc = check_paths(repo, "src/auth/new.py", "tests/auth/test_x.py")
    assert (code, doc["allowed"]) == (0, True)
    assert doc["task"]["id"] == "AUTH-1"  # the active task
    code, doc = check_paths(repo, "src/auth/keys/k.pem", "docs/x.md", ".avorelo/policy.yaml",
                            ".github/workflows/ci.yml", "../outside",
                            str(repo.path / "src/auth/ok.py"), "src/auth/../../docs/y.md")
    assert code == 1
    rules = {a["path"]: [v["rule"] for v in a["violations"]] for a in doc["paths"]}
    assert rules == {"src/auth/keys/k.pem": ["forbidden"], "docs/x.md": ["out-of-scope"],
                     ".avorelo/policy.yaml": ["policy-changed"],
                     ".github/workflows/ci.yml": ["protected"],
                     "../outside": ["outside-repository"],
                     str(repo.path / "src/auth/ok.py"): [],
                     "src/auth/../../docs/y.md": ["out-of-scope"]}
    # --task names the task explicitly; no path at all is usage.
    assert repo.gate("task", "check-paths", "--task", "AUTH-1", "src/auth/a.py").returncode == 0
    assert_clean_error(repo.gate("task", "check-paths"), 2, "Missing argument")
