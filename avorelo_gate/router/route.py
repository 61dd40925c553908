"""``route``: which model weight should do a task, and why.

Two kinds of reasons. What the task declares: a budget larger than a weight's policy budget
rules that weight out (it would be ``weight-budget``), high risk rules out light; with no
budget, a medium risk or no scope the default is standard. And what earlier work on the same
paths shows (receipts whose touched paths match the task's scope): light attempts that failed
scope or proof there escalate; light passing consistently there de-escalates, down to what the
budget and risk allow.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.errors import BadInputError
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import WORKTREE, Snapshot
from avorelo_gate.receipts.index import (
    IndexState,
    RouteOutcome,
    WeightStats,
    candidate_paths,
    open_index,
    recent_receipts,
    refresh,
    routing_for_paths,
    stats_for_paths,
)
from avorelo_gate.task.active import read_active
from avorelo_gate.task.declare import ResolvedTask, resolve_task
from avorelo_gate.task.policy import POLICY_PATH, Budget, ModelRef, Policy
from avorelo_gate.task.scope import Matcher, pattern_problem

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

ORDER = ("light", "standard", "heavy")
ROUTE_SCHEMA = "avorelo.route/v1"
MIN_FAILURES = 2          # light failing this often (and at least half the time) escalates
FAIL_SHARE = 0.5
MIN_PASSES = 3            # light passing this often, and nearly always, de-escalates
PASS_SHARE = 0.9
GLOB_CHARS = "*?[\\"


@dataclass(frozen=True)
class Route:
    weight: str
    reasons: tuple[str, ...]
    task_id: str | None
    scope: tuple[str, ...]
    stats: tuple[WeightStats, ...]
    recent: tuple[Mapping[str, Any], ...]
    index: IndexState
    budget: Budget = field(default_factory=Budget)
    risk: str | None = None
    model: ModelRef | None = None            # what the policy maps the weight to
    routing: tuple[RouteOutcome, ...] = ()   # earlier work that followed the route, or not
    unrouted: int = 0

    @property
    def considered(self) -> int:
        return sum(s.receipts for s in self.stats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ROUTE_SCHEMA, "recommendation": self.weight,
            "model": self.model.to_dict() if self.model else None,
            "reasons": list(self.reasons),
            "task": {"id": self.task_id, "scope": list(self.scope),
                     "budget": self.budget.to_dict(), "risk": self.risk},
            "evidence": {"receipts_considered": self.considered,
                         "by_weight": {s.weight: s.to_dict() for s in self.stats},
                         "recent": [dict(r) for r in self.recent],
                         "routing": self.routing_dict(),
                         "index": {"path": self.index.path,
                                   "notes_commit": self.index.notes_commit,
                                   "receipts_indexed": self.index.receipts,
                                   "notes_read": self.index.read}},
        }


    def routing_dict(self) -> dict[str, Any]:
        """Per routed weight: the work that followed the route and the work that did not."""
        out: dict[str, Any] = {"unrouted": self.unrouted}
        for o in self.routing:
            out.setdefault(o.routed, {"followed": None, "not_followed": None})[
                "followed" if o.followed else "not_followed"] = o.to_dict()
        return out


def default_task_id(repo: Repo, task_id: str | None, environ: Mapping[str, str]) -> str | None:
    """``--task``, else ``AVORELO_TASK``, else the clone's active task (``task start``)."""
    if task_id or environ.get("AVORELO_TASK", "").strip():
        return task_id
    active = read_active(repo)
    return active.id if active else None


def route(repo: Repo, task_id: str | None, scopes: Sequence[str],
          environ: Mapping[str, str]) -> Route:
    for p in scopes:
        problem = pattern_problem(p)
        if problem:
            raise BadInputError(f"--scope {p!r}: {problem}")
    task = _route_task(repo, task_id or (None if scopes else default_task_id(repo, None, environ)),
                       bool(scopes), environ)
    scope = tuple(scopes) or (task.scope or task.trailer_scope if task else ())
    budget = task.budget if task else Budget()
    risk = task.risk if task else None
    policy = head_policy(repo)
    conn = open_index(repo)
    try:
        state = refresh(repo, conn)
        stats, recent = _history(conn, scope)
        routing, unrouted = routing_for_paths(conn)
    finally:
        conn.close()
    weight, reasons = recommend(scope, budget, risk, policy, stats)
    return Route(weight, tuple(reasons), task.id if task else None, scope, tuple(stats),
                 tuple(recent), state, budget, risk, policy.models.get(weight),
                 tuple(routing), unrouted)


def _route_task(repo: Repo, task_id: str | None, have_scope: bool,
                environ: Mapping[str, str]) -> ResolvedTask | None:
    # The next task's file is usually not committed yet: read it from the working tree.
    snapshot = Snapshot(repo, WORKTREE if repo.toplevel else (repo.head or ""))
    env = {k: v for k, v in environ.items() if k != "AVORELO_TASK"} if task_id else environ
    task = resolve_task(snapshot, explicit_id=task_id, environ=env)
    if task_id and task.file is None:
        raise BadInputError(f"--task {task_id}: no .avorelo/tasks/{task_id}.yaml (or "
                            ".avorelo/task.yaml with that id) in the working tree")
    if not task.declared and not have_scope:
        raise BadInputError("route needs a task: --task ID, --scope PATTERN, or a "
                            ".avorelo/task.yaml")
    return task if task.declared else None


def head_policy(repo: Repo) -> Policy:
    """The policy the next commit will be judged by (engine.load_policy with HEAD as base;
    not imported from there, since the engine's imports would double route's start-up)."""
    found = Snapshot(repo, repo.head).read([POLICY_PATH]) if repo.head else {}
    if POLICY_PATH not in found:
        return Policy()
    blob, data = found[POLICY_PATH]
    return Policy.parse(data, f"{POLICY_PATH} (at {repo.head[:12] if repo.head else ''})", blob)


def scope_prefixes(patterns: Sequence[str]) -> list[str]:
    """The literal directory prefix each pattern can only match under ("" for anywhere)."""
    prefixes = []
    for p in patterns:
        if p.startswith("!"):
            continue  # a negation only removes matches
        body = p.lstrip("/")
        if "/" not in p.rstrip("/"):
            prefixes.append("")  # gitignore: a pattern without a slash matches at any depth
            continue
        cut = min((i for i, ch in enumerate(body) if ch in GLOB_CHARS), default=len(body))
        literal = body[:cut]
        prefixes.append(literal if cut == len(body) else literal[:literal.rfind("/") + 1])
    return prefixes


def _history(conn: Any, scope: Sequence[str]) -> tuple[list[WeightStats],
                                                         list[Mapping[str, Any]]]:
    matcher = Matcher.compile(scope or ["**"])
    prefixes = scope_prefixes(scope) if scope else [""]
    ids = [i for i, path in candidate_paths(conn, prefixes) if matcher.match(path)]
    stats = stats_for_paths(conn, ids)
    return sorted(stats, key=_weight_rank), list(recent_receipts(conn))


def _weight_rank(s: WeightStats) -> int:
    return ORDER.index(s.weight) if s.weight in ORDER else len(ORDER)


def fits(budget: Budget, limit: Budget) -> bool:
    """Whether a task's declared budget stays inside a weight's policy budget."""
    pairs = ((budget.max_files, limit.max_files), (budget.max_lines, limit.max_lines))
    return not any(want is not None and lim is not None and want > lim for want, lim in pairs)


def _describe(b: Budget) -> str:
    bits = [f"{b.max_files} files" if b.max_files is not None else "",
            f"{b.max_lines} lines" if b.max_lines is not None else ""]
    return " / ".join(x for x in bits if x) or "no limit"


def declared_floors(scope: Sequence[str], budget: Budget, risk: str | None,
                    policy: Policy) -> tuple[int, int, list[str]]:
    """(hard floor, default, reasons): history may lower the default, never the hard floor."""
    reasons: list[str] = []
    hard = 0
    if budget.to_dict():
        need = next((i for i, w in enumerate(ORDER)
                     if fits(budget, policy.weights.get(w, Budget()))), len(ORDER) - 1)
        hard = need
        light = policy.weights.get("light", Budget())
        reasons.append(f"budget {_describe(budget)} fits the {ORDER[need]} budget"
                       + (f" (light allows {_describe(light)})" if need else ""))
    if risk == "high" and hard < 1:
        hard = 1
        reasons.append("risk high: not work for a light model")
    default = hard
    if not budget.to_dict() and default < 1:
        default = 1
        reasons.append("no budget declared: standard by default")
    if risk == "medium" and default < 1:
        default = 1
        reasons.append("risk medium: standard by default")
    if not scope and default < 1:
        default = 1
        reasons.append("no scope: the whole repository is in play")
    if risk == "low":
        reasons.append("risk low")
    return hard, default, reasons


def recommend(scope: Sequence[str], budget: Budget, risk: str | None, policy: Policy,
              stats: Sequence[WeightStats]) -> tuple[str, list[str]]:
    hard, level, reasons = declared_floors(scope, budget, risk, policy)
    by_weight = {s.weight: s for s in stats}
    escalated = False
    for lower, higher in ((0, 1), (1, 2)):
        s = by_weight.get(ORDER[lower])
        if s is None:
            continue
        failed = s.scope_or_proof_failed
        if failed >= MIN_FAILURES and failed >= FAIL_SHARE * s.receipts and level < higher:
            level, escalated = higher, True
            reasons.append(f"escalate: {ORDER[lower]} failed scope or proof on these paths in "
                           f"{failed} of {s.receipts} receipt(s)")
    light = by_weight.get("light")
    if (not escalated and light is not None and level > hard and light.passed >= MIN_PASSES
            and light.pass_rate >= PASS_SHARE):
        heavier = sum(s.receipts for s in stats if s.weight in ORDER[1:])
        level = hard
        reasons.append(f"de-escalate: light passed {light.passed} of {light.receipts} "
                       f"receipt(s) on these paths" + (
                           f", where heavier weights were used {heavier} time(s)"
                           if heavier else ""))
    if not stats:
        reasons.append("no earlier receipts touched these paths")
    return ORDER[level], reasons


def describe_model(m: ModelRef) -> str:
    return " / ".join(x for x in (m.name, f"alias {m.alias}" if m.alias else "") if x)


def render_route(r: Route, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(r.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    what = f"task {r.task_id}" if r.task_id else "this scope"
    lines = [f"route: {r.weight} for {what} (scope: {', '.join(r.scope) or 'everything'})"]
    if r.model:
        lines.append(f"  model: {describe_model(r.model)} (policy models.{r.weight})")
    lines.append("  reasons:")
    lines.extend(f"    - {reason}" for reason in r.reasons)
    lines.append(f"  evidence: {r.considered} receipt(s) touched overlapping paths "
                 f"({r.index.receipts} indexed)")
    if r.stats:
        lines.append(f"    {'weight':<11}{'receipts':>9}{'passed':>8}{'scope-fail':>12}"
                     f"{'proof-fail':>12}{'pass-rate':>11}")
        lines.extend(f"    {s.weight:<11}{s.receipts:>9}{s.passed:>8}{s.scope_failed:>12}"
                     f"{s.proof_failed:>12}{s.pass_rate:>10.0%} " for s in r.stats)
    for o in r.routing:
        lines.append(f"    routed {o.routed}, {'followed' if o.followed else 'not followed'}: "
                     f"{o.receipts} receipt(s), {o.passed} passed, {o.scope_failed} scope-fail, "
                     f"{o.proof_failed} proof-fail (used: "
                     + ", ".join(f"{w} {n}" for w, n in sorted(o.used.items())) + ")")
    if r.recent:
        lines.append("  latest of them:")
    lines.extend(f"    {c['commit'][:12]} {c['verdict']:<5} {c['weight'] or '-':<8} "
                 f"{c['task'] or '-'}" for c in r.recent)
    return "\n".join(line.rstrip() for line in lines) + "\n"
