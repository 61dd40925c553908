"""``hook pre-push REMOTE URL``: every commit a push would add to the remote, checked.

Commit hooks can be skipped (``--no-verify``, ``SKIP=``, tools that commit without hooks);
the push is where that is caught. Git gives one line per ref on stdin (githooks(5)):
``<local ref> SP <local id> SP <remote ref> SP <remote id> LF``. Every line is checked; one
bad ref refuses the whole push (git aborts it on a non-zero exit).

The pre-commit framework reads those lines itself and hands its hook one ref (the first with
new commits) through ``PRE_COMMIT_FROM_REF`` / ``PRE_COMMIT_TO_REF`` /
``PRE_COMMIT_REMOTE_NAME`` and no stdin; that is read when stdin has nothing.
"""
from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass, replace
from avorelo_gate.errors import BadInputError, EnvironmentFailure, GitError
from avorelo_gate.gate.assemble import CheckRequest
from avorelo_gate.git.repo import Repo, open_repo
from avorelo_gate.points.commits import (
    Commit,
    check_commits,
    exempt_merge,
    list_commits,
    with_violations,
)
from avorelo_gate.points.push_policy import RefPolicy, push_guard, ref_policies
from avorelo_gate.receipts.required import receipt_violations
from avorelo_gate.receipts.store import NOTES_REF
from avorelo_gate.result import CheckResult, DiffSummary, GateReport, Violation

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
MAX_STDIN_BYTES = 16 * 1024 * 1024


def is_zero_id(oid: str) -> bool:
    """Git's null id, at any hash length (SHA-1 and SHA-256 repositories)."""
    return bool(oid) and set(oid) == {"0"}


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def deletes(self) -> bool:
        return is_zero_id(self.local_sha)

    @property
    def creates(self) -> bool:
        return is_zero_id(self.remote_sha)


@dataclass(frozen=True)
class PushTarget:
    """Where the push goes. git passes the URL too; nothing is judged by it (a remote's
    configuration, not its URL, says which remote-tracking refs are "already there")."""

    remote: str
    configured: bool     # a remote by that name exists (else git was given a URL)
    # git lists every ref of the push on stdin; the pre-commit framework hands its hook one.
    every_ref: bool = True

    def not_on_remote(self) -> str:
        """The rev-list argument for "already on the remote" (a negated ref set)."""
        return f"--remotes={self.remote}" if self.configured else "--remotes"


def parse_push_lines(text: str) -> list[PushedRef]:
    refs = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        # The local side is whatever was typed (``HEAD``, ``HEAD~2``...): split from the right.
        parts = line.rstrip("\r").rsplit(" ", 3)
        if len(parts) != 4 or not all(_OBJECT_ID.fullmatch(p) for p in parts[1::2]):
            raise BadInputError(f"pre-push stdin line {number}: expected '<local ref> "
                                f"<local id> <remote ref> <remote id>', got {line[:120]!r}")
        refs.append(PushedRef(*parts))
    return refs


def refs_from_pre_commit(repo: Repo, environ: Mapping[str, str]) -> list[PushedRef]:
    """The one ref the pre-commit framework describes in its environment, if any."""
    to_ref = environ.get("PRE_COMMIT_TO_REF", "")
    local = environ.get("PRE_COMMIT_LOCAL_BRANCH", "")
    remote_ref = environ.get("PRE_COMMIT_REMOTE_BRANCH", "")
    if to_ref:
        from_ref = environ.get("PRE_COMMIT_FROM_REF", "")
        return [PushedRef(local or to_ref, repo.resolve(to_ref),
                          remote_ref, repo.resolve(from_ref) if from_ref else repo.zero_id)]
    if local and environ.get("PRE_COMMIT_REMOTE_NAME"):
        # Pushing history that starts at a root commit: the framework sets no FROM/TO refs.
        return [PushedRef(local, repo.resolve(local), remote_ref, repo.zero_id)]
    return []


def read_stdin() -> str:
    stream = sys.stdin
    if stream is None or stream.closed or stream.isatty():
        return ""
    data = stream.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise BadInputError("pre-push stdin is larger than 16 MiB")
    return data.decode("utf-8", "surrogateescape")


def pre_push(args: list[str], environ: Mapping[str, str]) -> GateReport | int:
    remote = args[0] if args else environ.get("PRE_COMMIT_REMOTE_NAME", "")
    if not remote:
        raise BadInputError("hook pre-push: expected REMOTE and URL (git passes them)")
    repo = open_repo(environ=environ)
    listed = parse_push_lines(read_stdin())
    refs = listed or refs_from_pre_commit(repo, environ)
    if not refs:
        return 0   # nothing pushed
    target = PushTarget(remote, remote in repo.remote_names(), every_ref=bool(listed))
    return check_push(repo, target, refs, environ)


# -- the check -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    ref: PushedRef
    local: str                          # the commit the ref will point at
    commits: tuple[Commit, ...]
    policies: tuple[RefPolicy, ...]     # every policy the ref is judged under (points/push_policy)

    @property
    def policy_from(self) -> str:
        return ", ".join(p.describe() for p in self.policies)

    @property
    def task_bases(self) -> list[str | None]:
        """Where the ref's tasks are judged from: the remote-side commits its policies were
        read at (None: a new repository, whose root brings its own)."""
        return [rp.base for rp in self.policies]


def check_push(repo: Repo, target: PushTarget, refs: Sequence[PushedRef],
               environ: Mapping[str, str]) -> GateReport:
    notes: list[str] = []
    if not target.configured:
        notes.append(f"remote {target.remote!r} is a URL, not a configured remote: checking "
                     "commits not on any remote-tracking branch")
    peeled = _peel(repo, refs)
    remote_tips = tuple(repo.rev_list("--no-walk", target.not_on_remote()))
    plans = []
    for ref in refs:
        plan = _plan(repo, target, ref, peeled, notes, remote_tips)
        if plan is not None:
            plans.append(plan)
    # A commit carried by several refs is judged under each ref's policy, never only one.
    jobs = [(c, rp.policy) for p in plans for rp in p.policies for c in p.commits]
    checked = check_commits(repo, jobs, CheckRequest(mode="commit"), environ,
                            task_bases=_task_bases(plans))
    results = _with_receipts(repo, checked.results, plans, environ)
    seen = {(v.rule, v.path) for r in results for v in r.violations}
    guarded: list[Violation] = []
    for p in plans:
        for rp in p.policies:
            for v in push_guard(repo, p.ref.remote_ref, p.local, rp, environ):
                if (v.rule, v.path) not in seen:
                    seen.add((v.rule, v.path))
                    guarded.append(v)
    overall = with_violations(_summary(refs, plans, results, notes), guarded)
    left = receipts_left_behind(target, refs, plans)
    return GateReport(overall=replace(overall, warnings=(*overall.warnings, *left)),
                      commits=results)


def receipts_left_behind(target: PushTarget, refs: Sequence[PushedRef],
                         plans: Sequence[_Plan]) -> tuple[str, ...]:
    """ci reads receipts from the remote: a push of commits that owe one passes here on this
    clone's receipts, and without the notes ref ci would not find them. Only where git listed
    every ref (the pre-commit framework hands its hook one: the notes may be in the push)."""
    owed = any(rp.policy.receipts_required for p in plans for rp in p.policies)
    if not owed or not target.every_ref or any(r.remote_ref == NOTES_REF for r in refs):
        return ()
    return (f"this push does not carry the receipts ({NOTES_REF}), and ci reads them from the "
            f"remote: push them too: git push {shlex.quote(target.remote)} {NOTES_REF}",)


def _peel(repo: Repo, refs: Sequence[PushedRef]) -> dict[str, tuple[str, str] | None]:
    names = []
    for ref in refs:
        for oid in (ref.local_sha, ref.remote_sha):
            if not is_zero_id(oid):
                names += [oid, f"{oid}^{{commit}}"]
    return repo.object_types(list(dict.fromkeys(names)))


def _plan(repo: Repo, target: PushTarget, ref: PushedRef,
          peeled: Mapping[str, tuple[str, str] | None], notes: list[str],
          remote_tips: Sequence[str]) -> _Plan | None:
    if ref.deletes:
        notes.append(f"{ref.remote_ref}: deleted on the remote, nothing to check")
        return None
    if ref.remote_ref.startswith("refs/notes/"):
        # Notes commits hold receipts keyed by commit id, not work: no task, no scope.
        notes.append(f"{ref.remote_ref}: notes (receipts), not work: nothing to check")
        return None
    remote_commit = _remote_commit(ref, target, peeled)
    if peeled.get(ref.local_sha) is None:
        raise GitError(f"{ref.local_ref}: object {ref.local_sha} is not in this repository")
    local = peeled.get(f"{ref.local_sha}^{{commit}}")
    if local is None:
        kind = (peeled.get(ref.local_sha) or ("", "object"))[1]
        notes.append(f"{ref.local_ref}: points at a {kind}, not a commit (a tag of a "
                     f"{_target_kind(repo, ref.local_sha)}?): nothing to check")
        return None
    negated = [remote_commit] if remote_commit else []
    commits = tuple(list_commits(repo, local[0], "--not", *negated, target.not_on_remote()))
    if not commits:
        notes.append(f"{ref.remote_ref}: every commit is already on the remote")
        return None
    policies = ref_policies(repo, remote_commit, commits, remote_tips)
    return _Plan(ref, local[0], commits, tuple(policies))


def _task_bases(plans: Sequence[_Plan]) -> dict[str, list[str | None]]:
    """Each commit's task is judged from the remote-side base of every ref that carries it: a
    task file absent at any of them is self-declared, and every version there narrows it."""
    bases: dict[str, list[str | None]] = {}
    for plan in plans:
        for c in plan.commits:
            for base in plan.task_bases:
                if base not in bases.setdefault(c.sha, []):
                    bases[c.sha].append(base)
    return bases


def _remote_commit(ref: PushedRef, target: PushTarget,
                   peeled: Mapping[str, tuple[str, str] | None]) -> str | None:
    if ref.creates:
        return None
    if peeled.get(ref.remote_sha) is None:
        raise EnvironmentFailure(
            f"{ref.remote_ref} on {target.remote} is at {ref.remote_sha[:12]}, which this "
            f"repository does not have (someone else pushed): fetch first: git fetch "
            f"{target.remote}, then integrate it and push again")
    found = peeled.get(f"{ref.remote_sha}^{{commit}}")
    return found[0] if found else None


def _target_kind(repo: Repo, oid: str) -> str:
    peeled = repo.object_types([f"{oid}^{{}}"]).get(f"{oid}^{{}}")
    return peeled[1] if peeled else "missing object"


def _with_receipts(repo: Repo, results: Sequence[CheckResult], plans: Sequence[_Plan],
                   environ: Mapping[str, str]) -> tuple[CheckResult, ...]:
    required = {c.sha for p in plans if any(rp.policy.receipts_required for rp in p.policies)
                for c in p.commits}
    if not required:
        return tuple(results)
    merges = {c.sha for p in plans for c in p.commits if c.is_merge}
    wanted = list(dict.fromkeys(r.head for r in results if r.head in required
                                and not exempt_merge(r, merges)))
    found = receipt_violations(repo, wanted, environ)
    return tuple(with_violations(r, found.get(r.head, ())) for r in results)


def _summary(refs: Sequence[PushedRef], plans: Sequence[_Plan],
             results: Sequence[CheckResult], notes: list[str]) -> CheckResult:
    """The push as a whole: one line per ref (the text output shows only the commits that
    failed, so pushing a long history prints a line per ref, never one per commit)."""
    first = refs[0]
    diff = DiffSummary(files=len({t.path for r in results for t in r.touched}),
                       added=sum(r.diff.added for r in results),
                       removed=sum(r.diff.removed for r in results),
                       counted=all(r.diff.counted for r in results))
    failed = {r.head for r in results if r.verdict != "pass"}
    for p in plans:
        bad = sum(1 for c in p.commits if c.sha in failed)
        policy = "; ".join("defaults: no policy file" if rp.policy.blob is None
                           else f"policy at {rp.base[:12]}" if rp.base else rp.describe()
                           for rp in p.policies)
        notes.append(f"{p.ref.remote_ref}: {len(p.commits)} new commit(s), "
                     + (f"{bad} failed" if bad else "all pass") + f" ({policy})")
    if results:
        notes.append(f"{len(results)} new commit(s) checked, each against its own task")
    listed = [{"local_ref": p.ref.local_ref, "local": p.ref.local_sha,
               "remote_ref": p.ref.remote_ref, "remote": p.ref.remote_sha,
               "commits": len(p.commits), "policy_from": p.policy_from} for p in plans]
    return CheckResult(base=first.remote_sha, head=first.local_sha, label="push", task=None,
                       model=None, diff=diff, notes=tuple(notes), extra={"refs": listed})
