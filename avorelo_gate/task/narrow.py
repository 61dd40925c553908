"""A task file the change edits, narrowed by the versions it had before (contract 0.2).

The rules a change is judged by never come from the change itself: where a task file existed
at the base, the change can only narrow it. Each restriction combines toward the stricter:
scopes all apply (a path must be in every version's scope, as with a ``Task-Scope:``
trailer), ``forbid``, ``proof`` and ``context`` are the union, ``tools`` (an allow-list) the
intersection, budgets the smaller, risk the higher.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.task.policy import Budget
from avorelo_gate.task.schema import RISKS

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Restrictions:
    """What a changed task file may only narrow: scopes, forbid, proof, tools, budgets."""

    scopes: tuple[tuple[str, ...], ...]    # every declared scope (``scope: []`` included)
    forbid: tuple[str, ...]
    proof: tuple[Mapping[str, Any], ...]
    context: tuple[Any, ...]
    tools: tuple[str, ...] | None
    budget: Budget
    risk: str | None


def _union(groups: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    out: list[Any] = []
    for group in groups:
        out.extend(item for item in group if item not in out)
    return tuple(out)


def _smaller(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def combine(versions: Sequence[Mapping[str, Any]]) -> Restrictions:
    """The restrictions of every version at once; ``versions[0]`` is the changed one."""
    scopes = tuple(tuple(v["scope"]) for v in versions if v.get("scope") is not None)
    scopes = tuple(dict.fromkeys(scopes))      # the same scope twice is one constraint
    tool_lists = [tuple(v["tools"]) for v in versions if v.get("tools") is not None]
    tools: tuple[str, ...] | None = None
    if tool_lists:
        tools = tuple(t for t in tool_lists[0] if all(t in other for other in tool_lists))
    budgets = [Budget.of(v.get("budget")) for v in versions]
    risks = [v["risk"] for v in versions if v.get("risk") in RISKS]
    return Restrictions(
        scopes=scopes,
        forbid=_union([v.get("forbid", ()) for v in versions]),
        proof=_union([v.get("proof", ()) for v in versions]),
        context=_union([v.get("context", ()) for v in versions]),
        tools=tools,
        budget=Budget(_smaller([b.max_files for b in budgets]),
                      _smaller([b.max_lines for b in budgets])),
        risk=max(risks, key=RISKS.index) if risks else None)
