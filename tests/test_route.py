"""``route``: a weight recommendation from the task and from receipts on overlapping paths,
read through the incremental SQLite index."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, assert_clean_error
from receipt_history import Work, add_receipts, generate

from avorelo_gate.router.route import scope_prefixes
from avorelo_gate.task.scope import Matcher

INDEX = Path(".git") / "avorelo" / "receipts.sqlite"


def route(repo: GitRepo, *args: str) -> dict[str, Any]:
    proc = repo.gate("route", *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def task_file(repo: GitRepo, task_id: str, body: str) -> None:
    repo.write(f".avorelo/tasks/{task_id}.yaml", f"id: {task_id}\n{body}")


def test_route_escalates_where_light_failed_scope_or_proof(repo: GitRepo) -> None:
    generate(repo.path, [
        Work(("src/auth/token.py",), "light", rules=("out-of-scope",)),
        Work(("src/auth/session.py",), "light", rules=("proof-failed",)),
        Work(("src/auth/token.py",), "light"),
        Work(("src/auth/token.py",), "standard"),
    ])
    task_file(repo, "AUTH-2", 'scope: ["src/auth/**"]\nbudget: {max_files: 3, max_lines: 50}\n')
    doc = route(repo, "--task", "AUTH-2")
    assert doc["recommendation"] == "standard"
    assert any(r.startswith("escalate: light failed scope or proof on these paths in 2 of 3")
               for r in doc["reasons"]), doc["reasons"]
    light = doc["evidence"]["by_weight"]["light"]
    assert (light["receipts"], light["passed"], light["scope_failed"],
            light["proof_failed"]) == (3, 1, 1, 1)
    assert doc["evidence"]["receipts_considered"] == 4


def test_route_deescalates_where_light_consistently_passed(repo: GitRepo) -> None:
    generate(repo.path, [Work((f"src/ui/view{i}.py",), "light") for i in range(4)]
             + [Work(("src/ui/view0.py",), "heavy"), Work(("src/ui/view1.py",), "heavy")])
    # No budget declared: standard by default, which the history lowers.
    doc = route(repo, "--scope", "src/ui/**")
    assert doc["recommendation"] == "light"
    assert any("de-escalate: light passed 4 of 4" in r and "heavier weights were used 2" in r
               for r in doc["reasons"]), doc["reasons"]


def test_route_never_goes_below_the_budget_or_risk_floor(repo: GitRepo) -> None:
    generate(repo.path, [Work((f"src/ui/v{i}.py",), "light") for i in range(6)])
    task_file(repo, "BIG-1", 'scope: ["src/ui/**"]\nbudget: {max_files: 80}\n')
    task_file(repo, "RISKY-1", 'scope: ["src/ui/**"]\nbudget: {max_files: 2}\nrisk: high\n')
    big = route(repo, "--task", "BIG-1")
    assert big["recommendation"] == "heavy", big["reasons"]
    assert "budget 80 files fits the heavy budget (light allows 5 files / 200 lines)" in \
        big["reasons"]
    risky = route(repo, "--task", "RISKY-1")
    assert risky["recommendation"] == "standard", risky["reasons"]
    assert "risk high: not work for a light model" in risky["reasons"]


def test_route_counts_only_receipts_on_overlapping_paths(repo: GitRepo) -> None:
    generate(repo.path, [Work(("docs/guide.md",), "light", rules=("out-of-scope",))
                         for _ in range(5)] + [Work(("src/app.py", "docs/x.md"), "standard")])
    doc = route(repo, "--scope", "src/**")
    assert doc["evidence"]["receipts_considered"] == 1
    assert list(doc["evidence"]["by_weight"]) == ["standard"]
    assert doc["recommendation"] == "standard"  # no budget: the default, nothing to move it
    none = route(repo, "--scope", "lib/**")
    assert none["evidence"]["receipts_considered"] == 0
    assert "no earlier receipts touched these paths" in none["reasons"]


def test_route_text_prints_reasons_and_evidence(repo: GitRepo) -> None:
    generate(repo.path, [Work(("src/a.py",), "light"), Work(("src/b.py",), "heavy")])
    proc = repo.gate("route", "--scope", "src/**")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("route: standard for this scope (scope: src/**)")
    assert "evidence: 2 receipt(s) touched overlapping paths (2 indexed)" in out
    assert "pass-rate" in out and "light" in out and "heavy" in out


def test_route_index_is_incremental_and_disposable(repo: GitRepo) -> None:
    shas = generate(repo.path, [Work((f"src/m{i}.py",), "light") for i in range(250)])
    first = route(repo, "--scope", "src/**")
    assert first["evidence"]["index"]["receipts_indexed"] == 250
    assert first["evidence"]["index"]["notes_read"] == 250
    again = route(repo, "--scope", "src/**")
    assert again["evidence"]["index"]["notes_read"] == 0  # warm: nothing re-read
    flat = repo.git("ls-tree", "--name-only", "refs/notes/avorelo").stdout.split()
    # Past 256 notes git fans the notes tree out (ab/cdef...): every old note moves. Only the
    # new notes may be read, and none may be lost.
    more = generate(repo.path, [Work((f"src/n{i}.py",), "light") for i in range(50)]
                    + [Work(("src/new.py",), "heavy")])
    fanned = repo.git("ls-tree", "--name-only", "refs/notes/avorelo").stdout.split()
    assert len(flat) == 250 and len(fanned) <= 256, "the notes tree did not fan out"
    after = route(repo, "--scope", "src/**")
    assert after["evidence"]["index"]["receipts_indexed"] == 301
    assert after["evidence"]["index"]["notes_read"] == 51
    repo.git("notes", "--ref=refs/notes/avorelo", "remove", shas[0], more[-1])
    incremental = route(repo, "--scope", "src/**")
    assert incremental["evidence"]["index"]["receipts_indexed"] == 299
    assert list(incremental["evidence"]["by_weight"]) == ["light"]
    os.unlink(repo.path / INDEX)
    rebuilt = route(repo, "--scope", "src/**")
    assert rebuilt["evidence"]["index"]["notes_read"] == 299
    assert rebuilt["evidence"]["by_weight"] == incremental["evidence"]["by_weight"]


def test_route_rebuilds_a_damaged_index(repo: GitRepo) -> None:
    generate(repo.path, [Work(("src/a.py",), "light")])
    route(repo, "--scope", "src/**")
    (repo.path / INDEX).write_bytes(b"this is not a database")
    for suffix in ("-wal", "-shm"):
        (repo.path / f"{INDEX}{suffix}").unlink(missing_ok=True)
    assert route(repo, "--scope", "src/**")["evidence"]["receipts_considered"] == 1


def test_route_ignores_copied_and_unreadable_notes(repo: GitRepo) -> None:
    shas = generate(repo.path, [Work(("src/a.py",), "light"), Work(("src/b.py",), "light")])
    copied = repo.git("notes", "--ref=refs/notes/avorelo", "show", shas[0]).stdout
    add_receipts(repo.path, {shas[1]: copied})
    extra = generate(repo.path, [Work(("src/c.py",), "light")])
    add_receipts(repo.path, {extra[0]: b"not json"})
    doc = route(repo, "--scope", "src/**")
    assert doc["evidence"]["index"]["receipts_indexed"] == 1
    assert doc["evidence"]["receipts_considered"] == 1


def test_route_without_receipts_or_notes_ref(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.add()
    repo.commit("init")
    doc = route(repo, "--scope", "src/**")
    assert doc["evidence"]["receipts_considered"] == 0
    assert doc["evidence"]["index"]["notes_commit"] is None


@pytest.mark.parametrize(("args", "needle"), [
    (("--scope", "../outside/**"), "--scope '../outside/**'"),
    (("--task", "NOPE-1"), "--task NOPE-1"),
    ((), "route needs a task"),
])
def test_route_bad_input_is_one_line_exit_2(repo: GitRepo, args: tuple[str, ...],
                                             needle: str) -> None:
    repo.write("src/a.py")
    repo.add()
    repo.commit("init")
    assert_clean_error(repo.gate("route", *args), 2, needle)


@pytest.mark.parametrize(("pattern", "prefix"), [
    ("src/auth/**", "src/auth/"), ("src/*.py", "src/"), ("/src/app.py", "src/app.py"),
    ("*.py", ""), ("docs/", ""), ("**/x.py", ""), ("src/a[bc]/**", "src/"),
])
def test_scope_prefixes_bound_every_match(pattern: str, prefix: str) -> None:
    assert scope_prefixes([pattern]) == [prefix]
    matcher = Matcher.compile([pattern])
    for path in ("src/auth/x.py", "src/app.py", "src/ab/c.py", "lib/src/x.py", "docs/a.md",
                 "a/docs/b.md", "x.py"):
        if matcher.match(path):
            assert path.startswith(prefix), (pattern, path)
