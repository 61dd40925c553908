"""Reading a receipt strictly: a note someone edited must not parse into something plausible.

Duplicate keys (``json`` would silently keep the last), NaN and Infinity (``json`` accepts
them by default), text that is not UTF-8, and any field of the wrong type are all invalid.
"""
from __future__ import annotations

import json
import re

from avorelo_gate.receipts.build import HMAC_ALG, PREDICATE_TYPE, STATEMENT_TYPE
from avorelo_gate.result import RULES
from avorelo_gate.task.schema import (
    HEX_ID,
    SHA256,
    WEIGHTS,
    Key,
    SchemaError,
    boolean,
    integer,
    list_of,
    mapping,
    one_of,
    string,
)

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    from avorelo_gate.task.schema import Check

MAX_NOTE_BYTES = 8 * 1024 * 1024
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")
KEY_ID = re.compile(r"^[0-9a-f]{16}\Z")
PROOF_STATUSES = ("ok", "missing", "failed", "stale", "invalid")


class ReceiptInvalid(Exception):
    """The note is not a well-formed receipt; the message says why."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)   # built in C; a key given twice makes it shorter than the pairs
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ReceiptInvalid(f"duplicate key {key!r} in the note")
            seen.add(key)
    return out


def _no_constants(name: str) -> Any:
    raise ReceiptInvalid(f"{name} is not a JSON number (the note holds a non-finite value)")


def nullable(check: Check) -> Check:
    def inner(value: Any, where: str) -> Any:
        return None if value is None else check(value, where)
    return inner


def exactly(expected: Any) -> Check:
    """``expected`` and nothing equal to it of another type (``1 == True`` in Python)."""
    def check(value: Any, where: str) -> Any:
        if type(value) is not type(expected) or value != expected:
            raise SchemaError(where, f"expected {json.dumps(expected)}, got {value!r}")
        return value
    return check


def one_item(check: Check) -> Check:
    def inner(value: Any, where: str) -> Any:
        items = list_of(check)(value, where)
        if len(items) != 1:
            raise SchemaError(where, f"expected exactly one subject, got {len(items)}")
        return items
    return inner


_TEXT = string()
_HEX = string(pattern=HEX_ID, what="a git object id")
_TEXTS = list_of(_TEXT)
_COUNT = integer(0)

VIOLATION = mapping({
    "rule": Key(one_of(*RULES), True), "message": Key(_TEXT, True),
    "path": Key(nullable(_TEXT)), "hint": Key(nullable(_TEXT)),
    "line": Key(nullable(_COUNT)), "commit": Key(nullable(_TEXT)),
})

PROOF = mapping({
    "requirement": Key(_TEXT, True), "status": Key(one_of(*PROOF_STATUSES), True),
    "detail": Key(_TEXT), "counts": Key(mapping({}, values=_COUNT)),
    "sha256": Key(string(pattern=SHA256, what="a sha256 hex digest")),
    "tree": Key(_HEX), "stale_paths": Key(_TEXTS),
}, closed=False)

# Open: the task's own fields grow with the contract; the ones receipts rely on are typed.
TASK = mapping({
    "id": Key(nullable(_TEXT)), "scope": Key(_TEXTS, True), "forbid": Key(_TEXTS, True),
    "sources": Key(_TEXTS, True), "trailer_scope": Key(_TEXTS), "title": Key(_TEXT),
    "file": Key(_TEXT), "file_blob": Key(nullable(_TEXT)), "risk": Key(_TEXT),
    "budget": Key(mapping({}, values=_COUNT)),
    "field_sources": Key(mapping({}, values=_TEXT), True),
}, closed=False)

DIFF = mapping({
    "files": Key(_COUNT, True), "added": Key(_COUNT, True), "removed": Key(_COUNT, True),
    "paths_sha256": Key(string(pattern=SHA256, what="a sha256 hex digest"), True),
    "paths": Key(_TEXTS, True), "paths_truncated": Key(boolean, True),
    "task_files_changed": Key(_TEXTS),
})

MODEL = mapping({
    "weight": Key(nullable(one_of(*WEIGHTS)), True), "name": Key(nullable(_TEXT), True),
    "claimed": Key(exactly(True), True),
    "source": Key(mapping({"weight": Key(nullable(_TEXT), True),
                           "name": Key(nullable(_TEXT), True)}), True),
    # Beside the claim (receipts/model.py); absent from receipts made before 0.2.
    "routed": Key(mapping({"weight": Key(one_of(*WEIGHTS), True),
                           "name": Key(nullable(_TEXT), True),
                           "alias": Key(nullable(_TEXT), True)})),
    "observed": Key(mapping({"name": Key(_TEXT, True), "agent": Key(_TEXT, True)})),
})


def _signature(value: Any, where: str) -> Any:
    alg = mapping({"alg": Key(one_of("none", HMAC_ALG), True)}, closed=False)(value, where)
    if alg["alg"] == "none":
        return mapping({"alg": Key(_TEXT, True)})(value, where)
    return mapping({"alg": Key(_TEXT, True),
                    "keyid": Key(string(pattern=KEY_ID, what="a 16-digit key id"), True),
                    "value": Key(string(pattern=SHA256, what="an HMAC-SHA256 hex digest"),
                                 True)})(value, where)


PREDICATE = mapping({
    "verdict": Key(one_of("pass", "fail"), True),
    "violations": Key(list_of(VIOLATION), True),
    "warnings": Key(_TEXTS, True),
    "task": Key(nullable(TASK), True),
    "diff": Key(DIFF, True),
    "proof": Key(list_of(PROOF), True),
    "model": Key(nullable(MODEL), True),
    "policy": Key(mapping({"blob": Key(nullable(_HEX), True)}), True),
    "gate": Key(mapping({"version": Key(_TEXT, True)}), True),
    "options": Key(mapping({"allow_policy_change": Key(boolean, True)}), True),
    "time": Key(string(pattern=RFC3339, what="an RFC 3339 time"), True),
    "signature": Key(_signature, True),
    # The rest of the task's path (null when the task declares none of it).
    "context": Key(nullable(mapping({
        "at": Key(_TEXT, True), "total_bytes": Key(_COUNT, True),
        "files": Key(list_of(mapping({"path": Key(_TEXT, True), "blob": Key(_HEX, True),
                                      "size": Key(_COUNT, True), "pinned": Key(_TEXT)})),
                     True)})), True),
    "tools": Key(nullable(mapping({"declared": Key(nullable(_TEXTS), True),
                                   "used": Key(_TEXTS, True)})), True),
    "approvals": Key(nullable(list_of(mapping({}, closed=False))), True),
})

STATEMENT = mapping({
    "_type": Key(exactly(STATEMENT_TYPE), True),
    "subject": Key(one_item(mapping({
        "name": Key(_HEX, True),
        "digest": Key(mapping({"gitCommit": Key(_HEX, True), "gitTree": Key(_HEX, True)}),
                      True)})), True),
    "predicateType": Key(exactly(PREDICATE_TYPE), True),
    "predicate": Key(PREDICATE, True),
})


def load_json_strict(data: bytes) -> Any:
    if len(data) > MAX_NOTE_BYTES:
        raise ReceiptInvalid(f"the note is {len(data)} bytes, over the {MAX_NOTE_BYTES} limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReceiptInvalid(f"the note is not UTF-8 text (byte {e.start})") from e
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        raise ReceiptInvalid(f"the note is not JSON ({e.msg} at line {e.lineno} column "
                             f"{e.colno})") from e
    except RecursionError as e:
        raise ReceiptInvalid("the note nests too deeply to be a receipt") from e


def parse_receipt(data: bytes) -> dict[str, Any]:
    """The statement in a note, or ReceiptInvalid saying what is wrong with it."""
    raw = load_json_strict(data)
    try:
        statement: dict[str, Any] = STATEMENT(raw, "")
    except SchemaError as e:
        raise ReceiptInvalid(str(e)) from e
    name = statement["subject"][0]["name"]
    if name != statement["subject"][0]["digest"]["gitCommit"]:
        raise ReceiptInvalid(f"subject: name {name} is not its gitCommit digest")
    # The schema walk copies what it knows; verify and the signature need the note as written.
    checked: dict[str, Any] = raw
    return checked
