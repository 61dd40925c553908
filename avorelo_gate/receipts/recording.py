"""Recording receipts: pending at commit-msg, attached at post-commit, re-anchored after a
rewrite, or recorded afresh from a commit (``receipt record``).

commit-msg does not know the commit id yet, so it leaves the verdict it computed in
``<git-path avorelo>/pending/<tree>.json``; post-commit attaches it when HEAD's tree and parent
are the ones it was made for. Anything else (a hook skipped or killed, ``--no-verify``, a
rebase) is recorded afresh from the commit itself: same engine, same verdict.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from avorelo_gate.errors import BadInputError, GateError
from avorelo_gate.receipts.build import (
    KEY_ENV,
    build_predicate,
    build_statement,
    canonical_bytes,
    encode_receipt,
    receipt_time,
    sign_statement,
    signing_key,
    subject_of,
)
from avorelo_gate.receipts.model import disagreement, read_local_model
from avorelo_gate.receipts.pending import (
    SHELL_PENDING,
    clear_pending,
    pending_dir,
    predicate_digest,
    take_pending,
)
from avorelo_gate.receipts.store import read_notes, write_notes

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    from avorelo_gate.gate.assemble import Checked, CheckRequest
    from avorelo_gate.git.repo import Repo

# The engine (gate.assemble) and the strict receipt parser are imported only where a verdict
# is computed afresh or a receipt read: post-commit attaching commit-msg's verdict needs none
# of them (issue 14).
__all__ = ["clear_pending", "leave_pending", "pending_dir", "post_commit", "post_rewrite",
           "record", "record_statement", "take_pending"]


def _say(message: str) -> None:
    sys.stderr.write(f"avorelo-gate: {message}\n")


def leave_pending(repo: Repo, req: CheckRequest, checked: Checked,
                  environ: Mapping[str, str]) -> None:
    """commit-msg, after a passing verdict. A failure here never blocks the commit:
    post-commit records afresh from the commit when no pending receipt is found."""
    from avorelo_gate.files.atomic import write_atomic
    from avorelo_gate.gate.assemble import allow_policy_change

    try:
        tree = repo.write_index_tree()
        predicate = build_predicate(checked, allow_policy_change(req, environ),
                                    receipt_time(environ), read_local_model(repo, checked.task))
        _warn_model(predicate)
        # Checked here, where the parser costs nothing more, rather than at post-commit: a
        # pending receipt that would not verify is never left (post-commit then records one
        # afresh); post-commit checks only that the file is the one written here.
        if not _well_formed(finish("0" * len(tree), tree, predicate, environ)):
            _say("warning: no pending receipt (it would not verify); post-commit will "
                 "record one from the commit")
            return
        doc = {"tree": tree, "base": checked.change.base_commit, "predicate": predicate,
               "sha256": predicate_digest(predicate)}
        # Not fsynced: a pending receipt lives from here to post-commit, and git does not
        # fsync the commit's own loose objects either (core.fsync's default), so a power cut
        # that lost this file would lose the commit with it. Four fsyncs cost a commit ~10 ms.
        write_atomic(os.path.join(pending_dir(repo), f"{tree}.json"), canonical_bytes(doc),
                     durable=False)
        _leave_for_shell(repo, tree, checked.change.base_commit, predicate, environ)
        _warn_unsigned(checked, environ)
    except GateError as e:
        _say(f"warning: no pending receipt ({e}); post-commit will record one from the commit")


def _leave_for_shell(repo: Repo, tree: str, base: str | None, predicate: Mapping[str, Any],
                     environ: Mapping[str, str]) -> None:
    """The same receipt as lines the post-commit shell script attaches without starting
    Python (``adopt/hook_scripts.py``): its exact bytes before, between and after the two
    places the commit id goes, which only post-commit knows. Unsigned receipts only: a
    signature covers the commit id, and signing is post_commit's, in Python."""
    from avorelo_gate.files.atomic import write_atomic

    if signing_key(environ):
        return
    token = os.urandom(16).hex()    # 32 hex digits: no object id's length, found nowhere else
    parts = canonical_bytes(finish(token, tree, predicate, environ)).split(token.encode())
    if len(parts) != 3 or any(b"\n" in part for part in parts):
        return                      # post_commit then attaches it, in Python
    lines: list[bytes] = [SHELL_PENDING, (base or "-").encode(), *parts,
                          said(predicate).encode()]
    write_atomic(os.path.join(pending_dir(repo), f"{tree}.sh"), b"\n".join(lines) + b"\n",
                 durable=False)   # as the JSON beside it (leave_pending)


def finish(commit: str, tree: str, predicate: Mapping[str, Any],
           environ: Mapping[str, str]) -> dict[str, Any]:
    return sign_statement(build_statement(commit, tree, predicate), signing_key(environ))


def record_statement(repo: Repo, commit: str, environ: Mapping[str, str],
                     just_made: bool = False) -> dict[str, Any]:
    """A receipt computed afresh from the commit and the task it declares; the routed and
    observed model only for the commit just made (not for history recorded later)."""
    from avorelo_gate.gate.assemble import CheckRequest, allow_policy_change, check_request

    req = CheckRequest(mode="commit", rev=commit)
    checked = check_request(repo, req, environ)
    predicate = build_predicate(checked, allow_policy_change(req, environ),
                                receipt_time(environ),
                                read_local_model(repo, checked.task) if just_made else None)
    _warn_unsigned(checked, environ)
    return finish(commit, repo.tree_of(commit), predicate, environ)


def _warn_unsigned(checked: Checked, environ: Mapping[str, str]) -> None:
    if checked.policy.receipts_signed and not signing_key(environ):
        _say(f"warning: the policy demands signed receipts but {KEY_ENV} is not set: this "
             "receipt is unsigned and `receipt verify` will reject it")


def _warn_model(predicate: Mapping[str, Any]) -> None:
    mismatch = disagreement(predicate.get("model"))
    if mismatch:
        _say(f"warning: {mismatch}")


def record(repo: Repo, commits: Sequence[str], environ: Mapping[str, str],
           just_made: bool = False) -> list[dict[str, Any]]:
    """Record afresh and attach (replacing) the receipts of ``commits``."""
    statements = [record_statement(repo, c, environ, just_made) for c in commits]
    write_notes(repo, {subject_of(s)[0]: encode_receipt(s) for s in statements})
    return statements


def said(predicate: Mapping[str, Any]) -> str:
    task = (predicate.get("task") or {}).get("id") or "no task"
    return f"{predicate['verdict']} ({task})"


def summary(statement: Mapping[str, Any]) -> str:
    return f"{subject_of(statement)[0][:12]} {said(statement['predicate'])}"


# -- the hooks --------------------------------------------------------------------------------
def post_commit(args: list[str], environ: Mapping[str, str]) -> int:
    from avorelo_gate.git.repo import open_repo

    repo = open_repo(environ=environ)
    head = repo.head
    if head is None:
        return 0
    tree, parents = repo.tree_and_parents(head)
    predicate = take_pending(repo, tree, parents[0] if parents else None)
    statement = finish(head, tree, predicate, environ) if predicate is not None else None
    if statement is not None:
        write_notes(repo, {head: encode_receipt(statement)})
        how = "the commit-msg verdict"
    else:
        statement = record(repo, [head], environ, just_made=True)[0]
        how = "recorded from the commit"
    _say(f"receipt {summary(statement)} attached to refs/notes/avorelo ({how})")
    return 0


def post_rewrite(args: list[str], environ: Mapping[str, str],
                 stdin: bytes | None = None) -> int:
    """Re-anchor receipts on rewritten commits: ``notes.rewriteRef`` copies the old commit's
    receipt (its subject the old commit) onto the new one; record the new commit's own."""
    from avorelo_gate.git.repo import open_repo

    data = sys.stdin.buffer.read() if stdin is None else stdin
    rewritten = parse_rewrites(data)
    if not rewritten:
        return 0
    repo = open_repo(environ=environ)
    notes = read_notes(repo, rewritten)
    stale = [c for c in rewritten if not _anchored(c, notes[c])]
    statements = record(repo, stale, environ)
    if stale:
        _say(f"re-anchored {len(stale)} receipt(s) on the rewritten commits")
    for statement in statements:
        say_failed(statement)
    return 0


def say_failed(statement: Mapping[str, Any]) -> None:
    """A rewritten commit is new content: proof that ran on the old one is stale. Say what
    to do, and that the receipt is only re-recorded when asked (``receipt record``)."""
    p = statement["predicate"]
    if p["verdict"] == "pass" or not p["violations"]:
        return
    commit = subject_of(statement)[0][:12]
    first = p["violations"][0]
    fix = f"{first['hint']}, then " if first.get("hint") else "fix it, then "
    _say(f"receipt {commit} records fail ({first['rule']}: {first['message']}). To fix: "
         f"{fix}record it again: avorelo-gate receipt record {commit}")


def parse_rewrites(data: bytes) -> list[str]:
    """The new commits of git's ``<old> <new> [<extra>]`` lines, each once, in order."""
    from avorelo_gate.task.schema import HEX_ID

    new: list[str] = []
    for line in data.decode("ascii", "replace").splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not all(HEX_ID.match(f) for f in fields[:2]):
            raise BadInputError(f"hook post-rewrite: expected '<old> <new>' object ids on "
                                f"stdin, got {line[:80]!r}")
        if fields[0] != fields[1] and fields[1] not in new:
            new.append(fields[1])
    return new


def _well_formed(statement: Mapping[str, Any]) -> bool:
    """Never leave a pending receipt that would not verify."""
    from avorelo_gate.receipts.parse import ReceiptInvalid, parse_receipt

    try:
        parse_receipt(encode_receipt(statement))
    except ReceiptInvalid:
        return False
    return True


def _anchored(commit: str, note: bytes | None) -> bool:
    """The note is already this commit's own receipt (post-commit wrote it, nothing copied)."""
    from avorelo_gate.receipts.parse import ReceiptInvalid, parse_receipt

    if note is None:
        return False
    try:
        return subject_of(parse_receipt(note))[0] == commit
    except ReceiptInvalid:
        return False
