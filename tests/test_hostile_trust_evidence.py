"""Hostile scenarios, evidence (issue 12): receipts credited only when they stand up, merges
that carry content owe a receipt, proof records the content the command saw, and JUnit
failures count wherever the report puts them. Real repositories, hooks, pushes and ``ci``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from three_points import HOOK_ENV, Scene

from avorelo_gate.receipts.credit import credit
from avorelo_gate.result import CheckResult, DiffSummary, ProofStatus, Violation

KEY = {"AVORELO_RECEIPT_KEY": "k" * 32}
TASK = "id: T-1\nscope: ['src/**']\nproof:\n  - command: tests\n"


def _forge(scene: Scene, commit: str) -> None:
    """Turn the commit's honest "proof-missing" receipt into a hand-written unsigned "ok"."""
    note = scene.work.git("notes", "--ref=avorelo", "show", commit).stdout
    statement: dict[str, Any] = json.loads(note)
    predicate = statement["predicate"]
    for p in predicate["proof"]:
        p["status"] = "ok"
    predicate["violations"] = []
    predicate["verdict"] = "pass"
    predicate["signature"] = {"alg": "none"}
    scene.work.git("notes", "--ref=avorelo", "add", "-f", "-F", "-", commit,
                   input=json.dumps(statement).encode())


@pytest.fixture
def unproven(make_repo, tmp_path: Path) -> tuple[Scene, str]:  # type: ignore[no-untyped-def]
    s = Scene.build(make_repo, tmp_path, {
        ".avorelo/policy.yaml": "version: 1\nreceipts: {signed: true}\n",
        ".avorelo/task.yaml": TASK, "src/a.py": "a\n"})
    bad = s.commit({"src/a.py": "untested\n"}, "change")
    recorded = s.work.gate("receipt", "record", bad, env=KEY)
    assert recorded.returncode in (0, 1), recorded.stderr
    _forge(s, bad)
    return s, bad


def test_unsigned_hand_written_receipt_is_not_proof_with_the_key_set(unproven) -> None:  # type: ignore[no-untyped-def]
    scene, _ = unproven
    ci = scene.ci(env=KEY)
    assert ci.code == 1 and "proof-missing" in ci.rules, ci.output
    pushed = scene.push("main", env=KEY)
    assert pushed.code == 1 and "proof-missing" in pushed.rules, pushed.output


def test_unsigned_receipt_is_not_proof_when_the_policy_demands_signatures(unproven) -> None:  # type: ignore[no-untyped-def]
    scene, _ = unproven
    ci = scene.ci()          # no key at all: an unsigned note cannot stand for a signed one
    assert ci.code in (1, 3), ci.output
    assert ci.code == 3 or "proof-missing" in ci.rules, ci.output
    assert "Traceback" not in ci.output


def _result(status: str, spec: dict[str, Any]) -> CheckResult:
    label = f"junit:{spec['junit']}"
    return CheckResult(
        base="b", head="h", label="h", task=None, model=None, diff=DiffSummary(1, 1, 0),
        violations=(Violation("proof-missing", f"{label}: no report", None),),
        proof=(ProofStatus(label, status, spec=spec),))


@pytest.mark.parametrize(("recorded", "credited"), [
    ([({"junit": "r.xml", "min_tests": 5}, "ok")], True),
    ([({"junit": "r.xml", "min_tests": 1}, "ok")], False),          # weaker requirement
    ([({"junit": "r.xml"}, "ok")], False),                          # a field missing
    ([({"junit": "r.xml", "min_tests": 5}, "failed")], False),      # a recorded failure
    ([({"junit": "r.xml", "min_tests": 5}, "ok"),
      ({"junit": "r.xml", "min_tests": 5}, "failed")], False),       # never over a failure
    ([({"junit": "r.xml", "min_tests": 1}, "ok"),
      ({"junit": "r.xml", "min_tests": 5}, "ok")], True),
    ([], False),
])
def test_credit_only_for_an_equal_requirement_recorded_ok(
        recorded: list[tuple[dict[str, Any], str]], credited: bool) -> None:
    judged = _result("missing", {"junit": "r.xml", "min_tests": 5})
    entries = [{"requirement": f"junit:{spec['junit']}", "status": status, "spec": spec}
               for spec, status in recorded]
    out = credit(judged, entries, "c" * 40)
    assert (out.proof[0].status == "ok") is credited
    assert (not out.violations) is credited


# -- merges that carry content ----------------------------------------------------------------
@pytest.fixture
def receipted(make_repo, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    return Scene.build(make_repo, tmp_path, {
        ".avorelo/policy.yaml": "version: 1\nreceipts: {required: true}\n",
        ".avorelo/task.yaml": "id: T-1\nscope: ['src/**']\n", "src/a.py": "a\n"})


def test_merge_with_an_ancestor_carrying_new_content_owes_a_receipt(receipted: Scene) -> None:
    tip = receipted.rev("main")
    receipted.work.write("src/untested.py", "x = 1\n")
    receipted.work.git("add", "src/untested.py")
    tree = receipted.work.git("write-tree").stdout.decode().strip()   # tip + untested.py
    receipted.work.git("rm", "-q", "--cached", "src/untested.py")
    (receipted.work.path / "src/untested.py").unlink()
    made = receipted.commit_hooks({"src/a.py": "b\n"}, "side\n\nTask: T-1")
    assert made.code == 0, made.output                   # a receipted commit to merge with
    side = receipted.rev("HEAD")
    merge = receipted.work.git("commit-tree", tree, "-p", side, "-p", tip,
                               "-m", "Merge").stdout.decode().strip()
    receipted.work.git("reset", "-q", "--hard", merge)
    points = receipted.three("main")
    points.all_fail_with("receipt-missing")
    assert any(merge[:12] in line for line in points.push.output.splitlines()
               if "receipt-missing" in line), points.push.output


def test_real_merge_of_receipted_commits_owes_no_receipt(receipted: Scene) -> None:
    receipted.work.git("switch", "-q", "-c", "feature")
    made = receipted.commit_hooks({"src/f.py": "f\n"}, "feature\n\nTask: T-1")
    assert made.code == 0, made.output
    receipted.work.git("switch", "-q", "main")
    made = receipted.commit_hooks({"src/m.py": "m\n"}, "main\n\nTask: T-1")
    assert made.code == 0, made.output
    receipted.work.git("merge", "-q", "--no-edit", "--no-verify", "feature")
    receipted.three("main").all_pass()


# -- proof content ----------------------------------------------------------------------------
CHECKS_A = ("prove", "--name", "tests", "--", sys.executable, "-c",
            "import sys; sys.exit(open('src/a.py').read() != 'good\\n')")


@pytest.fixture
def proving(make_repo, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    return Scene.build(make_repo, tmp_path, {".avorelo/task.yaml": TASK, "src/a.py": "a\n"})


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_prove_records_the_content_on_disk_not_the_index(proving: Scene, flag: str) -> None:
    proving.work.write("src/a.py", "bad\n")
    proving.work.git("add", "src/a.py")                  # staged: "bad"
    proving.work.git("update-index", flag, "src/a.py")
    proving.work.write("src/a.py", "good\n")             # on disk: what the tests see
    ran = proving.work.gate(*CHECKS_A)
    assert ran.returncode == 0, ran.stderr
    check = proving.work.gate("check", "--staged", "--format", "json")
    assert check.returncode == 1, check.stdout
    rules = {v["rule"] for v in json.loads(check.stdout)["violations"]}
    assert "proof-stale" in rules, check.stdout
    made = proving.commit_hooks({}, "change\n\nTask: T-1")
    assert made.code == 1 and "proof-stale" in made.rules, made.output


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_prove_refuses_when_a_flagged_file_is_not_on_disk(proving: Scene, flag: str) -> None:
    proving.work.git("update-index", flag, "src/a.py")
    (proving.work.path / "src/a.py").unlink()
    ran = proving.work.gate(*CHECKS_A)
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert "src/a.py" in ran.stderr and "Traceback" not in ran.stderr


def test_prove_unflagged_stays_fresh(proving: Scene) -> None:
    proving.work.write("src/a.py", "good\n")
    proving.work.git("add", "src/a.py")
    assert proving.work.gate(*CHECKS_A).returncode == 0
    made = proving.commit_hooks({}, "change\n\nTask: T-1")
    assert made.code == 0, made.output


MAVEN = ('<testsuite name="T" tests="1"><testcase name="a"/>'
         '<error message="setUpClass failed" type="RuntimeError"/></testsuite>')
ATTRS = '<testsuite name="T" tests="1" failures="1"><testcase name="a"/></testsuite>'


@pytest.mark.parametrize("report", [MAVEN, ATTRS])
def test_suite_level_junit_failure_is_proof_failed(proving: Scene, report: str) -> None:
    proving.work.write(".avorelo/task.yaml",
                       "id: T-1\nscope: ['src/**']\nproof:\n  - junit: reports/junit.xml\n")
    proving.work.git("add", ".avorelo/task.yaml")
    proving.work.git("commit", "-q", "--no-verify", "-m", "task")
    proving.work.write("src/a.py", "b\n")
    proving.work.git("add", "src/a.py")
    write = ("import os; os.makedirs('reports', exist_ok=True); "
             f"open('reports/junit.xml', 'w').write({report!r})")
    ran = proving.work.gate("prove", "--name", "tests", "--", sys.executable, "-c", write,
                            env=HOOK_ENV)
    assert ran.returncode == 0, ran.stderr
    made = proving.commit_hooks({}, "change\n\nTask: T-1")
    assert made.code == 1 and "proof-failed" in made.rules, made.output
