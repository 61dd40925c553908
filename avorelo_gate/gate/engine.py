"""The one engine: a change, its task and the policy in; a CheckResult out.

Every entry point (hooks, ``check``, pre-push, ``ci``, ``receipt verify``) comes through
``evaluate`` so that the verdict is the same wherever it is asked for.
"""
from __future__ import annotations

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.git.change import Change
from avorelo_gate.git.paths import fsencode
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.result import CheckResult, DiffSummary, TouchedFile, Violation
from avorelo_gate.task.declare import ResolvedTask, is_task_file
from avorelo_gate.task.policy import POLICY_PATH, TASK_PATH, TASKS_DIR, Policy
from avorelo_gate.task.scope import FoldedMatcher, Matcher, fold_path


@dataclass(frozen=True)
class Options:
    """How a point of entry asks the engine: what it may know and allow."""

    allow_policy_change: bool = False
    # At the pre-commit stage the message (and its trailers) does not exist yet: rules that
    # the message can still satisfy wait for commit-msg, rules it cannot change apply now.
    message_known: bool = True
    label: str = "staged"
    # False where the change lands on a history that has a policy although its base has
    # none (ci: the target branch adopted the gate after the pull request branched off).
    adoption: bool = True


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


ADOPTION_NOTE = (f"adopting avorelo-gate: this change adds {POLICY_PATH} where its base has "
                 "none, so it is judged by the defaults and commits after it by the new "
                 "policy; next: push it with its receipts (git push <remote> HEAD "
                 "refs/notes/avorelo) and make `avorelo-gate ci --base <target branch>` a "
                 "required check (README, \"CI\")")


def adopts(touched: TouchedFile, policy: Policy) -> bool:
    """A change that adds the policy where the policy in force has none is adoption, not a
    change (CONTRACT, "Who decides": a new repository). Nothing in the change marks it: it is
    read from the base alone (``policy.blob`` is None only when the base has no policy file),
    so no commit can claim it where a policy already governs."""
    return touched.status == "A" and policy.blob is None


def shell_path(path: str) -> str:
    """``path`` as a shell word naming exactly its bytes, for a hint a person pastes.

    display_path's escapes are for reading, not for a shell (``new\\nline`` would name
    another file). A name a terminal shows as it is gets plain quoting; any other becomes
    ANSI-C quoting (``$'...'``: bash, zsh, ksh) with every unusual byte as ``\\xHH``.
    """
    raw = fsencode(path)
    text = raw.decode("utf-8", "replace")
    if "\ufffd" not in text and text.isprintable():
        import shlex

        return shlex.quote(text)
    return "$'" + "".join(chr(b) if 0x20 <= b < 0x7F and b not in b"'\\" else f"\\x{b:02x}"
                          for b in raw) + "'"


def undo_hint(path: str, mode: str) -> str:
    """How to take ``path`` out of the change, in the terms of where it is judged: the index
    at commit time, the working tree for an agent, the commits themselves at push and in CI
    (where unstaging would change nothing)."""
    if mode == "staged":
        return f"unstage it: git restore --staged -- {shell_path(path)}"
    if mode == "worktree":
        return (f"undo the change to it: git restore --staged --worktree -- {shell_path(path)}"
                " (delete it if it is new)")
    return ("take it out of the commit that changed it (git rebase -i, then edit that "
            "commit) and land it under a task whose scope allows it")


def _scope_hint(path: str, task: ResolvedTask, mode: str) -> str:
    """How to bring ``path`` into the task or take it out, followed literally to a green
    commit, push and ci: a task is held to its version where the change lands (the target
    branch), so a widening reaches the work only once it has landed there on its own."""
    undo = undo_hint(path, mode)
    name = task.id or "(unnamed)"
    own = bool(task.scope) and Matcher.compile(task.scope).match(path)
    if own and task.trailer_scope and not Matcher.compile(task.trailer_scope).match(path):
        # The commit's own Task-Scope: narrowed the task: the author meant to leave it out.
        return f"the commit's Task-Scope: trailer leaves it out of this commit: {undo}"
    if not task.file:
        return f"add {path!r} to the commit's Task-Scope: trailer if the task needs it, or {undo}"
    planning = f"git commit -m 'Widen {task.id or 'the task'}' -- {shell_path(task.file)}"
    if own and task.narrowed_by:
        # The change's own version allows it; the version where the change lands does not.
        held = " and ".join(dict.fromkeys(task.narrowed_by))   # a base may be the parent too
        if mode in ("staged", "worktree"):
            here = "as staged" if mode == "staged" else "in the working tree"
            land = (f"commit that file on its own first ({planning}) and push it, then commit "
                    "this work")
        else:
            here = "at the range's head" if mode == "range" else "at this commit"
            land = (f"land the commit that widened it there on its own first (git log "
                    f"--oneline -- {shell_path(task.file)} finds it; push it alone, git push "
                    "<remote> <commit>:<branch>, or merge it first), then this work")
        return (f"{task.file} {here} allows it, but task {name} is held to {held}, where the "
                f"change lands: {land}; otherwise {undo}")
    widen = (f"add {path!r} to scope in {task.file}, in a commit of its own (task files only) "
             f"first ({planning}), and push that commit before this work (pre-push and ci "
             "hold a task to its version on the target branch)"
             if mode in ("staged", "worktree") else
             f"add {path!r} to scope in {task.file} on the target branch first")
    return f"if task {name} needs it, {widen}; otherwise {undo}"


def evaluate(change: Change, task: ResolvedTask, policy: Policy,
             options: Options = Options(), extra_violations: tuple[Violation, ...] = (),
             extra_warnings: tuple[str, ...] = ()) -> CheckResult:
    touched = change.touched
    diff = DiffSummary.of(touched, counted=change.lines_counted)
    violations: list[Violation] = []
    warnings: list[str] = list(extra_warnings)
    notes: list[str] = []
    # Protected and forbidden paths fail closed on every checkout: compared case folded and
    # NFC normalised as well as exactly (CONTRACT "Paths"); scope stays exact.
    protected = FoldedMatcher.compile(policy.protected)
    forbid = FoldedMatcher.compile(task.forbid)
    scopes = [Matcher.compile(s) for s in task.scopes()]
    # A change of task files only is planning: it needs no task of its own (contract 0.2).
    planning = bool(touched) and all(is_task_file(t.path) for t in touched)

    for t in touched:
        p = t.path
        if p == POLICY_PATH or fold_path(p) == POLICY_PATH:
            if options.adoption and p == POLICY_PATH and adopts(t, policy):
                notes.append(ADOPTION_NOTE)
            elif not options.allow_policy_change:
                violations.append(Violation(
                    "policy-changed", "the policy is not part of any task", p,
                    "change the policy in a change of its own, with --allow-policy-change "
                    "(or AVORELO_ALLOW_POLICY_CHANGE=1) set by a maintainer"))
            continue
        if protected.match(p):
            violations.append(Violation(
                "protected", "protected by the policy; no task may touch it", p,
                undo_hint(p, change.mode)))
            continue
        if is_task_file(p):
            continue  # task files are part of the work they declare (recorded below)
        if task.deferred:
            continue  # scope and forbid belong to a task the message has yet to name
        if forbid.match(p):
            violations.append(Violation(
                "forbidden",
                f"forbidden by task {task.id or '(unnamed)'} ({task.file or 'forbid'})", p,
                undo_hint(p, change.mode)))
            continue
        if scopes and not all(s.match(p) for s in scopes):
            violations.append(Violation(
                "out-of-scope", f"outside the scope of task {task.id or '(unnamed)'}", p,
                _scope_hint(p, task, change.mode)))

    if task.deferred:
        notes.append("the task is not known yet: the commit message may still declare one "
                     "(its Task: trailer picks the task), so protected paths and the policy "
                     "are checked now and scope, forbid, budgets and proof at commit-msg")
    else:
        violations.extend(_task_rules(task, policy, diff, touched, planning, options,
                                      warnings, notes))
    if not touched:
        notes.append("nothing to check: the change touches no path")
    elif not violations and task.scopes() and not task.deferred:
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


def needs_lines(task: ResolvedTask) -> bool:
    """Whether judging a change under ``task`` reads its line count: a line budget of the
    task's own, or a declared model weight (the weight's budget, and the "fits the light
    budget" advice). Broader than the policy needs, never narrower: a rule that reads the
    lines of a diff not counted raises (result.LinesNotCounted) rather than judge zero."""
    return task.budget.max_lines is not None or task.weight is not None


def _task_rules(task: ResolvedTask, policy: Policy, diff: DiffSummary,
                touched: tuple[TouchedFile, ...], planning: bool, options: Options,
                warnings: list[str], notes: list[str]) -> list[Violation]:
    """Budgets, weight, whether a task is declared at all and whether it is the change's own."""
    out: list[Violation] = []
    if task.budget.max_files is not None and diff.files > task.budget.max_files:
        out.append(Violation(
            "budget-files", f"{diff.files} files changed; the task's budget is "
            f"{task.budget.max_files}", None, "split the change into smaller commits"))
    if task.budget.max_lines is not None and diff.lines > task.budget.max_lines:
        out.append(Violation(
            "budget-lines", f"{diff.lines} lines changed (+{diff.added} -{diff.removed}); "
            f"the task's budget is {task.budget.max_lines}", None,
            "split the change into smaller commits"))
    if options.message_known:
        # A Model-Weight: trailer may still come (it outranks the task file's weight).
        out.extend(_weight_rules(task, policy, diff, warnings))
    if planning:
        notes.append("planning: the change touches task files only, so it needs no task of "
                     "its own")
    if task.self_declared:
        what = task.file or f"the Task-Scope: trailers of task {task.id}"
        text = (f"task {task.id or '(unnamed)'} is self-declared: {what} is not in the base, "
                "so the change wrote its own rules")
        if policy.self_declared_tasks == "refuse" and touched and not planning:
            out.append(Violation(
                "task-self-declared", text + " (the policy says self_declared_tasks: refuse)",
                task.file, "land the task file on its own first (a planning commit merged "
                "before the work), then do the work under it"))
        else:
            notes.append(text)
    if task.missing_file and not task.trailer_scope:
        missing = (f"task {task.id}: {task.missing_file} does not exist, so the task declares "
                   "no scope")
        if not (policy.require_task and touched and not planning):
            warnings.append(missing + ": no path is checked against it")
    if policy.require_task and touched and not planning and not task.meets_require_task:
        out.append(_no_task(task, options, notes))
    elif task.declared and not task.scopes() and task.file:
        warnings.append(f"task {task.id or '(unnamed)'} declares no scope ({task.file} has "
                        "no scope: key): every path is in scope")
    return [v for v in out if v.rule != "no-task" or options.message_known]


def _no_task(task: ResolvedTask, options: Options, notes: list[str]) -> Violation:
    if not options.message_known:
        notes.append("no task declared yet: the commit message may still declare one")
    if task.missing_file and not task.trailer_scope:
        return Violation(
            "no-task", f"task {task.id}: {task.missing_file} does not exist, so the task "
            "declares no scope, and the policy requires a task", None,
            f"create {task.missing_file} (its id, scope and proof) in a planning commit, "
            "or name an existing task")
    if task.id is None and task.trailer_scope:
        return Violation(
            "no-task", "Task-Scope: trailers narrow a task but do not name one, and the "
            "policy requires a task", None, "add a 'Task: <ID>' trailer naming the task")
    if task.id is None and task.file:
        return Violation(
            "no-task", f"{task.file} has no id, and the policy requires a task with an id",
            task.file, f"add 'id: <ID>' to {task.file}")
    return Violation(
        "no-task", "no task declared, and the policy requires one", None,
        "add a 'Task: <ID>' trailer to the commit message, naming "
        f"{TASKS_DIR}/<ID>.yaml (avorelo-gate init writes {TASKS_DIR}/TASK-1.yaml), "
        f"or declare a current task in {TASK_PATH}")


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
