"""Pending receipts on disk: the verdict commit-msg computed, waiting for post-commit.

Kept apart from ``recording`` (which imports the engine to record afresh) so that the hooks
with nothing to decide, prepare-commit-msg clearing abandoned ones and post-commit attaching
a finished one, start without the engine, YAML or the task machinery (issue 14).
"""
from __future__ import annotations

import contextlib
import json
import os
import time

from avorelo_gate.files.digest import sha256

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    from avorelo_gate.git.repo import Repo

PENDING = "pending"
# The first line of ``<tree>.sh``, the receipt as the post-commit shell script reads it
# (recording._leave_for_shell; adopt/hook_scripts.py).
SHELL_PENDING = b"avorelo-pending-shell 1"
# commit-msg and post-commit run seconds apart in one `git commit`; an older pending receipt
# belongs to a commit that never happened.
MAX_PENDING_AGE = 3600.0


def pending_dir(repo: Repo) -> str:
    # Per worktree: two worktrees committing at once never see each other's pending receipts.
    return os.path.join(repo.state_dir(), PENDING)


def clear_pending(repo: Repo) -> None:
    """Forget every pending receipt (a new commit starts; earlier ones were abandoned)."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for name in os.listdir(pending_dir(repo)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(pending_dir(repo), name))


def take_pending(repo: Repo, tree: str, base: str | None) -> dict[str, Any] | None:
    """The pending predicate made for this tree on this parent, if fresh; clears the rest."""
    path = os.path.join(pending_dir(repo), f"{tree}.json")
    try:
        age = time.time() - os.stat(path).st_mtime
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        doc, age = None, 0.0
    clear_pending(repo)
    if not isinstance(doc, dict) or doc.get("tree") != tree or doc.get("base") != base:
        return None
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict) or age > MAX_PENDING_AGE:
        return None
    # commit-msg checked this predicate makes a receipt that verifies; a file that is not
    # byte for byte what it wrote (torn, edited) is not attached.
    return predicate if doc.get("sha256") == predicate_digest(predicate) else None


def predicate_digest(predicate: Any) -> str | None:
    from avorelo_gate.receipts.build import canonical_bytes

    try:
        return sha256(canonical_bytes(predicate)).hexdigest()
    except (TypeError, ValueError):   # not JSON-serialisable as written (edited by hand)
        return None
