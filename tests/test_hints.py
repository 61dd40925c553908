"""Every hint, followed literally: the test runs the command the hint names (or makes the edit
it describes) and the next run passes, or moves on to a different problem."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepo
from test_adoption import sh

TASK = "id: T-1\nscope: ['src/**']\n"
PROOF_TASK = "id: T-1\nscope: ['src/**']\nproof:\n  - command: tests\n"
TESTS = f"{sys.executable} -c 'print(1)'"


def hints(output: str) -> list[str]:
    return re.findall(r"^\s+To fix: (.*)$", output, re.M)


def command_in(hint: str) -> str:
    """The shell command a hint names: after its last ': ' (and before a parenthesis)."""
    return hint.rsplit(": ", 1)[1].split(" (")[0]


def project(repo: GitRepo, task: str = TASK) -> GitRepo:
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n"
                                       "protected: ['ci/**']\n")
    repo.write(".avorelo/tasks/T-1.yaml", task)
    repo.write("src/a.py", "a = 0\n")
    repo.write("docs/guide.md", "guide\n")
    repo.write("ci/run.sh", "true\n")
    repo.add()
    repo.commit("base")
    return repo


def check(repo: GitRepo) -> subprocess.CompletedProcess[str]:
    return sh(repo.path, "avorelo-gate check --task T-1")


def test_out_of_scope_names_the_file_and_unstaging_passes(repo: GitRepo) -> None:
    project(repo)
    repo.write("src/a.py", "a = 1\n")
    repo.write("docs/guide.md", "changed\n")
    repo.add()
    failed = check(repo)
    assert failed.returncode == 1
    [hint] = hints(failed.stdout)
    assert "'docs/guide.md'" in hint and "docs/**" not in hint
    assert sh(repo.path, command_in(hint)).returncode == 0
    assert check(repo).returncode == 0


def test_widening_the_task_as_the_hint_says_passes(repo: GitRepo) -> None:
    project(repo)
    repo.write("docs/guide.md", "changed\n")
    repo.add()
    [hint] = hints(check(repo).stdout)
    widen = re.search(r"add '(.+?)' to scope in (\S+), in a commit of its own", hint)
    assert widen, hint
    path, task_file = widen.groups()
    task = repo.path / task_file
    task.write_text(task.read_text().replace("['src/**']", f"['src/**', '{path}']"))
    planned = sh(repo.path, f"git commit -q -m 'Plan\n\nTask: T-1' -- {task_file}")
    assert planned.returncode == 0, planned.stdout
    assert check(repo).returncode == 0


def test_a_trailer_narrowing_is_never_widened_by_the_hint(repo: GitRepo) -> None:
    project(repo)
    repo.write("src/a.py", "a = 1\n")
    repo.write("src/b.py", "b = 1\n")
    repo.add()
    message = repo.path.parent / "msg"
    message.write_text("Only a\n\nTask: T-1\nTask-Scope: src/a.py\n")
    failed = sh(repo.path, f"avorelo-gate check --message-file {message}")
    assert failed.returncode == 1
    [hint] = hints(failed.stdout)
    assert "Task-Scope" in hint and "add " not in hint and "to scope" not in hint
    assert sh(repo.path, command_in(hint)).returncode == 0
    assert sh(repo.path, f"avorelo-gate check --message-file {message}").returncode == 0


@pytest.mark.parametrize("path", ["ci/run.sh", ".avorelo/policy.yaml"])
def test_push_and_ci_never_say_unstage(make_repo, tmp_path: Path, path: str) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work = project(make_repo("work"))
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")
    base = work.head()
    assert sh(work.path, "avorelo-gate install").returncode == 0
    work.write(path, "changed: true\n")
    work.add()
    work.commit("sneaky\n\nTask: T-1")                    # --no-verify
    for proc in (sh(work.path, "git push origin HEAD"),
                 sh(work.path, f"avorelo-gate ci --base {base}")):
        assert proc.returncode == 1, proc.stdout
        found = hints(proc.stdout)
        assert found and not any("restore --staged" in h or "unstage" in h for h in found)


def test_stale_proof_of_an_unstaged_edit_says_stage_it(repo: GitRepo) -> None:
    project(repo, PROOF_TASK)
    repo.write("src/a.py", "a = 1\n")
    repo.add()
    repo.write("src/a.py", "a = 2\n")                     # edited, not staged
    assert sh(repo.path, f"avorelo-gate prove --name tests -- {TESTS}").returncode == 0
    failed = check(repo)
    assert failed.returncode == 1
    assert "ran before" not in failed.stdout
    assert "tests ran on the working tree, where src/a.py differs from what is staged" \
        in failed.stdout
    [hint] = hints(failed.stdout)
    assert hint == "stage what it ran on: git add -- src/a.py"
    assert sh(repo.path, command_in(hint)).returncode == 0
    assert check(repo).returncode == 0


def test_stale_proof_of_a_reverted_edit_says_so_and_rerunning_passes(repo: GitRepo) -> None:
    project(repo, PROOF_TASK)
    repo.write("src/a.py", "a = 1\n")
    repo.write("src/b.py", "b = 1\n")
    repo.add()
    assert sh(repo.path, f"avorelo-gate prove --name tests -- {TESTS}").returncode == 0
    repo.git("checkout", "HEAD", "--", "src/a.py")        # reverted, index and disk
    failed = check(repo)
    assert failed.returncode == 1
    assert "tests ran on an edit of src/a.py that this change no longer has" in failed.stdout
    [hint] = hints(failed.stdout)
    assert sh(repo.path, command_in(hint.split(" (prove runs")[0])).returncode == 0
    assert check(repo).returncode == 0


def test_stale_proof_after_an_edit_says_ran_before(repo: GitRepo) -> None:
    project(repo, PROOF_TASK)
    repo.write("src/a.py", "a = 1\n")
    repo.add()
    assert sh(repo.path, f"avorelo-gate prove --name tests -- {TESTS}").returncode == 0
    repo.write("src/a.py", "a = 3\n")
    repo.add()
    failed = check(repo)
    assert "tests ran before src/a.py was edited" in failed.stdout
    [hint] = hints(failed.stdout)
    assert sh(repo.path, command_in(hint.split(" (prove runs")[0])).returncode == 0
    assert check(repo).returncode == 0


def test_prove_never_suggests_adding_the_declared_report(repo: GitRepo) -> None:
    project(repo, "id: T-1\nscope: ['src/**']\nproof:\n  - junit: reports/junit.xml\n")
    repo.write("src/a.py", "a = 1\n")
    repo.write("notes.txt", "an input the tests might read\n")   # untracked, not a report
    repo.git("add", "src/a.py")
    script = repo.path.parent / "write_report.py"          # outside the work tree
    script.write_text("import pathlib\np = pathlib.Path('reports')\np.mkdir(exist_ok=True)\n"
                      "(p / 'junit.xml').write_text('<testsuite tests=\"1\">"
                      "<testcase name=\"t\"/></testsuite>')\n")
    proved = sh(repo.path, f"avorelo-gate prove --name tests -- {sys.executable} {script}")
    assert proved.returncode == 0, proved.stdout
    note = [ln for ln in proved.stdout.splitlines() if "untracked" in ln]
    assert note and "notes.txt" in note[0] and "reports/junit.xml" not in note[0]
    assert check(repo).returncode == 0


def test_a_committed_report_is_fixed_in_the_commit_not_the_index(repo: GitRepo) -> None:
    project(repo, "id: T-1\nscope: ['src/**', 'reports/**']\nproof:\n"
                  "  - junit: reports/junit.xml\n")
    repo.write("src/a.py", "a = 1\n")
    repo.write("reports/junit.xml", '<testsuite tests="1"><testcase name="t"/></testsuite>')
    repo.add()
    staged = check(repo)
    assert "leave it out of the change (git rm --cached -- reports/junit.xml)" in staged.stdout
    repo.commit("with its own report\n\nTask: T-1")            # --no-verify
    committed = sh(repo.path, "avorelo-gate check --commit HEAD")
    assert committed.returncode == 1
    [hint] = [h for h in hints(committed.stdout) if "junit" in h]
    assert "take it out of the commit that added it (git rebase -i" in hint
