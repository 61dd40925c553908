"""Diffs: which paths a change touches, with line counts, for one change or many commits."""
from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import replace
from avorelo_gate.errors import GitError
from avorelo_gate.git.objects import Objects
from avorelo_gate.git.paths import fsdecode, top_literal, zsplit
from avorelo_gate.result import TouchedFile

# git's buffer_is_binary() looks for a NUL in the first 8000 bytes (xdiff-interface.c).
BINARY_SNIFF_BYTES = 8000
BINARY_CHECK_MAX_BYTES = 8 * 1024 * 1024
# Past this many paths, a diff limited to them runs unlimited and is filtered instead.
MAX_PATHSPECS = 1000
_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", re.MULTILINE)

# One record of ``git diff --raw --numstat -z --no-renames``. It is the engine's TouchedFile
# itself (same fields): 10,000 staged files would otherwise be built twice, ~20 ms each time.
RawEntry = TouchedFile


class Diffs(Objects):
    # -- diffs --------------------------------------------------------------------------
    def diff_staged(self, base: str | None = None) -> list[RawEntry]:
        """The index against ``base`` (HEAD, the empty tree before the first commit, or
        HEAD's parent when the commit being made amends HEAD)."""
        return self._diff("diff-index", "--cached", base or self.head or self.empty_tree)

    def diff_worktree(self) -> list[RawEntry]:
        base = self.head or self.empty_tree
        return self._diff("diff-index", "--ignore-submodules=dirty", base)

    def diff_trees(self, a: str, b: str) -> list[RawEntry]:
        return self._diff("diff-tree", "-r", a, b)

    def _diff(self, cmd: str, *args: str) -> list[RawEntry]:
        return DiffJob(self, cmd, *args).entries()

    def _recount_forced_binary(self, cmd: str, args: Sequence[str],
                               entries: list[RawEntry]) -> list[RawEntry]:
        """Attributes (``-diff``, ``binary``) can make git call a text file binary and count
        0 lines, and an untracked .gitattributes or ``$GIT_DIR/info/attributes`` is local
        state no other machine sees. A file is binary only when its content is (git's own
        test: a NUL in the first 8000 bytes); a text file gets its lines counted."""
        binary = [e for e in entries if e.binary]
        if not binary:
            return entries
        blobs = self._blob_heads([b for e in binary for b in (e.old_blob, e.new_blob)
                                  if b.strip("0")])
        suspects = [e for e in binary if not self._content_is_binary(e, blobs)]
        if not suspects:
            return entries
        counts = {e.path: self._text_counts(cmd, args, e.path) for e in suspects}
        return [replace(e, added=counts[e.path][0], removed=counts[e.path][1],
                                    binary=False) if e in suspects else e for e in entries]

    def _text_counts(self, cmd: str, args: Sequence[str], path: str) -> tuple[int, int]:
        # --numstat ignores --text when an attribute says -diff (git 2.39), a patch does not;
        # its hunk headers carry the counts, and only they start with "@@" in a -U0 patch.
        out = self.git.out(cmd, "-p", "--text", "-U0", "--no-renames", "--no-ext-diff",
                           "--no-textconv", *args, "--", top_literal(path))
        added = removed = 0
        for m in _HUNK.finditer(out):
            removed += int(m.group(1) or b"1")
            added += int(m.group(2) or b"1")
        return added, removed

    def _content_is_binary(self, entry: RawEntry, blobs: Mapping[str, bytes | None]) -> bool:
        heads = [blobs.get(b) for b in (entry.old_blob, entry.new_blob) if b.strip("0")]
        if not entry.new_blob.strip("0") and entry.new_mode.startswith("100") and self.toplevel:
            heads.append(_file_head(os.path.join(self.toplevel, entry.path)))
        # Unknown (None: too big to read, unreadable): git's answer stands.
        return any(h is None or b"\0" in h for h in heads)

    def _blob_heads(self, oids: Sequence[str]) -> dict[str, bytes | None]:
        """The first bytes of each blob small enough to read (one batch-check, one batch)."""
        unique = list(dict.fromkeys(oids))
        out = self.git.out("cat-file", "--batch-check", input="".join(
            f"{o}\n" for o in unique).encode()).decode().splitlines()
        small = [f[0] for f in (line.split() for line in out)
                 if len(f) == 3 and int(f[2]) <= BINARY_CHECK_MAX_BYTES]
        found = self.cat_objects(small)
        return {o: (v[1][:BINARY_SNIFF_BYTES] if (v := found.get(o)) else None) for o in unique}

    def changed_paths(self, a: str, b: str) -> list[tuple[str, str]]:
        """(status letter, path) for every path whose content differs between trees a, b."""
        out = self.git.out("diff-tree", "-r", "--no-renames", "--name-status", "-z", a, b, "--")
        fields = zsplit(out)
        return [(fields[i].decode()[:1], fsdecode(fields[i + 1]))
                for i in range(0, len(fields) - 1, 2)]

    def diff_commits(self, pairs: Sequence[tuple[str, str | None]],
                     paths: Sequence[str] = (), lines: bool = True) -> dict[str, list[RawEntry]]:
        """Each commit against the one parent given (None: the empty tree) through one
        ``diff-tree --stdin``: commit -> what ``diff_trees(parent, commit)`` would give
        (limited to ``paths`` when given). ``lines=False``: the same entries with no line
        counts (every ``added`` and ``removed`` 0), from the trees alone: counting reads
        and diffs every blob, over a long history ten times git's own listing."""
        if not pairs:
            return {}
        stdin = "".join(f"{c} {p}\n" if p else f"{c}\n" for c, p in pairs)
        out = self.git.out("diff-tree", "--stdin", "--always", "--root", "-z", "-r", "--raw",
                           *(("--numstat",) if lines else ()), "--no-renames", "--no-ext-diff",
                           "--no-textconv", "--full-index",
                           *(("--", *map(top_literal, paths)) if paths else ()),
                           input=stdin.encode())
        return {c: parse_raw_numstat(b"\0".join(f) + b"\0" if f else b"")
                for c, f in _commit_blocks(out, [c for c, _ in pairs]).items()}

    def merge_own_entries(self, merges: Sequence[tuple[str, str | None]],
                          lines: bool = True) -> dict[str, list[RawEntry]]:
        """Each merge's own paths (``merge_own_paths``) as its first parent's diff shows them,
        lines counted for those paths only (``lines=False``: none counted).

        Counting lines over a merge's whole first-parent diff (the merged branch's work) to
        keep a few paths cost Flask's 1,725 merges 670 ms where the paths alone take 38 ms
        (issue 14); most merges change nothing of their own and need no diff at all."""
        own = self.merge_own_paths([m for m, _ in merges])
        wanted = [(m, p) for m, p in merges if own.get(m)]
        paths = sorted({path for m, _ in wanted for path in own[m]})
        # A pathspec per path, unless so many that the argv would grow unwieldy: then the
        # whole first-parent diffs of those few merges, filtered.
        limited = len(paths) <= MAX_PATHSPECS
        diffs = self.diff_commits(wanted, paths if limited else (), lines)
        result: dict[str, list[RawEntry]] = {m: [] for m, _ in merges}
        for m, _ in wanted:
            keep = set(own[m])
            result[m] = [e for e in diffs.get(m, ()) if e.path in keep]
        return result

    def merge_own_paths(self, merges: Sequence[str]) -> dict[str, list[str]]:
        """The paths each merge changed on its own, differing from every parent (git-diff-tree
        ``-c``): what a resolution added. ``git log`` shows none of them (no ``-m``)."""
        if not merges:
            return {}
        out = self.git.out("diff-tree", "--stdin", "--always", "-c", "--name-only", "-z", "-r",
                           "--no-ext-diff", input="".join(f"{m}\n" for m in merges).encode())
        return {c: [fsdecode(p) for p in f] for c, f in _commit_blocks(out, merges).items()}

    def patch_text(self, base: str, head: str, paths: Sequence[str]) -> str:
        """The ``-U0`` patch of ``paths`` between two commits (plumbing: no diff config)."""
        out = self.git.out("diff-tree", "-p", "-r", "-U0", "--no-renames", "--no-ext-diff",
                           "--no-textconv", "--full-index", base, head, "--",
                           *(top_literal(p) for p in paths))
        return fsdecode(out)

    def diff_tree_entries(self, old: str | None,
                          new: str) -> list[tuple[str, str, str, str]]:
        """(status, path, old blob, new blob) of every file that differs between two trees (or
        commits); ``old`` None diffs against the empty tree."""
        out = self.git.out("diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index",
                           old or self.empty_tree, new, "--")
        fields = zsplit(out)
        entries = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=True):
            _, _, old_blob, new_blob, status = meta.decode().split(" ")
            entries.append((status[:1], fsdecode(path), old_blob, new_blob))
        return entries



def _file_head(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(BINARY_SNIFF_BYTES)
    except OSError:
        return None


def parse_raw_numstat(out: bytes) -> list[RawEntry]:
    """Parse ``--raw --numstat -z --no-renames``: raw records first, then numstat records."""
    parser = RawNumstatParser()
    parser.feed(out)
    return parser.finish()


class DiffJob:
    """One ``--raw --numstat -z --no-renames`` diff, started now and read by ``entries``.

    A caller may start it before other work (``readahead``) so that git compares and counts
    while Python imports the engine; ``entries`` then streams the output. Never read, it is
    stopped by ``cancel``.
    """

    def __init__(self, repo: Diffs, cmd: str, *args: str) -> None:
        self.repo, self.cmd, self.args = repo, cmd, args
        self._argv = (cmd, "-z", "--raw", "--numstat", "--no-renames", "--no-ext-diff",
                      "--no-textconv", "--full-index", *args, "--")
        self._proc: subprocess.Popen[bytes] | None = repo.git.spawn(*self._argv)

    def entries(self) -> list[RawEntry]:
        proc, self._proc = self._proc, None
        if proc is None:
            raise GitError("a diff was read twice")
        parser = RawNumstatParser()
        self.repo.git.drain(proc, self._argv, parser.feed)
        return self.repo._recount_forced_binary(self.cmd, self.args, parser.finish())

    def cancel(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with proc:
                proc.kill()


class RawNumstatParser:
    """``--raw --numstat -z --no-renames`` output, parsed chunk by chunk as git writes it.

    Git writes every raw record first, as soon as it has compared the trees (10,000 staged
    files: after ~0.1 s), and the line counts only once it has counted them all (~0.4 s
    later): the raw records are parsed while git counts. The fields seen are exactly
    ``zsplit`` of the whole output, in order, and ``finish`` gives what parsing the whole
    output at once gives. Counts are keyed by the path's bytes (decoding is one-to-one).
    """

    def __init__(self) -> None:
        self._tail = b""                 # a field not yet ended by its NUL
        self._meta: str | None = None    # a raw record, waiting for its path (the next field)
        self._raw: list[tuple[str, bytes, str, str, str, str, str]] = []
        self._counts: dict[bytes, tuple[int, int, bool]] = {}

    def feed(self, chunk: bytes) -> None:
        fields = (self._tail + chunk if self._tail else chunk).split(b"\0")
        self._tail = fields.pop()
        self._take(fields)

    def _take(self, fields: list[bytes]) -> None:
        meta, raw, counts = self._meta, self._raw, self._counts
        for rec in fields:
            if meta is not None:
                old_mode, new_mode, old_blob, new_blob, status = meta.split(" ")
                raw.append((status[:1], rec, fsdecode(rec), old_mode, new_mode, old_blob,
                            new_blob))
                meta = None
            elif rec.startswith(b":"):
                meta = rec[1:].decode()
            else:
                plus, minus, name = rec.split(b"\t", 2)
                binary = plus == b"-"
                counts[name] = (0 if binary else int(plus), 0 if binary else int(minus),
                                binary)
        self._meta = meta

    def finish(self) -> list[RawEntry]:
        if self._tail:
            self._take([self._tail])
            self._tail = b""
        if self._meta is not None:
            raise GitError("git diff output ended inside a record (truncated)")
        entries = []
        counts = self._counts
        for status, raw_path, path, old_mode, new_mode, old_blob, new_blob in self._raw:
            added, removed, is_binary = counts.get(raw_path, (0, 0, False))
            entries.append(RawEntry(status=status, path=path, old_mode=old_mode,
                                    new_mode=new_mode, old_blob=old_blob, new_blob=new_blob,
                                    added=added, removed=removed, binary=is_binary))
        return entries


def _commit_blocks(out: bytes, commits: Sequence[str]) -> dict[str, list[bytes]]:
    """Split ``diff-tree --stdin -z`` output into commit -> its records.

    Blocks come in the order the commits were asked for, each starting with the bare commit
    id. A raw record (``:``...) is followed by its path, which may look like anything, so it
    is taken with its record; only the next expected id starts the next block.
    """
    blocks: dict[str, list[bytes]] = {c: [] for c in commits}
    pending = iter(commits)
    expected = next(pending, None)
    current: list[bytes] = []
    fields = zsplit(out)
    i = 0
    while i < len(fields):
        rec = fields[i]
        if rec.startswith(b":"):
            current.extend(fields[i:i + 2])
            i += 2
            continue
        if expected is not None and rec == expected.encode():
            current = blocks[expected]
            expected = next(pending, None)
        else:
            current.append(rec)
        i += 1
    return blocks
