"""Declaring a task: the contract's sources, and how they combine into one resolved task.

1. ``--task ID`` / ``--task-file PATH`` / ``AVORELO_TASK``; 2. commit-message trailers;
3. ``.avorelo/tasks/<ID>.yaml`` when an ID is known and it exists, else ``.avorelo/task.yaml``.
A trailer narrows the file's scope, never widens it: both must allow a path.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from avorelo_gate.errors import BadInputError
from avorelo_gate.files.inputs import read_input
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.task import schema
from avorelo_gate.task.policy import TASK_PATH, TASKS_DIR, Budget
from avorelo_gate.task.scope import pattern_problem
from avorelo_gate.task.trailers import TrailerDeclaration
from avorelo_gate.task.yamlio import MAX_YAML_BYTES


@dataclass(frozen=True)
class TaskFile:
    path: str
    blob: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class ResolvedTask:
    id: str | None = None
    title: str | None = None
    scope: tuple[str, ...] = ()            # from the task file
    trailer_scope: tuple[str, ...] = ()    # from Task-Scope trailers: narrows ``scope``
    forbid: tuple[str, ...] = ()
    budget: Budget = field(default_factory=Budget)
    risk: str | None = None
    context: tuple[Any, ...] = ()
    tools: tuple[str, ...] | None = None   # None: the task declares no tool list
    proof: tuple[Mapping[str, Any], ...] = ()
    tools_used: tuple[str, ...] = ()
    approved_by: tuple[str, ...] = ()
    weight: str | None = None
    weight_source: str | None = None
    model: str | None = None
    model_source: str | None = None
    sources: tuple[str, ...] = ()
    file: str | None = None
    file_blob: str | None = None
    id_source: str | None = None           # --task | env:AVORELO_TASK | trailer:Task | task-file

    @property
    def declared(self) -> bool:
        return bool(self.id or self.file or self.trailer_scope)

    def scopes(self) -> list[tuple[str, ...]]:
        """Every scope a path must satisfy (all of them)."""
        return [s for s in (self.scope, self.trailer_scope) if s]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "scope": list(self.scope or self.trailer_scope),
                             "forbid": list(self.forbid), "sources": list(self.sources)}
        if self.scope and self.trailer_scope:
            d["trailer_scope"] = list(self.trailer_scope)
        if self.title:
            d["title"] = self.title
        if self.file:
            d["file"] = self.file
            d["file_blob"] = self.file_blob
        budget = self.budget.to_dict()
        if budget:
            d["budget"] = budget
        if self.risk:
            d["risk"] = self.risk
        return d

    def model_dict(self) -> dict[str, Any] | None:
        if self.weight is None and self.model is None:
            return None
        return {"weight": self.weight, "name": self.model, "claimed": True,
                "source": {"weight": self.weight_source, "name": self.model_source}}


# Where a task id came from, as receipts name sources ("env:VAR", "trailer:Key").
ID_SOURCES = {"--task": "--task", "AVORELO_TASK": "env:AVORELO_TASK",
              "Task trailer": "trailer:Task"}


def _check_id(value: str, source: str) -> str:
    if not schema.TASK_ID.match(value):
        raise BadInputError(f"{source}: {value!r} is not a task id (letters, digits, . _ -, "
                            "starting with a letter or digit)")
    return value


def _env(environ: Mapping[str, str], key: str) -> str | None:
    value = environ.get(key, "").strip()
    return value or None


def load_task_file(data: bytes, source: str, blob: str) -> TaskFile:
    raw = schema.load_validated(data, schema.TASK, source)
    return TaskFile(path=source, blob=blob, data=raw)


def read_task_file_from_disk(path: str) -> TaskFile:
    from avorelo_gate.git.snapshot import blob_id

    data = read_input(path, "task file", MAX_YAML_BYTES)
    return load_task_file(data, path, blob_id(data))


def find_task_file(snapshot: Snapshot, task_id: str | None) -> TaskFile | None:
    """The task file for ``task_id`` in the snapshot: ``tasks/<ID>.yaml``, else ``task.yaml``."""
    candidates = [TASK_PATH] if task_id is None else [f"{TASKS_DIR}/{task_id}.yaml", TASK_PATH]
    found = snapshot.read(candidates)
    for path in candidates:
        if path in found:
            blob, data = found[path]
            return load_task_file(data, path, blob)
    return None


def resolve_task(snapshot: Snapshot, *, explicit_id: str | None = None,
                 explicit_file: str | None = None, environ: Mapping[str, str] = os.environ,
                 declaration: TrailerDeclaration | None = None) -> ResolvedTask:
    sources: list[str] = []
    ids: list[tuple[str, str]] = []  # (value, where it came from)
    if explicit_id:
        ids.append((_check_id(explicit_id, "--task"), "--task"))
    env_id = _env(environ, "AVORELO_TASK")
    if env_id:
        ids.append((_check_id(env_id, "AVORELO_TASK"), "AVORELO_TASK"))
    if declaration is not None and declaration.task_id:
        ids.append((_check_id(declaration.task_id, "Task trailer"), "Task trailer"))
    distinct = {v for v, _ in ids}
    if len(distinct) > 1:
        listed = ", ".join(f"{w} says {v!r}" for v, w in ids)
        raise BadInputError(f"conflicting task ids: {listed}")
    task_id = ids[0][0] if ids else None
    if explicit_id or explicit_file:
        sources.append("explicit")
    elif env_id:
        sources.append("env")
    if declaration is not None and declaration.present:
        sources.append("trailer")

    tf = (read_task_file_from_disk(explicit_file) if explicit_file
          else find_task_file(snapshot, task_id))
    data: Mapping[str, Any] = tf.data if tf else {}
    if tf is not None:
        sources.append("task-file")
        file_id = data.get("id")
        if task_id and file_id and file_id != task_id:
            raise BadInputError(f"{tf.path}: id {file_id!r} does not match the declared task "
                                f"{task_id!r} ({ids[0][1] if ids else '--task'})")
        task_id = task_id or file_id
    id_source = ID_SOURCES[ids[0][1]] if ids else ("task-file" if task_id else None)

    model = data.get("model") or {}
    weight, weight_source = model.get("weight"), ("task-file" if model.get("weight") else None)
    name, name_source = model.get("name"), ("task-file" if model.get("name") else None)
    env_weight = _env(environ, "AVORELO_MODEL_WEIGHT")
    if env_weight:
        if env_weight.lower() not in schema.WEIGHTS:
            raise BadInputError(f"AVORELO_MODEL_WEIGHT: {env_weight!r} is not one of "
                                f"{', '.join(schema.WEIGHTS)}")
        weight, weight_source = env_weight.lower(), "env:AVORELO_MODEL_WEIGHT"
    env_model = _env(environ, "AVORELO_MODEL")
    if env_model:
        name, name_source = env_model, "env:AVORELO_MODEL"
    trailer_scope: tuple[str, ...] = ()
    tools_used: tuple[str, ...] = ()
    approved_by: tuple[str, ...] = ()
    if declaration is not None:
        # The commit's own words about who did the work win over plans and environment.
        if declaration.weight:
            weight, weight_source = declaration.weight, "trailer:Model-Weight"
        if declaration.model:
            name, name_source = declaration.model, declaration.model_source
        for p in declaration.scope:
            problem = pattern_problem(p)
            if problem:
                raise BadInputError(f"Task-Scope trailer: invalid pattern {p!r}: {problem}")
        trailer_scope = declaration.scope
        tools_used = declaration.tools_used
        approved_by = declaration.approved_by

    tools = data.get("tools")
    return ResolvedTask(
        id=task_id, title=data.get("title"), scope=tuple(data.get("scope", ())),
        trailer_scope=trailer_scope, forbid=tuple(data.get("forbid", ())),
        budget=Budget.of(data.get("budget")), risk=data.get("risk"),
        context=tuple(data.get("context", ())),
        tools=tuple(tools) if tools is not None else None,
        proof=tuple(data.get("proof", ())), tools_used=tools_used, approved_by=approved_by,
        weight=weight, weight_source=weight_source, model=name, model_source=name_source,
        sources=tuple(dict.fromkeys(sources)), file=tf.path if tf else None,
        file_blob=tf.blob if tf else None, id_source=id_source)
