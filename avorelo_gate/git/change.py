"""The change under check: which paths it touches, with line counts, and where it reads from.

Touched paths come from one ``--raw --numstat -z --no-renames`` diff: a rename is then a
deletion of the old path and an addition of the new one, so both are touched, exactly as
``git diff-index --no-renames`` lists them.
"""
from __future__ import annotations

import os

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.git.diff import RawEntry
from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import INDEX, WORKTREE, Snapshot
from avorelo_gate.result import TouchedFile

MAX_UNTRACKED_COUNT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Change:
    """The change being judged: base, head, the touched paths and how to read their content."""

    base: str                     # commit id or the empty tree
    head: str                     # commit id, "INDEX" or "WORKTREE"
    touched: tuple[TouchedFile, ...]
    snapshot: Snapshot            # where task files are read from
    base_commit: str | None       # the commit the policy is read from (None: defaults)
    mode: str                     # staged | worktree | commit | range
    # False: ``touched`` carries no line counts (a commit of a range whose task reads none:
    # result.DiffSummary); every other change has them.
    lines_counted: bool = True


def _touched(entries: list[RawEntry]) -> tuple[TouchedFile, ...]:
    _refuse_unmerged([e.path for e in entries if e.status == "U"])
    # A RawEntry is a TouchedFile already (git.py): sorted, not copied.
    return tuple(sorted(entries, key=lambda e: e.path))


def staged(repo: Repo, base_override: str | None = None) -> Change:
    _need_worktree(repo)
    base = base_override or repo.head
    entries = repo.diff_staged(base)
    return Change(base=base or repo.empty_tree, head="INDEX", touched=_touched(entries),
                  snapshot=Snapshot(repo, INDEX), base_commit=base, mode="staged")


def _refuse_unmerged(unmerged: list[str]) -> None:
    if unmerged:
        shown = ", ".join(display_path(p) for p in unmerged[:5])
        raise BadInputError(f"unmerged paths ({shown}): a merge or rebase is in progress; "
                            "resolve the conflicts and stage the result first")


def worktree(repo: Repo) -> Change:
    _need_worktree(repo)
    # Against the working tree git reports an unmerged path as plainly modified ("M"), its
    # conflict markers as content: only the index knows (issue 7).
    _refuse_unmerged(repo.unmerged_paths())
    touched = list(_touched(repo.diff_worktree()))
    for path in repo.untracked():
        added, binary = _count_lines(os.path.join(repo.toplevel or "", path))
        touched.append(TouchedFile(path=path, status="A", added=added, removed=0,
                                   binary=binary))
    touched.sort(key=lambda t: t.path)
    return Change(base=repo.head or repo.empty_tree, head="WORKTREE", touched=tuple(touched),
                  snapshot=Snapshot(repo, WORKTREE), base_commit=repo.head, mode="worktree")


def commit(repo: Repo, rev: str) -> Change:
    sha = repo.resolve(rev)
    parents = repo.parents(sha)
    base = parents[0] if parents else None
    entries = repo.diff_trees(base or repo.empty_tree, sha)
    return Change(base=base or repo.empty_tree, head=sha, touched=_touched(entries),
                  snapshot=Snapshot(repo, sha), base_commit=base, mode="commit")


def tree_range(repo: Repo, spec: str) -> Change:
    """``A..B`` diffs A's tree against B's; ``A...B`` diffs from their merge base."""
    if "..." in spec:
        a, b = spec.split("...", 1)
        a_sha, b_sha = repo.resolve(a or "HEAD"), repo.resolve(b or "HEAD")
        base = repo.merge_base(a_sha, b_sha)
        if base is None:
            raise BadInputError(f"--range {spec}: the two sides have no common ancestor")
    elif ".." in spec:
        a, b = spec.split("..", 1)
        base, b_sha = repo.resolve(a or "HEAD"), repo.resolve(b or "HEAD")
    else:
        raise BadInputError(f"--range {spec!r}: expected A..B or A...B")
    entries = repo.diff_trees(base, b_sha)
    return Change(base=base, head=b_sha, touched=_touched(entries),
                  snapshot=Snapshot(repo, b_sha), base_commit=base, mode="range")


def _need_worktree(repo: Repo) -> None:
    if repo.bare or not repo.toplevel:
        raise BadInputError("this is a bare repository: there is no index or working tree to "
                            "check; use --commit REV or --range A..B")


def _count_lines(path: str) -> tuple[int, bool]:
    """Lines of an untracked file, the way git counts an added file (binary: NUL present)."""
    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return (1 if os.path.islink(path) else 0), False
        with open(path, "rb") as f:
            data = f.read(MAX_UNTRACKED_COUNT_BYTES)
    except OSError as e:
        raise EnvironmentFailure(f"{display_path(path)}: cannot read: {e.strerror}") from e
    if b"\0" in data[:8000]:
        return 0, True
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0), False
