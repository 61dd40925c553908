"""The receipt: an in-toto Statement v1 about one commit, kept as its note under
``refs/notes/avorelo`` (contract, "Receipts").

Canonical JSON (sorted keys, no whitespace, UTF-8, no NaN) so that the same commit, task and
policy give byte-identical receipts apart from ``predicate.time``; that is also what the
optional HMAC-SHA256 signature is computed over, with ``predicate.signature`` left out.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping

from avorelo_gate import __version__
from avorelo_gate.errors import BadInputError
from avorelo_gate.files.digest import sha256
from avorelo_gate.git.paths import display_path, fsencode

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:  # readers of receipts (route, verify's parser) need not import the engine
    from avorelo_gate.gate.assemble import Checked
    from avorelo_gate.receipts.model import LocalModel
    from avorelo_gate.result import CheckResult
    from avorelo_gate.task.declare import ResolvedTask

POLICY_PATH = ".avorelo/policy.yaml"  # policy.POLICY_PATH, without importing the YAML stack

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://avorelo.dev/receipt/v1"
KEY_ENV = "AVORELO_RECEIPT_KEY"
HMAC_ALG = "hmac-sha256"
# The receipt lists the touched paths so that routing can find earlier work on the same paths
# without re-reading history; past this many it keeps the digest over all of them only.
MAX_PATHS = 1000
# The environment variables whose values a receipt records as claims (verify replays them).
CLAIM_ENV = ("AVORELO_TASK", "AVORELO_MODEL", "AVORELO_MODEL_WEIGHT",
             "AVORELO_ALLOW_POLICY_CHANGE")


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def clean_text(obj: Any) -> Any:
    """Strings JSON can carry as UTF-8. A path that is not UTF-8 (git keeps its bytes; we hold
    them as surrogates) is written in its escaped display form; ``paths_sha256`` still covers
    its real bytes."""
    if isinstance(obj, str):
        if obj.isascii():   # nearly every string; encoding one to UTF-8 cannot fail
            return obj
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return display_path(obj)
        return obj
    if isinstance(obj, Mapping):
        return {str(k): clean_text(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_text(v) for v in obj]
    return obj


def paths_digest(paths: Iterable[str]) -> str:
    """sha256 over the touched paths' bytes, sorted, each followed by NUL."""
    h = sha256()
    for raw in sorted(fsencode(p) for p in paths):
        h.update(raw + b"\0")
    return h.hexdigest()


def receipt_time(environ: Mapping[str, str]) -> str:
    """Now, in UTC; ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) pins it.

    ``time``, not ``datetime`` (an import every commit-msg hook would pay for one string);
    the same years as ``datetime`` (1-9999), so a pinned time means the same in both.
    """
    pinned = environ.get("SOURCE_DATE_EPOCH", "").strip()
    try:
        stamp = time.gmtime(int(pinned)) if pinned else time.gmtime()
        if not 1 <= stamp.tm_year <= 9999:
            raise ValueError(f"year {stamp.tm_year} is out of range")
    except (ValueError, OverflowError, OSError) as e:
        raise BadInputError(f"SOURCE_DATE_EPOCH: {pinned!r} is not a Unix time in "
                            "seconds") from e
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)


def diff_record(result: CheckResult) -> dict[str, Any]:
    paths = sorted((t.path for t in result.touched), key=fsencode)
    record: dict[str, Any] = dict(result.diff.to_dict())
    record.update(paths_sha256=paths_digest(paths), paths=paths[:MAX_PATHS],
                  paths_truncated=len(paths) > MAX_PATHS)
    changed = result.extra.get("task_files_changed")
    if changed:
        record["task_files_changed"] = sorted(changed, key=fsencode)
    return record


def field_sources(task: ResolvedTask) -> dict[str, str]:
    """Where each field of the resolved task came from."""
    sources: dict[str, str] = {}
    if task.id_source:
        sources["id"] = task.id_source
    if task.file:
        for name, present in (("title", task.title), ("scope", task.scope),
                              ("forbid", task.forbid), ("budget", task.budget.to_dict()),
                              ("risk", task.risk), ("proof", task.proof),
                              ("context", task.context), ("tools", task.tools)):
            if present:
                sources[name] = task.file
    if task.trailer_scope:
        sources["trailer_scope" if task.scope else "scope"] = "trailer:Task-Scope"
    return sources


def task_record(task: ResolvedTask) -> dict[str, Any] | None:
    if not task.declared:
        return None
    return dict(task.to_dict(), field_sources=field_sources(task))


def policy_change_allowed(checked: Checked, allowed: bool) -> bool:
    """The maintainer's permission is recorded only where it mattered."""
    return allowed and any(t.path == POLICY_PATH for t in checked.result.touched)


def build_predicate(checked: Checked, allow_policy_change: bool, now: str,
                    local: LocalModel | None = None) -> dict[str, Any]:
    """``local``: the routed and observed model (receipts/model.py), for the commit being
    made or as a receipt recorded them."""
    from avorelo_gate.receipts.model import disagreement, model_record

    r = checked.result
    model = model_record(checked.task, local)
    mismatch = disagreement(model)
    predicate = {
        "verdict": r.verdict,
        "violations": [v.to_dict() for v in r.violations],
        "warnings": list(r.warnings) + ([mismatch] if mismatch else []),
        "task": task_record(checked.task),
        "diff": diff_record(r),
        "proof": [p.to_dict() for p in r.proof],
        "model": model,
        "policy": {"blob": checked.policy.blob},
        "gate": {"version": __version__},
        "options": {"allow_policy_change": policy_change_allowed(checked, allow_policy_change)},
        "time": now,
        "context": r.extra.get("context"),
        "tools": r.extra.get("tools"),
        "approvals": r.extra.get("approvals"),
    }
    cleaned: dict[str, Any] = clean_text(predicate)
    return cleaned


def build_statement(commit: str, tree: str, predicate: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": commit, "digest": {"gitCommit": commit, "gitTree": tree}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": dict(predicate),
    }


def signed_payload(statement: Mapping[str, Any]) -> bytes:
    """The canonical bytes of the statement without ``predicate.signature``."""
    predicate = {k: v for k, v in statement["predicate"].items() if k != "signature"}
    return canonical_bytes(dict(statement, predicate=predicate))


def key_id(key: str) -> str:
    """Names the key without revealing it, so verify can say "signed with another key"."""
    return sha256(b"avorelo-receipt-key\0" + key.encode("utf-8")).hexdigest()[:16]


def hmac_value(statement: Mapping[str, Any], key: str) -> str:
    import hmac  # only with a signing key: hmac loads OpenSSL (files/digest.py)

    return hmac.new(key.encode("utf-8"), signed_payload(statement), sha256).hexdigest()


def signing_key(environ: Mapping[str, str]) -> str | None:
    return environ.get(KEY_ENV) or None


def sign_statement(statement: Mapping[str, Any], key: str | None) -> dict[str, Any]:
    """The statement with its ``predicate.signature``: HMAC-SHA256 with the key, or an
    explicit ``{"alg": "none"}`` so that an unsigned receipt says that it is unsigned."""
    signature: dict[str, str] = {"alg": "none"}
    if key:
        signature = {"alg": HMAC_ALG, "keyid": key_id(key), "value": hmac_value(statement, key)}
    predicate = dict(statement["predicate"], signature=signature)
    return dict(statement, predicate=predicate)


def signature_problem(statement: Mapping[str, Any], key: str | None) -> str | None:
    """Why a signed statement does not verify with ``key`` (None: it does, or is unsigned)."""
    sig = statement["predicate"]["signature"]
    if sig["alg"] == "none" or not key:
        return None
    if sig.get("keyid") != key_id(key):
        return (f"signature: signed with another key (key id {sig.get('keyid')}, "
                f"{KEY_ENV} is key id {key_id(key)})")
    import hmac

    if not hmac.compare_digest(str(sig.get("value")), hmac_value(statement, key)):
        return "signature: does not match the receipt's content (the receipt was edited)"
    return None


def describe_signature(statement: Mapping[str, Any], key: str | None) -> str:
    sig = statement["predicate"]["signature"]
    if sig["alg"] == "none":
        return "unsigned"
    if not key:
        return f"signed ({HMAC_ALG}, key id {sig['keyid']}; not checked: {KEY_ENV} is not set)"
    problem = signature_problem(statement, key)
    return f"signed ({HMAC_ALG}, key id {sig['keyid']}): " + ("INVALID" if problem else "valid")


def subject_of(statement: Mapping[str, Any]) -> tuple[str, str]:
    """(commit, tree) the statement is about."""
    digest = statement["subject"][0]["digest"]
    return str(digest["gitCommit"]), str(digest["gitTree"])


def encode_receipt(statement: Mapping[str, Any]) -> bytes:
    return canonical_bytes(statement)
