"""The staged diff pre-commit computed, reused by commit-msg for the same index (issue 14).

One ``git commit`` runs pre-commit and then commit-msg on the same index; both need the
staged diff with line counts (for 2,000 staged files, most of a check's time). pre-commit
leaves it in the local state directory keyed by everything git's answer depends on, and
commit-msg takes it only when that key is unchanged; anything else asks git again.

Only the diff's facts are kept, never a verdict: the task, the policy, the environment and
the message are read afresh by commit-msg, so whatever rules decide the task, they judge
the same entries git would give (``tests/test_fast_path.py``).

The key: the index file's bytes (the staged entries, whatever ``GIT_INDEX_FILE`` names: git
points hooks at its ``index.lock``), the base commit, and the identity (size, mtime, inode)
of the files that hold the repository's own attributes at the top (``.gitattributes``,
``$GIT_DIR/info/attributes``), which can make git count a file as binary or text.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.files.digest import sha256
from avorelo_gate.git.diff import RawEntry
from avorelo_gate.git.paths import fsdecode, fsencode
from avorelo_gate.git.repo import ObjectsReadAhead, Repo

CACHE_NAME = "staged-diff"
VERSION = 1


def cache_key(repo: Repo, base: str) -> str | None:
    """None when the index cannot be read (no cache then)."""
    h = sha256(f"v{VERSION}\0{base}\0".encode())
    try:
        with open(_index_path(repo), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    for path in _attribute_files(repo):
        try:
            st = os.stat(path)
            h.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}".encode())
        except OSError:
            h.update(f"\0{path}\0-".encode())
    return h.hexdigest()


def _index_path(repo: Repo) -> str:
    named = repo.git.env.get("GIT_INDEX_FILE")
    if named:
        return os.path.join(repo.git.cwd, named)   # git reads a relative one from its cwd
    return os.path.join(repo.git_dir, "index")


def _attribute_files(repo: Repo) -> list[str]:
    files = [os.path.join(repo.common_dir, "info", "attributes")]
    if repo.toplevel:
        files.append(os.path.join(repo.toplevel, ".gitattributes"))
    return files


def _cache_path(repo: Repo) -> str:
    return os.path.join(repo.state_dir(), CACHE_NAME)


FIELDS = 9   # a RawEntry's fields, in order


def save(repo: Repo, base: str, entries: Sequence[RawEntry]) -> None:
    """Best effort: a cache that cannot be written is a cache miss later, nothing more.

    NUL-separated fields (a git path holds no NUL; its bytes are kept exactly): no JSON on
    the pre-commit path, which runs on every commit."""
    key = cache_key(repo, base)
    if key is None:
        return
    out = bytearray(key.encode() + b"\0")
    for e in entries:
        out += b"\0".join((e.status.encode(), fsencode(e.path), e.old_mode.encode(),
                           e.new_mode.encode(), e.old_blob.encode(), e.new_blob.encode(),
                           b"%d" % e.added, b"%d" % e.removed, b"1" if e.binary else b"0"))
        out += b"\0"
    path = _cache_path(repo)
    tmp = f"{path}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(out)
        os.replace(tmp, path)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def load(repo: Repo, base: str) -> list[RawEntry] | None:
    """The entries pre-commit saw, when the index, base and attributes are unchanged."""
    try:
        with open(_cache_path(repo), "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.split(b"\0")
    if len(fields) < 2 or fields.pop() != b"" or (len(fields) - 1) % FIELDS:
        return None
    if fields[0].decode("ascii", "replace") != cache_key(repo, base):
        return None
    try:
        return [_entry(fields[i:i + FIELDS]) for i in range(1, len(fields), FIELDS)]
    except ValueError:
        return None


def _entry(row: list[bytes]) -> RawEntry:
    status, path, old_mode, new_mode, old_blob, new_blob, added, removed, binary = row
    if binary not in (b"0", b"1"):
        raise ValueError("malformed cache entry")
    return RawEntry(status=status.decode(), path=fsdecode(path), old_mode=old_mode.decode(),
                    new_mode=new_mode.decode(), old_blob=old_blob.decode(),
                    new_blob=new_blob.decode(), added=int(added), removed=int(removed),
                    binary=binary == b"1")


@dataclass(frozen=True)
class CachedStagedRepo(ObjectsReadAhead):
    """``repo`` answering the staged diff from pre-commit's cache when it is still valid,
    and the reads it was handed in bulk (``read_ahead``) from that one answer."""

    def diff_staged(self, base: str | None = None) -> list[RawEntry]:
        wanted = base or self.head or self.empty_tree
        cached = load(self, wanted)
        return cached if cached is not None else super().diff_staged(base)


def with_cache(repo: Repo, read_ahead: Sequence[str] = ()) -> Repo:
    if repo.bare or not repo.toplevel:
        return repo
    return CachedStagedRepo(git=repo.git, git_dir=repo.git_dir, common_dir=repo.common_dir,
                            bare=repo.bare, shallow=repo.shallow,
                            object_format=repo.object_format, toplevel=repo.toplevel,
                            head=repo.head, hooks=repo.hooks,
                            objects=repo.cat_objects(list(dict.fromkeys(read_ahead))))
