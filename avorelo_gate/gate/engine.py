"""The one engine: a change, its task and the policy in; a CheckResult out.

Every entry point (hooks, ``check``, pre-push, ``ci``, ``receipt verify``) comes through
``evaluate`` so that the verdict is the same wherever it is asked for.
"""
from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from avorelo_gate.git.change import Change
from avorelo_gate.git.paths import fsencode
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.result import CheckResult, DiffSummary, Violation
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import POLICY_PATH, TASK_PATH, TASKS_DIR, Policy
from avorelo_gate.task.scope import FoldedMatcher, Matcher, fold_path


@dataclass(frozen=True)
class Options:
    allow_policy_change: bool = False
    # At the pre-commit stage the message (and its trailers) does not exist yet: rules that
    # the message can still satisfy wait for commit-msg, rules it cannot change apply now.
    message_known: bool = True
    label: str = "staged"


def load_policy(repo: Repo, base_commit: str | None, fallback: Snapshot | None) -> Policy:
    """The policy in force: the base commit's, or (first commit only) the snapshot's."""
    snap = Snapshot(repo, base_commit) if base_commit else fallback
    if snap is None:
        return Policy()
    found = snap.read([POLICY_PATH])
    if POLICY_PATH not in found:
        return Policy()
    blob, data = found[POLICY_PATH]
    where = POLICY_PATH if base_commit is None else f"{POLICY_PATH} (at {base_commit[:12]})"
    return Policy.parse(data, where, blob)


def is_task_file(path: str) -> bool:
    return path == TASK_PATH or path.startswith(TASKS_DIR + "/")


def shell_path(path: str) -> str:
    """``path`` as a shell word naming exactly its bytes, for a hint a person pastes.

    display_path's escapes are for reading, not for a shell (``new\\nline`` would name
    another file). A name a terminal shows as it is gets plain quoting; any other becomes
    ANSI-C quoting (``$'...'``: bash, zsh, ksh) with every unusual byte as ``\\xHH``.
    """
    raw = fsencode(path)
    text = raw.decode("utf-8", "replace")
    if "\ufffd" not in text and text.isprintable():
        return shlex.quote(text)
    return "$'" + "".join(chr(b) if 0x20 <= b < 0x7F and b not in b"'\\" else f"\\x{b:02x}"
                          for b in raw) + "'"


def _scope_hint(path: str, task: ResolvedTask) -> str:
    directory = posixpath.dirname(path)
    suggestion = f"{directory}/**" if directory else path
    where = task.file or "the task's Task-Scope trailer"
    return (f"add {suggestion!r} to scope in {where} if the task needs it, or unstage it: "
            f"git restore --staged -- {shell_path(path)}")


def evaluate(change: Change, task: ResolvedTask, policy: Policy,
             options: Options = Options(), extra_violations: tuple[Violation, ...] = (),
             extra_warnings: tuple[str, ...] = ()) -> CheckResult:
    touched = change.touched
    diff = DiffSummary.of(touched)
    violations: list[Violation] = []
    warnings: list[str] = list(extra_warnings)
    notes: list[str] = []
    # Protected and forbidden paths fail closed on every checkout: compared case folded and
    # NFC normalised as well as exactly (CONTRACT "Paths"); scope stays exact.
    protected = FoldedMatcher.compile(policy.protected)
    forbid = FoldedMatcher.compile(task.forbid)
    scopes = [Matcher.compile(s) for s in task.scopes()]

    for t in touched:
        p = t.path
        if p == POLICY_PATH or fold_path(p) == POLICY_PATH:
            if not options.allow_policy_change:
                violations.append(Violation(
                    "policy-changed", "the policy is not part of any task", p,
                    "change the policy in a change of its own, with --allow-policy-change "
                    "(or AVORELO_ALLOW_POLICY_CHANGE=1) set by a maintainer"))
            continue
        if protected.match(p):
            violations.append(Violation(
                "protected", "protected by the policy; no task may touch it", p,
                f"unstage it: git restore --staged -- {shell_path(p)}"))
            continue
        if is_task_file(p):
            continue  # task files are part of the work they declare (recorded below)
        if forbid.match(p):
            violations.append(Violation(
                "forbidden",
                f"forbidden by task {task.id or '(unnamed)'} ({task.file or 'forbid'})", p,
                f"unstage it: git restore --staged -- {shell_path(p)}"))
            continue
        if scopes and not all(s.match(p) for s in scopes):
            violations.append(Violation(
                "out-of-scope", f"outside the scope of task {task.id or '(unnamed)'}", p,
                _scope_hint(p, task)))

    if task.budget.max_files is not None and diff.files > task.budget.max_files:
        violations.append(Violation(
            "budget-files", f"{diff.files} files changed; the task's budget is "
            f"{task.budget.max_files}", None, "split the change into smaller commits"))
    if task.budget.max_lines is not None and diff.lines > task.budget.max_lines:
        violations.append(Violation(
            "budget-lines", f"{diff.lines} lines changed (+{diff.added} -{diff.removed}); "
            f"the task's budget is {task.budget.max_lines}", None,
            "split the change into smaller commits"))
    violations.extend(_weight_rules(task, policy, diff, warnings))

    if not task.declared and policy.require_task and touched:
        if options.message_known:
            violations.append(Violation(
                "no-task", "no task declared, and the policy requires one", None,
                "add a 'Task: <ID>' trailer to the commit message, or create "
                f"{TASK_PATH} (avorelo-gate init writes a starting one)"))
        else:
            notes.append("no task declared yet: the commit message may still declare one")
    if task.declared and not task.scopes():
        warnings.append(f"task {task.id or '(unnamed)'} declares no scope: every path is "
                        "in scope")
    if not touched:
        notes.append("nothing to check: the change touches no path")
    elif not violations and task.scopes():
        notes.append(f"{diff.files} path(s) checked against the scope of "
                     f"task {task.id or '(unnamed)'}")
    task_files = [t.path for t in touched if is_task_file(t.path)]
    extra: dict[str, object] = {}
    if task_files:
        extra["task_files_changed"] = task_files
    violations.extend(extra_violations)
    return CheckResult(
        base=change.base, head=change.head, label=options.label,
        task=task.to_dict() if task.declared else None, model=task.model_dict(), diff=diff,
        violations=tuple(violations), warnings=tuple(warnings), notes=tuple(notes),
        touched=touched, extra=extra)


def _weight_rules(task: ResolvedTask, policy: Policy, diff: DiffSummary,
                  warnings: list[str]) -> list[Violation]:
    if task.weight is None:
        return []
    budget = policy.weights.get(task.weight)
    out = []
    if budget is not None:
        over = []
        if budget.max_files is not None and diff.files > budget.max_files:
            over.append(f"{diff.files} files > {budget.max_files}")
        if budget.max_lines is not None and diff.lines > budget.max_lines:
            over.append(f"{diff.lines} lines > {budget.max_lines}")
        if over:
            out.append(Violation(
                "weight-budget", f"a {task.weight} model may not land this change: "
                + ", ".join(over) + f" (declared by {task.weight_source})", None,
                "split the change, or declare a heavier weight (Model-Weight: trailer) "
                "if a heavier model did the work"))
    light = policy.weights.get("light")
    if task.weight == "heavy" and light is not None and diff.files and \
            (light.max_files is None or diff.files <= light.max_files) and \
            (light.max_lines is None or diff.lines <= light.max_lines):
        warnings.append("a heavy model was declared for a change that fits the light budget: "
                        "consider a lighter weight for work like this")
    return out
