"""Plain immutable results: what the engine decides, before any format turns it into text."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.errors import ExitCode

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

RULES = (
    "no-task", "out-of-scope", "forbidden", "protected", "budget-files", "budget-lines",
    "weight-budget", "proof-missing", "proof-failed", "proof-stale", "proof-invalid",
    "receipt-missing", "receipt-invalid", "trailer-invalid", "policy-changed", "context-stale",
    "context-missing", "tool-not-allowed", "approval-missing",
)

CHECK_SCHEMA = "avorelo.check/v1"


@dataclass(frozen=True)
class Violation:
    """One rule the change breaks: the rule id, what and where, and how to fix it."""

    rule: str
    message: str
    path: str | None = None
    hint: str | None = None
    line: int | None = None      # first changed line of ``path``, when a report wants it
    commit: str | None = None    # the commit it was found in (pre-push, ci)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"rule": self.rule, "path": self.path, "message": self.message,
                             "hint": self.hint}
        if self.line is not None:
            d["line"] = self.line
        if self.commit is not None:
            d["commit"] = self.commit
        return d


@dataclass(frozen=True)
class ProofStatus:
    """One proof requirement's outcome: ok, missing, failed, stale or invalid, and why."""

    requirement: str                    # e.g. "junit:reports/junit.xml", "command:tests"
    status: str                         # ok | missing | failed | stale | invalid
    detail: str = ""
    counts: Mapping[str, int] | None = None
    sha256: str | None = None
    tree: str | None = None             # the content the proof ran against
    stale_paths: tuple[str, ...] = ()
    # The requirement as declared, every field: a receipt's result is credited later only to
    # a requirement equal to it in every field (min_tests, must_contain...), not by label.
    spec: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"requirement": self.requirement, "status": self.status}
        if self.detail:
            d["detail"] = self.detail
        if self.counts is not None:
            d["counts"] = dict(self.counts)
        if self.sha256:
            d["sha256"] = self.sha256
        if self.tree:
            d["tree"] = self.tree
        if self.stale_paths:
            d["stale_paths"] = list(self.stale_paths)
        if self.spec is not None:
            d["spec"] = dict(self.spec)
        return d


@dataclass(frozen=True)
class TouchedFile:
    """One path the change touches, with git's status and its line counts."""

    path: str
    status: str           # A M D T (git's letters; U never reaches here)
    added: int
    removed: int
    binary: bool
    old_mode: str = ""
    new_mode: str = ""
    old_blob: str = ""
    new_blob: str = ""


class LinesNotCounted(RuntimeError):
    """A rule read the line count of a diff whose lines were not counted: a bug in
    ``engine.needs_lines``, raised rather than judged as zero lines."""


@dataclass(frozen=True)
class DiffSummary:
    """The change's size: files, lines added and removed, binary files.

    ``counted`` is False where nothing reads the lines: under the defaults, ``ci`` and
    pre-push count a commit's lines only when its task has a line budget or a model weight
    (``engine.needs_lines``, points/commits.py); without them a long history costs a tenth
    of the time. Such a summary has its files only."""

    files: int
    added: int
    removed: int
    binary: int = 0
    counted: bool = True

    @classmethod
    def of(cls, touched: Sequence[TouchedFile], counted: bool = True) -> DiffSummary:
        if not counted:
            return cls(files=len(touched), added=0, removed=0, counted=False)
        return cls(files=len(touched), added=sum(t.added for t in touched),
                   removed=sum(t.removed for t in touched),
                   binary=sum(1 for t in touched if t.binary))

    @property
    def lines(self) -> int:
        if not self.counted:
            raise LinesNotCounted("a rule read the lines of a diff whose lines were not counted")
        return self.added + self.removed

    def to_dict(self) -> dict[str, Any]:
        if not self.counted:
            return {"files": self.files, "added": None, "removed": None}
        return {"files": self.files, "added": self.added, "removed": self.removed}


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one change (or one commit of a range), with everything it rests on."""

    base: str
    head: str
    label: str                                  # "staged", "worktree", a commit sha, "range"
    task: Mapping[str, Any] | None
    model: Mapping[str, Any] | None
    diff: DiffSummary
    violations: tuple[Violation, ...] = ()
    warnings: tuple[str, ...] = ()
    proof: tuple[ProofStatus, ...] = ()
    notes: tuple[str, ...] = ()
    touched: tuple[TouchedFile, ...] = field(default=(), repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict)   # context, tools, approvals...

    @property
    def exit_code(self) -> int:
        return int(ExitCode.VIOLATIONS if self.violations else ExitCode.PASS)

    @property
    def verdict(self) -> str:
        return "fail" if self.violations else "pass"

    def to_dict(self) -> dict[str, Any]:
        task = dict(self.task) if self.task is not None else None
        d: dict[str, Any] = {
            "schema": CHECK_SCHEMA,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "range": {"base": self.base, "head": self.head},
            "task": task,
            "model": dict(self.model) if self.model is not None else None,
            "diff": self.diff.to_dict(),
            "violations": [v.to_dict() for v in self.violations],
            "warnings": list(self.warnings),
            "proof": [p.to_dict() for p in self.proof],
        }
        if self.notes:
            d["notes"] = list(self.notes)
        for key, value in self.extra.items():
            d[key] = value
        return d


@dataclass(frozen=True)
class GateReport:
    """What one command decided: one result (check) or a whole range and its commits (ci)."""

    overall: CheckResult
    commits: tuple[CheckResult, ...] = ()

    @property
    def violations(self) -> tuple[Violation, ...]:
        seen: list[Violation] = []
        for r in (*self.commits, self.overall):
            for v in r.violations:
                if v not in seen:
                    seen.append(v)
        return tuple(seen)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.VIOLATIONS if self.violations else ExitCode.PASS)

    @property
    def verdict(self) -> str:
        return "fail" if self.violations else "pass"

    def to_dict(self) -> dict[str, Any]:
        d = self.overall.to_dict()
        d["verdict"] = self.verdict
        d["exit_code"] = self.exit_code
        if self.commits:
            d["commits"] = [dict(c.to_dict(), commit=c.label) for c in self.commits]
            # The verdict is every unit's: a reader of the top level must see why it failed.
            d["violations"] = [v.to_dict() for v in self.violations]
        return d
