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


POLICY = "version: 1\nrequire_task: true\nprotected: ['ci/**']\n"


def project(repo: GitRepo, task: str = TASK, policy: str = POLICY) -> GitRepo:
    repo.write(".avorelo/policy.yaml", policy)
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


def published(make_repo, tmp_path: Path, task: str = TASK,  # type: ignore[no-untyped-def]
              policy: str = POLICY) -> tuple[GitRepo, str]:
    """``project`` pushed to a bare remote, with the gate's hooks installed: the commit hooks
    and pre-push run on every step that follows."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work = project(make_repo("work"), task, policy)
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")
    assert sh(work.path, "avorelo-gate install").returncode == 0
    return work, work.head()


def planning_command(hint: str) -> str:
    """The commit a widening hint names, in its parentheses: ``(git commit ... -- FILE)``."""
    found = re.search(r"\((git commit -m .+? -- \S+)\)", hint)
    assert found, hint
    return found.group(1)


def widen(repo: GitRepo, task_file: str, path: str) -> None:
    task = repo.path / task_file
    task.write_text(task.read_text().replace("['src/**']", f"['src/**', '{path}']"))


def green_everywhere(work: GitRepo, base: str) -> None:
    """The last commit pushes, and ``ci`` passes it from ``base``."""
    pushed = sh(work.path, "git push origin HEAD refs/notes/avorelo")
    assert pushed.returncode == 0, pushed.stdout
    ci = sh(work.path, f"avorelo-gate ci --base {base}")
    assert ci.returncode == 0, ci.stdout


def land_the_widening_then_the_work(work: GitRepo, hint: str) -> None:
    """The steps a widening hint names at commit time: the planning commit it gives, pushed;
    then the work committed and pushed, green at pre-push and in ci from where it landed."""
    assert sh(work.path, planning_command(hint)).returncode == 0
    landed = work.head()
    assert sh(work.path, "git push origin HEAD refs/notes/avorelo").returncode == 0
    committed = sh(work.path, "git commit -m 'Docs\n\nTask: T-1'")
    assert committed.returncode == 0, committed.stdout
    green_everywhere(work, landed)


def test_widening_the_task_as_the_hint_says_passes(repo: GitRepo) -> None:
    project(repo)
    repo.write("docs/guide.md", "changed\n")
    repo.add()
    [hint] = hints(check(repo).stdout)
    found = re.search(r"add '(.+?)' to scope in (\S+), in a commit of its own", hint)
    assert found, hint
    path, task_file = found.groups()
    widen(repo, task_file, path)
    planned = sh(repo.path, planning_command(hint))
    assert planned.returncode == 0, planned.stdout
    assert check(repo).returncode == 0


def test_the_widening_hint_leads_to_a_green_commit_push_and_ci(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each step exactly as the hints say: widen the task file, commit it on its own with the
    command the hint names, push that commit, then commit and push the work; ci passes the
    work from where the widening landed."""
    work, _ = published(make_repo, tmp_path)
    work.write("docs/guide.md", "changed\n")
    work.add()
    failed = sh(work.path, "git commit -m 'Docs\n\nTask: T-1'")
    assert failed.returncode == 1, failed.stdout
    [hint] = hints(failed.stdout)
    assert "push that commit before this work" in hint, hint
    found = re.search(r"add '(.+?)' to scope in (\S+),", hint)
    assert found, hint
    widen(work, *reversed(found.groups()))
    land_the_widening_then_the_work(work, hint)


def test_a_widening_staged_with_the_work_says_commit_it_alone(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The task file widened in the very commit of the work: the hint says the staged file
    allows the path but the committed version holds, and names the commit to make first."""
    work, _ = published(make_repo, tmp_path)
    widen(work, ".avorelo/tasks/T-1.yaml", "docs/guide.md")
    work.write("docs/guide.md", "changed\n")
    work.add()
    failed = sh(work.path, "git commit -m 'Docs\n\nTask: T-1'")
    assert failed.returncode == 1, failed.stdout
    [hint] = hints(failed.stdout)
    assert hint.startswith(".avorelo/tasks/T-1.yaml as staged allows it, but task T-1 is held "
                           "to .avorelo/tasks/T-1.yaml at "), hint
    assert "add 'docs/guide.md' to scope" not in hint   # it is there already
    land_the_widening_then_the_work(work, hint)


def test_a_widening_pushed_with_the_work_says_land_it_first(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Committed in two steps but pushed together: pre-push and ci hold the task to the
    remote's version and say so; pushing the widening alone first, as the hint says, then
    the work, passes."""
    work, base = published(make_repo, tmp_path)
    widen(work, ".avorelo/tasks/T-1.yaml", "docs/guide.md")
    work.add()
    work.commit("Widen T-1")
    planning = work.head()
    work.write("docs/guide.md", "changed\n")
    work.add()
    assert sh(work.path, "git commit -m 'Docs\n\nTask: T-1'").returncode == 0
    for proc in (sh(work.path, "git push origin HEAD refs/notes/avorelo"),
                 sh(work.path, f"avorelo-gate ci --base {base}")):
        assert proc.returncode == 1, proc.stdout
        found = [h for h in hints(proc.stdout) if "held to" in h]
        assert found, proc.stdout
        assert all(f".avorelo/tasks/T-1.yaml at {base[:12]}, where the change lands" in h
                   and "push it alone, git push <remote> <commit>:<branch>" in h
                   and "unstage" not in h for h in found), found
    log = sh(work.path, "git log --oneline -- .avorelo/tasks/T-1.yaml")  # as the hint says
    assert log.stdout.split()[0] == planning[:len(log.stdout.split()[0])]
    alone = sh(work.path, f"git push origin {planning}:refs/heads/main refs/notes/avorelo")
    assert alone.returncode == 0, alone.stdout
    green_everywhere(work, planning)


def test_receipts_left_behind_are_named_at_the_push_and_in_ci(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A push without the notes ref passes on this clone's receipts and says to push them;
    ci, which reads them from the remote, says what to run where the commit was made.
    Either command, run as printed, turns ci green."""
    work, _ = published(make_repo, tmp_path, policy=POLICY + "receipts: {required: true}\n")
    for n in (1, 2, 3):
        work.write("src/a.py", f"a = {n}\n")
        work.add()
        made = sh(work.path, f"git commit -m 'Work {n}\n\nTask: T-1'")
        assert made.returncode == 0, made.stdout
        if n == 1:                                       # as the README pushes: with receipts
            assert sh(work.path, "git push origin HEAD refs/notes/avorelo").returncode == 0
            first = work.head()
            continue
        pushed = sh(work.path, "git push origin HEAD")   # the receipts stay behind
        assert pushed.returncode == 0, pushed.stdout
        [warning] = re.findall(r"warning: (this push does not carry the receipts.*)$",
                               pushed.stdout, re.M)
        ci_clone = tmp_path / f"ci{n}"
        subprocess.run(["git", "clone", "-q", str(tmp_path / "remote.git"), str(ci_clone)],
                       check=True)
        fetch = "git fetch -q --no-tags origin '+refs/notes/avorelo:refs/notes/avorelo'"
        assert sh(ci_clone, fetch).returncode == 0          # as action.yml fetches them
        failed = sh(ci_clone, f"avorelo-gate ci --base {first}")
        assert failed.returncode == 1, failed.stdout
        assert "receipt-missing" in failed.stdout
        [hint] = hints(failed.stdout)
        # The second time the push's warning is followed, the third ci's own hint.
        fix = command_in(warning) if n == 2 else hint.rsplit("): ", 1)[1]
        assert sh(work.path, fix).returncode == 0, fix
        assert sh(ci_clone, fetch).returncode == 0
        green = sh(ci_clone, f"avorelo-gate ci --base {first}")
        assert green.returncode == 0, green.stdout
        first = work.head()


def test_a_trailer_that_allows_the_path_is_not_blamed(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The commit's Task-Scope: names the path; what leaves it out is the task file's
    version where the change lands: the hint says that, not that the trailer left it out."""
    work, base = published(make_repo, tmp_path)
    widen(work, ".avorelo/tasks/T-1.yaml", "docs/guide.md")
    work.add()
    work.commit("Widen T-1")
    work.write("docs/guide.md", "changed\n")
    work.add()
    work.commit("Docs\n\nTask: T-1\nTask-Scope: docs/**\n")
    proc = sh(work.path, f"avorelo-gate ci --base {base}")
    assert proc.returncode == 1, proc.stdout
    found = hints(proc.stdout)
    assert found and not any("Task-Scope" in h for h in found), proc.stdout
    assert any(h.startswith(".avorelo/tasks/T-1.yaml at this commit allows it") for h in found)


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
