"""Real ``git commit`` through the hooks ``avorelo-gate install`` writes, and through the real
pre-commit framework."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import PACKAGE_ROOT, ROOT, GitRepo, assert_clean_error

from avorelo_gate.adopt.install import HOOKS, MARKER, render_hook

# The hook scripts find this interpreter and this checkout of the package.
HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(PACKAGE_ROOT)}
TASK = "id: T-1\nscope: ['src/**']\n"


def git_commit(repo: GitRepo, *args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[bytes]:
    return repo.git("commit", *args, check=False, env={**HOOK_ENV, **(env or {})})


def output(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def project(repo: GitRepo, task: str = TASK) -> GitRepo:
    """A repository with a committed task, a tracked file in and out of scope, hooks on."""
    repo.write(".avorelo/task.yaml", task)
    repo.write("src/a.py", "a\n")
    repo.write("docs/guide.md", "guide\n")
    repo.add()
    repo.commit("base")
    proc = repo.gate("install", env=HOOK_ENV)
    assert proc.returncode == 0, proc.stderr
    return repo


@pytest.fixture
def hooked(repo: GitRepo) -> GitRepo:
    return project(repo)


def test_in_scope_commit_is_allowed(hooked: GitRepo) -> None:
    before = hooked.head()
    hooked.write("src/a.py", "a\nb\n")
    hooked.add()
    proc = git_commit(hooked, "-m", "In scope\n\nTask: T-1")
    assert proc.returncode == 0, output(proc)
    assert hooked.head() != before
    assert "PASS" in output(proc)


def test_out_of_scope_commit_is_blocked(hooked: GitRepo) -> None:
    before = hooked.head()
    hooked.write("docs/guide.md", "changed\n")
    hooked.add()
    proc = git_commit(hooked, "-m", "Sneaky")
    assert proc.returncode != 0
    assert hooked.head() == before                       # no commit was created
    assert "docs/guide.md: out-of-scope" in output(proc)
    assert "To fix:" in output(proc)


def test_trailer_narrowing_blocks_at_commit_msg(hooked: GitRepo) -> None:
    before = hooked.head()
    hooked.write("src/a.py", "x\n")
    hooked.write("src/other.py", "y\n")
    hooked.add()
    proc = git_commit(hooked, "-m", "Narrow\n\nTask-Scope: src/a.py")
    assert proc.returncode != 0
    assert hooked.head() == before
    assert "src/other.py: out-of-scope" in output(proc)


EDITOR = textwrap.dedent("""\
    import sys
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        template = f.read()
    # A message with its trailer, git's own template (comments, the scissors line and the
    # diff), and a trailer-looking line at the very end, below the scissors.
    with open(path, "w", encoding="utf-8") as f:
        f.write("Verbose commit\\n\\nTask: T-1\\n" + template + "\\nTask: EVIL\\n")
    """)


def test_commit_verbose_ignores_what_is_below_the_scissors(hooked: GitRepo,
                                                           tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    hooked.write("src/a.py", "Task: EVIL\nTask: EVIL-2\n")   # in the diff below the scissors
    hooked.add()
    proc = git_commit(hooked, "-v", env={"GIT_EDITOR": f"'{sys.executable}' '{editor}'"})
    assert proc.returncode == 0, output(proc)
    message = hooked.git("log", "-1", "--format=%B").stdout.decode()
    assert message.strip() == "Verbose commit\n\nTask: T-1"
    assert "EVIL" not in output(proc)


def test_commit_all_checks_what_is_committed(hooked: GitRepo) -> None:
    before = hooked.head()
    hooked.write("docs/guide.md", "unstaged but -a commits it\n")
    proc = git_commit(hooked, "-a", "-m", "All")
    assert proc.returncode != 0
    assert "docs/guide.md: out-of-scope" in output(proc)
    assert hooked.head() == before
    hooked.git("checkout", "--", "docs/guide.md")
    hooked.write("src/a.py", "all in scope\n")
    proc = git_commit(hooked, "-a", "-m", "All in scope")
    assert proc.returncode == 0, output(proc)


def test_commit_only_paths_uses_the_temporary_index(hooked: GitRepo) -> None:
    # Staged out of scope, but `commit -- src/a.py` commits only src/a.py: allowed.
    hooked.write("docs/guide.md", "staged, not committed\n")
    hooked.add()
    hooked.write("src/a.py", "only this\n")
    proc = git_commit(hooked, "-m", "Only", "--", "src/a.py")
    assert proc.returncode == 0, output(proc)
    assert hooked.git("show", "--name-only", "--format=", "HEAD").stdout == b"src/a.py\n"
    # The reverse: staged in scope, the named path out of scope: blocked.
    hooked.git("reset", "-q")
    hooked.write("src/a.py", "staged, in scope\n")
    hooked.add()
    before = hooked.head()
    proc = git_commit(hooked, "-m", "Only docs", "--", "docs/guide.md")
    assert proc.returncode != 0
    assert "docs/guide.md: out-of-scope" in output(proc)
    assert "src/a.py" not in output(proc).split("FAIL", 1)[-1]
    assert hooked.head() == before


def test_amend_checks_the_whole_amended_commit(hooked: GitRepo) -> None:
    hooked.write("docs/guide.md", "slipped in without hooks\n")
    hooked.add()
    sneaky = hooked.commit("sneaky")                     # --no-verify
    hooked.write("src/a.py", "an innocent fix\n")
    hooked.add()
    proc = git_commit(hooked, "--amend", "-m", "Amended\n\nTask: T-1")
    assert proc.returncode != 0, output(proc)
    assert "docs/guide.md: out-of-scope" in output(proc)
    assert hooked.head() == sneaky
    # an amend of an in-scope commit stays allowed
    hooked.git("reset", "-q", "--hard", "HEAD^")
    hooked.write("src/a.py", "one\n")
    hooked.add()
    hooked.commit("in scope")
    hooked.write("src/a.py", "two\n")
    hooked.add()
    proc = git_commit(hooked, "--amend", "-m", "Amended in scope")
    assert proc.returncode == 0, output(proc)


def test_core_hooks_path_is_respected(repo: GitRepo) -> None:
    repo.git("config", "core.hooksPath", ".githooks")
    project(repo)
    assert (repo.path / ".githooks" / "pre-commit").is_file()
    assert not (repo.path / ".git" / "hooks" / "pre-commit").exists()
    repo.write("docs/guide.md", "x\n")
    repo.add()
    assert git_commit(repo, "-m", "blocked").returncode != 0


FOREIGN = "#!/bin/sh\necho 'someone else'\n"


def test_foreign_hook_is_not_clobbered_without_force(repo: GitRepo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(FOREIGN)
    proc = repo.gate("install", env=HOOK_ENV)
    assert_clean_error(proc, 2, str(hook), "--force")
    assert hook.read_text() == FOREIGN
    assert not (hook.parent / "commit-msg").exists()      # nothing half-installed
    proc = repo.gate("install", "--force", env=HOOK_ENV)
    assert proc.returncode == 0, proc.stderr
    assert (hook.parent / "pre-commit.avorelo-backup").read_text() == FOREIGN
    assert MARKER in hook.read_text()
    again = repo.gate("install", env=HOOK_ENV)            # ours now: no --force needed
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_hook_option_selects(repo: GitRepo) -> None:
    proc = repo.gate("install", "--hook", "commit-msg", "--hook", "pre-commit", env=HOOK_ENV)
    assert proc.returncode == 0, proc.stderr
    installed = sorted(p.name for p in (repo.path / ".git" / "hooks").iterdir())
    assert installed == ["commit-msg", "pre-commit"]


def test_installed_hooks_are_the_rendered_template(hooked: GitRepo) -> None:
    for name in HOOKS:
        path = hooked.path / ".git" / "hooks" / name
        assert path.read_text() == render_hook(name, sys.executable)
        assert os.access(path, os.X_OK)


@pytest.mark.parametrize("name", HOOKS)
def test_project_hooks_folder_equals_the_template(name: str) -> None:
    path = ROOT / "hooks" / name
    assert path.read_text() == render_hook(name)
    assert os.access(path, os.X_OK)


def test_project_hooks_folder_has_no_strays() -> None:
    assert sorted(p.name for p in (ROOT / "hooks").iterdir()) == sorted(HOOKS)


# -- the pre-commit framework ------------------------------------------------------------------
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
HOOK_TYPES = ["--hook-type", "pre-commit", "--hook-type", "prepare-commit-msg",
              "--hook-type", "commit-msg"]


def manifest() -> list[dict[str, object]]:
    hooks: list[dict[str, object]] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return hooks


def local_config() -> str:
    """Our manifest's entries as `repo: local` hooks running this interpreter."""
    hooks = []
    for hook in manifest():
        if not set(hook["stages"]) <= {"pre-commit", "prepare-commit-msg",  # type: ignore[call-overload]
                                       "commit-msg"}:
            continue
        if hook["language"] == "script":   # a path in the hook repository: this checkout
            entry = str(ROOT / str(hook["entry"]))
        else:
            entry = str(hook["entry"]).replace("avorelo-gate", f"{sys.executable} -m avorelo_gate",
                                               1)
        hooks.append({**hook, "entry": entry, "language": "system"})
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]})


def pre_commit(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*PRE_COMMIT, *args], cwd=repo.path, env={**os.environ, **HOOK_ENV},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)


def framework_repo(repo: GitRepo, config: str) -> GitRepo:
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.write("docs/guide.md", "guide\n")
    repo.write(".pre-commit-config.yaml", config)
    repo.add()
    repo.commit("base")
    proc = pre_commit(repo, "install", *HOOK_TYPES)
    assert proc.returncode == 0, proc.stdout
    return repo


def exercise_framework(repo: GitRepo) -> None:
    """Allowed, blocked, narrowed by a trailer and amended, all by real commits."""
    repo.write("src/a.py", "b\n")
    repo.add()
    proc = git_commit(repo, "-m", "Allowed\n\nTask: T-1")
    assert proc.returncode == 0, output(proc)
    before = repo.head()
    repo.write("docs/guide.md", "x\n")
    repo.add()
    proc = git_commit(repo, "-m", "Blocked")
    assert proc.returncode != 0
    assert "docs/guide.md: out-of-scope" in output(proc)
    assert repo.head() == before
    repo.git("reset", "-q", "--hard")
    repo.write("src/a.py", "c\n")
    repo.write("src/b.py", "d\n")
    repo.add()
    proc = git_commit(repo, "-m", "Narrowed\n\nTask-Scope: src/a.py")
    assert proc.returncode != 0                           # commit-msg sees the trailer
    assert "src/b.py: out-of-scope" in output(proc)
    assert repo.head() == before
    repo.git("reset", "-q", "--hard")
    repo.write("docs/guide.md", "sneaky\n")
    repo.add()
    sneaky = repo.commit("sneaky")                        # --no-verify
    repo.write("src/a.py", "amend\n")
    repo.add()
    proc = git_commit(repo, "--amend", "-m", "Amend")
    assert proc.returncode != 0, output(proc)             # prepare-commit-msg saw --amend
    assert "docs/guide.md: out-of-scope" in output(proc)
    assert repo.head() == sneaky


def test_pre_commit_framework_with_local_hooks(repo: GitRepo) -> None:
    exercise_framework(framework_repo(repo, local_config()))


def copy_project(dest: Path) -> str:
    """A committed copy of this project (never touching /work/main's own git state)."""
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, dest / name)
    for folder in ("avorelo_gate", "hooks"):
        shutil.copytree(ROOT / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    clone = GitRepo(dest)
    clone.git("init", "-q")
    clone.add()
    return clone.commit("avorelo-gate as it stands")


@pytest.mark.slow
def test_pre_commit_framework_try_repo_and_install(repo: GitRepo, tmp_path: Path) -> None:
    # language: python, built by pre-commit from a committed copy of the project.
    source = tmp_path / "avorelo-gate-src"
    source.mkdir()
    rev = copy_project(source)
    repo.write("src/a.py", "staged\n")
    repo.write(".avorelo/task.yaml", TASK)
    repo.add()
    proc = pre_commit(repo, "try-repo", str(source), "avorelo-gate", "--verbose")
    assert proc.returncode == 0, proc.stdout.decode(errors="replace")
    assert b"avorelo-gate" in proc.stdout and b"Passed" in proc.stdout
    repo.write("docs/x.md", "out of scope\n")
    repo.add()
    # The pre-commit stage cannot know the task (a Task: trailer may still come): it defers
    # scope to commit-msg and says so (exercise_framework shows commit-msg refusing it).
    proc = pre_commit(repo, "try-repo", str(source), "avorelo-gate", "--verbose")
    assert proc.returncode == 0, proc.stdout.decode(errors="replace")
    assert b"scope, forbid, budgets and proof at commit-msg" in proc.stdout
    repo.git("reset", "-q")
    (repo.path / "docs" / "x.md").unlink()
    (repo.path / "src" / "a.py").unlink()
    (repo.path / ".avorelo" / "task.yaml").unlink()
    config = yaml.safe_dump({"repos": [{"repo": str(source), "rev": rev, "hooks": [
        {"id": str(h["id"])} for h in manifest()
        if set(h["stages"]) <= {"pre-commit", "prepare-commit-msg", "commit-msg"}]}]})  # type: ignore[call-overload]
    exercise_framework(framework_repo(repo, config))


def test_reusing_heads_message_is_not_an_amend(hooked: GitRepo) -> None:
    # `commit -C HEAD` makes git say "commit HEAD" to prepare-commit-msg, as --amend does; the
    # argv tells them apart, so HEAD's own out-of-scope change is not charged to this commit.
    hooked.write("docs/guide.md", "slipped in without hooks\n")
    hooked.add()
    sneaky = hooked.commit("sneaky\n\nTask: T-1")
    hooked.write("src/a.py", "in scope\n")
    hooked.add()
    proc = git_commit(hooked, "-C", "HEAD")
    assert proc.returncode == 0, output(proc)
    assert hooked.git("rev-parse", "HEAD^").stdout.decode().strip() == sneaky
    hooked.write("src/a.py", "amended, no edit\n")
    hooked.add()
    proc = git_commit(hooked, "--amend", "--no-edit")
    assert proc.returncode == 0, output(proc)   # the amended commit is in scope on its own


@pytest.mark.parametrize(("args", "amends"), [
    (["--amend"], True),
    (["--amend", "-m", "x"], True),
    (["-m", "x", "--amend"], True),
    (["--amen", "--no-edit"], True),
    (["--am"], True),
    (["-m", "--amend"], False),           # a message that says "--amend"
    (["--message=--amend"], False),
    (["-am", "--amend"], False),          # -a -m "--amend"
    (["-am", "x", "--amend"], True),
    (["-mx", "--amend"], True),
    (["--amend", "--no-amend"], False),
    (["--", "--amend"], False),            # a pathspec
    (["-C", "HEAD"], False),
    ([], False),
    # optional values are only ever attached (issue 12): -u takes no next argument
    (["-u", "--amend"], True),
    (["-uno", "--amend"], True),
    (["-au", "--amend"], True),
    (["--untracked-files", "--amend"], True),
    (["-S", "--amend"], True),
    (["--mess", "--amend"], False),       # --message abbreviated takes the next argument
    (["--reuse", "HEAD", "--amend"], True),
    (["-qvam", "--amend"], False),
    (["-qva", "--amend"], True),
    (["--no-am", "--amend"], True),
    (["--amend", "--no-am"], False),
])
def test_amend_is_read_from_git_commit_argv(args: list[str], amends: bool) -> None:
    from avorelo_gate.points.invocation import _amends, _subcommand_args

    assert _amends(args) is amends
    assert _subcommand_args(["-c", "a=b", "-C", "dir", "--no-pager", "commit", *args]) == [
        "commit", *args]


def test_amend_detection_walks_up_to_the_git_process() -> None:
    from avorelo_gate.points.invocation import commit_amends

    # pytest is no git commit: unknown, never a guess
    assert commit_amends() is None
