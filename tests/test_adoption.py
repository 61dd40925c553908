"""Adopting the gate in a repository that already has history, as a new user would: every step
run exactly as the previous step's output says, through real hooks (plain and the pre-commit
framework), a real push to a bare remote and ``ci``. Never ``--no-verify``."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, GitRepo

# Commands run as a user types them: `avorelo-gate` and `pre-commit` from this interpreter's
# environment on PATH, the package from this checkout.
BIN = os.path.dirname(sys.executable)
USER_ENV = {"PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT), "AVORELO_GATE_PYTHON": sys.executable}


def sh(cwd: Path, command: str, env: dict[str, str] | None = None) -> \
        subprocess.CompletedProcess[str]:
    proc = subprocess.run(["bash", "-c", command], cwd=cwd,
                          env={**os.environ, **USER_ENV, **(env or {})},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"), "")


def next_command(output: str, word: str = "next") -> str:
    """The command a step's output tells the user to run: ``next: [what to do: ]COMMAND``."""
    lines = [ln for ln in output.splitlines() if ln.startswith(f"{word}: ")]
    assert lines, f"no '{word}:' line in:\n{output}"
    said = lines[-1][len(word) + 2:]
    return said.split(": ", 1)[-1].split("   (")[0]


def existing_project(make_repo, tmp_path: Path) -> tuple[GitRepo, Path]:  # type: ignore[no-untyped-def]
    """A repository with a few commits of history, already on a bare remote (no gate yet)."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work = make_repo("work")
    for n in range(3):
        work.write("src/app.py", f"VALUE = {n}\n")
        work.write("tests/test_app.py", "def test_value():\n    assert True\n")
        work.write("docs/guide.md", f"guide {n}\n")
        work.add()
        work.commit(f"history {n}")
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")
    return work, remote


def adopt(work: GitRepo, framework: bool) -> str:
    """init -> install -> the adoption commit, each as the previous output says; its output."""
    init = sh(work.path, "avorelo-gate init" + (" --pre-commit" if framework else ""))
    assert init.returncode == 0, init.stdout
    assert "--no-verify" not in init.stdout
    install = next_command(init.stdout)
    assert install == ("pre-commit install" if framework else "avorelo-gate install")
    installed = sh(work.path, install)
    assert installed.returncode == 0, installed.stdout
    # The framework installs its own scripts: init's "then:" line is the commit.
    commit = next_command(init.stdout, "then") if framework else next_command(installed.stdout)
    assert commit.startswith("git add -- .avorelo/policy.yaml")
    if framework:
        assert ".pre-commit-config.yaml" in commit   # protected once adopted: in the same commit
    done = sh(work.path, commit)
    assert done.returncode == 0, done.stdout
    assert "adopting avorelo-gate" in done.stdout
    assert work.git("status", "--porcelain").stdout == b"", "the adoption left files behind"
    return done.stdout


def push_and_ci(work: GitRepo, push: str, base: str) -> None:
    pushed = sh(work.path, push)
    assert pushed.returncode == 0, pushed.stdout
    assert "new commit(s) checked" in pushed.stdout
    ci = sh(work.path, f"avorelo-gate ci --base {base}")
    assert ci.returncode == 0, ci.stdout


@pytest.mark.parametrize("framework", [False, True], ids=["plain-hooks", "pre-commit"])
def test_adoption_path_from_init_to_ci(make_repo, tmp_path: Path, framework: bool) -> None:  # type: ignore[no-untyped-def]
    work, _ = existing_project(make_repo, tmp_path)
    before = work.head()
    committed = adopt(work, framework)
    # The adoption commit's own output names the push and the CI step.
    push = re.search(r"\((git push <remote> HEAD refs/notes/avorelo)\)", committed)
    assert push, committed
    push_and_ci(work, push.group(1).replace("<remote>", "origin"), before)
    # After adoption the policy governs: a scoped change with a task passes everywhere
    # (receipts are required now, and the hooks recorded one).
    work.write("src/app.py", "VALUE = 42\n")
    change = sh(work.path, "git add src/app.py && git commit -q -m 'Answer\n\nTask: TASK-1'")
    assert change.returncode == 0, change.stdout
    push_and_ci(work, "git push origin HEAD refs/notes/avorelo", "HEAD~1")
    # ... and the gate's own files are now guarded: the pre-commit config is protected.
    if framework:
        config = work.path / ".pre-commit-config.yaml"
        config.write_text(config.read_text() + "# edited\n")
        edited = sh(work.path, "git add .pre-commit-config.yaml && "
                               "git commit -q -m 'Edit\n\nTask: TASK-1'")
        assert edited.returncode == 1, edited.stdout
        assert ".pre-commit-config.yaml: protected" in edited.stdout


def test_a_policy_change_after_adoption_stays_policy_changed(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work, _ = existing_project(make_repo, tmp_path)
    adopt(work, framework=False)
    assert sh(work.path, "git push -q origin HEAD refs/notes/avorelo").returncode == 0
    base = work.head()
    policy = work.path / ".avorelo" / "policy.yaml"
    policy.write_text(policy.read_text().replace("require_task: true", "require_task: false"))
    # Claiming to be an adoption (the same message) gets nothing: the base has a policy.
    plain = sh(work.path, "git add .avorelo/policy.yaml && git commit -q -m 'Adopt avorelo-gate'")
    assert plain.returncode == 1 and ".avorelo/policy.yaml: policy-changed" in plain.stdout
    # A maintainer's variable lets the commit through locally, but the push and CI judge it by
    # the remote's policy, without the variable: still policy-changed.
    allowed = sh(work.path, "git commit -q -m 'Loosen\n\nTask: TASK-1'",
                 {"AVORELO_ALLOW_POLICY_CHANGE": "1"})
    assert allowed.returncode == 0, allowed.stdout
    pushed = sh(work.path, "git push origin HEAD refs/notes/avorelo")
    assert pushed.returncode == 1 and "policy-changed" in pushed.stdout, pushed.stdout
    ci = sh(work.path, f"avorelo-gate ci --base {base}")
    assert ci.returncode == 1 and "policy-changed" in ci.stdout, ci.stdout


def test_deleting_and_readding_the_policy_is_not_an_adoption(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work, _ = existing_project(make_repo, tmp_path)
    adopt(work, framework=False)
    assert sh(work.path, "git push -q origin HEAD refs/notes/avorelo").returncode == 0
    base = work.head()
    env = {"AVORELO_ALLOW_POLICY_CHANGE": "1"}
    gone = sh(work.path, "git rm -q .avorelo/policy.yaml && "
                         "git commit -q -m 'Gone\n\nTask: TASK-1'", env)
    assert gone.returncode == 0, gone.stdout
    # With HEAD policy-less, re-adding a laxer policy reads as adoption locally ...
    (work.path / ".avorelo" / "policy.yaml").write_text("version: 1\n")
    back = sh(work.path, "git add .avorelo/policy.yaml && git commit -q -m 'Back\n\nTask: TASK-1'")
    assert back.returncode == 0, back.stdout
    # ... but the remote's side has a policy: both commits are policy-changed there.
    pushed = sh(work.path, "git push origin HEAD")
    assert pushed.returncode == 1, pushed.stdout
    assert pushed.stdout.count(".avorelo/policy.yaml: policy-changed") == 2, pushed.stdout
    ci = sh(work.path, f"avorelo-gate ci --base {base}")
    assert ci.returncode == 1 and "policy-changed" in ci.stdout, ci.stdout


def test_init_prints_the_steps_and_never_overwrites(repo: GitRepo) -> None:
    repo.write("README", "x\n")
    repo.add()
    repo.commit("first")
    first = sh(repo.path, "avorelo-gate init")
    assert first.stdout.splitlines()[:2] == [".avorelo/policy.yaml: written",
                                             ".avorelo/tasks/TASK-1.yaml: written"]
    again = sh(repo.path, "avorelo-gate init --pre-commit")
    assert ".avorelo/policy.yaml: exists, left alone" in again.stdout
    assert ".pre-commit-config.yaml: written" in again.stdout
    assert next_command(again.stdout) == "pre-commit install"
    repo.write(".pre-commit-config.yaml", "repos: []\n")
    foreign = sh(repo.path, "avorelo-gate init --pre-commit")
    assert "add the avorelo-gate hooks to it" in foreign.stdout
    assert (repo.path / ".pre-commit-config.yaml").read_text() == "repos: []\n"


def test_after_adoption_init_and_install_print_no_adoption_step(make_repo,  # type: ignore[no-untyped-def]
                                                                tmp_path: Path) -> None:
    work, _ = existing_project(make_repo, tmp_path)
    adopt(work, framework=False)
    again = sh(work.path, "avorelo-gate init && avorelo-gate install")
    assert again.returncode == 0
    assert "adoption commit" not in again.stdout


def test_pushing_a_long_history_prints_a_line_per_ref_not_per_commit(repo: GitRepo,
                                                                      tmp_path: Path) -> None:
    # 600 commits in one fast-import stream (each changes one file).
    stream = []
    for n in range(1, 601):
        data = f"value = {n}\n".encode()
        stream += [b"commit refs/heads/main", f"mark :{n}".encode(),
                   b"committer A <a@example.org> 1700000000 +0000", b"data 4", b"work"]
        if n > 1:
            stream.append(f"from :{n - 1}".encode())
        stream += [f"M 644 inline src/f{n % 7}.py".encode(), f"data {len(data)}".encode(),
                   data, b""]
    repo.git("fast-import", "--quiet", input=b"\n".join(stream) + b"\n")
    repo.git("reset", "-q", "--hard", "main")
    assert sh(repo.path, "avorelo-gate install").returncode == 0
    remote = tmp_path / "new-remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "new", str(remote))
    repo.git("commit", "-q", "--allow-empty", "-m", "a receipt, so the notes ref exists")
    pushed = sh(repo.path, "git push new main refs/notes/avorelo")
    assert pushed.returncode == 0, pushed.stdout[-2000:]
    gate_lines = [ln for ln in pushed.stdout.splitlines()
                  if ln.startswith(("avorelo-gate", "  ", "0 violations"))]
    assert len(gate_lines) <= 6, pushed.stdout
    assert "refs/heads/main: 601 new commit(s), all pass" in pushed.stdout
    assert "refs/notes/avorelo: notes (receipts), not work: nothing to check" in pushed.stdout


def test_adopting_in_a_new_repository_as_told(repo: GitRepo) -> None:
    init = sh(repo.path, "avorelo-gate init")
    installed = sh(repo.path, next_command(init.stdout))
    commit = next_command(installed.stdout)
    assert "--no-verify" not in commit
    done = sh(repo.path, commit)
    assert done.returncode == 0, done.stdout
    assert repo.git("status", "--porcelain").stdout == b""


def test_a_branch_from_before_adoption_cannot_bring_its_own_policy(make_repo,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    work, _ = existing_project(make_repo, tmp_path)
    before = work.head()
    adopt(work, framework=False)                   # main adopts the gate ...
    work.git("switch", "-q", "-c", "old-branch", before)
    work.write(".avorelo/policy.yaml", "version: 1\n")   # ... a branch from before brings its own
    work.add()
    work.commit("my own rules")
    ci = sh(work.path, "avorelo-gate ci --base main --head old-branch")
    assert ci.returncode == 1, ci.stdout
    assert ".avorelo/policy.yaml: policy-changed" in ci.stdout
    # While the target has no policy either, the same branch is an adoption.
    fresh = sh(work.path, f"avorelo-gate ci --base {before} --head old-branch")
    assert fresh.returncode == 0, fresh.stdout
