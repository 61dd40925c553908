"""How a stale proof is described: which paths differ from what the run saw, and why (edited
after the run, edited before it but not staged, or reverted since), so the hint names the fix
that works (``git add`` for an unstaged edit, another run otherwise)."""
from __future__ import annotations

import shlex

from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.proof.records import ProofRecord

VERBS = {"A": "added", "D": "deleted", "M": "edited", "T": "edited"}
MAX_NAMED_PATHS = 3


def describe_changes(changes: tuple[tuple[str, str], ...]) -> str:
    if changes[0][0] == "?":
        return "its content left the object database (git gc), so it cannot be compared"
    parts = [f"{display_path(p)} was {VERBS.get(s, 'changed')}"
             for s, p in changes[:MAX_NAMED_PATHS]]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    more = len(changes) - MAX_NAMED_PATHS
    return text + (f" (and {more} more path{'s' if more != 1 else ''})" if more > 0 else "")


def stale_wording(repo: Repo, run: ProofRecord, changes: tuple[tuple[str, str], ...],
                  again: str, *, index: bool, local: bool, tree: str, base: str) -> \
        tuple[str, str]:
    """The detail and the hint of a stale proof, in the words of what actually happened: an
    edit made after the run, one the run saw but that is not staged, or one since reverted."""
    detail = f"{run.name} ran before {describe_changes(changes)}"
    hint = f"run it again on this content: {again}"
    if changes[0][0] == "?":
        detail = f"{run.name} ran on other content: {describe_changes(changes)}"
    elif local:
        unstaged, reverted = _how_it_differs(repo, run, changes, index, tree, base)
        if unstaged and len(unstaged) == len(changes):
            # The tests ran on the working tree; the edit they saw is simply not staged yet.
            shown = " ".join(shlex.quote(display_path(p)) for p in unstaged[:MAX_NAMED_PATHS])
            detail = (f"{run.name} ran on the working tree, where "
                      f"{_names(unstaged)} differ{'s' if len(unstaged) == 1 else ''} from "
                      "what is staged")
            hint = f"stage what it ran on: git add -- {shown}"
            if len(unstaged) > MAX_NAMED_PATHS:
                hint = "stage what it ran on: git add -u"
        elif reverted and len(reverted) == len(changes):
            detail = (f"{run.name} ran on an edit of {_names(reverted)} that this change no "
                      "longer has (reverted since)")
    if index and not hint.startswith("stage"):
        hint += " (prove runs on the working tree: stage what you commit first)"
    return detail, hint


def _names(paths: list[str]) -> str:
    shown = [display_path(p) for p in paths[:MAX_NAMED_PATHS]]
    more = len(paths) - len(shown)
    return ", ".join(shown) + (f" (and {more} more)" if more > 0 else "")


def _how_it_differs(repo: Repo, run: ProofRecord, changes: tuple[tuple[str, str], ...],
                    index: bool, tree: str, base: str) -> tuple[list[str], list[str]]:
    """Of the paths where the run's content and the checked content differ: those whose
    working-tree copy is what the run saw (an unstaged edit), and those the checked content
    has as at the base (an edit the run saw, since reverted). Only on the stale path: it
    costs a tree of the working tree."""
    paths = [p for _, p in changes]
    worktree = repo.worktree_tree() if index else None
    unstaged: list[str] = []
    reverted: list[str] = []
    for p in paths:
        seen = _blob(repo, run.tree, p)
        if worktree is not None and _blob(repo, worktree, p) == seen:
            unstaged.append(p)
        elif base and _blob(repo, tree, p) == _blob(repo, base, p):
            reverted.append(p)
    return unstaged, reverted


def _blob(repo: Repo, where: str, path: str) -> str | None:
    entry = repo.blob_entry(where, path)
    return entry.oid if entry is not None else None
