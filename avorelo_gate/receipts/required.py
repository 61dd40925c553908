"""Receipts demanded at push and in CI: ``receipts: {required: true}`` in the policy in force.

A commit that skipped the hooks altogether (a tool that commits without hooks, a web edit,
``core.hooksPath`` pointed elsewhere) has no receipt: ``receipt-missing``; when the notes ref
itself is absent (CI that did not fetch it) the hint says how to fetch it. A note that does
not say what its commit says is ``receipt-invalid``. The judging is ``receipt verify``'s
(``receipt_verify.verify_commits``): one verdict on a receipt, wherever it is asked for.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.verify import verify_commits
from avorelo_gate.result import Violation


def receipt_violations(repo: Repo, commits: Sequence[str],
                       environ: Mapping[str, str]) -> dict[str, list[Violation]]:
    """commit -> its receipt violations; a commit with a valid receipt is not listed."""
    if not commits:
        return {}
    return {v.commit: v.violations() for v in verify_commits(repo, list(commits), environ)
            if v.status != "valid"}
