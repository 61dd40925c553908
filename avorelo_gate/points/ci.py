"""``ci --base REF [--head REF]``: the pull-request gate, a required status that always reports.

What is checked:

- every commit in ``merge-base(base, head)..head``, each against its own declared task (its
  trailers, its task file at that commit), as pre-push checks them;
- the range as a whole: the tree diff from the merge base to head, so a file a merge added
  while resolving (which ``git log`` never shows) is seen. The range is checked against
  head's task (head's own ``Task:``; when head names none, the newest ``Task:`` in the range;
  never an older one), and by the tasks the range declares: a path is covered when a commit
  that touched it was allowed to (each commit judged by its own task). A commit's
  ``Task-Scope:`` trailers narrow that commit only, and weight budgets are per commit (the
  policy: "what each model weight may change in one commit"), so neither applies to the
  range; with several tasks on the branch, task budgets are each commit's too.

Tasks are judged from the merge base: a task file absent there is self-declared for every
commit of the range, and one present there can only be narrowed by the branch.

Everything the pull request could loosen is read from the **base** (the merge base): the
policy, its protected paths, weight budgets and approvers. A change to the policy is
``policy-changed`` and never widens its own scope.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass, replace
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.gate.annotate import add_first_lines
from avorelo_gate.gate.assemble import CheckRequest, check_change
from avorelo_gate.git.background import InBackground
from avorelo_gate.git.change import Change
from avorelo_gate.git.diff import RawEntry
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.points import ci_ahead
from avorelo_gate.points.commits import (
    CheckedCommits,
    Commit,
    as_commits,
    check_commits,
    exempt_merge,
    list_commits,
    own_environ,
    touched_files,
    with_violations,
)
from avorelo_gate.points.push_policy import base_policy
from avorelo_gate.receipts.credit import credit_from_receipts
from avorelo_gate.receipts.required import receipt_violations
from avorelo_gate.result import CheckResult, GateReport
from avorelo_gate.task.declare import resolve_task
from avorelo_gate.task.policy import Policy
from avorelo_gate.task.trailers import TrailerDeclaration

SHALLOW_FIX = ("To fix: fetch the history: in GitHub Actions set `fetch-depth: 0` on "
               "actions/checkout; elsewhere run `git fetch --unshallow` (or `git fetch "
               "--deepen=N` until the merge base is there)")


@dataclass(frozen=True)
class CiRequest:
    base: str
    head: str = "HEAD"
    allow_policy_change: bool = False
    # Adding a policy where the merge base has none is adoption only while the target has
    # none either: a branch from before the adoption must not bring a policy of its own.
    adoption: bool = True


def run_ci(repo: Repo, req: CiRequest, environ: Mapping[str, str]) -> GateReport:
    asked = ci_ahead.take(repo, req.base, req.head)   # while click was imported
    if asked is not None:
        base, head, merge_base = asked.base, asked.head, asked.merge_base
        commits = as_commits(asked.commits)
    else:
        base, head = repo.resolve_each([req.base, req.head]) or (
            _resolve(repo, req.base, "--base"), _resolve(repo, req.head, "--head"))
        merge_base = _merge_base(repo, base, head, req)
        commits = list_commits(repo, head, "--not", merge_base)
    _require_history(repo, commits)
    # The range's own diff needs nothing else: git works it out while the commits are judged.
    range_diff = InBackground(lambda: repo.diff_trees(merge_base, head))
    try:
        policy = base_policy(repo, merge_base)
        # A branch from the target's tip (base is the merge base) reads one policy, not two.
        req = replace(req, adoption=policy.blob is None and (
            base == merge_base or base_policy(repo, base).blob is None))
        check_req = CheckRequest(mode="commit", allow_policy_change=req.allow_policy_change,
                                 signals=True, adoption=req.adoption)
        checked = check_commits(repo, [(c, policy) for c in commits], check_req, environ,
                                task_bases={c.sha: [merge_base] for c in commits})
        results = _with_receipts(repo, checked.results, commits, policy, environ)
    except BaseException:
        range_diff.join()   # no git process left behind
        raise
    overall = _check_range(repo, merge_base, head, range_diff.result(), commits,
                           checked, policy, req, environ)
    return add_first_lines(repo, GateReport(overall=overall, commits=results), merge_base, head)


def _resolve(repo: Repo, rev: str, option: str) -> str:
    try:
        return repo.resolve(rev)
    except BadInputError as e:
        if repo.shallow:
            raise EnvironmentFailure(f"{option} {rev}: not in this shallow clone; "
                                     f"{SHALLOW_FIX}") from e
        raise BadInputError(f"{option} {rev}: no such commit here (fetch it first: git fetch "
                            "origin)") from e


def _merge_base(repo: Repo, base: str, head: str, req: CiRequest) -> str:
    found = repo.merge_base(base, head)
    if found is not None:
        return found
    if repo.shallow:
        raise EnvironmentFailure(f"this shallow clone lacks the merge base of {req.base} and "
                                 f"{req.head}; {SHALLOW_FIX}")
    raise BadInputError(f"--base {req.base} and --head {req.head} have no common ancestor")


def _require_history(repo: Repo, commits: Sequence[Commit]) -> None:
    # A commit at a shallow clone's edge has no parents here: its diff would be its whole tree.
    if not repo.shallow:
        return
    edge = repo.shallow_boundary()
    cut = [c.sha for c in commits if c.sha in edge]
    if cut:
        raise EnvironmentFailure(f"commit {cut[0][:12]} is at the edge of this shallow clone "
                                 f"(its parents are missing); {SHALLOW_FIX}")


def _with_receipts(repo: Repo, results: Sequence[CheckResult], commits: Sequence[Commit],
                   policy: Policy, environ: Mapping[str, str]) -> tuple[CheckResult, ...]:
    if not policy.receipts_required:
        return tuple(results)
    merges = {c.sha for c in commits if c.is_merge}
    wanted = list(dict.fromkeys(r.head for r in results if not exempt_merge(r, merges)))
    found = receipt_violations(repo, wanted, environ)
    return tuple(with_violations(r, found.get(r.head, ())) for r in results)


def _check_range(repo: Repo, merge_base: str, head: str, diff: Sequence[RawEntry],
                 commits: Sequence[Commit], checked: CheckedCommits, policy: Policy,
                 req: CiRequest, environ: Mapping[str, str]) -> CheckResult:
    read = checked.snapshots
    change = Change(base=merge_base, head=head, touched=touched_files(diff),
                    snapshot=read.get(head) or Snapshot(repo, head), base_commit=merge_base,
                    mode="range")
    declaration, warnings = range_declaration(commits, checked.declarations)
    task = resolve_task(change.snapshot, environ=own_environ(environ), declaration=declaration,
                        bases=[read.get(merge_base) or Snapshot(repo, merge_base)])
    range_req = CheckRequest(mode="range", allow_policy_change=req.allow_policy_change,
                             signals=True, adoption=req.adoption)
    result = check_change(repo, change, task, policy, range_req, environ)
    result = _covered_by_commits(result, checked.results,
                                 several_tasks=len(_task_ids(checked.results)) > 1)
    # The range ends in head's tree: head's receipt recorded the proof for exactly that.
    result = credit_from_receipts(repo, [result], [head], environ,
                                  [policy.receipts_signed])[0]
    notes = list(result.notes)
    if not commits:
        notes.append(f"no commits between the merge base {merge_base[:12]} and head "
                     f"{head[:12]}: nothing to check")
    elif not result.violations and not change.touched:
        notes.append("nothing in scope changed: the range leaves the tree as it was")
    notes.append(f"policy read from the base {merge_base[:12]} "
                 f"({'defaults' if policy.blob is None else '.avorelo/policy.yaml'})")
    return replace(result, violations=tuple(v for v in result.violations
                                             if v.rule != "weight-budget"),
                   warnings=(*warnings, *result.warnings), notes=tuple(notes))


SCOPE_RULES = ("out-of-scope", "forbidden")


def _task_ids(results: Sequence[CheckResult]) -> set[str]:
    return {str(r.task["id"]) for r in results if r.task and r.task.get("id")}


def _covered_by_commits(result: CheckResult, commit_results: Sequence[CheckResult],
                        several_tasks: bool) -> CheckResult:
    """The range by the tasks it declares: a path is covered when a commit that touched it
    was allowed to (no scope or forbid violation on it, judged by that commit's own task)."""
    allowed: set[str] = set()
    for r in commit_results:
        refused = {v.path for v in r.violations if v.rule in SCOPE_RULES}
        allowed.update(t.path for t in r.touched if t.path not in refused)
    dropped = ("budget-files", "budget-lines") if several_tasks else ()
    kept = tuple(v for v in result.violations
                 if not (v.rule in SCOPE_RULES and v.path in allowed) and v.rule not in dropped)
    notes = result.notes
    if len(kept) != len(result.violations):
        notes = (*notes, "paths outside head's task were checked by the task of the commit "
                 "that touched them")
    return replace(result, violations=kept, notes=notes)


def range_declaration(commits: Sequence[Commit],
                      declarations: Mapping[str, TrailerDeclaration]) -> \
        tuple[TrailerDeclaration | None, list[str]]:
    """What the range as a whole declares: head's ``Task:`` id (when head names none, the
    newest in the range; never an older one over a newer), everyone's approvals and tools;
    no scope narrowing and no model claims (those are each commit's own)."""
    found = [declarations[c.sha] for c in commits if c.sha in declarations]
    if not found:
        return None, []
    named = [d.task_id for d in found if d.task_id]
    ids = list(dict.fromkeys(named))
    warnings = []
    if len(ids) > 1:
        warnings.append(f"the commits declare several tasks ({', '.join(ids)}): each commit is "
                        f"judged by its own, the range by head's, {named[-1]}, and every path "
                        "by the task of a commit that touched it")
    return TrailerDeclaration(
        task_id=named[-1] if named else None, scope=(), model=None, model_source=None,
        weight=None, tools_used=_union(d.tools_used for d in found),
        approved_by=_union(d.approved_by for d in found),
        present=any(d.present for d in found)), warnings


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    items: dict[str, None] = {}
    for group in groups:
        items.update(dict.fromkeys(group))
    return tuple(items)
