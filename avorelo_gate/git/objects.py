"""Objects: blobs, trees and the index, read in batches; the working tree as a tree."""
from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence

from avorelo_gate.dataclass_lite import dataclass, replace
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.git.base import RepoBase
from avorelo_gate.git.paths import display_path, fsdecode, fsencode, top_literal, zsplit
from avorelo_gate.git.process import PINNED_CONFIG, Git

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import BinaryIO


@dataclass(frozen=True)
class BlobEntry:
    """One blob of a tree or the index: mode, object id and size."""

    mode: str   # 100644, 100755, 120000 (a symlink)
    oid: str
    size: int



class Objects(RepoBase):
    def write_index_tree(self) -> str:
        """The tree the index would commit (``git write-tree``); fails on unmerged entries."""
        proc = self.git.run("write-tree", ok=(0, 128))
        if proc.returncode != 0:
            raise self.git._error(("write-tree",), proc)
        return proc.stdout.decode().strip()

    def unmerged_paths(self) -> list[str]:
        # ls-files lists only the cwd's subtree, relative to it: ask for all, by full name.
        out = self.git.out("ls-files", "-u", "-z", "--full-name", "--", ":/")
        return sorted({fsdecode(rec.split(b"\t", 1)[1]) for rec in zsplit(out)})


    def untracked(self) -> list[str]:
        out = self.git.out("ls-files", "-o", "--exclude-standard", "-z", "--full-name", "--",
                           ":/")
        return [fsdecode(p) for p in zsplit(out)]


    # -- content trees (proof freshness) -------------------------------------------------
    def worktree_tree(self) -> str:
        """The tree of the tracked files as they stand in the working tree.

        Built in a throwaway copy of the index (``GIT_INDEX_FILE``, as ``git stash`` does) so
        the user's index and its lock are never touched; only objects get written. Untracked
        files are left out on purpose (README, "Proof"): a file counts once it is added, even
        as ``git add -N``, so build output and caches never change the recorded content.
        """
        # Only proof freshness in --worktree mode gets here: the hooks need neither module.
        import shutil
        import tempfile

        index = fsdecode(self.git.out("rev-parse", "--path-format=absolute", "--git-path",
                                      "index")).rstrip("\n")
        try:
            # Beside the real index: a split index finds its shared part relative to it.
            fd, tmp = tempfile.mkstemp(prefix="avorelo-index-", dir=os.path.dirname(index))
            os.close(fd)
        except OSError as e:
            raise EnvironmentFailure(f"cannot create a temporary index: {e.strerror}") from e
        try:
            try:
                # copy2 keeps the index's mtime: git's racy-git check compares file mtimes
                # with it, and a fresh mtime would make a same-second edit look clean.
                shutil.copy2(index, tmp)
            except FileNotFoundError:
                os.unlink(tmp)  # no index yet: git reads a missing index file as empty
            git = replace(self.git, env={**self.git.env, "GIT_INDEX_FILE": tmp})
            _unflag(git, self.toplevel)
            git.run("add", "-u", "--", ":/")
            return git.out("write-tree").decode().strip()
        except OSError as e:
            raise EnvironmentFailure(f"cannot copy the index: {e.strerror}") from e
        finally:
            for leftover in (tmp, tmp + ".lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)

    def has_tree(self, oid: str) -> bool:
        return self.git.run("cat-file", "-e", f"{oid}^{{tree}}", ok=(0, 1, 128)).returncode == 0

    def entry_type(self, where: str, path: str) -> str | None:
        """What a tree-ish holds at exactly ``path`` (``blob``, ``tree``, ``commit`` for a
        submodule), or None when nothing is there; the object itself is not read."""
        out = self.git.out("--literal-pathspecs", "ls-tree", "-z", "--full-tree", where, "--",
                           path)
        for rec in zsplit(out):
            meta, name = rec.split(b"\t", 1)
            if fsdecode(name) == path:
                return meta.decode().split()[1]
        return None

    def blob_entry(self, where: str, path: str) -> BlobEntry | None:
        """The entry at exactly ``path`` in the index (``where=":"``) or a tree-ish, when it
        is a blob (a file or a symlink): its mode, id and size."""
        if where == ":":
            out = self.git.out("ls-files", "-s", "-z", "--full-name", "--", top_literal(path))
        else:
            out = self.git.out("--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree",
                               where, "--", path)
        for rec in zsplit(out):
            meta, name = rec.split(b"\t", 1)
            mode, second, third = meta.decode().split()
            oid, ok = (second, third == "0") if where == ":" else (third, second == "blob")
            if ok and fsdecode(name) == path and not mode.startswith("160"):
                size = int(self.git.out("cat-file", "-s", oid).decode().strip())
                return BlobEntry(mode=mode, oid=oid, size=size)
        return None

    def copy_blob(self, oid: str, dest: BinaryIO) -> None:
        """Stream a blob into ``dest``: a committed 1 GB log must not sit in memory."""
        argv = ["git", *PINNED_CONFIG, "cat-file", "blob", oid]
        try:
            proc = subprocess.run(argv, cwd=self.git.cwd, env=dict(self.git.env), stdout=dest,
                                  stderr=subprocess.PIPE, check=False)
        except OSError as e:
            raise EnvironmentFailure(f"cannot run git: {e}") from e
        if proc.returncode != 0:
            raise self.git._error(("cat-file", "blob"), proc)

    # -- reading files ------------------------------------------------------------------
    def list_blobs(self, where: str, *pathspecs: str) -> dict[str, str]:
        """Every file (blob) under ``pathspecs`` in the index (``where=":"``) or a tree-ish:
        path -> blob id. Submodule entries (commits) and unmerged stages are left out."""
        if where == ":":
            out = self.git.out("ls-files", "-s", "-z", "--full-name", "--",
                               *(pathspecs or (":/",)))
        else:
            out = self.git.out("ls-tree", "-r", "-z", "--full-tree", where, "--", *pathspecs)
        entries = {}
        for rec in zsplit(out):
            meta, name = rec.split(b"\t", 1)
            mode, second, third = meta.decode().split()
            # ls-files: mode blob stage; ls-tree: mode type blob
            blob, ok = (second, third == "0") if where == ":" else (third, second == "blob")
            if ok and not mode.startswith("160"):
                entries[fsdecode(name)] = blob
        return entries

    def list_sized(self, where: str) -> dict[str, tuple[str, int]]:
        """Every file in a commit (or the index, ``where=":"``): path -> (blob id, size)."""
        if where != ":":
            out = self.git.out("ls-tree", "-r", "-l", "-z", "--full-tree", where)
            entries = {}
            for rec in zsplit(out):
                meta, name = rec.split(b"\t", 1)
                _mode, kind, blob, size = meta.decode().split()
                if kind == "blob":
                    entries[fsdecode(name)] = (blob, int(size))
            return entries
        blobs = self.list_blobs(":")
        ids = list(dict.fromkeys(blobs.values()))
        sizes: dict[str, int] = {}
        if ids:
            out = self.git.out("cat-file", "--batch-check", input=("\n".join(ids) + "\n").encode())
            for line in out.decode().splitlines():
                oid, _kind, size = line.split()
                sizes[oid] = int(size)
        return {p: (b, sizes.get(b, 0)) for p, b in blobs.items()}

    def cat_objects(self, names: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
        """Read several objects (``HEAD:path``, ``:path``, blob ids) through one
        ``cat-file --batch``: name -> (object id, content), or None when it does not exist."""
        if not names:
            return {}
        out = self.git.out("cat-file", "--batch", input=batch_input(names))
        return parse_batch(out, names)

    # -- many commits at once (pre-push, ci) ---------------------------------------------
    def cat_at_revs(self, pairs: Sequence[tuple[str, str]],
                    directory: str) -> dict[str, tuple[str, bytes] | None]:
        """``cat_objects`` of ``REV:PATH`` for each (rev, path), every path under
        ``directory``, reading each distinct version of the directory once.

        Why: a range's commits nearly all share one version of ``.avorelo/``, and
        ``cat-file --batch`` walks and inflates it again for every name (on 1,000 commits
        with the gate's files loose, 0.37 s against git's own 0.08 s listing of the range).
        Here one ``--batch-check`` finds each rev's directory (a tree, or not there), and
        one ``--batch`` reads ``TREE:REST`` once per distinct tree. The answer is the one
        ``REV:PATH`` gets: git walks the same entries, and where the directory is not a
        tree (missing, a file, a symlink, a submodule) it finds no path below it."""
        prefix = directory + "/"
        if any(not path.startswith(prefix) for _, path in pairs):
            raise ValueError(f"cat_at_revs: every path must be under {directory}/")
        revs = list(dict.fromkeys(rev for rev, _ in pairs))
        trees = self.object_types([f"{rev}:{directory}" for rev in revs])
        inside: dict[tuple[str, str], str] = {}
        for rev, path in pairs:
            tree = trees[f"{rev}:{directory}"]
            if tree is not None and tree[1] == "tree":
                inside[(rev, path)] = f"{tree[0]}:{path[len(prefix):]}"
        found = self.cat_objects(list(dict.fromkeys(inside.values())))
        return {f"{rev}:{path}": found[inside[(rev, path)]] if (rev, path) in inside else None
                for rev, path in pairs}

    def object_types(self, names: Sequence[str]) -> dict[str, tuple[str, str] | None]:
        """name -> (object id, type) through one ``cat-file --batch-check``; None when there
        is no such object. A name may be an expression: ``<id>^{commit}`` peels tags."""
        if not names:
            return {}
        if any("\n" in n for n in names):
            raise BadInputError("object name contains a newline")
        proc = self.git.run("cat-file", "--batch-check",
                            input=("\n".join(names) + "\n").encode("utf-8", "surrogateescape"))
        lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
        result: dict[str, tuple[str, str] | None] = {}
        for name, line in zip(names, lines[:len(names)], strict=True):
            # "<name> missing" / "<name> ambiguous", else "<id> <type> <size>"
            fields = line.split(" ")
            found = len(fields) == 3 and not line.endswith((" missing", " ambiguous"))
            result[name] = (fields[0], fields[1]) if found else None
        return result


def _unflag(git: Git, toplevel: str | None) -> None:
    """Clear skip-worktree and assume-unchanged in a throwaway index, so that ``add -u``
    reads those files from disk; refuse when a flagged file is not on disk at all (a sparse
    checkout's, or one deleted behind git's back): no command saw the index's version."""
    skip: list[str] = []
    assumed: list[str] = []
    for entry in zsplit(git.out("ls-files", "-v", "-z", "--full-name", "--", ":/")):
        tag, path = entry[:1], fsdecode(entry[2:])
        if tag == b"S":
            skip.append(path)
        elif tag.islower():
            assumed.append(path)
    if not skip and not assumed:
        return
    missing = [p for p in (*skip, *assumed)
               if not os.path.lexists(os.path.join(toplevel or ".", *p.split("/")))]
    if missing:
        shown = ", ".join(display_path(p) for p in missing[:5])
        raise BadInputError(
            f"{len(missing)} tracked file(s) flagged skip-worktree or assume-unchanged "
            f"are not on disk ({shown}): the command could not see the content being "
            "committed; restore them first (git sparse-checkout disable, or git update-index "
            "--no-skip-worktree --no-assume-unchanged -- PATH && git checkout -- PATH)")
    for flag, paths in (("--no-skip-worktree", skip), ("--no-assume-unchanged", assumed)):
        if paths:
            # One update-index per flag: given together, only the last one applies.
            git.run("update-index", flag, "-z", "--stdin",
                    input=b"".join(fsencode(p) + b"\0" for p in paths))


def batch_input(names: Sequence[str]) -> bytes:
    """``cat-file --batch``'s input: one name a line."""
    for name in names:
        if "\n" in name:
            raise BadInputError(f"object name contains a newline: {name!r}")
    return ("\n".join(names) + "\n").encode("utf-8", "surrogateescape")


def parse_batch(out: bytes, names: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
    """``cat-file --batch`` output: name -> (object id, content), None when missing."""
    result: dict[str, tuple[str, bytes] | None] = {}
    pos = 0
    for name in names:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].decode("utf-8", "surrogateescape").rsplit(" ", 2)
        pos = nl + 1
        if len(header) < 3 or header[-1] in ("missing", "ambiguous"):
            result[name] = None
            continue
        size = int(header[2])
        result[name] = (header[0], out[pos:pos + size])
        pos += size + 1
    return result
