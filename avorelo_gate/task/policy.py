"""The repository policy: the ceiling every task lives under."""
from __future__ import annotations

from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass, field, replace
from avorelo_gate.task import schema

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

AVORELO_DIR = ".avorelo"   # every file the gate reads from a commit is under it
POLICY_PATH = f"{AVORELO_DIR}/policy.yaml"
TASK_PATH = f"{AVORELO_DIR}/task.yaml"
TASKS_DIR = f"{AVORELO_DIR}/tasks"


@dataclass(frozen=True)
class Budget:
    """A size limit: files and lines a change may touch (None: no limit)."""

    max_files: int | None = None
    max_lines: int | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Budget:
        data = data or {}
        return cls(data.get("max_files"), data.get("max_lines"))

    def to_dict(self) -> dict[str, int]:
        d = {}
        if self.max_files is not None:
            d["max_files"] = self.max_files
        if self.max_lines is not None:
            d["max_lines"] = self.max_lines
        return d


DEFAULT_WEIGHTS: Mapping[str, Budget] = {
    "light": Budget(5, 200),
    "standard": Budget(50, 2000),
    "heavy": Budget(),
}


@dataclass(frozen=True)
class Approval:
    """An approval rule of the policy: which paths need whose approval, how many."""

    paths: tuple[str, ...]
    approvers: tuple[str, ...]
    count: int = 1
    risk: str | None = None
    weights: tuple[str, ...] = ()
    signal: str | None = None


@dataclass(frozen=True)
class ModelRef:
    """The model a weight maps to (policy ``models:``): the provider's id and/or a gateway
    alias."""

    name: str | None = None
    alias: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "alias": self.alias}


@dataclass(frozen=True)
class Policy:
    """The repository policy (.avorelo/policy.yaml) as read at the base."""

    require_task: bool = False
    protected: tuple[str, ...] = (POLICY_PATH,)
    weights: Mapping[str, Budget] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    models: Mapping[str, ModelRef] = field(default_factory=dict)   # weight -> model
    proof: tuple[Mapping[str, Any], ...] = ()
    receipts_required: bool = False
    receipts_signed: bool = False
    approvals: tuple[Approval, ...] = ()
    self_declared_tasks: str = "allow"   # allow | refuse: a task file the change adds itself
    blob: str | None = None          # the policy file's blob id, None for the defaults
    source: str = "defaults"

    @classmethod
    def parse(cls, data: bytes, source: str, blob: str | None = None) -> Policy:
        # receipt verify reads the policy at each commit's parent: nearly always one blob.
        # One parse per content; ``source`` (where it was read, named in notes) is the
        # caller's. Failures are raised, never kept.
        key = (data, blob)
        found = _PARSED.get(key)
        if found is None:
            if len(_PARSED) >= MAX_PARSED:
                _PARSED.clear()
            found = _PARSED[key] = cls._parse(data, source, blob)
        return found if found.source == source else replace(found, source=source)

    @classmethod
    def _parse(cls, data: bytes, source: str, blob: str | None) -> Policy:
        raw = schema.load_validated(data, schema.POLICY, source)
        weights = dict(DEFAULT_WEIGHTS)
        for name, budget in (raw.get("weights") or {}).items():
            weights[name] = Budget.of(budget)
        protected = tuple(raw.get("protected", ()))
        if POLICY_PATH not in protected:
            protected = (POLICY_PATH, *protected)
        receipts = raw.get("receipts") or {}
        approvals = tuple(
            Approval(paths=tuple(a.get("paths", ())), approvers=tuple(a["approvers"]),
                     count=a.get("count", 1), risk=a.get("risk"),
                     weights=tuple(a.get("weights", ())), signal=a.get("signal"))
            for a in raw.get("approvals", ()))
        models = {w: ModelRef(m.get("name"), m.get("alias"))
                  for w, m in (raw.get("models") or {}).items() if m}
        return cls(require_task=raw.get("require_task", False), protected=protected,
                   weights=weights, models=models, proof=tuple(raw.get("proof", ())),
                   receipts_required=receipts.get("required", False),
                   receipts_signed=receipts.get("signed", False), approvals=approvals,
                   self_declared_tasks=raw.get("self_declared_tasks", "allow"),
                   blob=blob, source=source)


_PARSED: dict[tuple[bytes, str | None], Policy] = {}
MAX_PARSED = 64


STARTER_POLICY = """\
# avorelo-gate policy: the ceiling every task lives under. See README.md.
version: 1
require_task: true          # a change with no declared task fails
protected: [".github/workflows/**", ".pre-commit-config.yaml"]   # plus .avorelo/policy.yaml
weights:                    # what each model weight may change in one commit
  light:    {max_files: 5,  max_lines: 200}
  standard: {max_files: 50, max_lines: 2000}
  heavy:    {}
proof: []                   # requirements added to every task's own
receipts: {required: true}  # pre-push and CI demand a valid receipt on every new commit
"""

STARTER_TASK = """\
# The current task. Name others .avorelo/tasks/<ID>.yaml and pick them with a Task: trailer.
id: TASK-1
title: Describe the task here
scope: ["src/**", "tests/**"]
budget: {max_files: 20, max_lines: 800}
risk: low
model: {weight: standard}
"""
