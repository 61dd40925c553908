"""Proof for commits already made: what their receipts recorded.

Proof records are local (``prove`` writes them in the committer's git directory), so a CI
runner or a teammate's pre-push has none for somebody else's commits. What travels with a
commit is its receipt: at commit time the gate judged each requirement fresh or not against
exactly the staged tree, which is the commit's tree. Where the local evaluation cannot show a
requirement (missing, stale, ...) but the commit's receipt recorded it ``ok`` for this very
commit and tree, the receipt's result counts, marked as such. Receipts are as trustworthy as
the notes ref they come from: ``receipts: {signed: true}`` makes that an HMAC away from forgery,
and ``receipt verify`` (demanded by ``receipts: {required: true}``) rejects any edited one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.parse import parse_receipt
from avorelo_gate.receipts.store import read_notes
from avorelo_gate.result import CheckResult, ProofStatus


def recorded_ok(note: bytes | None, commit: str, tree: str) -> dict[str, Mapping[str, Any]]:
    """requirement -> its recorded result, for the ``ok`` ones of a receipt made for exactly
    this commit and tree; nothing at all for a note that is not such a receipt."""
    if note is None:
        return {}
    try:
        statement = parse_receipt(note)
    except Exception:
        return {}
    subject = statement["subject"][0]["digest"]
    if subject.get("gitCommit") != commit or subject.get("gitTree") != tree:
        return {}
    return {p["requirement"]: p for p in statement["predicate"].get("proof") or ()
            if isinstance(p, dict) and p.get("status") == "ok"}


def credit(result: CheckResult, recorded: Mapping[str, Mapping[str, Any]],
           commit: str) -> CheckResult:
    """The result with every non-ok requirement that the receipt recorded ok counted ok."""
    credited = {p.requirement for p in result.proof
                if p.status != "ok" and p.requirement in recorded}
    if not credited:
        return result
    # Only here: the proof checker brings the JUnit and artifact readers, which pre-push and
    # `ci` need only when a receipt is credited (issue 14).
    from avorelo_gate.proof.check import is_violation_for

    proof = tuple(
        ProofStatus(p.requirement, "ok",
                    f"recorded ok in the receipt of {commit[:12]} (no local record here)",
                    recorded[p.requirement].get("counts"),
                    recorded[p.requirement].get("sha256"),
                    recorded[p.requirement].get("tree"))
        if p.requirement in credited else p
        for p in result.proof)
    violations = tuple(v for v in result.violations
                       if not any(is_violation_for(v, r) for r in credited))
    return replace(result, proof=proof, violations=violations)


def credit_from_receipts(repo: Repo, results: Sequence[CheckResult],
                         commits: Sequence[str]) -> tuple[CheckResult, ...]:
    """``results[i]`` is the check of ``commits[i]`` (or of a range ending there)."""
    wanting = [i for i, r in enumerate(results) if any(p.status != "ok" for p in r.proof)]
    if not wanting:
        return tuple(results)
    shas = list(dict.fromkeys(commits[i] for i in wanting))
    notes = read_notes(repo, shas)
    trees = repo.trees_of(shas)
    out = list(results)
    for i in wanting:
        sha = commits[i]
        out[i] = credit(results[i], recorded_ok(notes.get(sha), sha, trees[sha]), sha)
    return tuple(out)
