"""Checking many commits, each against its own declared task, under the policy they land in.

pre-push and ``ci`` both come here. A commit is judged as ``check --commit`` judges it (its own
trailers, its own task file at that commit) except for the policy: that is the one in force
where the commits land (the remote's side of a push, the base of a pull request), so a commit
cannot loosen the rules it is judged by. The shell's ``AVORELO_TASK`` / ``AVORELO_MODEL*``
describe the work at hand, not commits made earlier, so they are not consulted here.

Git is asked in batches: one ``log`` for every commit's trailers, ``diff-tree --stdin`` for
every diff (while Python resolves the tasks: the commits whose lines are counted in two
halves, the others in one, the merges' own paths in one), one ``cat-file --batch`` for every
task file, so a push of many commits costs a handful of processes rather than several per
commit.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial

from avorelo_gate.dataclass_lite import dataclass, field, replace
from avorelo_gate.errors import BadInputError
from avorelo_gate.gate.assemble import CheckRequest, check_change
from avorelo_gate.gate.engine import needs_lines
from avorelo_gate.git.background import InBackground
from avorelo_gate.git.change import Change
from avorelo_gate.git.diff import RawEntry
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.receipts.credit import credit_from_receipts
from avorelo_gate.result import CheckResult, TouchedFile, Violation
from avorelo_gate.task.declare import ResolvedTask, TaskMemo, declared_task_files
from avorelo_gate.task.policy import AVORELO_DIR, Policy
from avorelo_gate.task.trailers import TrailerDeclaration, commit_trailers, declarations_of

# What the person running the push or the CI job declares; a commit declares its own.
SHELL_DECLARATIONS = ("AVORELO_TASK", "AVORELO_MODEL", "AVORELO_MODEL_WEIGHT")


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass(frozen=True)
class CheckedCommits:
    results: tuple[CheckResult, ...]
    declarations: Mapping[str, TrailerDeclaration]   # only the commits whose trailers parsed
    # The commits and their task bases with their task files read (a range's own check
    # reads the same files at its head and merge base).
    snapshots: Mapping[str, Snapshot] = field(default_factory=dict)


@dataclass(frozen=True)
class PrefetchedSnapshot(Snapshot):
    """A commit's snapshot with some files already read (in one batch for all commits)."""

    cache: Mapping[str, tuple[str, bytes] | None] = field(default_factory=dict)

    def read(self, paths: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        wanted = list(dict.fromkeys(paths))
        if all(p in self.cache for p in wanted):   # every commit's task files: read ahead
            return {p: held for p in wanted if (held := self.cache[p]) is not None}
        found = super().read([p for p in wanted if p not in self.cache])
        for p in wanted:
            cached = self.cache.get(p)
            if cached is not None:
                found[p] = cached
        return {p: found[p] for p in wanted if p in found}


def list_commits(repo: Repo, *rev_args: str) -> list[Commit]:
    """``rev-list`` oldest first (parents before children), with each commit's parents."""
    return as_commits(repo.commits_oldest_first(*rev_args))


def as_commits(listed: Iterable[tuple[str, tuple[str, ...]]]) -> list[Commit]:
    return [Commit(sha, parents) for sha, parents in listed]


def own_environ(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in SHELL_DECLARATIONS}


def check_commits(repo: Repo, jobs: Sequence[tuple[Commit, Policy]], req: CheckRequest,
                  environ: Mapping[str, str],
                  task_bases: Mapping[str, Sequence[str | None]] | None = None) -> \
        CheckedCommits:
    """Each commit under the policy paired with it, in the order given. A commit paired with
    several policies (pushed under several refs) is checked under each of them.
    ``task_bases``: for each commit, the point's base(s) its task is judged from (the remote's
    old tip of every ref that carries it; the merge base in ci); None among them is "no base"
    (a new repository). The commit's parent narrows its task too (task/declare.py)."""
    jobs = list({(c.sha, p.blob): (c, p) for c, p in jobs}.values())
    if not jobs:
        return CheckedCommits((), {})
    commits = list({c.sha: c for c, _ in jobs}.values())
    # Counting lines is most of a long range's time, and only a task with a line budget or a
    # weight reads them (engine.needs_lines). Under a policy file, in a repository that has
    # adopted the gate and whose commits declare their tasks, they are counted with the first
    # diffs; under the defaults (a history that has not adopted it) the paths are listed,
    # and the lines counted once the tasks are known, for any commit whose task reads them.
    counted = {c.sha for c, policy in jobs if policy.blob is not None}
    diffs = _start_diffs(repo, commits, counted)
    try:
        declarations, bad_trailers = _declarations(repo, commits)
        given = task_bases or {}
        bases = {c.sha: _task_base_revs(c, given.get(c.sha)) for c in commits}
        snapshots = _prefetch_task_files(repo, commits, declarations, bases)
        # os.environ decodes every key on each pass; each commit reads it several times.
        environ = dict(environ)
        declared_here = own_environ(environ)
        # Commits with the same task inputs share one resolution (declare.TaskMemo).
        memo = TaskMemo()
        tasks = {}
        for c in commits:
            *point, parent = [snapshots[rev] if rev else None for rev in bases[c.sha]]
            tasks[c.sha] = _resolve(c, snapshots[c.sha], declarations.get(c.sha),
                                    declared_here, point, parent, memo)
    finally:
        entries: dict[str, list[RawEntry]] = {
            sha: found for part in InBackground.join_all(diffs) for sha, found in part.items()}
    late = [c for c in commits if c.sha not in counted and needs_lines(tasks[c.sha])]
    if late:
        entries.update(_diff_now(repo, late))
        counted.update(c.sha for c in late)
    results = []
    for commit, policy in jobs:
        change = _commit_change(repo, commit, entries[commit.sha], snapshots[commit.sha],
                                commit.sha in counted)
        result = check_change(repo, change, tasks[commit.sha], policy, req, environ)
        result = _for_commit(result, commit, bad_trailers.get(commit.sha))
        results.append(result)
    credited = credit_from_receipts(repo, results, [c.sha for c, _ in jobs], environ,
                                    [p.receipts_signed for _, p in jobs])
    return CheckedCommits(credited, declarations, snapshots)


def _declarations(repo: Repo, commits: Sequence[Commit]) -> \
        tuple[dict[str, TrailerDeclaration], dict[str, Violation]]:
    # A commit that is already made cannot be refused as "bad input": its unreadable
    # trailers are that commit's violation, and the other commits are still reported.
    trailers = commit_trailers(repo, [c.sha for c in commits])
    good: dict[str, TrailerDeclaration] = {}
    bad: dict[str, Violation] = {}
    for sha, found in declarations_of(trailers, lambda c: f"commit {c[:12]}").items():
        if isinstance(found, BadInputError):
            bad[sha] = Violation("trailer-invalid", str(found), None,
                                 "reword the commit (git rebase -i, reword) so each trailer "
                                 "has one valid value", commit=sha)
        else:
            good[sha] = found
    return good, bad


def _first_parents(commits: Sequence[Commit], merges: bool) -> list[tuple[str, str | None]]:
    return [(c.sha, c.parents[0] if c.parents else None) for c in commits
            if c.is_merge == merges]


def _start_diffs(repo: Repo, commits: Sequence[Commit],
                 counted: set[str]) -> list[InBackground]:
    """git diffs the commits while this thread reads the task files and resolves each
    commit's task, which need no diff: the commits whose lines are counted in two processes
    (the counting is the long part), the others in one; a merge is judged on its own paths
    only (``_commit_change``), in a process of their own."""
    chosen = [c for c in commits if c.sha in counted]
    others = [c for c in commits if c.sha not in counted]
    counting = _first_parents(chosen, merges=False)
    half = len(counting) // 2
    jobs = [partial(repo.diff_commits, counting[:half]),
            partial(repo.diff_commits, counting[half:]),
            partial(repo.diff_commits, _first_parents(others, merges=False), lines=False),
            partial(repo.merge_own_entries, _first_parents(chosen, merges=True)),
            partial(repo.merge_own_entries, _first_parents(others, merges=True), lines=False)]
    return [InBackground(job, "avorelo-git-diffs") for job in jobs if job.args[0]]


def _diff_now(repo: Repo, commits: Sequence[Commit]) -> dict[str, list[RawEntry]]:
    """The diffs of ``commits``, lines counted, as ``_start_diffs`` gives them."""
    return {**repo.diff_commits(_first_parents(commits, merges=False)),
            **repo.merge_own_entries(_first_parents(commits, merges=True))}


def _task_base_revs(commit: Commit,
                    point_bases: Sequence[str | None] | None) -> list[str | None]:
    """Where a commit's task is judged from: the point's bases (with none given, its parent,
    as ``check --commit`` judges it), then its parent, which narrows it too. A None base (a
    first push, a root commit) has no task files: the task is self-declared there."""
    parent = commit.parents[0] if commit.parents else None
    return [*(point_bases if point_bases is not None else [parent]), parent]


def _prefetch_task_files(repo: Repo, commits: Sequence[Commit],
                         declarations: Mapping[str, TrailerDeclaration],
                         bases: Mapping[str, Sequence[str | None]]) -> \
        dict[str, PrefetchedSnapshot]:
    """Each commit's task files, at the commit and at every rev its task is narrowed from,
    read in one batch (the same candidates: declare.find_task_file asks for no others)."""
    wanted: dict[str, list[str]] = {}
    for c in commits:
        declared = declarations.get(c.sha)
        paths = declared_task_files(declared.task_id if declared else None)
        for rev in (c.sha, *(b for b in bases[c.sha] if b)):
            wanted[rev] = list(dict.fromkeys([*wanted.get(rev, []), *paths]))
    found = repo.cat_at_revs([(rev, p) for rev, paths in wanted.items() for p in paths],
                             AVORELO_DIR)
    return {rev: PrefetchedSnapshot(repo, rev, {p: found[f"{rev}:{p}"] for p in paths})
            for rev, paths in wanted.items()}


def touched_files(entries: Iterable[RawEntry]) -> tuple[TouchedFile, ...]:
    # A RawEntry is a TouchedFile already (git.py): sorted, not copied.
    return tuple(sorted(entries, key=lambda e: e.path))


def _commit_change(repo: Repo, commit: Commit, entries: list[RawEntry],
                   snapshot: Snapshot, lines_counted: bool) -> Change:
    # A merge's first-parent diff repeats the whole merged branch, work that was checked
    # where it was made; what the merge did on its own is what differs from every parent,
    # and ``entries`` holds only that (``merge_own_entries``).
    parent = commit.parents[0] if commit.parents else None
    return Change(base=parent or repo.empty_tree, head=commit.sha,
                  touched=touched_files(entries), snapshot=snapshot, base_commit=parent,
                  mode="commit", lines_counted=lines_counted)


def _resolve(commit: Commit, snapshot: Snapshot, declaration: TrailerDeclaration | None,
             environ: Mapping[str, str], bases: Sequence[Snapshot | None],
             parent: Snapshot | None, memo: TaskMemo) -> ResolvedTask:
    """``environ`` without the shell's declarations (``own_environ``)."""
    try:
        return memo.resolve(snapshot, environ=environ, declaration=declaration, bases=bases,
                            parent=parent)
    except BadInputError as e:
        raise BadInputError(f"commit {commit.sha[:12]}: {e}") from e


def _for_commit(result: CheckResult, commit: Commit, bad_trailers: Violation | None) -> \
        CheckResult:
    violations = tuple(v if v.commit else replace(v, commit=commit.sha)
                       for v in result.violations)
    if bad_trailers is not None:
        violations = (bad_trailers, *violations)
    notes = result.notes
    if commit.is_merge:
        notes = (*notes, f"merge commit: checked on the {result.diff.files} path(s) its "
                 "resolution changed (those that differ from every parent)")
    return replace(result, violations=violations, notes=notes)


def exempt_merge(result: CheckResult, merges: set[str]) -> bool:
    """Whether a merge commit owes no receipt. ``git merge`` runs no commit hooks, so a merge
    cannot have one; it is exempt only when it brings no content of its own (no path differs
    from every parent: its result touches nothing), its parents' commits being checked on
    their own. A "merge" made with ``commit-tree`` whose tree holds new work is not."""
    return result.head in merges and not result.touched


def with_violations(result: CheckResult, extra: Sequence[Violation]) -> CheckResult:
    return replace(result, violations=(*result.violations, *extra)) if extra else result
