"""Approvals and tools: the parts of a task's path that name people and programs.

An approval is an ``Approved-by: Name <email>`` trailer from someone on the policy's list, or
(in ``ci`` only) a platform signal the policy names, e.g. an environment variable a workflow
sets only when a maintainer's label is present. The list always comes from the policy in force,
which ``ci`` reads from the base commit, so a pull request cannot add its own approver.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError
from avorelo_gate.result import TouchedFile, Violation
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import Approval, Policy
from avorelo_gate.task.scope import Matcher

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

_EMAIL = re.compile(r"<([^<>]+)>\s*\Z")


def _email(person: str) -> str:
    m = _EMAIL.search(person)
    return (m.group(1) if m else person).strip().lower()


@dataclass(frozen=True)
class ApprovalOutcome:
    """One approval rule applied to a change: who approved, and whether it is enough."""

    rule: int
    required: int
    approvers: tuple[str, ...]
    approved_by: tuple[str, ...]      # listed approvers who approved (claimed, by trailer)
    via: str | None                   # "trailer", "signal:NAME" or None when missing
    paths: tuple[str, ...]            # the touched paths that made the rule apply

    @property
    def satisfied(self) -> bool:
        return self.via is not None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "required": self.required,
                "approved_by": list(self.approved_by), "claimed": bool(self.approved_by),
                "via": self.via, "satisfied": self.satisfied}


def _applies(rule: Approval, task: ResolvedTask, touched: Sequence[TouchedFile]) -> \
        tuple[bool, tuple[str, ...]]:
    """Every condition the rule names must hold; a rule naming none applies to everything."""
    hit: tuple[str, ...] = ()
    if rule.paths:
        matcher = Matcher.compile(rule.paths)
        hit = tuple(t.path for t in touched if matcher.match(t.path))
        if not hit:
            return False, ()
    if not conditions_hold(rule, task.risk, task.weight):
        return False, ()
    return bool(touched), hit


def conditions_hold(rule: Approval, risk: str | None, weight: str | None) -> bool:
    """The rule's risk and weight conditions (its paths aside), for a task with this risk,
    worked at this weight (``task start`` asks it of the routed weight)."""
    if rule.risk is not None and risk != rule.risk:
        return False
    return not (rule.weights and weight not in rule.weights)


def evaluate_approvals(policy: Policy, task: ResolvedTask, touched: Sequence[TouchedFile],
                       environ: Mapping[str, str], signals: bool) -> \
        tuple[tuple[ApprovalOutcome, ...], tuple[Violation, ...]]:
    outcomes: list[ApprovalOutcome] = []
    violations: list[Violation] = []
    given = {_email(p): p for p in task.approved_by}
    for i, rule in enumerate(policy.approvals):
        applies, hit = _applies(rule, task, touched)
        if not applies:
            continue
        listed = {_email(a): a for a in rule.approvers}
        approved = tuple(given[e] for e in given if e in listed)
        via = None
        if len(approved) >= rule.count:
            via = "trailer"
        elif signals and rule.signal and environ.get(rule.signal, "").strip():
            via = f"signal:{rule.signal}"
        outcomes.append(ApprovalOutcome(i, rule.count, rule.approvers, approved, via, hit))
        if via is None:
            what = f"changes to {', '.join(hit[:3])}" if hit else "this change"
            unlisted = [p for e, p in given.items() if e not in listed]
            extra = f" ({', '.join(unlisted)} is not on the list)" if unlisted else ""
            violations.append(Violation(
                "approval-missing",
                f"{what} need{'' if hit else 's'} {rule.count} approval(s) "
                f"from the policy's list; {len(approved)} given{extra}",
                hit[0] if hit else None,
                "add an 'Approved-by: Name <email>' trailer from one of: "
                + ", ".join(rule.approvers)
                + (f" (or, in CI, the {rule.signal} signal)" if rule.signal else "")))
    return tuple(outcomes), tuple(violations)


def evaluate_tools(task: ResolvedTask) -> tuple[Violation, ...]:
    """``Tools-Used:`` must name only the task's declared tools (when it declares any)."""
    if task.tools is None:
        return ()
    allowed = set(task.tools)
    return tuple(
        Violation("tool-not-allowed",
                  f"Tools-Used names {tool!r}, which task {task.id or '(unnamed)'} does not "
                  f"allow (tools: {', '.join(task.tools) or 'none'})", None,
                  f"add {tool!r} to tools: in {task.file or 'the task file'}, or do the work "
                  "with an allowed tool")
        for tool in task.tools_used if tool not in allowed)


_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?\Z")


def program_names(argv: Sequence[str]) -> tuple[str, ...]:
    """The names a command line runs under: its program, and for ``python -m MODULE`` the
    module too, so that ``tools: [pytest]`` admits ``python -m pytest``."""
    program = argv[0].replace("\\", "/").rsplit("/", 1)[-1]
    names = [program]
    if _PYTHON.match(program) and "-m" in argv[1:-1]:
        names.append(argv[argv.index("-m", 1) + 1].split(".", 1)[0])
    return tuple(names)


def refuse_unlisted_tool(task: ResolvedTask, argv: Sequence[str]) -> None:
    """``prove`` runs only the tools the task declares (when it declares any)."""
    if task.tools is None or not argv:
        return
    names = program_names(argv)
    if not any(n in task.tools for n in names):
        raise BadInputError(
            f"prove: {names[-1]!r} is not among the tools task {task.id or '(unnamed)'} "
            f"allows ({', '.join(task.tools) or 'none'}); add it to tools: in "
            f"{task.file or 'the task file'} or use an allowed tool")


def tools_record(task: ResolvedTask) -> dict[str, Any]:
    return {"declared": list(task.tools) if task.tools is not None else None,
            "used": list(task.tools_used)}
