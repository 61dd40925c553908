"""``receipt verify``: does each commit's receipt say what the commit itself says?

Recomputed from the commit (the same engine, ``CheckRequest(mode="commit")``): the subject
digests, the diff summary, the task and model as declared, the policy blob and every rule
that reads only the commit. Claims made through the environment (``AVORELO_MODEL_WEIGHT``...)
cannot be recomputed, so the receipt's own claims are replayed; the signature is what
protects them. Proof results are local evidence (``prove`` records, artifacts) and are also
taken as recorded, covered by the signature.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.gate.assemble import Checked, CheckRequest, allow_policy_change, check_request
from avorelo_gate.gate.prefetch import prefetch_commits
from avorelo_gate.git.background import InBackground
from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.build import (
    CLAIM_ENV,
    KEY_ENV,
    build_predicate,
    describe_signature,
    signature_problem,
    signing_key,
    subject_of,
)
from avorelo_gate.receipts.model import recorded_local_model
from avorelo_gate.receipts.parse import ReceiptInvalid, parse_receipt
from avorelo_gate.receipts.store import (
    FETCH_HINT,
    NOTES_REF,
    has_notes_ref,
    note_blobs,
    read_note_blobs,
)
from avorelo_gate.result import Violation

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

PROOF_RULES = frozenset({"proof-missing", "proof-failed", "proof-stale", "proof-invalid"})
COMPARED = (("task", "the task"), ("model", "the model"), ("diff", "the diff"),
            ("policy", "the policy"), ("options", "the options"),
            ("context", "the context set"), ("tools", "the tools"),
            ("approvals", "the approvals"))


@dataclass(frozen=True)
class Verification:
    commit: str
    status: str                         # valid | invalid | missing
    problems: tuple[str, ...] = ()
    statement: Mapping[str, Any] | None = None
    signature: str = ""

    def violations(self) -> list[Violation]:
        if self.status == "missing":
            return [Violation("receipt-missing", "no receipt for this commit", None,
                              self.problems[0] if self.problems else None, commit=self.commit)]
        return [Violation("receipt-invalid", p, None,
                          f"re-record it if the commit is right: avorelo-gate receipt record "
                          f"{self.commit[:12]}", commit=self.commit) for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "status": self.status, "problems": list(self.problems),
                "signature": self.signature or None}


def replay_env(environ: Mapping[str, str], predicate: Mapping[str, Any]) -> dict[str, str]:
    """The verifier's environment, with the receipt's environment claims and nothing else."""
    env = {k: v for k, v in environ.items() if k not in CLAIM_ENV}
    model = predicate.get("model") or {}
    source = model.get("source") or {}
    if source.get("weight") == "env:AVORELO_MODEL_WEIGHT" and model.get("weight"):
        env["AVORELO_MODEL_WEIGHT"] = model["weight"]
    if source.get("name") == "env:AVORELO_MODEL" and model.get("name"):
        env["AVORELO_MODEL"] = model["name"]
    task = predicate.get("task") or {}
    if task.get("field_sources", {}).get("id") == "env:AVORELO_TASK" and task.get("id"):
        env["AVORELO_TASK"] = task["id"]
    if predicate["options"]["allow_policy_change"]:
        env["AVORELO_ALLOW_POLICY_CHANGE"] = "1"
    return env


def verify_commits(repo: Repo, commits: Sequence[str],
                   environ: Mapping[str, str]) -> list[Verification]:
    blobs = note_blobs(repo, commits)
    # git reads the notes, and counts the diffs, while this thread asks the rest.
    notes = InBackground(lambda: read_note_blobs(repo, commits, blobs), "avorelo-git-notes")
    try:
        # Each commit is judged on its own, as `receipt record` judged it; git is asked each
        # question once for all of them (gate/prefetch.py).
        fetched = prefetch_commits(repo, list(blobs))
        read: dict[str, bytes | None] = notes.result()
        parsed = {c: _parse(note) for c, note in read.items()}
    finally:
        notes.join()
    missing_hint = None if has_notes_ref(fetched) else f"there are no receipts here: {FETCH_HINT}"
    # os.environ decodes every key on each pass, and each receipt's replay reads it whole.
    environ = dict(environ)
    return [verify_one(fetched, c, parsed[c], environ, missing_hint) for c in commits]


def _parse(note: bytes | None) -> dict[str, Any] | ReceiptInvalid | None:
    if note is None:
        return None
    try:
        return parse_receipt(note)
    except ReceiptInvalid as e:
        return e


def verify_one(repo: Repo, commit: str, parsed: dict[str, Any] | ReceiptInvalid | None,
               environ: Mapping[str, str], missing_hint: str | None = None) -> Verification:
    """One commit's verdict on its receipt: ``parsed`` is its note as ``_parse`` read it."""
    if parsed is None:
        # A clone that made the commit under the hooks has its receipt: ci needs it pushed.
        hint = missing_hint or (f"record it, and push the receipts (ci reads them from the "
                                f"remote): avorelo-gate receipt record {commit[:12]} && git "
                                f"push origin {NOTES_REF}")
        return Verification(commit, "missing", (hint,))
    if isinstance(parsed, ReceiptInvalid):
        return Verification(commit, "invalid", (str(parsed),))
    statement = parsed
    problems = subject_problems(repo, commit, statement)
    if not problems:
        problems = content_problems(repo, commit, statement, environ)
    key = signing_key(environ)
    return Verification(commit, "invalid" if problems else "valid", tuple(problems), statement,
                        describe_signature(statement, key))


def subject_problems(repo: Repo, commit: str, statement: Mapping[str, Any]) -> list[str]:
    subject_commit, subject_tree = subject_of(statement)
    if subject_commit != commit:
        return [f"subject: the receipt is for commit {subject_commit[:12]}, not {commit[:12]} "
                "(copied from another commit)"]
    tree = repo.tree_of(commit)
    if subject_tree != tree:
        return [f"subject: gitTree {subject_tree[:12]} is not the commit's tree {tree[:12]}"]
    return []


def content_problems(repo: Repo, commit: str, statement: Mapping[str, Any],
                     environ: Mapping[str, str]) -> list[str]:
    predicate = statement["predicate"]
    req = CheckRequest(mode="commit", rev=commit)
    env = replay_env(environ, predicate)
    try:
        checked = check_request(repo, req, env)
    except BadInputError as e:
        return [f"cannot recompute the verdict from the commit: {e}"]
    # The routed and observed model are this clone's local state when the commit was made:
    # taken as recorded, like the environment's claims.
    recomputed = build_predicate(checked, allow_policy_change(req, env), predicate["time"],
                                 recorded_local_model(predicate))
    problems = verdict_problems(predicate, recomputed)
    for key, what in COMPARED:
        problems.extend(field_problems(key, what, predicate[key], recomputed[key]))
    problems.extend(signature_problems(statement, checked, environ))
    return problems


def _rule_paths(violations: Sequence[Mapping[str, Any]], proof: bool) -> list[tuple[str, str]]:
    return sorted((v["rule"], v.get("path") or "") for v in violations
                  if (v["rule"] in PROOF_RULES) == proof)


def verdict_problems(predicate: Mapping[str, Any], recomputed: Mapping[str, Any]) -> list[str]:
    said, listed = predicate["verdict"], predicate["violations"]
    if (said == "fail") != bool(listed):
        return [f"verdict: the receipt says {said!r} but lists {len(listed)} violation(s) "
                "(the verdict was edited)"]
    theirs, ours = _rule_paths(listed, False), _rule_paths(recomputed["violations"], False)
    if theirs == ours:
        return []
    # Proof results are taken as recorded; everything else must come out the same.
    expected = "fail" if ours or _rule_paths(listed, True) else "pass"
    shown = ", ".join(f"{r} {p}".strip() for r, p in ours) or "none"
    recorded = ", ".join(f"{r} {p}".strip() for r, p in theirs) or "none"
    lead = (f"verdict: the receipt says {said!r}, the commit gives {expected!r}; "
            if said != expected else "violations differ: ")
    return [f"{lead}recorded [{recorded}], recomputed [{shown}]"]


def field_problems(key: str, what: str, theirs: Any, ours: Any) -> list[str]:
    if theirs == ours:
        return []
    if not isinstance(theirs, dict) or not isinstance(ours, dict):
        return [f"{key}: {what} differs: the receipt says {_short(theirs)}, recomputed from "
                f"the commit {_short(ours)}"]
    return [f"{key}.{name}: the receipt says {_short(theirs.get(name))}, recomputed from the "
            f"commit {_short(ours.get(name))}"
            for name in sorted(set(theirs) | set(ours)) if theirs.get(name) != ours.get(name)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def signature_problems(statement: Mapping[str, Any], checked: Checked,
                       environ: Mapping[str, str]) -> list[str]:
    key = signing_key(environ)
    unsigned = statement["predicate"]["signature"]["alg"] == "none"
    if checked.policy.receipts_signed:
        if unsigned:
            return ["signature: the receipt is unsigned and the policy demands signed receipts "
                    "(receipts: {signed: true})"]
        if not key:
            raise EnvironmentFailure(f"{KEY_ENV} is not set: the policy demands signed "
                                     "receipts and they cannot be checked without the key")
    problem = signature_problem(statement, key)
    return [problem] if problem else []
