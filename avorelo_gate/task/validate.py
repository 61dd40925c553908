"""``avorelo-gate validate``: the same schema checks the gate applies, on files at rest."""
from __future__ import annotations

import glob
import os
from collections.abc import Sequence

from avorelo_gate.errors import BadInputError
from avorelo_gate.files.inputs import read_input
from avorelo_gate.task.declare import load_task_file
from avorelo_gate.task.policy import POLICY_PATH, TASK_PATH, TASKS_DIR, Policy
from avorelo_gate.task.yamlio import MAX_YAML_BYTES


def default_files(toplevel: str) -> list[str]:
    found = [os.path.join(toplevel, p) for p in (POLICY_PATH, TASK_PATH)]
    found += sorted(glob.glob(os.path.join(toplevel, TASKS_DIR, "*.yaml")))
    return [f for f in found if os.path.exists(f)]


def _compile(path: str, key: str, patterns: Sequence[str]) -> None:
    """Compile ``patterns`` as every check will (pathspec, then RE2): a pattern that only
    compiling refuses (``[[:foo:]]``) is refused here too, not first at commit time."""
    from avorelo_gate.task.scope import FoldedMatcher, Matcher

    try:
        Matcher.compile(patterns)
        if key in ("forbid", "protected"):
            FoldedMatcher.compile(patterns)
    except BadInputError as e:
        raise BadInputError(f"{path}: {key}: {e}") from e


def validate_file(path: str) -> str:
    """Validate one file; returns what it is, raises BadInputError naming what is wrong."""
    data = read_input(path, "file", MAX_YAML_BYTES)
    if os.path.basename(path) == "policy.yaml":
        policy = Policy.parse(data, path)
        _compile(path, "protected", policy.protected)
        for i, rule in enumerate(policy.approvals):
            _compile(path, f"approvals[{i}].paths", rule.paths)
        return "policy"
    tf = load_task_file(data, path, "")
    for key in ("scope", "forbid"):
        value = tf.data.get(key) or []
        _compile(path, key, [value] if isinstance(value, str) else list(value))
    tid = tf.data.get("id")
    stem = os.path.splitext(os.path.basename(path))[0]
    if os.path.basename(os.path.dirname(path)) == "tasks" and tid and tid != stem:
        raise BadInputError(f"{path}: id {tid!r} does not match the file name {stem!r}")
    return "task"


def validate_files(paths: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """(path, kind, error) for each file; an error is the one-line reason."""
    out: list[tuple[str, str | None, str | None]] = []
    for p in paths:
        try:
            out.append((p, validate_file(p), None))
        except BadInputError as e:
            out.append((p, None, str(e)))
    return out
