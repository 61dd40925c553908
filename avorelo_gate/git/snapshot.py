"""Where a check reads its task and policy files from: the index, a commit, or the disk.

For ``--staged`` the index is what will be committed (a partially staged task file counts as
staged, not as edited); for commits and ranges it is the commit itself.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import EnvironmentFailure
from avorelo_gate.files.digest import sha1, sha256
from avorelo_gate.git.repo import Repo

INDEX = ":"
WORKTREE = "WORKTREE"


def blob_id(data: bytes, object_format: str = "sha1") -> str:
    """git's object id for ``data`` as a blob (only the working tree's files need hashing
    here; git hashes the rest)."""
    header = b"blob %d\0" % len(data)
    hasher = sha256 if object_format == "sha256" else sha1
    return hasher(header + data).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """One state of the repository to read files from: a commit, the index or the working tree."""

    repo: Repo
    rev: str          # INDEX, WORKTREE or a commit id

    @property
    def label(self) -> str:
        return {INDEX: "index", WORKTREE: "working tree"}.get(self.rev, self.rev[:12])

    def read(self, paths: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        """path -> (blob id, content) for the paths that exist here as files."""
        paths = list(dict.fromkeys(paths))
        if self.rev == WORKTREE:
            return self._read_disk(paths)
        prefix = ":" if self.rev == INDEX else f"{self.rev}:"
        found = self.repo.cat_objects([prefix + p for p in paths])
        return {p: v for p in paths if (v := found[prefix + p]) is not None}

    def _read_disk(self, paths: list[str]) -> dict[str, tuple[str, bytes]]:
        top = self.repo.toplevel or ""
        result = {}
        for p in paths:
            full = os.path.join(top, p)
            try:
                with open(full, "rb") as f:
                    data = f.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            except OSError as e:
                raise EnvironmentFailure(f"{p}: cannot read: {e.strerror}") from e
            result[p] = (blob_id(data, self.repo.object_format), data)
        return result
