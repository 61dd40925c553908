"""Revisions: names resolved to commits and trees, parents, merge bases, the shallow edge."""
from __future__ import annotations

import re
from collections.abc import Sequence

from avorelo_gate.errors import BadInputError, EnvironmentFailure, GitError
from avorelo_gate.git.base import RepoBase
from avorelo_gate.git.paths import fsdecode
from avorelo_gate.git.process import first_line

_FULL_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


class Revisions(RepoBase):
    def resolve(self, rev: str, kind: str = "commit") -> str:
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options",
                            f"{rev}^{{{kind}}}", ok=(0, 1, 128))
        if proc.returncode != 0:
            # A name that resolves to an object the database has lost is a broken repository
            # (exit 3, issue 7), not a typo: HEAD itself would otherwise read as bad input.
            broken = self._broken_object(rev, kind)
            if broken:
                raise GitError(f"{rev!r}: {broken}: the repository is broken (git fsck tells "
                               "more)")
            raise BadInputError(f"unknown revision {rev!r}: not a {kind} in this repository")
        return proc.stdout.decode().strip()

    def resolve_each(self, revs: Sequence[str], kind: str = "commit") -> list[str] | None:
        """Several names at once, in one ``rev-parse``; None unless each names exactly one
        ``kind`` (then ``resolve`` them one by one: it says which is wrong, and how). The
        answer is taken only when it is one object id per name: ``A..B`` or ``A^@`` name
        several and so fall through, as ``--verify`` would refuse them."""
        args = [f"{rev}^{{{kind}}}" for rev in revs]
        # "--" makes each word a revision, never a path; git 2.39 echoes both markers.
        proc = self.git.run("rev-parse", "--end-of-options", *args, "--", ok=(0, 1, 128))
        if proc.returncode != 0:
            return None
        ids = [w for w in proc.stdout.decode("ascii", "replace").split("\n")
               if w and w not in ("--end-of-options", "--")]
        if len(ids) != len(revs) or not all(_FULL_ID.fullmatch(i) for i in ids):
            return None
        return ids

    def _broken_object(self, rev: str, kind: str) -> str | None:
        """What is lost behind a ``rev`` that does name something: a missing or unreadable
        object, or one in the history ``~``/``^`` walk through. Only asked after a failed
        resolve, never on the happy path."""
        if _FULL_ID.fullmatch(rev):
            # A full id "resolves" whether or not its object is here: an absent one is not
            # (yet) fetched, e.g. past a shallow clone's edge; a present commit can still
            # have lost its tree.
            if self.git.run("cat-file", "-e", rev, ok=(0, 1, 128)).returncode != 0:
                return None
            return self._lost_object(rev, kind)
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options", rev,
                            ok=(0, 1, 128))
        oid = proc.stdout.decode().strip()
        if proc.returncode == 0 and oid:
            return self._lost_object(oid, kind)
        # ``HEAD~1`` does not resolve when HEAD's own commit is lost: look at the name it
        # starts from, and at the first-parent history just below it.
        start = re.split(r"[~^]", rev, maxsplit=1)[0]
        if start == rev or not start or _FULL_ID.fullmatch(start):
            return None
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options", start,
                            ok=(0, 1, 128))
        oid = proc.stdout.decode().strip()
        if proc.returncode != 0 or not oid:
            return None
        lost = self._lost_object(oid, "commit")
        if lost:
            return lost
        walk = self.git.run("rev-list", "-n", "64", "--end-of-options", oid, "--",
                            ok=(0, 1, 128))
        if walk.returncode == 0:
            return None
        return f"a commit below {oid} is missing or corrupt ({first_line(walk.stderr)})"

    def _lost_object(self, oid: str, kind: str) -> str | None:
        lost = f"object {oid} is missing or corrupt"
        typed = self.git.run("cat-file", "-t", oid, ok=(0, 1, 128))
        if typed.returncode != 0:
            return lost
        if kind == "tree" and typed.stdout.strip() == b"commit":
            # ``<commit>^{tree}`` fails the same way when only the commit's tree is lost.
            body = self.git.run("cat-file", "commit", oid, ok=(0, 128))
            header = body.stdout.split(b"\n", 1)[0].split()
            if body.returncode != 0:
                return lost
            if len(header) == 2 and header[0] == b"tree":
                tree = header[1].decode()
                if self.git.run("cat-file", "-t", tree, ok=(0, 1, 128)).returncode != 0:
                    return f"its tree {tree} is missing or corrupt"
        return None

    def parents(self, commit: str) -> list[str]:
        out = self.git.out("rev-list", "--parents", "-n", "1", commit).decode().split()
        return out[1:]

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.git.run("merge-base", a, b, ok=(0, 1))
        return proc.stdout.decode().strip() or None

    def rev_list(self, *args: str) -> list[str]:
        return self.git.out("rev-list", *args).decode().split()

    def tree_of(self, commit: str) -> str:
        return self.resolve(commit, "tree")

    def tree_and_parents(self, commit: str) -> tuple[str, list[str]]:
        """A commit's tree and parents, from its own header in one ``cat-file``."""
        out = self.git.out("cat-file", "commit", commit)
        header = out.split(b"\n\n", 1)[0].decode("ascii", "replace").split("\n")
        tree = [ln[5:] for ln in header if ln.startswith("tree ")]
        if len(tree) != 1:
            raise GitError(f"{commit[:12]}: a commit object without one tree")
        return tree[0], [ln[7:] for ln in header if ln.startswith("parent ")]

    def trees_of(self, commits: Sequence[str]) -> dict[str, str]:
        """Several commits' trees with one ``rev-parse``."""
        if not commits:
            return {}
        out = self.git.out("rev-parse", *(f"{c}^{{tree}}" for c in commits))
        return dict(zip(commits, out.decode().split(), strict=True))


    def commits_oldest_first(self, *args: str) -> list[tuple[str, tuple[str, ...]]]:
        """``rev-list ARGS`` oldest first (parents before children): (commit, its parents)."""
        out = self.git.out("rev-list", "--parents", "--topo-order", "--reverse", *args).decode()
        return [(ids[0], tuple(ids[1:])) for line in out.split("\n") if (ids := line.split())]

    def shallow_boundary(self) -> set[str]:
        """Commits whose parents a shallow clone does not have (``$GIT_DIR/shallow``)."""
        out = self.git.out("rev-parse", "--path-format=absolute", "--git-path", "shallow")
        try:
            with open(fsdecode(out).rstrip("\n"), encoding="ascii") as f:
                return set(f.read().split())
        except FileNotFoundError:
            return set()
        except OSError as e:
            raise EnvironmentFailure(f"cannot read the shallow file: {e.strerror}") from e


    def ref_commit(self, ref: str) -> str | None:
        """The commit a ref points at, or None when the ref does not exist."""
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options",
                            f"{ref}^{{commit}}", ok=(0, 1, 128))
        return proc.stdout.decode().strip() if proc.returncode == 0 else None
