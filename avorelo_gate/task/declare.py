"""Declaring a task: the contract's sources, and how they combine into one resolved task.

The id, first match wins: ``--task ID`` / ``--task-file PATH`` / ``AVORELO_TASK``; the
message's ``Task:``; the clone's active task (``task start``); else none. The file:
``.avorelo/tasks/<ID>.yaml`` when an id is known; ``.avorelo/task.yaml`` when no id is, or
when its own ``id`` is that id (or absent). A named task with neither has no file: it
declares no scope.
A trailer narrows the file's scope, never widens it: both must allow a path. So does every
earlier version of the task file (``bases``: the point's base, then the commit's parent): the
change can only narrow a task that existed before it (``narrow.py``); a task file absent at the
point's base is **self-declared**.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.errors import BadInputError
from avorelo_gate.files.inputs import read_input
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.task import schema
from avorelo_gate.task.narrow import combine
from avorelo_gate.task.policy import TASK_PATH, TASKS_DIR, Budget
from avorelo_gate.task.scope import pattern_problem
from avorelo_gate.task.yamlio import MAX_YAML_BYTES

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    from avorelo_gate.task.trailers import TrailerDeclaration


@dataclass(frozen=True)
class TaskFile:
    """A task file as read: its path, blob id and bytes."""

    path: str
    blob: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class ResolvedTask:
    """The task a change is judged by, from every source that declares it."""

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
    # Every file scope a path must satisfy: the changed version's and each earlier version's.
    # ``scope: []`` is a constraint (no path is in scope); a file with no ``scope`` key is none.
    file_scopes: tuple[tuple[str, ...], ...] = ()
    self_declared: bool = False            # the task file (or trailer-only task) is the change's
    narrowed_by: tuple[str, ...] = ()      # earlier versions that narrowed it ("path at rev")
    missing_file: str | None = None        # a named task's file that exists nowhere
    deferred: bool = False                 # pre-commit: the message may still name the task

    @property
    def declared(self) -> bool:
        return bool(self.id or self.file or self.trailer_scope)

    @property
    def meets_require_task(self) -> bool:
        """``require_task`` is met only by a task with an id that declares a scope source."""
        return bool(self.id and (self.file or self.trailer_scope))

    def scopes(self) -> list[tuple[str, ...]]:
        """Every scope a path must satisfy (all of them)."""
        return [*self.file_scopes, *([self.trailer_scope] if self.trailer_scope else [])]

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
        if self.self_declared:
            d["self_declared"] = True
        if self.narrowed_by:
            d["narrowed_by"] = list(self.narrowed_by)
        if self.missing_file:
            d["missing_file"] = self.missing_file
        return d

    def model_dict(self) -> dict[str, Any] | None:
        if self.weight is None and self.model is None:
            return None
        return {"weight": self.weight, "name": self.model, "claimed": True,
                "source": {"weight": self.weight_source, "name": self.model_source}}


# Where a task id came from, as receipts name sources ("env:VAR", "trailer:Key").
ID_SOURCES = {"--task": "--task", "AVORELO_TASK": "env:AVORELO_TASK",
              "Task trailer": "trailer:Task", "active task": "active-task"}


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


def is_task_file(path: str) -> bool:
    """Only ``.avorelo/task.yaml`` and ``.avorelo/tasks/<ID>.yaml`` are task files; any other
    path under ``.avorelo/tasks/`` is an ordinary path (scope and forbid apply to it)."""
    if path == TASK_PATH:
        return True
    prefix = TASKS_DIR + "/"
    if not path.startswith(prefix) or not path.endswith(".yaml"):
        return False
    return bool(schema.TASK_ID.match(path[len(prefix):-len(".yaml")]))


def task_file_candidates(task_id: str | None) -> list[str]:
    """Every path ``find_task_file`` reads for ``task_id``, in the order it tries them."""
    return [TASK_PATH] if task_id is None else [f"{TASKS_DIR}/{task_id}.yaml", TASK_PATH]


def declared_task_files(task_id: str | None) -> list[str]:
    """The candidates worth reading ahead for a declared id: an id that is not one is
    refused by resolve_task before it reads a file, so only task.yaml is read for it."""
    return task_file_candidates(task_id if task_id and schema.TASK_ID.match(task_id)
                                else None)


def find_task_file(snapshot: Snapshot, task_id: str | None,
                   where: str | None = None) -> TaskFile | None:
    """The task file for ``task_id`` in the snapshot: ``tasks/<ID>.yaml``, else ``task.yaml``
    when it is that task's (its ``id`` is ``task_id`` or absent); with no id, ``task.yaml``.
    ``where`` names the snapshot in errors (a base version: "at <commit>")."""
    candidates = task_file_candidates(task_id)
    found = snapshot.read(candidates)
    for path in candidates:
        if path in found:
            blob, data = found[path]
            tf = load_task_file(data, f"{path} ({where})" if where else path, blob)
            tf = TaskFile(path=path, blob=tf.blob, data=tf.data)
            file_id = tf.data.get("id")
            if path == TASK_PATH and task_id and file_id not in (None, task_id):
                return None   # task.yaml is another task's file, not this one's
            if path != TASK_PATH and file_id not in (None, task_id):
                raise BadInputError(f"{tf.path if not where else f'{path} ({where})'}: id "
                                    f"{file_id!r} does not match the file's name ({task_id})")
            return tf
    return None


def _base_versions(bases: Sequence[Snapshot | None],
                   task_id: str | None) -> list[TaskFile | None]:
    return [find_task_file(b, task_id, where=f"at {b.label}") if b is not None else None
            for b in bases]


def resolve_task(snapshot: Snapshot, *, explicit_id: str | None = None,
                 explicit_file: str | None = None, environ: Mapping[str, str] = os.environ,
                 declaration: TrailerDeclaration | None = None,
                 active_id: str | None = None,
                 bases: Sequence[Snapshot | None] = (),
                 parent: Snapshot | None = None) -> ResolvedTask:
    """The task a change declares. ``bases``: where the point judges the change from (the
    remote's old tip of each ref, the merge base, HEAD); a task file absent at any of them is
    self-declared (None, or no bases at all, is no base: a new repository). Every version at
    a base and at the commit's ``parent`` narrows the task."""
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
        # Not "first match wins": pre-push and ci judge the commit by its message, so a
        # commit made under another id would get two verdicts.
        listed = ", ".join(f"{w} says {v!r}" for v, w in ids)
        raise BadInputError(f"conflicting task ids: {listed}")
    if not ids and active_id:
        ids.append((_check_id(active_id, "active task"), "active task"))
    task_id = ids[0][0] if ids else None
    if explicit_id or explicit_file:
        sources.append("explicit")
    elif env_id:
        sources.append("env")
    elif ids and ids[0][1] == "active task":
        sources.append("active-task")
    if declaration is not None and declaration.present:
        sources.append("trailer")

    # The operator's own --task-file is not the change's: nothing earlier narrows it.
    earlier_at = [] if explicit_file else [*bases, parent] if parent else list(bases)
    if explicit_file:
        tf: TaskFile | None = read_task_file_from_disk(explicit_file)
    else:
        tf = find_task_file(snapshot, task_id)
    earlier = _base_versions(earlier_at, task_id)
    absent_at_base = not bases or any(e is None for e in earlier[:len(bases)])
    if tf is None:
        # A change cannot shed its task by deleting the file: the earlier version stands.
        tf = next((e for e in earlier if e is not None), None)
    data: Mapping[str, Any] = tf.data if tf else {}
    if tf is not None:
        sources.append("task-file")
        file_id = data.get("id")
        if explicit_file and task_id and file_id and file_id != task_id:
            raise BadInputError(f"{tf.path}: id {file_id!r} does not match the declared task "
                                f"{task_id!r} ({ids[0][1]})")
        task_id = task_id or file_id
    id_source = ID_SOURCES[ids[0][1]] if ids else ("task-file" if task_id else None)
    older = {e.blob: e.data for e in earlier if e is not None and tf is not None
             and e.blob != tf.blob}
    versions = [data, *older.values()] if tf is not None else []
    narrowed_by = tuple(f"{e.path} at {b.label}"
                        for e, b in zip(earlier, earlier_at, strict=True)
                        if e is not None and b is not None and tf is not None
                        and e.blob != tf.blob)
    restrict = combine(versions)
    self_declared = not explicit_file and (
        (tf is not None and absent_at_base) or (tf is None and bool(task_id)
                                                 and declaration is not None
                                                 and bool(declaration.scope)))
    missing = (f"{TASKS_DIR}/{task_id}.yaml" if task_id and tf is None and not explicit_file
               else None)
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

    return ResolvedTask(
        id=task_id, title=data.get("title"), scope=tuple(data.get("scope", ())),
        trailer_scope=trailer_scope, forbid=restrict.forbid, budget=restrict.budget,
        risk=restrict.risk, context=restrict.context, tools=restrict.tools,
        proof=restrict.proof, tools_used=tools_used, approved_by=approved_by,
        weight=weight, weight_source=weight_source, model=name, model_source=name_source,
        sources=tuple(dict.fromkeys(sources)), file=tf.path if tf else None,
        file_blob=tf.blob if tf else None, id_source=id_source,
        file_scopes=restrict.scopes, self_declared=self_declared, narrowed_by=narrowed_by,
        missing_file=missing)


class TaskMemo:
    """``resolve_task`` for many commits of one command, once per distinct set of inputs: a
    range that keeps one task file is resolved once, not per commit (``ci``, pre-push,
    ``receipt verify``).

    The key is everything ``resolve_task`` reads when no ``--task``, ``--task-file`` or
    active task is given: the declaration (the commit's trailers), the three environment
    variables it reads, and the task file's candidates (``task_file_candidates``) at the
    commit and at each earlier snapshot, by blob id, which names their bytes. Of a snapshot
    it reads nothing else but its label, written into ``narrowed_by`` for a version that
    differs from the commit's (and into errors, which are raised, never kept): an earlier
    snapshot whose candidates differ from the commit's is in the key with its label.
    tests/test_shared_work.py holds each commit to the task it gets alone."""

    def __init__(self) -> None:
        self._resolved: dict[object, ResolvedTask] = {}

    def resolve(self, snapshot: Snapshot, *, environ: Mapping[str, str],
                declaration: TrailerDeclaration | None, bases: Sequence[Snapshot | None],
                parent: Snapshot | None) -> ResolvedTask:
        task_id = _env(environ, "AVORELO_TASK") or (declaration.task_id if declaration
                                                    else None)
        paths = declared_task_files(task_id)
        own = _blobs(snapshot, paths)
        versions = []
        for earlier in (*bases, parent) if parent else bases:
            blobs = None if earlier is None else _blobs(earlier, paths)
            versions.append((blobs, earlier.label if earlier is not None and blobs != own
                             else None))
        key = (declaration, *(_env(environ, k) for k in MEMO_ENVIRON), own, tuple(versions))
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = resolve_task(
                snapshot, environ=environ, declaration=declaration, bases=bases,
                parent=parent)
        return found


# Every environment variable resolve_task reads (through _env).
MEMO_ENVIRON = ("AVORELO_TASK", "AVORELO_MODEL_WEIGHT", "AVORELO_MODEL")


def _blobs(snapshot: Snapshot, paths: Sequence[str]) -> tuple[str | None, ...]:
    found = snapshot.read(paths)
    return tuple(found[p][0] if p in found else None for p in paths)
