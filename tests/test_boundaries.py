"""Every numeric limit tested on both sides: N is allowed, N+1 is refused (issue 17).

A limit moved by one (``>`` for ``>=``, ``N`` for ``N-1``) leaves every test that stays far
from the limit green; these tests sit on it. They call the real entry point in this process
(tests/inproc.py) against real repositories, and assert the exact exit code and rule.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo
from inproc import run_main

POLICY = ".avorelo/policy.yaml"


def check(repo: GitRepo, *args: str, code: int, env: dict[str, str] | None = None,
          ) -> dict[str, Any]:
    proc = run_main("check", "--format", "json", *args, cwd=repo.path, env=env)
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    result: dict[str, Any] = json.loads(proc.stdout)
    assert result["exit_code"] == code
    assert result["verdict"] == ("pass" if code == 0 else "fail")
    return result


def rules(result: dict[str, Any]) -> list[str]:
    return sorted(v["rule"] for v in result["violations"])


def base(repo: GitRepo, policy: str | None = None, task: str | None = None) -> None:
    """Commit the policy and the task (so the staged change is only what a test stages)."""
    if policy is not None:
        repo.write(POLICY, policy)
    if task is not None:
        repo.write(".avorelo/task.yaml", task)
    repo.write("README.md", "hello\n")
    repo.add()
    repo.commit("base")


def stage_files(repo: GitRepo, count: int, lines: int = 1) -> None:
    for i in range(count):
        repo.write(f"src/f{i}.py", "".join(f"line {j}\n" for j in range(lines)))
    repo.add()


def message(tmp_path: Path, text: str) -> str:
    path = tmp_path / "COMMIT_MSG"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("limit", [1, 3])
def test_max_files_allows_n_and_refuses_n_plus_one(repo: GitRepo, limit: int) -> None:
    base(repo, task=f"id: T-1\nbudget: {{max_files: {limit}}}\n")
    stage_files(repo, limit)
    assert check(repo, code=0)["diff"]["files"] == limit
    stage_files(repo, limit + 1)
    result = check(repo, code=1)
    assert rules(result) == ["budget-files"]
    assert result["violations"][0]["message"] == (
        f"{limit + 1} files changed; the task's budget is {limit}")


def test_max_files_zero_refuses_any_file(repo: GitRepo) -> None:
    base(repo, task="id: T-1\nbudget: {max_files: 0}\n")
    stage_files(repo, 1)
    assert rules(check(repo, code=1)) == ["budget-files"]


@pytest.mark.parametrize("limit", [1, 7])
def test_max_lines_allows_n_and_refuses_n_plus_one(repo: GitRepo, limit: int) -> None:
    base(repo, task=f"id: T-1\nbudget: {{max_lines: {limit}}}\n")
    stage_files(repo, 1, lines=limit)
    assert check(repo, code=0)["diff"]["added"] == limit
    stage_files(repo, 1, lines=limit + 1)
    result = check(repo, code=1)
    assert rules(result) == ["budget-lines"]
    assert result["violations"][0]["message"].startswith(f"{limit + 1} lines changed (+")


def test_max_lines_counts_removed_lines_too(repo: GitRepo) -> None:
    """lines = added + removed (the contract's task file): a rewrite of 2 lines is 4."""
    repo.write("src/a.py", "one\ntwo\n")
    base(repo, task="id: T-1\nbudget: {max_lines: 3}\n")
    repo.write("src/a.py", "ONE\ntwo\n")       # +1 -1
    repo.add()
    diff = check(repo, code=0)["diff"]
    assert (diff["files"], diff["added"], diff["removed"]) == (1, 1, 1)
    repo.write("src/a.py", "ONE\nTWO\n")       # +2 -2 = 4 > 3
    repo.add()
    assert rules(check(repo, code=1)) == ["budget-lines"]


@pytest.mark.parametrize(("key", "unit"), [("max_files", "files"), ("max_lines", "lines")])
def test_weight_budget_allows_n_and_refuses_n_plus_one(repo: GitRepo, tmp_path: Path,
                                                        key: str, unit: str) -> None:
    base(repo, policy=f"version: 1\nweights:\n  light: {{{key}: 2}}\n  standard: {{}}\n",
         task="id: T-1\nmodel: {weight: light}\n")
    at, over = ((2, 1), (3, 1)) if key == "max_files" else ((1, 2), (1, 3))
    stage_files(repo, *at)
    assert check(repo, code=0)["model"]["weight"] == "light"
    stage_files(repo, *over)
    result = check(repo, code=1)
    assert rules(result) == ["weight-budget"]
    assert f"3 {unit} > 2" in result["violations"][0]["message"]
    # The same change under the next weight up passes: the rule reads the declared weight.
    heavier = check(repo, "--message-file", message(tmp_path, "S\n\nModel-Weight: standard\n"),
                    code=0)
    assert heavier["model"]["weight"] == "standard"


def test_weight_budget_default_light_is_five_files(repo: GitRepo) -> None:
    """With no policy file the contract's default weights apply: light allows 5 files."""
    base(repo, task="id: T-1\nmodel: {weight: light}\n")
    stage_files(repo, 5)
    check(repo, code=0)
    stage_files(repo, 6)
    assert rules(check(repo, code=1)) == ["weight-budget"]


APPROVERS = ("Ada Lovelace <ada@example.org>", "Grace Hopper <grace@example.org>",
             "Alan Turing <alan@example.org>")


@pytest.mark.parametrize("count", [1, 2])
def test_approval_count_needs_exactly_count_listed_people(repo: GitRepo, tmp_path: Path,
                                                          count: int) -> None:
    listed = ", ".join(f"'{a}'" for a in APPROVERS)
    base(repo, policy=f"version: 1\napprovals:\n  - {{paths: ['src/**'], approvers: [{listed}], "
                      f"count: {count}}}\n")
    stage_files(repo, 1)
    short = "".join(f"Approved-by: {a}\n" for a in APPROVERS[:count - 1])
    # The same person twice is one approval; someone off the list is none.
    short += f"Approved-by: {APPROVERS[0]}\n" if count > 1 else ""
    short += "Approved-by: Mallory <mallory@example.org>\n"
    result = check(repo, "--message-file", message(tmp_path, f"S\n\n{short}"), code=1)
    assert rules(result) == ["approval-missing"]
    assert f"{count} approval(s) from the policy's list; {count - 1} given" in \
        result["violations"][0]["message"]
    enough = "".join(f"Approved-by: {a}\n" for a in APPROVERS[:count])
    ok = check(repo, "--message-file", message(tmp_path, f"S\n\n{enough}"), code=0)
    assert ok["approvals"][0]["required"] == count
    assert ok["approvals"][0]["via"] == "trailer"


JUNIT_WRITER = (
    "import os, sys; os.makedirs('reports', exist_ok=True); n = int(sys.argv[1]); "
    "open('reports/junit.xml', 'w').write('<testsuite tests=\"%d\">' % n + "
    "''.join('<testcase classname=\"t\" name=\"t%d\"/>' % i for i in range(n)) + '</testsuite>')")


@pytest.mark.parametrize("minimum", [1, 3])
def test_min_tests_allows_n_and_refuses_n_minus_one(repo: GitRepo, minimum: int) -> None:
    repo.write(".gitignore", "reports/\n")
    base(repo, task="id: T-1\nscope: ['src/**']\nproof:\n"
                    f"  - {{junit: reports/junit.xml, min_tests: {minimum}}}\n")
    stage_files(repo, 1)

    def prove(n: int) -> None:
        proc = run_main("prove", "--name", "tests", "--", sys.executable, "-c", JUNIT_WRITER,
                        str(n), cwd=repo.path)
        assert proc.returncode == 0, proc.stderr

    prove(minimum)
    ok = check(repo, code=0)
    assert [(p["status"], p["counts"]["tests"]) for p in ok["proof"]] == [("ok", minimum)]
    prove(minimum - 1)
    result = check(repo, code=1)
    assert rules(result) == ["proof-failed"]
    detail = result["proof"][0]["detail"]
    assert detail == (f"{minimum - 1} test(s) executed, min_tests is {minimum}" if minimum > 1
                      else "no test was executed (0 skipped): zero tests is not proof")


def test_pattern_length_limit_allows_n_and_refuses_n_plus_one(repo: GitRepo) -> None:
    from avorelo_gate.task.scope import MAX_PATTERN_LENGTH, pattern_problem

    at = "src/" + "a" * (MAX_PATTERN_LENGTH - 4)
    assert len(at) == MAX_PATTERN_LENGTH and pattern_problem(at) is None
    assert pattern_problem(at + "a") == f"pattern longer than {MAX_PATTERN_LENGTH} characters"
    # and through a task file: exit 2 naming the key
    base(repo, task=f"id: T-1\nscope: ['{at}a']\n")
    stage_files(repo, 1)
    proc = run_main("check", cwd=repo.path)
    assert proc.returncode == 2, proc.stderr
    assert "scope" in proc.stderr and "longer than" in proc.stderr, proc.stderr


@pytest.mark.parametrize(("pattern", "value"), [
    ("TASK_ID", "T-1"), ("PROVE_NAME", "tests"), ("ENV_NAME", "CI"), ("MODEL_ID", "gpt-5"),
    ("PERSON", "Ada Lovelace <ada@example.org>"), ("SHA256", "a" * 64), ("HEX_ID", "b" * 40)])
def test_an_identifier_with_a_final_newline_is_not_the_identifier(pattern: str,
                                                                  value: str) -> None:
    """Python's '$' also matches before a final newline: "T-1\\n" passed as a task id."""
    from avorelo_gate.task import schema

    regex = getattr(schema, pattern)
    assert regex.match(value)
    assert not regex.match(value + "\n") and not regex.match(value + "\n\n")
