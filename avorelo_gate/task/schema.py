"""The declared schema of task and policy files, and the one validator that walks it.

Errors name the file and the key path (``task.yaml: budget.max_files: expected an integer``)
and suggest the nearest known key for a typo, as cfgv-style schemas do in pre-commit.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError
from avorelo_gate.task.scope import pattern_problem

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    Check = Callable[[Any, str], Any]

WEIGHTS = ("light", "standard", "heavy")
RISKS = ("low", "medium", "high")
PROOF_KINDS = ("junit", "command", "log", "file")
TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
HEX_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?\Z")
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
PROVE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
PERSON = re.compile(r"^[^<>\n]+ <[^<>\s]+@[^<>\s]+>\Z")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# A model id or gateway alias is handed to shells (`route --format env`) and HTTP headers
# (ANTHROPIC_CUSTOM_HEADERS): only characters neither reads specially. Provider ids such as
# `bedrock/anthropic.claude-3-haiku-20240307-v1:0` or `claude-3-5-sonnet@20240620` fit.
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}\Z")


class SchemaError(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false",
            int: "an integer", float: "a number", type(None): "nothing (null)"}.get(
        type(value), type(value).__name__)


def string(*, pattern: re.Pattern[str] | None = None, what: str = "") -> Check:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise SchemaError(where, f"expected a string, got {_type_name(value)}")
        if pattern is not None and not pattern.match(value):
            raise SchemaError(where, f"{value!r} is not {what or 'valid'}")
        return value
    return check


def integer(minimum: int = 0) -> Check:
    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(where, f"expected an integer, got {_type_name(value)}")
        if value < minimum:
            raise SchemaError(where, f"must be at least {minimum}, got {value}")
        return value
    return check


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(where, f"expected true or false, got {_type_name(value)}")
    return value


def one_of(*choices: Any) -> Check:
    def check(value: Any, where: str) -> Any:
        if value not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise SchemaError(where, f"{value!r} is not one of: {allowed}")
        return value
    return check


def pattern(value: Any, where: str) -> str:
    problem = pattern_problem(value)
    if problem:
        raise SchemaError(where, f"invalid pattern {value!r}: {problem}")
    return str(value)


def list_of(item: Check, *, allow_single: bool = False) -> Check:
    def check(value: Any, where: str) -> list[Any]:
        if allow_single and isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise SchemaError(where, f"expected a list, got {_type_name(value)}")
        return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return check


@dataclass(frozen=True)
class Key:
    """One key of a schema: how to check its value, and whether it must be there."""

    check: Check
    required: bool = False


def mapping(keys: Mapping[str, Key], *, closed: bool = True,
            values: Check | None = None) -> Check:
    """A mapping with known keys (unknown ones refused with a did-you-mean)."""
    def check(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SchemaError(where, f"expected a mapping, got {_type_name(value)}")
        out: dict[str, Any] = {}
        for k, v in value.items():
            here = f"{where}.{k}" if where else str(k)
            if not isinstance(k, str):
                raise SchemaError(where, f"keys must be strings, got {k!r}")
            if k in keys:
                out[k] = keys[k].check(v, here)
            elif values is not None:
                out[k] = values(v, here)
            elif closed:
                raise SchemaError(here, "unknown key" + _did_you_mean(k, keys))
        for k, spec in keys.items():
            if spec.required and k not in value:
                raise SchemaError(where, f"missing required key {k!r}")
        return out
    return check


def _did_you_mean(word: str, known: Mapping[str, Any] | tuple[str, ...]) -> str:
    import difflib  # only a typo needs it

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"


# -- proof requirements ---------------------------------------------------------------------
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_artifact_pattern(rel: str) -> str | None:
    """Why an artifact path a task declares is unusable, or None: it must be a plain
    repository-relative path (proof.artifacts resolves it safely at read time)."""
    if not rel or not rel.strip():
        return "empty path"
    if _CONTROL.search(rel):
        return "contains a control character"
    if "\\" in rel:
        return "contains a backslash; use '/' as the separator"
    if rel.startswith("/"):
        return "absolute path; use a path relative to the repository root"
    if _DRIVE.match(rel):
        return "starts with a drive letter; use a path relative to the repository root"
    if ".." in rel.split("/"):
        return "contains a '..' component"
    return None




def _artifact_path(value: Any, where: str) -> str:
    text: str = string()(value, where)
    problem = validate_artifact_pattern(text)
    if problem:
        raise SchemaError(where, f"invalid artifact path {text!r}: {problem}")
    return text


def _needles(value: Any, where: str) -> list[str]:
    items: list[str] = list_of(string(), allow_single=True)(value, where)
    for i, needle in enumerate(items):
        if needle.startswith("regex:"):
            try:
                re.compile(needle[len("regex:"):])
            except re.error as e:
                raise SchemaError(f"{where}[{i}]", f"invalid regex: {e}") from e
        elif not needle:
            raise SchemaError(f"{where}[{i}]", "empty text")
    return items


_REQUIREMENT_KEYS: dict[str, dict[str, Key]] = {
    "junit": {"junit": Key(_artifact_path, True), "min_tests": Key(integer(0)),
              "committed": Key(boolean)},
    "command": {"command": Key(string(pattern=PROVE_NAME, what="a prove --name"), True)},
    "log": {"log": Key(_artifact_path, True), "must_contain": Key(_needles),
            "must_not_contain": Key(_needles), "committed": Key(boolean)},
    "file": {"file": Key(_artifact_path, True), "committed": Key(boolean)},
}


def requirement(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(where, f"expected a mapping like {{junit: reports/junit.xml}}, "
                                 f"got {_type_name(value)}")
    kinds = [k for k in value if k in PROOF_KINDS]
    if len(kinds) != 1:
        unknown = [k for k in value if k not in {"min_tests", "committed", "must_contain",
                                                 "must_not_contain"}]
        if not kinds and unknown:
            raise SchemaError(f"{where}.{unknown[0]}",
                              "unknown proof requirement kind" + _did_you_mean(
                                  str(unknown[0]), PROOF_KINDS))
        raise SchemaError(where, "a requirement names exactly one of: " + ", ".join(PROOF_KINDS))
    checked: dict[str, Any] = mapping(_REQUIREMENT_KEYS[kinds[0]])(value, where)
    return checked


# -- the two files ---------------------------------------------------------------------------
BUDGET = mapping({"max_files": Key(integer(0)), "max_lines": Key(integer(0))})


def context_entry(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return pattern(value, where)
    entry = mapping({"path": Key(pattern, True),
                     "blob": Key(string(pattern=HEX_ID, what="a git blob id")),
                     "sha256": Key(string(pattern=SHA256, what="a sha256 hex digest"))})(
        value, where)
    if "blob" in entry and "sha256" in entry:
        raise SchemaError(where, "pin with either blob or sha256, not both")
    return entry


TASK = mapping({
    "id": Key(string(pattern=TASK_ID, what="a task id (letters, digits, . _ -)")),
    "title": Key(string()),
    "description": Key(string()),
    "scope": Key(list_of(pattern, allow_single=True)),
    "forbid": Key(list_of(pattern, allow_single=True)),
    "budget": Key(BUDGET),
    "risk": Key(one_of(*RISKS)),
    "model": Key(mapping({"weight": Key(one_of(*WEIGHTS)), "name": Key(string())})),
    "context": Key(list_of(context_entry)),
    "tools": Key(list_of(string(pattern=re.compile(r"^[^\s/\\]+\Z"),
                                what="a program name (no spaces or slashes)")))
    ,
    "proof": Key(list_of(requirement)),
})

APPROVAL = mapping({
    "paths": Key(list_of(pattern, allow_single=True)),
    "risk": Key(one_of(*RISKS)),
    "weights": Key(list_of(one_of(*WEIGHTS), allow_single=True)),
    "approvers": Key(list_of(string(pattern=PERSON, what="'Name <email>'")), True),
    "count": Key(integer(1)),
    "signal": Key(string(pattern=ENV_NAME, what="an environment variable name")),
})

_MODEL_ID = string(pattern=MODEL_ID, what="a model id (letters, digits and . _ : / @ + -; no "
                                           "spaces, quotes, commas or shell characters)")
MODEL = mapping({"name": Key(_MODEL_ID), "alias": Key(_MODEL_ID)})

POLICY = mapping({
    "version": Key(one_of(1)),
    "require_task": Key(boolean),
    "protected": Key(list_of(pattern, allow_single=True)),
    "weights": Key(mapping({w: Key(BUDGET) for w in WEIGHTS})),
    "models": Key(mapping({w: Key(MODEL) for w in WEIGHTS})),
    "proof": Key(list_of(requirement)),
    "receipts": Key(mapping({"required": Key(boolean), "signed": Key(boolean)})),
    "approvals": Key(list_of(APPROVAL)),
    # A task file the change adds itself: recorded (allow) or the violation (refuse).
    "self_declared_tasks": Key(one_of("allow", "refuse")),
})


def validate(data: Any, schema: Check, source: str) -> dict[str, Any]:
    """Validate parsed YAML against a schema."""
    if data is None:
        # An empty task file would declare a task with no scope (every path allowed) and
        # satisfy require_task; an empty policy is almost surely a truncated write.
        raise BadInputError(f"{source}: the file is empty (or only comments); write its keys, "
                            "or delete it")
    try:
        result: dict[str, Any] = schema(data, "")
    except SchemaError as e:
        raise BadInputError(f"{source}: {e}") from e
    return result


_LOADED: dict[tuple[Check, bytes], dict[str, Any]] = {}
MAX_LOADED, MAX_LOADED_BYTES = 64, 64 * 1024


def load_validated(data: bytes, schema: Check, source: str) -> dict[str, Any]:
    """``validate(load_yaml(data, source), schema, source)``, parsed once per content in this
    process: a pull request of 4,000 commits reads the same task file blob 4,000 times. The
    result does not depend on ``source`` (only failures name it, and they are not kept); it is
    shared, so callers read it and never change it."""
    key = (schema, data)
    found = _LOADED.get(key)
    if found is None:
        from avorelo_gate.task.yamlio import load_yaml

        found = validate(load_yaml(data, source), schema, source)
        if len(data) <= MAX_LOADED_BYTES:
            if len(_LOADED) >= MAX_LOADED:
                _LOADED.clear()
            _LOADED[key] = found
    return found
