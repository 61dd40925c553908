"""Touched paths and line counts, differentially against git's own plumbing.

Every touched path must be exactly what ``git diff-index --cached -z --no-renames`` /
``git diff-tree -r -z --no-renames`` name (bytes included), and the line counts exactly
``git diff --numstat``'s.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, assert_clean_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avorelo_gate.git import change as changes
from avorelo_gate.git.base import EMPTY_TREE
from avorelo_gate.git.paths import fsdecode, zsplit
from avorelo_gate.git.repo import Repo, open_repo
from avorelo_gate.result import TouchedFile

AWKWARD_NAMES: list[str | bytes] = [
    "with space.txt", "tab\tname.txt", "new\nline.txt", 'quo"te.txt', "back\\slash.txt",
    "-rf", "--help", "ünïcödé/ファイル.txt", b"latin1-\xe9\xff.txt", "*star?.txt",
    "[bracket].txt", " leading-space",
]


def names_of(repo: GitRepo, *args: str) -> set[str]:
    out = repo.git(*args, "-z", "--no-renames", "--name-only").stdout
    return {fsdecode(p) for p in zsplit(out)}


def numstat_of(repo: GitRepo, *args: str) -> dict[str, tuple[int, int, bool]]:
    """path -> (added, removed, binary) from git's own ``--numstat -z``."""
    out = repo.git(*args, "-z", "--no-renames", "--numstat").stdout
    counts = {}
    for rec in zsplit(out):
        plus, minus, name = rec.split(b"\t", 2)
        binary = plus == b"-"
        counts[fsdecode(name)] = (0 if binary else int(plus), 0 if binary else int(minus),
                                  binary)
    return counts


def counts_of(touched: tuple[TouchedFile, ...]) -> dict[str, tuple[int, int, bool]]:
    return {t.path: (t.added, t.removed, t.binary) for t in touched}


def api(repo: GitRepo, cwd: Path | None = None) -> Repo:
    return open_repo(cwd=str(cwd or repo.path), environ=os.environ)


def build_awkward_history(repo: GitRepo) -> str:
    """A first commit full of things a later change can rename, delete, chmod and retype."""
    repo.write("a.txt", "one\ntwo\nthree\n")
    repo.write("rename-me.txt", "r1\nr2\nr3\nr4\n")
    repo.write("delete-me.txt", "gone\n")
    repo.write("script.sh", "#!/bin/sh\necho hi\n")
    repo.write("retype.txt", "to become a symlink\n")
    repo.write("bin.dat", b"\0\1\2binary\0")
    os.symlink("a.txt", repo.path / "link")
    for name in AWKWARD_NAMES:
        repo.write(name, "v1\n")
    repo.add()
    return repo.commit("base")


def stage_awkward_change(repo: GitRepo) -> None:
    repo.git("mv", "rename-me.txt", "renamed.txt")
    repo.git("rm", "-q", "delete-me.txt")
    (repo.path / "script.sh").chmod(0o755)
    (repo.path / "link").unlink()
    os.symlink("renamed.txt", repo.path / "link")
    (repo.path / "retype.txt").unlink()
    os.symlink("a.txt", repo.path / "retype.txt")
    repo.write("bin.dat", b"\0\3changed\0")
    repo.write("a.txt", "one\nTWO\nthree\nfour\n")
    for name in AWKWARD_NAMES:
        repo.write(name, "v1\nv2\n")
    repo.write("new dir/new\tfile\n.txt", "a\nb\nc")  # no final newline: still 3 lines
    repo.write(b"new-\xfe.bin", b"\0\0")
    repo.add()
    sub = repo.head()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub},sub")


@pytest.fixture
def awkward(repo: GitRepo) -> GitRepo:
    build_awkward_history(repo)
    stage_awkward_change(repo)
    return repo


def test_staged_touched_paths_equal_diff_index(awkward: GitRepo) -> None:
    change = changes.staged(api(awkward))
    ours = {t.path for t in change.touched}
    assert ours == names_of(awkward, "diff-index", "--cached", "HEAD")
    # the spot checks a differential test could hide behind
    assert {"rename-me.txt", "renamed.txt", "delete-me.txt", "script.sh", "sub",
            "retype.txt", "link", "latin1-\udce9\udcff.txt", "new\nline.txt", "-rf"} <= ours
    assert change.head == "INDEX"
    assert change.base == awkward.head()


def test_staged_line_counts_equal_numstat(awkward: GitRepo) -> None:
    change = changes.staged(api(awkward))
    ours = counts_of(change.touched)
    assert ours == numstat_of(awkward, "diff", "--cached", "HEAD")
    assert ours["bin.dat"] == (0, 0, True)
    assert ours["new-\udcfe.bin"] == (0, 0, True)
    assert ours["new dir/new\tfile\n.txt"] == (3, 0, False)
    statuses = {t.path: t.status for t in change.touched}
    assert statuses["retype.txt"] == "T"
    assert statuses["delete-me.txt"] == "D"
    by_path = {t.path: t for t in change.touched}
    assert (by_path["script.sh"].old_mode, by_path["script.sh"].new_mode) == ("100644", "100755")
    assert by_path["sub"].new_mode == "160000"


def test_commit_touched_paths_equal_diff_tree(awkward: GitRepo) -> None:
    sha = awkward.commit("the awkward change")
    change = changes.commit(api(awkward), sha)
    assert {t.path for t in change.touched} == names_of(awkward, "diff-tree", "-r", "HEAD^",
                                                        "HEAD")
    assert counts_of(change.touched) == numstat_of(awkward, "diff", "HEAD^", "HEAD")
    assert (change.base, change.head) == (awkward.git("rev-parse", "HEAD^").stdout.decode()
                                          .strip(), sha)


def test_first_commit_is_diffed_against_the_empty_tree(repo: GitRepo) -> None:
    repo.write("a.txt", "1\n2\n")
    repo.write(b"x\xff", "3\n")
    repo.add()
    change = changes.staged(api(repo))
    assert change.base == EMPTY_TREE["sha1"]
    assert change.base_commit is None
    assert {t.path for t in change.touched} == names_of(repo, "diff-index", "--cached",
                                                        EMPTY_TREE["sha1"])
    sha = repo.commit("root")
    root = changes.commit(api(repo), sha)
    assert root.base == EMPTY_TREE["sha1"]
    assert {t.path for t in root.touched} == names_of(repo, "diff-tree", "-r", "--root",
                                                           "--no-commit-id", sha)
    assert counts_of(root.touched) == {"a.txt": (2, 0, False), "x\udcff": (1, 0, False)}


def test_first_commit_check_passes_through_cli(repo: GitRepo) -> None:
    repo.write("a.txt")
    repo.add()
    proc = repo.gate("check", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["range"] == {"base": EMPTY_TREE["sha1"], "head": "INDEX"}
    assert result["diff"] == {"files": 1, "added": 1, "removed": 0}


def test_detached_head(repo: GitRepo) -> None:
    repo.write("a.txt")
    repo.add()
    first = repo.commit("one")
    repo.write("b.txt")
    repo.add()
    repo.commit("two")
    repo.git("checkout", "-q", "--detach", first)
    repo.write("c.txt", "c\n")
    repo.add()
    change = changes.staged(api(repo))
    assert change.base == first
    assert [t.path for t in change.touched] == ["c.txt"]


def test_linked_worktree_checks_its_own_index(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.txt")
    repo.add()
    repo.commit("one")
    wt = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    linked = GitRepo(wt)
    linked.write("only-in-linked.txt", "1\n")
    linked.add()
    repo.write("only-in-main.txt", "1\n")
    repo.add()
    assert [t.path for t in changes.staged(api(linked)).touched] == ["only-in-linked.txt"]
    assert [t.path for t in changes.staged(api(repo)).touched] == ["only-in-main.txt"]
    proc = linked.gate("check", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["diff"]["files"] == 1


def test_worktree_mode_includes_untracked_and_unstaged(awkward: GitRepo) -> None:
    awkward.write("untracked dir/u.txt", "1\n2\n")
    awkward.write("unstaged.txt", "x\n")   # never added
    awkward.write("a.txt", "changed only in the working tree\n")
    awkward.write(".gitignore", "ignored.log\n")
    awkward.write("ignored.log", "noise\n")
    change = changes.worktree(api(awkward))
    ours = {t.path for t in change.touched}
    untracked = {fsdecode(p) for p in zsplit(awkward.git(
        "ls-files", "-o", "--exclude-standard", "-z").stdout)}
    assert ours == names_of(awkward, "diff-index", "HEAD") | untracked
    assert "ignored.log" not in ours
    assert counts_of(change.touched)["untracked dir/u.txt"] == (2, 0, False)
    assert change.head == "WORKTREE"


def two_branches(repo: GitRepo) -> tuple[str, str, str]:
    repo.write("base.txt", "b\n")
    repo.add()
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("topic.txt", "t\n")
    repo.add()
    topic = repo.commit("topic")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "m\n")
    repo.add()
    main = repo.commit("main moves on")
    return base, topic, main


def test_range_two_dots_is_the_tree_diff(repo: GitRepo) -> None:
    _, topic, main = two_branches(repo)
    change = changes.tree_range(api(repo), "main..topic")
    assert {t.path for t in change.touched} == names_of(repo, "diff-tree", "-r", main, topic)
    assert {t.path for t in change.touched} == {"main.txt", "topic.txt"}
    assert (change.base, change.head) == (main, topic)


def test_range_three_dots_starts_at_the_merge_base(repo: GitRepo) -> None:
    base, topic, _ = two_branches(repo)
    change = changes.tree_range(api(repo), "main...topic")
    assert {t.path for t in change.touched} == {"topic.txt"}
    assert (change.base, change.head) == (base, topic)
    proc = repo.gate("check", "--range", "main...topic", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["range"] == {"base": base, "head": topic}


def test_commit_rev_through_cli(repo: GitRepo) -> None:
    _, topic, _ = two_branches(repo)
    proc = repo.gate("check", "--commit", "topic", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["range"]["head"] == topic
    assert result["diff"] == {"files": 1, "added": 1, "removed": 0}


def test_unmerged_entries_are_bad_input_naming_the_paths(repo: GitRepo) -> None:
    repo.write("conflict.txt", "base\n")
    repo.add()
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("conflict.txt", "other\n")
    repo.add()
    repo.commit("other")
    repo.git("checkout", "-q", "main")
    repo.write("conflict.txt", "main\n")
    repo.add()
    repo.commit("main")
    assert repo.git("merge", "-q", "other", check=False).returncode != 0
    proc = repo.gate("check")
    assert_clean_error(proc, 2, "conflict.txt", "unmerged")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_not_a_repository(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    proc = GitRepo(lonely).gate("check", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert_clean_error(proc, 2, "not a git repository")


def bare_clone(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.write("a.txt", "1\n")
    repo.add()
    repo.commit("one")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    return GitRepo(bare)


def test_bare_repository_staged_is_bad_input_with_hint(repo: GitRepo, tmp_path: Path) -> None:
    proc = bare_clone(repo, tmp_path).gate("check", "--staged")
    assert_clean_error(proc, 2, "bare repository", "--commit")


def test_bare_repository_commit_works(repo: GitRepo, tmp_path: Path) -> None:
    bare = bare_clone(repo, tmp_path)
    proc = bare.gate("check", "--commit", "HEAD", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["diff"]["files"] == 1


def test_unknown_revision_is_bad_input(repo: GitRepo) -> None:
    repo.write("a.txt")
    repo.add()
    repo.commit()
    assert_clean_error(repo.gate("check", "--commit", "no-such-rev"), 2, "no-such-rev")
    assert_clean_error(repo.gate("check", "--range", "HEAD..nope"), 2, "nope")


def test_worktree_mode_from_a_subdirectory_sees_the_whole_tree(awkward: GitRepo) -> None:
    awkward.write("top-untracked.txt", "1\n")
    awkward.write("ünï/deep/untracked.txt", "1\n2\n")
    from_root = changes.worktree(api(awkward))
    from_sub = changes.worktree(api(awkward, cwd=awkward.path / "ünï"))
    assert from_sub.touched == from_root.touched
    assert {"top-untracked.txt", "ünï/deep/untracked.txt"} <= {t.path for t in from_sub.touched}
    root_json = json.loads(awkward.gate("check", "--worktree", "--format", "json").stdout)
    sub_json = json.loads(awkward.gate("check", "--worktree", "--format", "json",
                                       cwd=awkward.path / "ünï").stdout)
    assert root_json == sub_json


def test_unmerged_paths_are_named_from_a_subdirectory(repo: GitRepo) -> None:
    repo.write("top.txt", "base\n")
    repo.write("sub/keep.txt", "k\n")
    repo.add()
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("top.txt", "other\n")
    repo.add()
    repo.commit("other")
    repo.git("checkout", "-q", "main")
    repo.write("top.txt", "main\n")
    repo.add()
    repo.commit("main")
    repo.git("merge", "-q", "other", check=False)
    assert api(repo, cwd=repo.path / "sub").unmerged_paths() == ["top.txt"]
    assert_clean_error(repo.gate("check", cwd=repo.path / "sub"), 2, "top.txt")


# -- generated histories -----------------------------------------------------------------------
NAMES = st.sampled_from(["a", "b c", "d\te", "f\ng", "-h", "ü/i", "j/k/l", "\udcffm", "n.bin"])
CONTENT = st.one_of(st.text(alphabet="xy\n", max_size=12).map(str.encode),
                    st.binary(max_size=12))
OPS = st.lists(st.tuples(st.sampled_from(["write", "delete", "chmod", "symlink"]), NAMES,
                         CONTENT), min_size=1, max_size=8)


def apply_ops(repo: GitRepo, ops: list[tuple[str, str, bytes]]) -> None:
    for op, name, content in ops:
        path = repo.path / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            continue   # a directory of that name: leave it
        if any(p.is_file() or p.is_symlink() for p in path.parents if p != repo.path
               and repo.path in p.parents):
            continue   # a file where a directory must go
        if op == "delete":
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if op == "symlink":
            os.symlink(content.decode("utf-8", "replace").replace("\0", "") or "t", path)
        else:
            path.write_bytes(content)
            path.chmod(0o755 if op == "chmod" else 0o644)


@given(st.lists(OPS, min_size=2, max_size=3))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_generated_histories_agree_with_git(make_repo: Any, history: list[Any]) -> None:
    repo: GitRepo = make_repo()
    for ops in history[:-1]:
        apply_ops(repo, ops)
        repo.add()
        repo.git("commit", "-q", "--allow-empty", "--no-verify", "-m", "step")
    apply_ops(repo, history[-1])
    repo.add()
    staged = changes.staged(api(repo))
    assert {t.path for t in staged.touched} == names_of(repo, "diff-index", "--cached", "HEAD")
    assert counts_of(staged.touched) == numstat_of(repo, "diff", "--cached", "HEAD")
    repo.git("commit", "-q", "--allow-empty", "--no-verify", "-m", "last")
    committed = changes.commit(api(repo), "HEAD")
    assert {t.path for t in committed.touched} == names_of(repo, "diff-tree", "-r", "HEAD^",
                                                           "HEAD")
    assert counts_of(committed.touched) == numstat_of(repo, "diff", "HEAD^", "HEAD")
