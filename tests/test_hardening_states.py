"""Issue 7, part 3: the git states a real repository is in, through the whole flow.

tests/test_changes.py holds the diff itself to git in most of these states (first commit,
detached HEAD, unmerged entries, linked worktrees, bare). Here each state goes through the
gate points a user meets there: real commits through the installed hooks (receipts), receipt
verify, prove, pre-push to a bare remote and ci; and the states the engine must refuse
(``safe.directory``, corrupt objects) are exit 3 in one line, never a pass.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepo, assert_clean_error
from hardening_util import HOOK_ENV, assert_no_traceback
from inproc import run_main

POLICY = "version: 1\nrequire_task: true\nreceipts: {required: true}\n"
TASK = "id: T-1\nscope: ['src/**', 'docs/**']\nproof: [{command: tests}]\n"
PROVE = ("prove", "--name", "tests", "--", "true")


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def commit_through_hooks(repo: GitRepo, message: str, *extra: str,
                         cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    full = dict(os.environ, **HOOK_ENV)
    return subprocess.run(["git", "commit", "-m", message, *extra], cwd=cwd or repo.path,
                          env=full, capture_output=True, check=False)


def said(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def install(repo: GitRepo, cwd: Path | None = None) -> None:
    proc = run_main("install", env=HOOK_ENV, cwd=cwd or repo.path)
    assert proc.returncode == 0, proc.stderr


def verify(repo: GitRepo, spec: str = "HEAD", cwd: Path | None = None) -> dict[str, object]:
    proc = run_main("receipt", "verify", spec, "--format", "json", cwd=cwd or repo.path)
    result: dict[str, object] = json.loads(proc.stdout)
    # exit 0 exactly when every receipt in the range is valid
    assert proc.returncode == (0 if set(statuses(result)) <= {"valid"} else 1), proc.stderr
    assert result["exit_code"] == proc.returncode
    return result


def statuses(result: dict[str, object]) -> list[str]:
    return [c["status"] for c in result["commits"]]  # type: ignore[attr-defined]


def hooked_project(repo: GitRepo, cwd: Path | None = None, hooks: bool = True) -> GitRepo:
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("base")
    assert run_main("receipt", "record", cwd=repo.path).returncode == 0
    if hooks:
        install(repo, cwd)
    return repo


def prove_and_commit(repo: GitRepo, path: str, message: str = "Work\n\nTask: T-1",
                     cwd: Path | None = None) -> str:
    where = cwd or repo.path
    (where / path).parent.mkdir(parents=True, exist_ok=True)
    (where / path).write_text(f"{path}\n")
    GitRepo(where).add()
    proved = run_main(*PROVE, cwd=where)
    assert proved.returncode == 0, proved.stderr
    proc = commit_through_hooks(repo, message, cwd=where)
    assert proc.returncode == 0, said(proc)
    assert "attached to refs/notes/avorelo" in said(proc)
    return GitRepo(where).head()


# -- first commit ---------------------------------------------------------------------------
def test_first_commit_through_the_hooks_gets_a_receipt_and_pushes(repo: GitRepo,
                                                                   tmp_path: Path) -> None:
    install(repo)
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    assert run_main(*PROVE, cwd=repo.path).returncode == 0
    # The first commit adds the policy itself: a maintainer says so explicitly.
    proc = subprocess.run(["git", "commit", "-m", "Root\n\nTask: T-1"], cwd=repo.path,
                          env=dict(os.environ, **HOOK_ENV, AVORELO_ALLOW_POLICY_CHANGE="1"),
                          capture_output=True, check=False)
    assert proc.returncode == 0, said(proc)
    assert repo.git("rev-list", "--count", "HEAD").stdout.strip() == b"1"
    assert statuses(verify(repo)) == ["valid"]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    pushed = repo.git("push", "origin", "main", check=False, env=HOOK_ENV)
    assert pushed.returncode == 0, said(pushed)
    assert "1 new commit(s) checked" in said(pushed)


# -- detached HEAD --------------------------------------------------------------------------
def test_detached_head_commit_through_hooks_and_push(repo: GitRepo, tmp_path: Path) -> None:
    hooked_project(repo)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "--no-verify", "origin", "main")
    first = repo.head()
    repo.git("checkout", "-q", "--detach", first)
    sha = prove_and_commit(repo, "src/detached.py")
    assert repo.git("symbolic-ref", "-q", "HEAD", check=False).returncode != 0
    assert statuses(verify(repo)) == ["valid"]
    assert statuses(verify(repo, f"{first}..{sha}")) == ["valid"]
    pushed = repo.git("push", "origin", "HEAD:refs/heads/topic", check=False, env=HOOK_ENV)
    assert pushed.returncode == 0, said(pushed)


# -- a merge in progress --------------------------------------------------------------------
def conflicted(repo: GitRepo) -> None:
    """A merge stopped on a conflict in src/c.py (no hooks yet: they would run at every
    setup commit)."""
    hooked_project(repo, hooks=False)
    repo.write("src/c.py", "base\n")
    repo.add()
    repo.commit("c", "--no-verify")
    repo.git("switch", "-q", "-c", "other")
    repo.write("src/c.py", "other\n")
    repo.add()
    repo.commit("other\n\nTask: T-1", "--no-verify")
    repo.git("switch", "-q", "main")
    repo.write("src/c.py", "main\n")
    repo.add()
    repo.commit("main\n\nTask: T-1", "--no-verify")
    assert repo.git("merge", "-q", "--no-verify", "other", check=False).returncode != 0


MERGE_REFUSED = [("check",), ("check", "--worktree"), ("hook", "pre-commit"),
                 ("hook", "commit-msg", "MSG")]


@pytest.mark.parametrize("args", MERGE_REFUSED, ids=[" ".join(a) for a in MERGE_REFUSED])
def test_merge_in_progress_is_exit_2_naming_the_path(repo: GitRepo,
                                                     args: tuple[str, ...]) -> None:
    conflicted(repo)
    msg = repo.path / ".git" / "MERGE_MSG"
    proc = run_main(*(str(msg) if a == "MSG" else a for a in args), cwd=repo.path)
    assert_clean_error(proc, 2, "src/c.py", "unmerged")
    assert "merge or rebase is in progress" in one_line(proc)


def test_merge_in_progress_prove_and_review_commands_never_crash(repo: GitRepo) -> None:
    conflicted(repo)
    # Exact codes: main's last commit was made with --no-verify, so it has no receipt
    # (verify and show say receipt-missing: 1) and ci judges it (no proof ran: 1).
    for args, code in ((PROVE, 0), (("receipt", "verify"), 1), (("receipt", "list"), 0),
                       (("receipt", "show"), 1), (("ci", "--base", "main~1"), 1),
                       (("context",), 0), (("route",), 0), (("validate",), 0)):
        proc = run_main(*args, cwd=repo.path)
        assert_no_traceback(proc, frozenset({code}))


def test_resolved_merge_commits_through_hooks_with_a_receipt(repo: GitRepo) -> None:
    conflicted(repo)
    install(repo)
    repo.write("src/c.py", "resolved\n")
    repo.add()
    assert run_main("check", cwd=repo.path).returncode == 1     # the proof is not run yet
    assert run_main(*PROVE, cwd=repo.path).returncode == 0
    assert run_main("check", cwd=repo.path).returncode == 0
    proc = commit_through_hooks(repo, "Merge other\n\nTask: T-1")
    assert proc.returncode == 0, said(proc)
    assert len(repo.git("rev-list", "--parents", "-n1", "HEAD").stdout.split()) == 3
    assert statuses(verify(repo)) == ["valid"]


# -- a rebase in progress -------------------------------------------------------------------
def test_rebase_stopped_on_a_conflict_then_continued(repo: GitRepo) -> None:
    conflicted(repo)
    install(repo)
    repo.git("merge", "--abort")
    repo.git("switch", "-q", "other")
    proc = repo.git("rebase", "-q", "main", check=False, env=HOOK_ENV)
    assert proc.returncode != 0
    assert (repo.path / ".git" / "rebase-merge").is_dir()
    assert_clean_error(run_main("check", cwd=repo.path), 2, "src/c.py", "unmerged")
    repo.write("src/c.py", "resolved\n")
    repo.add()
    staged = run_main("check", "--format", "json", cwd=repo.path)
    assert staged.returncode == 1, staged.stderr    # the resolved content has no proof yet
    assert json.loads(staged.stdout)["diff"]["files"] == 1
    done = repo.git("-c", "core.editor=true", "rebase", "--continue", check=False,
                    env=HOOK_ENV)
    assert done.returncode == 0, said(done)
    # post-rewrite recorded the rebased commit's own receipt
    assert statuses(verify(repo)) == ["valid"]


def test_interactive_rebase_stopped_at_edit(repo: GitRepo) -> None:
    hooked_project(repo)
    base = repo.head()
    first = prove_and_commit(repo, "src/one.py")
    prove_and_commit(repo, "src/two.py")
    todo = f"edit {first[:12]} one\npick HEAD two\n"
    editor = f"sh -c 'printf \"%s\" \"$0\" > \"$1\"' '{todo}'"
    proc = repo.git("-c", f"sequence.editor={editor}", "rebase", "-q", "-i", base,
                    check=False, env=HOOK_ENV)
    assert proc.returncode == 0, said(proc)
    assert (repo.path / ".git" / "rebase-merge").is_dir()       # stopped at "edit"
    sha = prove_and_commit(repo, "src/during.py", "During the rebase\n\nTask: T-1")
    assert statuses(verify(repo, sha)) == ["valid"]
    done = repo.git("rebase", "--continue", check=False, env=HOOK_ENV)
    assert done.returncode == 0, said(done)
    assert set(statuses(verify(repo, f"{base}..HEAD"))) == {"valid"}


# -- linked worktrees -----------------------------------------------------------------------
def test_linked_worktree_commits_and_proves_on_its_own(repo: GitRepo, tmp_path: Path) -> None:
    hooked_project(repo)
    linked = tmp_path / "linked tree"
    repo.git("worktree", "add", "-q", "-b", "side", str(linked))
    sha = prove_and_commit(repo, "src/side.py", cwd=linked)
    # the receipt is on the shared notes ref: the main worktree verifies it
    assert statuses(verify(repo, sha)) == ["valid"]
    # proof records are per worktree: the main one has its own, untouched by the linked one
    assert (state_dir(linked) / "proof" / "tests" / "latest.json").is_file()
    assert not (state_dir(repo.path) / "proof").exists()
    repo.write("src/main.py")
    repo.add()
    proc = run_main("check", "--format", "json", cwd=repo.path)
    assert proc.returncode == 1
    assert [v["rule"] for v in json.loads(proc.stdout)["violations"]] == ["proof-missing"]


def state_dir(cwd: Path) -> Path:
    out = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-path",
                          "avorelo"], cwd=cwd, capture_output=True, check=True).stdout
    return Path(out.decode().strip())


# -- SHA-256 ----------------------------------------------------------------------------------
def test_sha256_repository_whole_flow(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo: GitRepo = make_repo("sha256 repo", "--object-format=sha256")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "--object-format=sha256", str(remote)],
                   check=True)
    hooked_project(repo)
    assert len(repo.head()) == 64
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "--no-verify", "origin", "main", "refs/notes/avorelo")
    repo.git("fetch", "-q", "origin")
    repo.git("switch", "-q", "-c", "feature")
    repo.write("src/b.py", "b\n")
    repo.add()
    proved = run_main(*PROVE, cwd=repo.path)
    assert proved.returncode == 0, proved.stderr
    check = run_main("check", "--format", "json", cwd=repo.path)
    assert check.returncode == 0, check.stdout
    assert len(json.loads(check.stdout)["range"]["base"]) == 64
    proc = commit_through_hooks(repo, "Work\n\nTask: T-1")
    assert proc.returncode == 0, said(proc)
    good = repo.head()
    result = verify(repo, "main..feature")
    assert statuses(result) == ["valid"]
    shown = run_main("receipt", "show", "--format", "json", cwd=repo.path)
    statement = json.loads(shown.stdout)
    assert statement["subject"][0]["digest"]["gitCommit"] == good
    pushed = repo.git("push", "origin", "feature", check=False, env=HOOK_ENV)
    assert pushed.returncode == 0, said(pushed)
    repo.git("push", "-q", "--no-verify", "origin", "refs/notes/avorelo")
    # an out-of-scope commit made without hooks: pre-push and ci both refuse it
    repo.write("elsewhere.txt", "x\n")
    repo.add()
    bad = repo.commit("sneaky", "--no-verify")
    refused = repo.git("push", "origin", "feature", check=False, env=HOOK_ENV)
    assert refused.returncode != 0 and "elsewhere.txt: out-of-scope" in said(refused)
    ci = run_main("ci", "--base", "origin/main", "--format", "json", cwd=repo.path)
    assert ci.returncode == 1, ci.stderr
    found = {(v["rule"], v.get("commit")) for v in json.loads(ci.stdout)["violations"]}
    assert ("out-of-scope", bad) in found
    assert not any(c == good for _, c in found)
    # --no-verify skips commit-msg, not post-commit: its receipt records the failing verdict
    assert statuses(verify(repo, "HEAD")) == ["valid"]
    shown = json.loads(run_main("receipt", "show", "--format", "json", cwd=repo.path).stdout)
    assert shown["predicate"]["verdict"] == "fail"


# -- a bare repository ------------------------------------------------------------------------
# One exact code per command (issue 17: no ranges where the verdict is known). The bare clone
# has commit "two" (Task: T-1, which owes a `tests` proof nobody ran) and its receipt.
BARE_COMMANDS: list[tuple[tuple[str, ...], frozenset[int]]] = [
    (("check",), frozenset({2})),                     # no index to check
    (("check", "--worktree"), frozenset({2})),
    (("check", "--commit", "HEAD", "--format", "json"), frozenset({1})),   # proof-missing
    (("check", "--range", "HEAD~1..HEAD"), frozenset({1})),
    (("receipt", "verify", "HEAD"), frozenset({0})),  # a valid receipt of a failing verdict
    (("receipt", "list"), frozenset({0})),
    (("receipt", "show"), frozenset({0})),
    (("receipt", "record"), frozenset({0})),
    (("ci", "--base", "HEAD~1"), frozenset({1})),
    (("route",), frozenset({0})),
    (("context", "--task", "T-1"), frozenset({0})),
    (PROVE, frozenset({2})),                          # no working tree to run against
    (("hook", "pre-commit"), frozenset({2})),
    (("init",), frozenset({2})),
    (("install",), frozenset({0})),
    (("validate",), frozenset({0})),
]


@pytest.fixture
def bare(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("one")
    repo.write("src/b.py", "b\n")
    repo.add()
    repo.commit("two\n\nTask: T-1")
    assert run_main("receipt", "record", cwd=repo.path).returncode == 0
    path = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(path)], check=True)
    subprocess.run(["git", "fetch", "-q", str(repo.path), "refs/notes/*:refs/notes/*"],
                   cwd=path, check=True)
    return GitRepo(path)


@pytest.mark.parametrize(("args", "codes"), BARE_COMMANDS,
                         ids=[" ".join(a) for a, _ in BARE_COMMANDS])
def test_bare_repository_every_command(bare: GitRepo, args: tuple[str, ...],
                                       codes: frozenset[int]) -> None:
    proc = run_main(*args, cwd=bare.path)
    assert_no_traceback(proc, codes)
    if proc.returncode == 2:
        one_line(proc)
        assert "bare" in proc.stderr, proc.stderr


# -- safe.directory ------------------------------------------------------------------------------
needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="needs root to give the repository to another user")

DUBIOUS = [("check",), ("check", "--commit", "HEAD"), ("hook", "pre-commit"),
           ("hook", "post-commit"), ("receipt", "verify"), ("receipt", "record"),
           ("ci", "--base", "HEAD"), PROVE, ("route",), ("context",), ("install",)]


@needs_root
def test_safe_directory_refusal_is_exit_3_in_one_line(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.add()
    repo.commit("one")
    repo.write("src/b.py")
    repo.add()
    import pwd

    nobody = pwd.getpwnam("nobody")
    for root, dirs, files in os.walk(repo.path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), nobody.pw_uid, nobody.pw_gid)
    os.lchown(repo.path, nobody.pw_uid, nobody.pw_gid)
    try:
        for args in DUBIOUS:
            proc = run_main(*args, cwd=repo.path)
            assert_clean_error(proc, 3, "dubious ownership", "safe.directory")
            assert one_line(proc).startswith("avorelo-gate: error: git refuses this "
                                              "repository"), proc.stderr
        through_console = repo.gate("check")
        assert_clean_error(through_console, 3, "dubious ownership")
        # what the message tells the user to do, done, works
        subprocess.run(["git", "config", "--global", "--add", "safe.directory",
                        str(repo.path)], check=True)
        assert run_main("check", cwd=repo.path).returncode == 0
    finally:
        for root, dirs, files in os.walk(repo.path):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), 0, 0)
        os.lchown(repo.path, 0, 0)


# -- a corrupt object -------------------------------------------------------------------------
def object_file(repo: GitRepo, oid: str) -> Path:
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


def corrupt(repo: GitRepo, oid: str, how: str) -> None:
    path = object_file(repo, oid)
    assert path.is_file(), "the object must be loose"
    path.chmod(0o644)
    if how == "deleted":
        path.unlink()
    else:
        path.write_bytes(b"x\x9c garbage, not zlib" * 3)


CORRUPT_COMMANDS = [("check",), ("check", "--commit", "HEAD"), ("check", "--range",
                                                                 "HEAD~1..HEAD"),
                    ("receipt", "verify", "HEAD"), ("receipt", "record"),
                    ("ci", "--base", "HEAD~1"), ("hook", "pre-commit")]


@pytest.mark.parametrize("what", ["commit", "tree", "blob"])
@pytest.mark.parametrize("how", ["deleted", "overwritten"])
def test_corrupt_object_is_exit_3_never_a_pass(repo: GitRepo, what: str, how: str) -> None:
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("one")
    repo.write("src/a.py", "a\nb\n")
    repo.add()
    head = repo.commit("two")
    # receipts to recompute: verify must read the commit, its tree and the changed blob
    assert run_main("receipt", "record", "HEAD~1", cwd=repo.path).returncode == 0
    assert run_main("receipt", "record", "HEAD", cwd=repo.path).returncode == 0
    repo.write("src/a.py", "a\nb\nc\n")     # a staged change on top, for check --staged
    repo.add()
    target = {"commit": head,
              "tree": repo.git("rev-parse", "HEAD^{tree}").stdout.decode().strip(),
              "blob": repo.git("rev-parse", "HEAD:src/a.py").stdout.decode().strip()}[what]
    corrupt(repo, target, how)
    for args in CORRUPT_COMMANDS:
        proc = run_main(*args, cwd=repo.path)
        assert_no_traceback(proc)
        # Every command reads HEAD's commit, tree or the changed blob: none may pass.
        assert proc.returncode == 3, (args, proc.returncode, proc.stdout, proc.stderr)
        one_line(proc)


# -- spaces and unicode in the repository's own path -----------------------------------------
def test_repository_path_with_spaces_and_unicode(tmp_path: Path) -> None:
    where = tmp_path / "my projects" / "ünïcödé ファイル $HOME 'q' \"d\""
    where.mkdir(parents=True)
    repo = GitRepo(where)
    repo.git("init", "-q")
    remote = tmp_path / "remote space ü.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    hooked_project(repo)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "--no-verify", "origin", "main", "refs/notes/avorelo")
    repo.git("fetch", "-q", "origin")
    repo.git("switch", "-q", "-c", "feature")
    sha = prove_and_commit(repo, "src/ü b.py")
    assert statuses(verify(repo, "main..feature")) == ["valid"]
    pushed = repo.git("push", "origin", "feature", check=False, env=HOOK_ENV)
    assert pushed.returncode == 0, said(pushed)
    ci = repo.gate("ci", "--base", "origin/main", "--format", "json")
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert json.loads(ci.stdout)["range"]["head"] == sha
    # and from a subdirectory, through a real interpreter
    assert repo.gate("check", cwd=where / "src").returncode == 0


def test_hooks_with_a_hooks_path_with_spaces(repo: GitRepo, tmp_path: Path) -> None:
    hooks = tmp_path / "my hooks ü"
    repo.git("config", "core.hooksPath", str(hooks))
    hooked_project(repo)
    assert (hooks / "commit-msg").is_file()
    prove_and_commit(repo, "src/x.py")
    assert statuses(verify(repo)) == ["valid"]


def test_python_path_with_spaces_in_hook_env(repo: GitRepo, tmp_path: Path) -> None:
    """The hook scripts quote the interpreter: a venv under a path with spaces works."""
    venv_bin = tmp_path / "venv dir ü" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    # a wrapper, not a symlink: a symlinked venv interpreter outside its venv loses the venv
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    hooked_project(repo)
    repo.write("src/y.py")
    repo.add()
    proc = subprocess.run(["git", "commit", "-m", "Work\n\nTask: T-1"], cwd=repo.path,
                          env={**os.environ, **HOOK_ENV, "AVORELO_GATE_PYTHON": str(python)},
                          capture_output=True, check=False)
    # proof-missing refuses it, which proves the hook really ran through that interpreter
    assert proc.returncode != 0 and "proof-missing" in said(proc), said(proc)
    shutil.rmtree(venv_bin.parent)
