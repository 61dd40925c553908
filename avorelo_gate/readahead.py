"""The staged diff, asked of git before the engine is imported.

``check --staged`` on 10,000 staged files spends ~0.5 s waiting for git's line counts, and
Python spends ~40 ms importing the engine and reading the task and policy before it asks for
them. Started first, the diff runs while Python does the rest: ``ReadAheadRepo.diff_staged``
hands over that diff (the same git command, started a few milliseconds earlier) when the
engine asks for exactly it, and asks git afresh for anything else.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from avorelo_gate.git import DiffJob, RawEntry, Repo


class _Pending:
    """The diff started for ``base``; taken once, or cancelled."""

    def __init__(self, base: str, job: DiffJob) -> None:
        self.base: str | None = base
        self.job: DiffJob | None = job

    def take(self, base: str) -> DiffJob | None:
        job, self.job = self.job, None
        if job is not None and base != self.base:
            job.cancel()
            return None
        return job

    def cancel(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.cancel()


@dataclass(frozen=True)
class ReadAheadRepo(Repo):
    pending: _Pending | None = None

    def diff_staged(self, base: str | None = None) -> list[RawEntry]:
        job = self.pending.take(base or self.head or self.empty_tree) if self.pending else None
        return job.entries() if job is not None else super().diff_staged(base)


@contextlib.contextmanager
def staged_read_ahead(repo: Repo) -> Iterator[Repo]:
    """``repo``, with ``git diff-index --cached`` against HEAD already running."""
    if repo.bare or not repo.toplevel:
        yield repo  # no index to diff: the engine says so in its own words
        return
    base = repo.head or repo.empty_tree
    pending = _Pending(base, DiffJob(repo, "diff-index", "--cached", base))
    try:
        yield ReadAheadRepo(git=repo.git, git_dir=repo.git_dir, common_dir=repo.common_dir,
                            bare=repo.bare, shallow=repo.shallow,
                            object_format=repo.object_format, toplevel=repo.toplevel,
                            head=repo.head, pending=pending)
    finally:
        pending.cancel()
