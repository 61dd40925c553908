"""Assembling one check: the change, the declared task and the policy, then the engine.

This is the plain core behind ``check`` and the commit hooks: typed arguments in (the
environment as a parameter), a GateReport out. No click, no printing.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass, replace
from avorelo_gate.files.inputs import read_input
from avorelo_gate.gate.engine import Options, evaluate, load_policy
from avorelo_gate.git import change as changes
from avorelo_gate.git.change import Change
from avorelo_gate.git.repo import Repo
from avorelo_gate.result import CheckResult, GateReport, ProofStatus, Violation
from avorelo_gate.task.approvals import evaluate_approvals, evaluate_tools, tools_record
from avorelo_gate.task.declare import ResolvedTask, resolve_task
from avorelo_gate.task.policy import POLICY_PATH, Policy
from avorelo_gate.task.trailers import (
    TrailerDeclaration,
    commit_trailers,
    declaration_from,
    parse_message,
)

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CheckRequest:
    """What to check: which change, by which task, with which message."""

    mode: str = "staged"                 # staged | worktree | commit | range
    rev: str | None = None               # --commit
    spec: str | None = None              # --range
    task_id: str | None = None
    task_file: str | None = None
    message_file: str | None = None
    allow_policy_change: bool = False
    message_known: bool = True
    amend: bool = False                  # the commit being made replaces HEAD
    signals: bool = False                # ci: platform approval signals count
    adoption: bool = True                # see engine.Options.adoption


def read_message_file(path: str) -> str:
    data = read_input(path, "message file", MAX_MESSAGE_BYTES)
    return data.decode("utf-8", "surrogateescape")


def message_declaration(repo: Repo, path: str) -> TrailerDeclaration:
    return declaration_from(parse_message(repo, read_message_file(path)), source=path)


def commit_declaration(repo: Repo, sha: str) -> TrailerDeclaration:
    from avorelo_gate.gate.prefetch import PrefetchedRepo  # commits only: no hook needs it

    if isinstance(repo, PrefetchedRepo) and sha in repo.declarations:
        return repo.declarations[sha]  # read with every other commit's (receipt verify)
    return declaration_from(commit_trailers(repo, [sha])[sha],
                            source=f"commit {sha[:12]} message")


def build_change(repo: Repo, req: CheckRequest) -> Change:
    if req.mode == "worktree":
        return changes.worktree(repo)
    if req.mode == "commit":
        return changes.commit(repo, req.rev or "HEAD")
    if req.mode == "range":
        return changes.tree_range(repo, req.spec or "")
    if req.amend and repo.head:
        parents = repo.parents(repo.head)
        return changes.staged(repo, parents[0] if parents else repo.empty_tree)
    return changes.staged(repo)


def allow_policy_change(req: CheckRequest, environ: Mapping[str, str]) -> bool:
    return req.allow_policy_change or environ.get("AVORELO_ALLOW_POLICY_CHANGE", "") in (
        "1", "true", "yes")


@dataclass(frozen=True)
class Checked:
    """One check with what it was judged against (receipts record the task and policy)."""

    change: Change
    task: ResolvedTask
    policy: Policy
    result: CheckResult


def run_check(repo: Repo, req: CheckRequest,
              environ: Mapping[str, str] = os.environ) -> GateReport:
    return GateReport(overall=check_request(repo, req, environ).result)


def check_request(repo: Repo, req: CheckRequest, environ: Mapping[str, str] = os.environ,
                  declared: TrailerDeclaration | None = None) -> Checked:
    """``declared``: the message file's declaration when the caller has parsed it already
    (commit-msg reads ahead by it); parsing it again would ask git twice."""
    change = build_change(repo, req)
    declaration = None
    if req.message_file:
        declaration = declared or message_declaration(repo, req.message_file)
    elif req.mode == "commit":
        declaration = commit_declaration(repo, change.head)
    task = request_task(repo, change, req, environ, declaration)
    base_commit = change.base_commit if change.base_commit != repo.empty_tree else None
    policy = load_policy(repo, base_commit, change.snapshot)
    result = check_change(repo, change, task, policy, req, environ)
    return Checked(change=change, task=task, policy=policy, result=result)


def request_task(repo: Repo, change: Change, req: CheckRequest, environ: Mapping[str, str],
                 declaration: TrailerDeclaration | None) -> ResolvedTask:
    """The task a check is judged by, the one way every point resolves it (declare.py): the
    change's task files narrowed by their versions at the change's base commit."""
    from avorelo_gate.git.snapshot import Snapshot

    explicit = bool(req.task_id or req.task_file or environ.get("AVORELO_TASK", "").strip())
    if not req.message_known and not explicit:
        # pre-commit: a Task: trailer may still come and outranks every other source but the
        # explicit ones, so the task is not known yet (commit-msg judges by it).
        return ResolvedTask(deferred=True)
    active_id = None
    if req.mode in ("staged", "worktree") and (declaration is None or not declaration.task_id) \
            and not explicit:
        from avorelo_gate.task.active import read_active

        active = read_active(repo)
        active_id = active.id if active else None
    bases = [Snapshot(repo, change.base_commit)] if change.base_commit else []
    if req.mode == "commit" and not (req.task_id or req.task_file):
        from avorelo_gate.gate.prefetch import PrefetchedRepo  # commits only: no hook needs it

        if isinstance(repo, PrefetchedRepo):   # receipt verify: many commits, one memo
            return repo.tasks.resolve(change.snapshot, environ=environ,
                                      declaration=declaration, bases=bases, parent=None)
    return resolve_task(change.snapshot, explicit_id=req.task_id, explicit_file=req.task_file,
                        environ=environ, declaration=declaration, active_id=active_id,
                        bases=bases)


def check_change(repo: Repo, change: Change, task: ResolvedTask, policy: Policy,
                 req: CheckRequest, environ: Mapping[str, str]) -> CheckResult:
    """The engine plus the checks that read beyond the diff (proof, context, approvals)."""
    root = _begins_the_rules(repo, change, policy)
    options = Options(allow_policy_change=allow_policy_change(req, environ) or root,
                      message_known=req.message_known, adoption=req.adoption,
                      label=change.mode if change.mode in ("staged", "worktree", "range")
                      else change.head)
    path_violations, path_extra = _task_path_checks(repo, change, task, policy, req, environ)
    proof_violations: tuple[Violation, ...] = ()
    proof_statuses: tuple[ProofStatus, ...] = ()
    # Without requirements or touched paths check_proof has nothing to judge; importing it
    # (the JUnit/XML and artifact readers, the proof records) would cost every hook run.
    if (task.proof or policy.proof) and change.touched and not task.deferred:
        from avorelo_gate.proof.check import check_proof

        proof = check_proof(repo, change, task, policy)
        proof_violations, proof_statuses = proof.violations, proof.statuses
    result = evaluate(change, task, policy, options,
                      extra_violations=path_violations + proof_violations)
    return replace(result, extra={**result.extra, **path_extra}, proof=proof_statuses)


def _begins_the_rules(repo: Repo, change: Change, policy: Policy) -> bool:
    """A root commit may bring a policy only where the base has none (a new repository, whose
    policy is the root's own): never when judged under a history that has one."""
    if change.base != repo.empty_tree:
        return False
    if policy.blob is None:
        return True
    own = change.snapshot.read([POLICY_PATH]).get(POLICY_PATH)
    return own is not None and own[0] == policy.blob


def _task_path_checks(repo: Repo, change: Change, task: ResolvedTask, policy: Policy,
                      req: CheckRequest, environ: Mapping[str, str]) -> \
        tuple[tuple[Violation, ...], dict[str, Any]]:
    """Context, tools and approvals: what the task was given, used and who signed off."""
    violations: list[Violation] = []
    extra: dict[str, Any] = {}
    if task.deferred:
        return (), extra
    if task.context:
        from avorelo_gate.task.context import assemble

        base = change.base_commit if change.base_commit != repo.empty_tree else None
        ctx = assemble(repo, base, task.context)
        violations.extend(ctx.violations)
        extra["context"] = ctx.to_dict()
    violations.extend(evaluate_tools(task))
    if task.tools is not None or task.tools_used:
        extra["tools"] = tools_record(task)
    if policy.approvals and req.message_known:
        outcomes, missing = evaluate_approvals(policy, task, change.touched, environ,
                                               signals=req.signals)
        violations.extend(missing)
        if outcomes:
            extra["approvals"] = [o.to_dict() for o in outcomes]
    return tuple(violations), extra
