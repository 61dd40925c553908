"""The plain core of the ``receipt`` commands: typed arguments in, text and an exit code out
(cli.py only prints them)."""
from __future__ import annotations

import sys
from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import ExitCode
from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.build import signing_key
from avorelo_gate.receipts.parse import ReceiptInvalid, parse_receipt
from avorelo_gate.receipts.recording import record, summary
from avorelo_gate.receipts.report import (
    DEFAULT_LIST_COUNT,
    list_line,
    select_commits,
    show_text,
    verify_exit,
    verify_json,
    verify_text,
)
from avorelo_gate.receipts.store import FETCH_HINT, has_notes_ref, read_notes
from avorelo_gate.receipts.verify import verify_commits


@dataclass(frozen=True)
class Printed:
    out: str
    err: str = ""
    code: int = 0

    def emit(self) -> int:
        sys.stdout.write(self.out)
        sys.stdout.flush()
        sys.stderr.write(self.err)
        return self.code


def show(repo: Repo, rev: str | None, fmt: str, environ: Mapping[str, str]) -> Printed:
    commit = repo.resolve(rev or "HEAD")
    note = read_notes(repo, [commit])[commit]
    if note is None:
        hint = FETCH_HINT if not has_notes_ref(repo) else (
            f"record one: avorelo-gate receipt record {commit[:12]}")
        return Printed("", f"avorelo-gate: {commit[:12]}: receipt-missing: no receipt. "
                           f"To fix: {hint}\n", int(ExitCode.VIOLATIONS))
    try:
        statement = parse_receipt(note)
    except ReceiptInvalid as e:
        return Printed("", f"avorelo-gate: {commit[:12]}: receipt-invalid: {e}\n",
                       int(ExitCode.VIOLATIONS))
    if fmt == "json":
        return Printed(note.decode("utf-8").rstrip("\n") + "\n")
    return Printed(show_text(statement, signing_key(environ)))


def list_receipts(repo: Repo, spec: str | None, count: int | None) -> Printed:
    # A range lists all of it; one revision (HEAD by default) lists its last 20 commits.
    if count is None and not (spec and ".." in spec):
        count = DEFAULT_LIST_COUNT
    commits = select_commits(repo, spec, count)
    notes = read_notes(repo, commits)
    lines = [list_line(c, notes[c]) for c in commits]
    err = "" if has_notes_ref(repo) or not commits else f"avorelo-gate: note: {FETCH_HINT}\n"
    return Printed("".join(line + "\n" for line in lines), err)


def verify(repo: Repo, spec: str | None, fmt: str, environ: Mapping[str, str]) -> Printed:
    results = verify_commits(repo, select_commits(repo, spec, None), environ)
    text = verify_json(results) if fmt == "json" else verify_text(results)
    return Printed(text, "", verify_exit(results))


def record_receipt(repo: Repo, rev: str | None, environ: Mapping[str, str]) -> Printed:
    statement = record(repo, [repo.resolve(rev or "HEAD")], environ)[0]
    return Printed(f"recorded receipt {summary(statement)} in refs/notes/avorelo\n")


def after_prove(repo: Repo) -> str:
    """After a passing ``prove`` on HEAD's own content (e.g. after a rebase made HEAD's
    proof stale): a receipt that recorded a proof failure is only replaced when asked."""
    if repo.head is None or not repo.toplevel:
        return ""
    note = read_notes(repo, [repo.head])[repo.head]
    try:
        predicate = parse_receipt(note)["predicate"] if note is not None else None
    except ReceiptInvalid:
        return ""
    if predicate is None or predicate["verdict"] == "pass" or not any(
            v["rule"].startswith("proof-") for v in predicate["violations"]):
        return ""
    if repo.worktree_tree() != repo.tree_of(repo.head):
        return ""  # the run proved other content than HEAD's: nothing to re-record
    return (f"avorelo-gate: HEAD ({repo.head[:12]}) has a receipt that records fail from "
            "before this run, which ran on HEAD's content: record it again: "
            "avorelo-gate receipt record\n")
