"""Edges of ``ci`` and of receipt credit that the rest of the suite left unrun (issue 17's
coverage line named points/ci.py and receipts/credit.py): a key set in CI meets an unsigned
receipt, unrelated histories, a shallow clone that cuts the range itself, a branch that
leaves the tree as it was, and a proof result that carries no requirement fields.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE_ROOT, GitRepo, assert_clean_error, ci_runner
from test_ci import POLICY, ci_json, commit, make_project

from avorelo_gate.receipts.credit import credit
from avorelo_gate.result import CheckResult, DiffSummary, ProofStatus, Violation

KEY = "AVORELO_RECEIPT_KEY"
TASK = "id: T-1\nscope: ['src/**']\nproof:\n  - command: tests\n"
PROVE = ("prove", "--name", "tests", "--", sys.executable, "-c", "print('ok')")


def proven_clone(make_repo, tmp_path: Path, dev_key: str | None) -> GitRepo:  # type: ignore[no-untyped-def]
    """A commit proven and committed through the hooks (signed when ``dev_key``), pushed with
    its receipt, and a fresh clone with the notes: a CI runner with no proof records."""
    env = {"AVORELO_GATE_PYTHON": sys.executable,
           "PYTHONPATH": str(PACKAGE_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if dev_key:
        env[KEY] = dev_key
    dev: GitRepo = make_repo("dev")
    dev.write(".avorelo/tasks/T-1.yaml", TASK)
    dev.write("src/app.py", "a = 1\n")
    dev.add()
    dev.commit("init")
    assert dev.gate("install", env=env).returncode == 0
    dev.git("checkout", "-q", "-b", "feature")
    dev.write("src/app.py", "a = 2\n")
    dev.add()
    assert dev.gate(*PROVE, env=env).returncode == 0
    dev.git("commit", "-q", "-m", "change\n\nTask: T-1", env=env)
    note = dev.git("notes", "--ref=refs/notes/avorelo", "show", "HEAD").stdout
    signature = json.loads(note)["predicate"]["signature"]
    assert (signature["alg"] == "none") is (dev_key is None), signature
    return ci_runner(dev, tmp_path)


@pytest.mark.parametrize(("dev_key", "ci_key", "credited"), [
    # A key set in CI: an unsigned note is anyone's writing, so its proof is not credited,
    (None, "s3cret", False),
    # while a receipt signed with that key is;
    ("s3cret", "s3cret", True),
    # with no key and no `signed: true`, a signature that cannot be checked is not demanded.
    ("s3cret", None, True),
])
def test_ci_credits_a_receipt_only_when_its_signature_stands(
        make_repo, tmp_path: Path, dev_key: str | None, ci_key: str | None,  # type: ignore[no-untyped-def]
        credited: bool) -> None:
    ci = proven_clone(make_repo, tmp_path, dev_key)
    proc = ci.gate("ci", "--base", "origin/main", "--head", "origin/feature", "--format", "json",
                   env={KEY: ci_key} if ci_key else None)
    report = json.loads(proc.stdout)
    proof = report["commits"][0]["proof"][0]
    if credited:
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert proof["status"] == "ok" and "recorded ok in the receipt" in proof["detail"]
    else:
        # The receipt itself verifies (an unsigned receipt has no signature to check): it is
        # the credit rule that refuses it, not `receipt verify`.
        verify = ci.gate("receipt", "verify", "origin/feature", env={KEY: ci_key or ""})
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert proof["status"] == "missing", proof
        assert {v["rule"] for v in report["violations"]} == {"proof-missing"}


def test_ci_on_unrelated_histories_is_bad_input(make_repo) -> None:  # type: ignore[no-untyped-def]
    project = make_project(make_repo)
    project.git("switch", "-q", "--orphan", "elsewhere")
    commit(project, "src/other.py", message="a root of its own")
    proc = project.gate("ci", "--base", "main", "--head", "elsewhere")
    assert_clean_error(proc, 2, "--base main and --head elsewhere have no common ancestor")


def test_ci_in_a_shallow_clone_that_cuts_the_range_is_environment(  # type: ignore[no-untyped-def]
        make_repo, tmp_path: Path) -> None:
    """The merge base is in the clone, but a commit of the range is at its edge: its diff
    would be its whole tree, so `ci` stops with the fix instead of judging it."""
    project = make_project(make_repo)
    base = project.git("rev-parse", "main").stdout.decode().strip()
    project.git("switch", "-q", "-c", "side")
    for i in range(4):   # a side line longer than the clone's depth
        commit(project, f"src/side{i}.py", message=f"side {i}\n\nTask: T-1")
    project.git("switch", "-q", "feature")
    commit(project, "src/a.py", "a = 2\n", "feature\n\nTask: T-1")
    project.git("merge", "-q", "--no-ff", "--no-verify", "-m", "merge side\n\nTask: T-1", "side")
    clone = tmp_path / "shallow"
    # Depth 3 from the merge: it, the feature commit and the base, but only two of the side
    # line's four commits; the second one is at the clone's edge.
    subprocess.run(["git", "clone", "-q", "--depth", "3", "--no-single-branch",
                    f"file://{project.path}", str(clone)], check=True)
    shallow = GitRepo(clone)
    assert shallow.git("cat-file", "-e", base).returncode == 0   # the merge base is here
    proc = shallow.gate("ci", "--base", "origin/main", "--head", "origin/feature")
    assert_clean_error(proc, 3, "is at the edge of this shallow clone", "fetch-depth: 0")
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True)
    whole = shallow.gate("ci", "--base", "origin/main", "--head", "origin/feature")
    assert whole.returncode == 0, whole.stdout + whole.stderr


def test_ci_notes_a_branch_that_leaves_the_tree_as_it_was(make_repo) -> None:  # type: ignore[no-untyped-def]
    project = make_project(make_repo, POLICY)
    commit(project, "src/b.py", message="add\n\nTask: T-1")
    project.git("rm", "-q", "src/b.py")
    project.commit("take it back\n\nTask: T-1")
    code, report = ci_json(project)
    assert code == 0, report
    notes = report["notes"]
    assert isinstance(notes, list)
    assert "nothing in scope changed: the range leaves the tree as it was" in notes
    # Its neighbour: a branch that does change the tree gets no such note.
    commit(project, "src/c.py", message="add another\n\nTask: T-1")
    code, report = ci_json(project)
    assert code == 0, report
    assert not any("leaves the tree as it was" in n for n in report["notes"])  # type: ignore[union-attr]


def test_a_result_without_its_requirement_fields_is_never_credited() -> None:
    """Credit matches a requirement in every field; a status that carries none matches none,
    even when the receipt recorded its label ok."""
    label = "command:tests"
    recorded = [{"spec": {"command": "tests"}, "status": "ok", "requirement": label}]
    missing = Violation("proof-missing", f"{label}: no run")
    result = CheckResult(base="b" * 40, head="h" * 40, label="h" * 40, task=None, model=None,
                         diff=DiffSummary(0, 0, 0), violations=(missing,),
                         proof=(ProofStatus(label, "missing", "no run"),))
    assert credit(result, recorded, "h" * 40) is result
    # The same status with its fields is credited, and its violation cleared.
    with_spec = CheckResult(base="b" * 40, head="h" * 40, label="h" * 40, task=None,
                            model=None, diff=DiffSummary(0, 0, 0), violations=(missing,),
                            proof=(ProofStatus(label, "missing", "no run",
                                               spec={"command": "tests"}),))
    credited = credit(with_spec, recorded, "h" * 40)
    assert [p.status for p in credited.proof] == ["ok"]
    assert credited.violations == ()
