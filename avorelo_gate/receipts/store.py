"""Receipts on the notes ref: reading them in bulk and writing them without losing any.

Reading costs two processes whatever the number of commits (``git notes list`` and one
``cat-file --batch``). Writing holds the lock in ``locking`` (``git notes add`` has no
compare-and-swap) and retries when another git process holds the ref's own lock.
"""
from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from avorelo_gate.errors import EnvironmentFailure
from avorelo_gate.files.locking import hold_lock
from avorelo_gate.git.repo import Repo

NOTES_REF = "refs/notes/avorelo"
LOCK_NAME = "notes.lock"
LOCK_RETRIES = 8
FETCH_HINT = (f"fetch receipts with: git fetch origin '+{NOTES_REF}:{NOTES_REF}' (or add that "
              "refspec to remote.origin.fetch)")
SHARE_HINT = (f"share receipts with: git push <remote> {NOTES_REF}; fetch them with the refspec "
              f"+{NOTES_REF}:{NOTES_REF}")


def lock_path(repo: Repo) -> str:
    # The notes ref is shared by every worktree, so its lock lives in the common directory.
    return os.path.join(repo.common_state_dir(), LOCK_NAME)


def write_notes(repo: Repo, notes: Mapping[str, bytes]) -> None:
    """Attach each note to its commit, replacing any note already there."""
    if not notes:
        return
    with hold_lock(lock_path(repo)):
        for commit, data in notes.items():
            _add_note(repo, commit, data)


def _add_note(repo: Repo, commit: str, data: bytes) -> None:
    for attempt in range(LOCK_RETRIES):
        if repo.add_note(NOTES_REF, commit, data):
            return
        time.sleep(0.05 * (attempt + 1))
    raise EnvironmentFailure(
        f"{NOTES_REF}: the ref stayed locked by another git process; the receipt of "
        f"{commit[:12]} was not written. To fix: avorelo-gate receipt record {commit[:12]}")


def read_notes(repo: Repo, commits: Sequence[str]) -> dict[str, bytes | None]:
    """commit -> its note's bytes, or None when it has none."""
    return read_note_blobs(repo, commits, note_blobs(repo, commits))


def note_blobs(repo: Repo, commits: Sequence[str]) -> dict[str, str]:
    """The commits that have a note, in the order given: commit -> the note's blob id."""
    listing = repo.notes_list(NOTES_REF)
    return {c: listing[c] for c in commits if c in listing}


def read_note_blobs(repo: Repo, commits: Sequence[str],
                    blobs: Mapping[str, str]) -> dict[str, bytes | None]:
    """``read_notes`` with the listing (``note_blobs``) already made."""
    found = repo.cat_objects(sorted(set(blobs.values())))
    result: dict[str, bytes | None] = {}
    for commit in commits:
        entry = found.get(blobs.get(commit, ""))
        result[commit] = entry[1] if entry is not None else None
    return result


def has_notes_ref(repo: Repo) -> bool:
    return repo.ref_commit(NOTES_REF) is not None


# Receipts follow `commit --amend` and rebase (git copies the old commit's note to the new
# one; the post-rewrite hook then replaces the copy with the new commit's own receipt).
REWRITE_CONFIG = (("notes.rewrite.amend", "true"), ("notes.rewrite.rebase", "true"))


def configure_notes(repo: Repo) -> list[str]:
    """Set the rewrite config; ``notes.rewriteRef`` is multi-valued, so add ours beside any
    others the user already has rather than replacing them."""
    done = []
    if NOTES_REF not in repo.config_get_all("notes.rewriteRef"):
        repo.config_add("notes.rewriteRef", NOTES_REF)
    done.append(f"notes.rewriteRef={NOTES_REF}")
    for key, value in REWRITE_CONFIG:
        repo.config_set(key, value)
        done.append(f"{key}={value}")
    return done
