"""What proof/check.py's content judges say of an artifact's bytes, pinned whole.

These are the verdicts every proof requirement ends in (ok, failed, invalid), with their
details and hints, judged straight from a file: no repository and no ``prove`` run, so each
runs in milliseconds. tests/test_proof.py drives the same judges end to end through real
``prove`` runs; the mutation run (mutation/RUN.md) needs both, and these first.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GitRepo

from avorelo_gate.git.repo import open_repo
from avorelo_gate.git.snapshot import WORKTREE
from avorelo_gate.proof.artifacts import sha256_file
from avorelo_gate.proof.check import (
    UNKNOWN_PROVENANCE,
    Finding,
    Target,
    _rerun,
    _with,
    differences,
    judge_artifact,
    judge_content,
    judge_junit,
    judge_provenance,
)
from avorelo_gate.proof.junit import MAX_JUNIT_BYTES
from avorelo_gate.proof.records import ArtifactRecord, ProofRecord, RecordStore
from avorelo_gate.result import ProofStatus

SHA = "ab" * 32
PASS_HINT = "make the tests pass, then run them again through avorelo-gate prove"


def junit(tmp_path: Path, cases: str, name: str = "junit.xml") -> str:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<testsuite name="s">{cases}</testsuite>\n')
    return str(path)


def passing(n: int) -> str:
    return "".join(f'<testcase classname="c" name="t{i}"/>' for i in range(n))


SKIPPED = '<testcase classname="c" name="s"><skipped/></testcase>'
FAILED = '<testcase classname="c" name="f"><failure message="no"/></testcase>'
ERRORED = '<testcase classname="c" name="e"><error message="boom"/></testcase>'


def counts(tests: int, failures: int = 0, errors: int = 0, skipped: int = 0) -> dict[str, int]:
    return {"tests": tests, "failures": failures, "errors": errors, "skipped": skipped}


# -- junit ----------------------------------------------------------------------------------
def test_junit_passing_report_is_ok_with_its_counts(tmp_path: Path) -> None:
    path = junit(tmp_path, passing(2) + SKIPPED)
    assert judge_junit({"junit": "junit.xml"}, "junit:junit.xml", path, SHA) == Finding(
        ProofStatus("junit:junit.xml", "ok", counts=counts(2, skipped=1), sha256=SHA))


@pytest.mark.parametrize(("cases", "problem", "shown"), [
    (passing(1) + FAILED, "1 failed, 0 errored", counts(2, failures=1)),
    (passing(1) + ERRORED, "0 failed, 1 errored", counts(2, errors=1)),
    (FAILED + ERRORED, "1 failed, 1 errored", counts(2, failures=1, errors=1)),
    (SKIPPED + SKIPPED, "no test was executed (2 skipped): zero tests is not proof",
     counts(0, skipped=2)),
])
def test_junit_failures_errors_and_zero_tests_fail_with_the_numbers(
        tmp_path: Path, cases: str, problem: str, shown: dict[str, int]) -> None:
    path = junit(tmp_path, cases)
    assert judge_junit({"junit": "r.xml"}, "junit:r.xml", path, SHA) == Finding(
        ProofStatus("junit:r.xml", "failed", problem, counts=shown, sha256=SHA), PASS_HINT)


@pytest.mark.parametrize(("minimum", "executed", "ok"), [
    (3, 3, True), (3, 2, False), (1, 1, True), (0, 1, True), (None, 1, True), (5, 6, True)])
def test_junit_min_tests_on_both_sides_of_the_boundary(
        tmp_path: Path, minimum: int | None, executed: int, ok: bool) -> None:
    req: dict[str, object] = {"junit": "r.xml"}
    if minimum is not None:
        req["min_tests"] = minimum
    found = judge_junit(req, "junit:r.xml", junit(tmp_path, passing(executed)), SHA)
    if ok:
        assert found == Finding(ProofStatus("junit:r.xml", "ok", counts=counts(executed),
                                            sha256=SHA))
    else:
        assert found == Finding(ProofStatus(
            "junit:r.xml", "failed", f"{executed} test(s) executed, min_tests is {minimum}",
            counts=counts(executed), sha256=SHA), PASS_HINT)


def test_junit_zero_executed_is_failed_even_with_min_tests_zero(tmp_path: Path) -> None:
    path = junit(tmp_path, SKIPPED)
    found = judge_junit({"junit": "r.xml", "min_tests": 0}, "junit:r.xml", path, SHA)
    assert found.status.status == "failed"
    assert found.status.detail == "no test was executed (1 skipped): zero tests is not proof"


def test_junit_failures_outrank_min_tests(tmp_path: Path) -> None:
    path = junit(tmp_path, FAILED)
    found = judge_junit({"junit": "r.xml", "min_tests": 5}, "junit:r.xml", path, SHA)
    assert found.status.detail == "1 failed, 0 errored"


def test_junit_flaky_tests_are_shown_only_when_there_are_some(tmp_path: Path) -> None:
    flaky = ('<testcase classname="c" name="f"><flakyFailure message="once"/></testcase>')
    found = judge_junit({"junit": "r.xml"}, "junit:r.xml", junit(tmp_path, flaky + passing(1)),
                        SHA)
    assert found == Finding(ProofStatus("junit:r.xml", "ok",
                                        counts={**counts(2), "flaky": 1}, sha256=SHA))


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty file"), ("<testsuite>", None), ("not xml at all", None)])
def test_junit_unusable_report_is_invalid_with_the_regenerate_hint(
        tmp_path: Path, text: str, reason: str | None) -> None:
    path = tmp_path / "r.xml"
    path.write_text(text)
    found = judge_junit({"junit": "r.xml"}, "junit:r.xml", str(path), SHA)
    assert found.hint == "regenerate it with the test runner (e.g. pytest --junitxml=PATH)"
    assert found.path is None
    assert found.status.requirement == "junit:r.xml"
    assert found.status.status == "invalid"
    assert found.status.sha256 == SHA
    assert found.status.counts is None
    assert found.status.detail.startswith("not a usable JUnit report: ")
    if reason:
        assert found.status.detail == f"not a usable JUnit report: {reason}"


def test_junit_over_the_cap_is_invalid_through_judge_content(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_bytes(b" " * (MAX_JUNIT_BYTES + 1))
    found = judge_content({"junit": "r.xml"}, "junit:r.xml", str(path), SHA)
    assert found == Finding(ProofStatus("junit:r.xml", "invalid",
                                        f"larger than {MAX_JUNIT_BYTES} bytes", sha256=SHA))


# -- judge_content: every kind --------------------------------------------------------------
def test_content_junit_goes_to_the_junit_judge(tmp_path: Path) -> None:
    path = junit(tmp_path, passing(1))
    assert judge_content({"junit": "r.xml"}, "junit:r.xml", path, SHA) == judge_junit(
        {"junit": "r.xml"}, "junit:r.xml", path, SHA)


def log(tmp_path: Path, text: str) -> str:
    path = tmp_path / "out.log"
    path.write_text(text)
    return str(path)


def test_content_log_with_everything_wanted_and_nothing_banned_is_ok(tmp_path: Path) -> None:
    req = {"log": "out.log", "must_contain": ["passed", "regex:[0-9]+ ok"],
           "must_not_contain": ["Traceback"]}
    assert judge_content(req, "log:out.log", log(tmp_path, "3 ok\nall passed\n"), SHA) == \
        Finding(ProofStatus("log:out.log", "ok", sha256=SHA))


def test_content_log_names_each_missing_and_each_banned_text(tmp_path: Path) -> None:
    req = {"log": "out.log", "must_contain": ["passed", "done", "here"],
           "must_not_contain": ["Traceback", "FAIL", "absent"]}
    found = judge_content(req, "log:out.log", log(tmp_path, "here\nTraceback\nFAIL\n"), SHA)
    assert found == Finding(ProofStatus(
        "log:out.log", "failed",
        "does not contain 'passed'; does not contain 'done'; contains 'Traceback'; "
        "contains 'FAIL'", sha256=SHA),
        "fix what the log reports and run the command again")


def test_content_log_without_needles_is_ok_when_it_exists(tmp_path: Path) -> None:
    assert judge_content({"log": "out.log"}, "log:out.log", log(tmp_path, ""), SHA) == \
        Finding(ProofStatus("log:out.log", "ok", sha256=SHA))


def test_content_file_must_not_be_empty(tmp_path: Path) -> None:
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.write_bytes(b"")
    full.write_bytes(b"x")
    assert judge_content({"file": "empty"}, "file:empty", str(empty), SHA) == Finding(
        ProofStatus("file:empty", "failed", "the file is empty", sha256=SHA),
        "run the command that writes it again")
    assert judge_content({"file": "full"}, "file:full", str(full), SHA) == Finding(
        ProofStatus("file:full", "ok", sha256=SHA))


def test_content_unreadable_artifact_is_invalid_with_its_reason(tmp_path: Path) -> None:
    # A directory where a regular file must be: the artifact readers refuse it.
    (tmp_path / "d").mkdir()
    found = judge_content({"file": "d"}, "file:d", str(tmp_path / "d"), SHA)
    assert found.status.requirement == "file:d"
    assert found.status.status == "invalid"
    assert found.status.sha256 == SHA
    assert found.status.detail
    assert found.hint == ""
    assert found.path is None


# -- _with and _rerun ----------------------------------------------------------------------
def test_with_changes_status_detail_and_tree_and_keeps_the_rest() -> None:
    found = ProofStatus("junit:r.xml", "ok", "old", counts=counts(1), sha256=SHA,
                        tree="1" * 40, stale_paths=("a", "b"))
    assert _with(found, "stale", "new", tree="2" * 40) == ProofStatus(
        "junit:r.xml", "stale", "new", counts=counts(1), sha256=SHA, tree="2" * 40,
        stale_paths=("a", "b"))
    assert _with(found, "missing", "gone") == ProofStatus(
        "junit:r.xml", "missing", "gone", counts=counts(1), sha256=SHA, tree=None,
        stale_paths=("a", "b"))


def record(argv: tuple[str, ...], name: str = "tests") -> ProofRecord:
    return ProofRecord(run_id="r", name=name, argv=argv, exit_code=0, interrupted=False,
                       started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:01Z",
                       duration_s=1.0, tree="1" * 40, tree_after="1" * 40)


def test_rerun_hint_quotes_the_command_as_a_shell_would_read_it() -> None:
    assert _rerun(record(("pytest", "-q", "a b"))) == \
        "avorelo-gate prove --name tests -- pytest -q 'a b'"


def test_rerun_hint_names_the_record_instead_of_a_command_over_160_characters() -> None:
    at_limit = ("x" * 160,)
    assert _rerun(record(at_limit, "unit")) == f"avorelo-gate prove --name unit -- {'x' * 160}"
    over = ("x" * 161,)
    assert _rerun(record(over, "unit")) == (
        "avorelo-gate prove --name unit -- <the command in $(git rev-parse --git-path "
        "avorelo)/proof/unit/latest.json>")


# -- judge_artifact and judge_provenance, on a real repository -------------------------------
# The bytes are judged as above; who wrote them decides freshness: a recorded run that
# produced exactly these bytes, on exactly this content.
REPORT = "reports/junit.xml"
REQ = {"junit": REPORT}
LABEL = f"junit:{REPORT}"


class World:
    """A repository with two commits (src/a.py edited between them) and a report on disk."""

    def __init__(self, tmp_path: Path) -> None:
        self.git = GitRepo(tmp_path / "w")
        self.git.path.mkdir()
        self.git.git("init", "-q")
        self.git.write("src/a.py", "one\n")
        self.git.add()
        self.first = self.git.commit("first")
        self.git.write("src/a.py", "two\n")
        self.git.add()
        self.second = self.git.commit("second")
        self.repo = open_repo(str(self.git.path))
        self.tree = {c: self.repo.tree_of(c) for c in (self.first, self.second)}
        report = self.git.write(REPORT, f'<testsuite name="s">{passing(2)}</testsuite>\n')
        self.sha = sha256_file(str(report))

    def target(self, commit: str, *, local: bool = False, touched: tuple[str, ...] = (),
               outputs: tuple[str, ...] = (REPORT,)) -> Target:
        return Target(tree=self.tree[commit], rev=WORKTREE if local else commit, local=local,
                      touched=frozenset(touched), outputs=frozenset(outputs))

    def run(self, commit_or_tree: str, *, name: str = "tests", sha: str | None = None,
            produced: bool = True, moved: tuple[str, ...] = (),
            finished: str = "2026-01-01T00:00:01Z") -> ProofRecord:
        tree = self.tree.get(commit_or_tree, commit_or_tree)
        return ProofRecord(run_id=f"r-{finished}", name=name, argv=("pytest",), exit_code=0,
                           interrupted=False, started="2026-01-01T00:00:00Z",
                           finished=finished, duration_s=1.0, tree=tree, tree_after=tree,
                           changed_during_run=moved,
                           artifacts=(ArtifactRecord(REPORT, sha or self.sha, produced),))


def store(*runs: ProofRecord) -> RecordStore:
    by_name: dict[str, tuple[ProofRecord, ...]] = {}
    for r in runs:
        by_name[r.name] = (*by_name.get(r.name, ()), r)
    return RecordStore(by_name)


def ok_status(w: World) -> ProofStatus:
    return ProofStatus(LABEL, "ok", counts=counts(2), sha256=w.sha)


def test_provenance_a_fresh_producer_vouches_for_the_report(tmp_path: Path) -> None:
    w = World(tmp_path)
    run = w.run(w.second, finished="2026-01-01T00:00:09Z")
    found = judge_provenance(w.repo, w.target(w.second), store(run), ok_status(w), REPORT)
    assert found == Finding(ProofStatus(LABEL, "ok", "written by tests at 2026-01-01T00:00:09Z",
                                        counts=counts(2), sha256=w.sha, tree=w.tree[w.second]))


@pytest.mark.parametrize("local", [True, False])
def test_provenance_bytes_no_run_wrote_are_stale_here_and_missing_for_commits(
        tmp_path: Path, local: bool) -> None:
    w = World(tmp_path)
    others = store(w.run(w.second, sha="cd" * 32), w.run(w.second, name="x", produced=False))
    found = judge_provenance(w.repo, w.target(w.second, local=local), others, ok_status(w),
                             REPORT)
    detail = UNKNOWN_PROVENANCE if local else (
        f"{UNKNOWN_PROVENANCE} on this machine (a check of commits needs a prove run here, "
        "e.g. in the CI job, or committed: true)")
    assert found == Finding(
        ProofStatus(LABEL, "stale" if local else "missing", detail, counts=counts(2),
                    sha256=w.sha),
        "produce it through the gate: avorelo-gate prove --name tests -- <the command that "
        f"writes {REPORT}>", REPORT)


def test_provenance_a_producer_whose_content_moved_proves_nothing(tmp_path: Path) -> None:
    w = World(tmp_path)
    run = w.run(w.second, moved=("src/a.py", "src/b.py"))
    found = judge_provenance(w.repo, w.target(w.second), store(run), ok_status(w), REPORT)
    assert found == Finding(
        ProofStatus(LABEL, "stale",
                    "content changed while tests ran (src/a.py, src/b.py): that run proves "
                    "nothing", counts=counts(2), sha256=w.sha, tree=w.tree[w.second]),
        "run it again without editing meanwhile: avorelo-gate prove --name tests -- pytest",
        REPORT)


def test_provenance_a_producer_on_other_content_is_stale_naming_what_differs(
        tmp_path: Path) -> None:
    w = World(tmp_path)
    found = judge_provenance(w.repo, w.target(w.second), store(w.run(w.first)), ok_status(w),
                             REPORT)
    assert found.status.status == "stale"
    assert found.status.stale_paths == ("src/a.py",)
    assert found.status.tree == w.tree[w.first]
    assert found.status.sha256 == w.sha
    assert found.status.requirement == LABEL
    assert "src/a.py" in found.status.detail
    assert found.hint == "run it again on this content: avorelo-gate prove --name tests -- pytest"
    assert found.path == REPORT


def test_provenance_takes_the_newest_producer_of_the_bytes(tmp_path: Path) -> None:
    w = World(tmp_path)
    old = w.run(w.first, name="old", finished="2026-01-01T00:00:01Z")
    new = w.run(w.second, name="new", finished="2026-01-01T00:00:05Z")
    found = judge_provenance(w.repo, w.target(w.second), store(old, new), ok_status(w), REPORT)
    assert found.status.status == "ok"
    assert found.status.detail == "written by new at 2026-01-01T00:00:05Z"


def test_differences_same_tree_gone_tree_and_outputs_left_out(tmp_path: Path) -> None:
    w = World(tmp_path)
    assert differences(w.repo, w.target(w.second), w.run(w.second)) == ()
    assert differences(w.repo, w.target(w.second), w.run("0" * 40)) == (("?", ""),)
    assert differences(w.repo, w.target(w.second), w.run(w.first)) == (("M", "src/a.py"),)
    assert differences(w.repo, w.target(w.second, outputs=("src/a.py",)),
                       w.run(w.first)) == ()


def test_artifact_fresh_report_on_disk_is_ok(tmp_path: Path) -> None:
    w = World(tmp_path)
    found = judge_artifact(w.repo, w.target(w.second), store(w.run(w.second)), REQ)
    assert found == Finding(ProofStatus(LABEL, "ok", "written by tests at 2026-01-01T00:00:01Z",
                                        counts=counts(2), sha256=w.sha, tree=w.tree[w.second]))


def test_artifact_failing_report_fails_before_provenance_is_asked(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.git.write(REPORT, f'<testsuite name="s">{FAILED}</testsuite>\n')
    found = judge_artifact(w.repo, w.target(w.second), store(), REQ)
    assert found.status.status == "failed"
    assert found.status.detail == "1 failed, 0 errored"
    assert found.hint == PASS_HINT
    assert found.path == REPORT


def test_artifact_not_on_disk_is_missing_with_the_prove_hint(tmp_path: Path) -> None:
    w = World(tmp_path)
    (w.git.path / REPORT).unlink()
    found = judge_artifact(w.repo, w.target(w.second), store(w.run(w.second)), REQ)
    assert found.status.requirement == LABEL
    assert found.status.status == "missing"
    assert found.hint == ("produce it: avorelo-gate prove --name tests -- <the command that "
                          f"writes {REPORT}>")
    assert found.path == REPORT


def test_artifact_that_is_not_a_regular_file_is_invalid(tmp_path: Path) -> None:
    w = World(tmp_path)
    (w.git.path / REPORT).unlink()
    (w.git.path / REPORT).mkdir()
    found = judge_artifact(w.repo, w.target(w.second), store(), REQ)
    assert found.status.status == "invalid"
    assert found.hint == "artifacts must be regular files inside the repository"
    assert found.path == REPORT


@pytest.mark.parametrize("local", [True, False])
def test_artifact_in_the_change_is_its_own_proof_and_invalid(tmp_path: Path, local: bool) -> None:
    w = World(tmp_path)
    found = judge_artifact(w.repo, w.target(w.second, local=local, touched=(REPORT,)),
                           store(w.run(w.second)), REQ)
    leave = (f"leave it out of the change (git rm --cached -- {REPORT})" if local else
             "take it out of the commit that added it (git rebase -i, then git rm --cached -- "
             f"{REPORT} in that commit)")
    assert found == Finding(
        ProofStatus(LABEL, "invalid", "self-supplied: the artifact is part of the change being "
                    "checked, so it cannot be its own proof"),
        f"{leave} and produce it with avorelo-gate prove, or declare committed: true if it is "
        "meant to be committed", REPORT)


def test_artifact_committed_true_is_judged_by_the_checked_content_alone(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.git.add()
    third = w.git.commit("third")
    w.tree[third] = w.repo.tree_of(third)
    req = {**REQ, "committed": True}
    found = judge_artifact(w.repo, w.target(third, touched=(REPORT,)), store(), req)
    assert found == Finding(ProofStatus(LABEL, "ok", "committed; judged by its content",
                                        counts=counts(2), sha256=w.sha, tree=w.tree[third]))
    # Not in the content checked: missing, whatever is on disk.
    found = judge_artifact(w.repo, w.target(w.second), store(), req)
    assert found == Finding(
        ProofStatus(LABEL, "missing", "not in the content being checked (committed: true "
                    "reads it from there)"),
        f"add {REPORT} to the change, or drop committed: true", REPORT)


def test_artifact_in_a_repository_without_a_working_tree_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare clone (a check of commits on a server) has no working tree to read the report
    from: missing, whatever the directory the command runs in happens to hold."""
    w = World(tmp_path)
    bare = tmp_path / "b.git"
    w.git.git("clone", "-q", "--bare", str(w.git.path), str(bare))
    (bare / REPORT).parent.mkdir(parents=True)
    (bare / REPORT).write_bytes((w.git.path / REPORT).read_bytes())
    monkeypatch.chdir(bare)
    repo = open_repo(str(bare))
    assert repo.toplevel is None
    found = judge_artifact(repo, w.target(w.second), store(w.run(w.second)), REQ)
    assert found == Finding(
        ProofStatus(LABEL, "missing", "no working tree to read it from"),
        f"produce it: avorelo-gate prove --name tests -- <the command that writes {REPORT}>",
        REPORT)
