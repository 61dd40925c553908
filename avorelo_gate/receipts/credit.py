"""Proof for commits already made: what their receipts recorded, admitted as evidence.

Proof records are local (``prove`` writes them in the committer's git directory), so a CI
runner or a teammate's pre-push has none for somebody else's commits. What travels with a
commit is its receipt: at commit time the gate judged each requirement against exactly the
staged tree, which is the commit's tree. Where the local evaluation cannot show a requirement
(missing, stale, ...), the receipt's result counts, marked as such, but only as evidence that
stands up (CONTRACT, "Receipts as evidence"):

- the receipt passes ``receipt verify`` (subject, recomputed verdict and fields, signature);
- it is signed, and the signature checks, whenever a key is set or the policy being judged
  under says ``receipts: {signed: true}`` (an unsigned note is anyone's writing);
- the recorded requirement is equal in every field to the one being judged (``min_tests: 5``
  is not met by a recorded ``min_tests: 1`` on the same file), and what it recorded is ``ok``
  (a recorded failure is never turned into a pass).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import replace
from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.build import signing_key
from avorelo_gate.result import CheckResult, ProofStatus

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any


def admitted_proof(statement: Mapping[str, Any] | None, signed: bool,
                   key: str | None) -> list[Mapping[str, Any]]:
    """The proof entries of a verified receipt that may be credited; none when its signature
    is demanded and absent."""
    if statement is None:
        return []
    unsigned = statement["predicate"]["signature"]["alg"] == "none"
    if (signed or key) and (unsigned or not key):
        return []
    entries = statement["predicate"].get("proof") or ()
    return [p for p in entries if isinstance(p, dict) and isinstance(p.get("spec"), dict)]


def _recorded_for(status: ProofStatus,
                  entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if status.spec is None:
        return None
    same = [p for p in entries if p["spec"] == dict(status.spec)]
    if not same or any(p.get("status") != "ok" for p in same):
        return None
    return same[0]


def credit(result: CheckResult, entries: Sequence[Mapping[str, Any]],
           commit: str) -> CheckResult:
    """The result with every non-ok requirement that the receipt recorded ok counted ok."""
    proof = []
    changed = False
    for p in result.proof:
        found = _recorded_for(p, entries) if p.status != "ok" else None
        if found is None:
            proof.append(p)
            continue
        changed = True
        proof.append(ProofStatus(
            p.requirement, "ok",
            f"recorded ok in the receipt of {commit[:12]} (verified; no local record here)",
            found.get("counts"), found.get("sha256"), found.get("tree"), spec=p.spec))
    if not changed:
        return result
    # Only here: the proof checker brings the JUnit and artifact readers, which pre-push and
    # `ci` need only when a receipt is credited (issue 14).
    from avorelo_gate.proof.check import is_violation_for

    # Violations carry the label only: a label is cleared when all of its requirements are.
    cleared = {p.requirement for p in proof} - {p.requirement for p in proof
                                                if p.status != "ok"}
    violations = tuple(v for v in result.violations
                       if not any(is_violation_for(v, r) for r in cleared))
    return replace(result, proof=tuple(proof), violations=violations)


def credit_from_receipts(repo: Repo, results: Sequence[CheckResult], commits: Sequence[str],
                         environ: Mapping[str, str],
                         signed: Sequence[bool] | None = None) -> tuple[CheckResult, ...]:
    """``results[i]`` is the check of ``commits[i]`` (or of a range ending there), judged
    under a policy that demands signed receipts when ``signed[i]``."""
    from avorelo_gate.receipts.verify import verify_commits  # only when proof is wanting

    wanting = [i for i, r in enumerate(results) if any(p.status != "ok" for p in r.proof)]
    if not wanting:
        return tuple(results)
    shas = list(dict.fromkeys(commits[i] for i in wanting))
    verified = {v.commit: v.statement for v in verify_commits(repo, shas, environ)
                if v.status == "valid"}
    key = signing_key(environ)
    out = list(results)
    for i in wanting:
        sha = commits[i]
        demand = bool(signed[i]) if signed is not None else False
        out[i] = credit(results[i], admitted_proof(verified.get(sha), demand, key), sha)
    return tuple(out)

