"""Proof requirements judged by ``check``: real pytest reports, freshness, hostile artifacts."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, assert_clean_error

from avorelo_gate.proof.check import UNKNOWN_PROVENANCE

PY = sys.executable
PYTEST = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
          "--junitxml=reports/junit.xml", "tests"]
needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")

LOGIN = "def login(user):\n    return user == 'ada'\n"
TEST_LOGIN = """\
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from auth.login import login

def test_ada_logs_in():
    assert login("ada")

def test_bob_does_not():
    assert not login("bob")
"""


def task_yaml(*requirements: str) -> str:
    body = "".join(f"  - {r}\n" for r in requirements)
    return ('id: AUTH-1\nscope: ["src/**", "tests/**", "reports/**", "build/**"]\n'
            f"proof:\n{body}")


def make_project(repo: GitRepo, *requirements: str) -> GitRepo:
    """A repository whose task owes ``requirements``, with a small real test suite."""
    repo.write(".gitignore", "__pycache__/\nreports/\nbuild/\n")
    repo.write("src/auth/login.py", LOGIN)
    repo.write("tests/test_login.py", TEST_LOGIN)
    repo.write(".avorelo/task.yaml", task_yaml(*requirements))
    repo.add()
    repo.commit("init")
    return repo


def check_json(repo: GitRepo, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = repo.gate("check", "--format", "json", *args)
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert proc.returncode == (0 if result["verdict"] == "pass" else 1), proc.stderr
    return proc.returncode, result, proc.stderr


def proof_of(result: dict[str, Any], requirement: str) -> dict[str, Any]:
    found = [p for p in result["proof"] if p["requirement"] == requirement]
    assert len(found) == 1, result["proof"]
    entry: dict[str, Any] = found[0]
    return entry


def rules(result: dict[str, Any]) -> list[str]:
    return [v["rule"] for v in result["violations"]]


def prove(repo: GitRepo, *argv: str, name: str = "tests", expect: int = 0) -> None:
    proc = repo.gate("prove", "--name", name, "--", *argv)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)


def stage_edit(repo: GitRepo) -> None:
    repo.write("src/auth/login.py", LOGIN + "\n# refresh tokens\n")
    repo.add()


@pytest.fixture
def project(repo: GitRepo) -> GitRepo:
    return make_project(repo, "junit: reports/junit.xml", "command: tests")


# -- real pytest reports ------------------------------------------------------------------------
def test_passing_suite_is_fresh_proof(project: GitRepo) -> None:
    stage_edit(project)
    prove(project, *PYTEST)
    code, result, _ = check_json(project)
    assert code == 0, result["violations"]
    junit = proof_of(result, "junit:reports/junit.xml")
    assert junit["status"] == "ok"
    assert junit["counts"] == {"tests": 2, "failures": 0, "errors": 0, "skipped": 0}
    assert len(junit["sha256"]) == 64
    assert junit["tree"] == project.git("write-tree").stdout.decode().strip()
    assert proof_of(result, "command:tests")["status"] == "ok"


SUITES: dict[str, tuple[str, dict[str, int], str, int]] = {
    "failing": ("def test_a():\n    assert False\n\ndef test_b():\n    pass\n",
                {"tests": 2, "failures": 1, "errors": 0, "skipped": 0}, "1 failed", 1),
    "erroring": ("import pytest\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError()\n\n"
                 "def test_a(broken):\n    pass\n",
                 {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}, "1 errored", 1),
    "all-skipped": ("import pytest\n\n@pytest.mark.skip(reason='later')\ndef test_a():\n"
                    "    pass\n", {"tests": 0, "failures": 0, "errors": 0, "skipped": 1},
                    "no test was executed", 0),
    "none-collected": ("# no tests yet\n", {"tests": 0, "failures": 0, "errors": 0,
                                           "skipped": 0}, "no test was executed", 5),
}


@pytest.mark.parametrize("kind", sorted(SUITES))
def test_unproving_suites_are_proof_failed(repo: GitRepo, kind: str) -> None:
    make_project(repo, "junit: reports/junit.xml")
    source, counts, reason, pytest_exit = SUITES[kind]
    repo.write("tests/test_login.py", source)
    repo.add()
    prove(repo, *PYTEST, expect=pytest_exit)  # all skipped exits 0: the report decides
    code, result, _ = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert code == 1
    assert junit["status"] == "failed", junit
    assert junit["counts"] == counts
    assert reason in junit["detail"]
    assert rules(result) == ["proof-failed"]


def test_failed_command_is_proof_failed(repo: GitRepo) -> None:
    make_project(repo, "command: tests")
    stage_edit(repo)
    prove(repo, PY, "-c", "raise SystemExit(4)", expect=4)
    _, result, _ = check_json(repo)
    assert proof_of(result, "command:tests")["detail"] == "the last run on this content exited 4"
    assert rules(result) == ["proof-failed"]


# -- freshness ----------------------------------------------------------------------------------
def test_edit_after_the_tests_is_stale_and_names_the_file(project: GitRepo) -> None:
    stage_edit(project)
    prove(project, *PYTEST)
    assert check_json(project)[0] == 0
    project.write("src/auth/login.py", LOGIN + "\n# refresh tokens, now with a lock\n")
    project.add()
    code, result, _ = check_json(project)
    assert code == 1
    assert sorted(set(rules(result))) == ["proof-stale"]
    for requirement in ("junit:reports/junit.xml", "command:tests"):
        entry = proof_of(result, requirement)
        assert entry["status"] == "stale"
        assert entry["stale_paths"] == ["src/auth/login.py"]
        assert "tests ran before src/auth/login.py was edited" in entry["detail"]
    text = project.gate("check")
    assert "tests ran before src/auth/login.py was edited" in text.stdout
    assert "avorelo-gate prove --name tests --" in text.stdout  # the hint to run them again
    prove(project, *PYTEST)
    assert check_json(project)[0] == 0


def test_unstaged_edit_at_prove_time_is_stale_for_the_staged_content(project: GitRepo) -> None:
    stage_edit(project)
    project.write("tests/test_login.py", TEST_LOGIN + "\n# not staged\n")
    prove(project, *PYTEST)
    _, result, _ = check_json(project)
    assert proof_of(result, "command:tests")["stale_paths"] == ["tests/test_login.py"]


def test_reverting_an_edit_makes_the_earlier_run_fresh_again(repo: GitRepo) -> None:
    make_project(repo, "command: tests")
    stage_edit(repo)
    prove(repo, PY, "-c", "pass")
    repo.write("src/auth/login.py", "# experiment\n")
    repo.add()
    prove(repo, PY, "-c", "raise SystemExit(1)", expect=1)
    stage_edit(repo)  # back to the content the passing run saw
    assert check_json(repo)[0] == 0


def test_content_changed_during_the_run_is_not_proof(repo: GitRepo) -> None:
    make_project(repo, "command: tests")
    stage_edit(repo)
    prove(repo, PY, "-c", "open('src/auth/login.py', 'a').write('# late\\n')")
    _, result, _ = check_json(repo)
    entry = proof_of(result, "command:tests")
    assert entry["status"] == "stale"
    assert "content changed while tests ran (src/auth/login.py)" in entry["detail"]


def test_report_not_written_by_a_recorded_run_is_stale(project: GitRepo) -> None:
    stage_edit(project)
    prove(project, PY, "-c", "pass")
    project.write("reports/junit.xml", '<testsuite><testcase name="a"/></testsuite>')
    _, result, _ = check_json(project)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert junit["status"] == "stale"
    assert junit["detail"] == UNKNOWN_PROVENANCE
    assert junit["counts"]["tests"] == 1


def test_report_edited_after_the_run_loses_its_provenance(project: GitRepo) -> None:
    stage_edit(project)
    prove(project, *PYTEST)
    report = project.path / "reports" / "junit.xml"
    report.write_bytes(report.read_bytes() + b"\n")
    _, result, _ = check_json(project)
    assert proof_of(result, "junit:reports/junit.xml")["detail"] == UNKNOWN_PROVENANCE


def test_missing_requirements(project: GitRepo) -> None:
    stage_edit(project)
    _, result, _ = check_json(project)
    assert proof_of(result, "junit:reports/junit.xml")["status"] == "missing"
    assert proof_of(result, "command:tests")["status"] == "missing"
    assert rules(result) == ["proof-missing", "proof-missing"]


def test_nothing_to_check_owes_no_proof(project: GitRepo) -> None:
    code, result, _ = check_json(project)
    assert code == 0 and result["proof"] == []


def test_policy_requirements_apply_to_every_change(repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\nproof:\n  - command: lint\n")
    repo.write("src/a.py", "A = 1\n")
    repo.add()
    repo.commit("policy")
    repo.write("src/a.py", "A = 2\n")
    repo.add()
    _, result, _ = check_json(repo)
    assert proof_of(result, "command:lint")["status"] == "missing"
    prove(repo, PY, "-c", "pass", name="lint")
    assert check_json(repo)[0] == 0


def test_commit_check_is_fresh_with_a_local_record_of_its_tree(project: GitRepo) -> None:
    stage_edit(project)
    prove(project, *PYTEST)
    project.commit("edit")
    code, result, _ = check_json(project, "--commit", "HEAD")
    assert code == 0, result["violations"]


def test_commit_check_without_local_records_is_missing(project: GitRepo,
                                                       make_repo: Any) -> None:
    stage_edit(project)
    prove(project, *PYTEST)
    project.commit("edit")
    clone = make_repo("clone")
    clone.git("fetch", "-q", str(project.path), "HEAD")
    clone.git("checkout", "-q", "FETCH_HEAD")
    code, result, _ = check_json(clone, "--commit", "HEAD")
    assert code == 1
    assert proof_of(result, "command:tests")["status"] == "missing"
    assert proof_of(result, "junit:reports/junit.xml")["status"] == "missing"


# -- self-supplied and committed reports ------------------------------------------------------
PASSING_REPORT = ('<?xml version="1.0"?>\n<testsuites><testsuite name="s">'
                  '<testcase name="a"/><testcase name="b"/></testsuite></testsuites>\n')
FAILING_REPORT = ('<testsuite name="s" failures="0"><testcase name="a"><failure/></testcase>'
                  '</testsuite>\n')


def test_committed_report_without_committed_true_is_self_supplied(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    repo.write("reports/junit.xml", PASSING_REPORT)
    repo.git("add", "-f", "reports/junit.xml")
    code, result, _ = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert code == 1
    assert junit["status"] == "invalid" and "self-supplied" in junit["detail"]
    assert result["violations"][0]["path"] == "reports/junit.xml"


def test_committed_true_reads_the_report_from_the_index(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml\n    committed: true")
    stage_edit(repo)
    repo.write("reports/junit.xml", PASSING_REPORT)
    repo.git("add", "-f", "reports/junit.xml")
    repo.write("reports/junit.xml", FAILING_REPORT)  # the disk is not what is committed
    code, result, _ = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert code == 0, result["violations"]
    assert junit["status"] == "ok"
    assert junit["counts"]["tests"] == 2
    assert junit["tree"] == repo.git("write-tree").stdout.decode().strip()
    # ... and the commit, once made, is judged by the same bytes.
    repo.commit("with report")
    assert check_json(repo, "--commit", "HEAD")[0] == 0


def test_committed_true_failing_report_is_proof_failed(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml\n    committed: true")
    stage_edit(repo)
    repo.write("reports/junit.xml", FAILING_REPORT)
    repo.git("add", "-f", "reports/junit.xml")
    _, result, _ = check_json(repo)
    assert proof_of(result, "junit:reports/junit.xml")["status"] == "failed"


def test_committed_true_but_absent_is_missing(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml\n    committed: true")
    stage_edit(repo)
    repo.write("reports/junit.xml", PASSING_REPORT)  # on disk only
    _, result, _ = check_json(repo)
    assert proof_of(result, "junit:reports/junit.xml")["status"] == "missing"


@needs_symlinks
def test_committed_symlink_report_is_invalid(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml\n    committed: true")
    stage_edit(repo)
    repo.write("real.xml", PASSING_REPORT)
    (repo.path / "reports").mkdir()
    (repo.path / "reports" / "junit.xml").symlink_to("../real.xml")
    repo.git("add", "-f", "real.xml", "reports/junit.xml")
    _, result, _ = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert junit["status"] == "invalid" and "symlink" in junit["detail"]


# -- hostile and broken artifacts -------------------------------------------------------------
SECRET = "TOP-SECRET-7c1e0b"


def hostile_reports(secret_path: Path) -> dict[str, tuple[bytes, str]]:
    uri = secret_path.as_uri()
    return {
        "xxe": (f'<?xml version="1.0"?>\n<!DOCTYPE testsuite [<!ENTITY x SYSTEM "{uri}">]>\n'
                '<testsuite><testcase name="&x;"/></testsuite>\n'.encode(), "not allowed"),
        "billion-laughs": (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                           b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                           b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                           b'<testsuite><testcase name="&lol3;"/></testsuite>', "not allowed"),
        "html": (b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n", "HTML"),
        "empty": (b"", "empty file"),
        "truncated": (b'<testsuites><testsuite name="s"><testcase name="a">',
                      "not well-formed"),
        "not-junit": (b"<coverage><line/></coverage>", "root element"),
        "binary": (b"\x00\x01\x02\xff" * 10, "not well-formed"),
    }


@pytest.mark.parametrize("kind", ["xxe", "billion-laughs", "html", "empty", "truncated",
                                  "not-junit", "binary"])
def test_hostile_reports_are_invalid_and_never_echoed(repo: GitRepo, tmp_path: Path,
                                                      kind: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    data, reason = hostile_reports(secret)[kind]
    repo.write("reports/junit.xml", data)
    code, result, err = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert code == 1
    assert junit["status"] == "invalid"
    assert reason in junit["detail"]
    assert "\n" not in junit["detail"]
    text = repo.gate("check")
    for output in (json.dumps(result), err, text.stdout, text.stderr):
        assert SECRET not in output
        assert "502 Bad Gateway" not in output and "lol" not in output


@needs_symlinks
def test_symlink_out_of_the_repository_is_invalid(repo: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "outside.xml"
    secret.write_text(f'<testsuite><testcase name="{SECRET}"/></testsuite>')
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    (repo.path / "reports").mkdir()
    (repo.path / "reports" / "junit.xml").symlink_to(secret)
    code, result, err = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert code == 1 and junit["status"] == "invalid"
    assert junit["detail"] == "symlink points outside the repository"
    assert SECRET not in json.dumps(result) + err


@needs_symlinks
def test_symlinked_directory_out_of_the_repository_is_invalid(repo: GitRepo,
                                                              tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "junit.xml").write_text(PASSING_REPORT)
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    (repo.path / "reports").symlink_to(outside, target_is_directory=True)
    _, result, _ = check_json(repo)
    assert proof_of(result, "junit:reports/junit.xml")["status"] == "invalid"


@needs_symlinks
def test_symlink_inside_the_repository_follows_the_run_that_wrote_it(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    (repo.path / "build").mkdir()
    (repo.path / "reports").mkdir()
    (repo.path / "reports" / "junit.xml").symlink_to("../build/junit.xml")
    argv = [a.replace("reports/junit.xml", "build/junit.xml") for a in PYTEST]
    prove(repo, *argv)
    code, result, _ = check_json(repo)
    assert code == 0, result["violations"]
    assert proof_of(result, "junit:reports/junit.xml")["counts"]["tests"] == 2


def test_directory_instead_of_a_report_is_invalid(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    (repo.path / "reports" / "junit.xml").mkdir(parents=True)
    _, result, _ = check_json(repo)
    junit = proof_of(result, "junit:reports/junit.xml")
    assert junit["status"] == "invalid" and "directory" in junit["detail"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_fifo_instead_of_a_report_does_not_hang(repo: GitRepo) -> None:
    make_project(repo, "junit: reports/junit.xml")
    stage_edit(repo)
    (repo.path / "reports").mkdir()
    os.mkfifo(repo.path / "reports" / "junit.xml")
    _, result, _ = check_json(repo)
    assert "FIFO" in proof_of(result, "junit:reports/junit.xml")["detail"]


# -- logs and files -----------------------------------------------------------------------------
WRITE_LOG = ("import os, sys; os.makedirs('build', exist_ok=True); "
             "open('build/build.log', 'w').write(sys.argv[1] + '\\n')")


@pytest.mark.parametrize(("line", "status", "detail"), [
    ("BUILD OK", "ok", ""),
    ("BUILD FAILED", "failed", "does not contain 'BUILD OK'"),
    ("BUILD OK with WARNING", "failed", "contains 'regex:WARN(ING)?'"),
])
def test_log_requirement(repo: GitRepo, line: str, status: str, detail: str) -> None:
    make_project(repo, "log: build/build.log\n    must_contain: BUILD OK\n"
                 "    must_not_contain: 'regex:WARN(ING)?'")
    stage_edit(repo)
    prove(repo, PY, "-c", WRITE_LOG, line, name="build")
    _, result, _ = check_json(repo)
    entry = proof_of(result, "log:build/build.log")
    assert entry["status"] == status, entry
    assert detail in entry.get("detail", "")


def test_file_requirement_empty_is_failed_and_written_is_ok(repo: GitRepo) -> None:
    make_project(repo, "file: build/wheel.txt")
    stage_edit(repo)
    make = "import os, sys; os.makedirs('build', exist_ok=True); " \
           "open('build/wheel.txt', 'w').write(sys.argv[1])"
    prove(repo, PY, "-c", make, "", name="build")
    _, result, _ = check_json(repo)
    assert proof_of(result, "file:build/wheel.txt")["status"] == "failed"
    prove(repo, PY, "-c", make, "wheel", name="build")
    assert check_json(repo)[0] == 0


# -- reporting and bad declarations -----------------------------------------------------------
def test_text_report_shows_status_counts_and_sha(project: GitRepo) -> None:
    stage_edit(project)
    prove(project, *PYTEST)
    _, result, _ = check_json(project)
    sha = proof_of(result, "junit:reports/junit.xml")["sha256"]
    text = project.gate("check").stdout
    assert "proof junit:reports/junit.xml: ok (tests 2, failures 0, errors 0, skipped 0)" in text
    assert f"sha256 {sha[:12]}" in text
    assert "proof command:tests: ok" in text


@pytest.mark.parametrize("command", [["check"], ["validate", ".avorelo/task.yaml"]])
def test_unknown_requirement_kind_is_bad_input(repo: GitRepo, command: list[str]) -> None:
    make_project(repo, "pytest: reports/junit.xml")
    stage_edit(repo)
    assert_clean_error(repo.gate(*command), 2, ".avorelo/task.yaml", "proof[0].pytest",
                       "unknown proof requirement kind")


@pytest.mark.parametrize("path", ["../outside.xml", "/etc/passwd", "reports\\\\junit.xml"])
def test_artifact_path_escaping_is_bad_input(repo: GitRepo, path: str) -> None:
    make_project(repo, f'junit: "{path}"')
    stage_edit(repo)
    assert_clean_error(repo.gate("check"), 2, ".avorelo/task.yaml", "invalid artifact path")
