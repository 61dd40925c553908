"""SARIF 2.1.0, the format code-scanning services (GitHub's among them) ingest.

One run; one result per violation; warnings and notes are about the gate's execution, not
about a line of code, so they go to ``invocations[0].toolExecutionNotifications``.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote

from avorelo_gate.files.digest import sha256
from avorelo_gate.result import GateReport, Violation

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "avorelo-gate"
FINGERPRINT_KEY = "avoreloGate/v1"

RULE_DESCRIPTIONS = {
    "no-task": "The change declares no task.",
    "out-of-scope": "A touched path is outside the task's scope.",
    "forbidden": "A touched path is forbidden by the task.",
    "protected": "A touched path is protected by the repository policy.",
    "budget-files": "The change touches more files than the task's budget allows.",
    "budget-lines": "The change adds and removes more lines than the task's budget allows.",
    "weight-budget": "The change is larger than the declared model weight may make.",
    "proof-missing": "A required proof is missing.",
    "proof-failed": "A required proof did not pass.",
    "proof-stale": "A proof ran against other content than the content being checked.",
    "proof-invalid": "A proof artifact cannot be read or does not meet its requirement.",
    "receipt-missing": "A commit has no receipt.",
    "receipt-invalid": "A commit's receipt does not match the commit.",
    "trailer-invalid": "A commit-message trailer is malformed or conflicts with another.",
    "policy-changed": "The change edits the repository policy.",
    "context-stale": "A pinned context file changed since the task was planned.",
    "context-missing": "A context file the task declares does not exist.",
    "tool-not-allowed": "The proof used a tool the task does not allow.",
    "approval-missing": "The change needs an approval it does not have.",
}


def render_sarif(report: GateReport, version: str) -> str:
    violations = report.violations
    rule_ids = list(dict.fromkeys(v.rule for v in violations))
    rule_index = {rule: i for i, rule in enumerate(rule_ids)}
    run = {
        "tool": {"driver": {
            "name": TOOL_NAME,
            "version": version,
            "rules": [_rule(rule) for rule in rule_ids],
        }},
        "invocations": [_invocation(report)],
        "results": [_result(v, rule_index[v.rule]) for v in violations],
    }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    # Strings are cleaned here, once, so no field can carry a lone surrogate into the file.
    return json.dumps(_clean(log), indent=2, ensure_ascii=False) + "\n"


def _rule(rule: str) -> dict[str, Any]:
    text = RULE_DESCRIPTIONS.get(rule, f"avorelo-gate rule {rule}.")
    return {
        "id": rule,
        "name": "".join(part.capitalize() for part in rule.split("-")),
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": "error"},
    }


def _invocation(report: GateReport) -> dict[str, Any]:
    notifications = [*_notifications("warning", _unique(report, "warnings")),
                     *_notifications("note", _unique(report, "notes"))]
    invocation: dict[str, Any] = {
        # The gate ran to the end; its verdict is in the results and the exit code.
        "executionSuccessful": True,
        "exitCode": report.exit_code,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _notifications(level: str, texts: Iterable[str]) -> list[dict[str, Any]]:
    return [{"level": level, "message": {"text": text}} for text in texts]


def _result(violation: Violation, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": violation.rule,
        "ruleIndex": rule_index,
        "level": "error",
        "message": {"text": _message(violation)},
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(violation)},
    }
    if violation.path:
        result["locations"] = [_location(violation.path, violation.line)]
    if violation.commit:
        result["properties"] = {"commit": violation.commit}
    return result


def _message(violation: Violation) -> str:
    text = violation.message or violation.rule
    if violation.hint:
        text += f"\nTo fix: {violation.hint}"
    return text


def _location(path: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": path_uri(path),
                                                     "uriBaseId": "%SRCROOT%"}}
    if line is not None and line >= 1:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def path_uri(path: str) -> str:
    """A git path as a relative URI reference: every byte but ``/`` and unreserved ones quoted.

    ``surrogateescape`` turns a non-UTF-8 path back into its own bytes, so ``bad\\udcffname``
    becomes ``bad%FFname``, the URI of the file git has. ``:`` is quoted too, so a path like
    ``c:x`` cannot read as a URI scheme.
    """
    return quote(path, safe="/", encoding="utf-8", errors="surrogateescape")


def fingerprint(violation: Violation) -> str:
    # Same rule, path and commit give the same id on every run, so code scanning tracks one
    # alert instead of opening a new one per push. NUL separates fields that may contain anything.
    key = "\0".join((violation.rule, violation.path or "", violation.commit or ""))
    return sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _unique(report: GateReport, attr: str) -> list[str]:
    seen: dict[str, None] = {}
    for unit in (*report.commits, report.overall):
        seen.update(dict.fromkeys(getattr(unit, attr)))
    return list(seen)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _show_undecodable(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _show_undecodable(text: str) -> str:
    # Lone surrogates (non-UTF-8 path bytes) become "\xNN": readable, and valid UTF-8 JSON.
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")
