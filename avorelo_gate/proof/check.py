"""Judging proof requirements: is each one present, passing, well-formed and fresh?

Fresh means the proof ran against exactly the content being checked: the staged tree for
``--staged``, the commit's tree for ``--commit`` and ranges. The only evidence is a ``prove``
record's tree id; a file's modification time never is. An artifact (a JUnit report, a log, a
file) is vouched for only by the recorded run that wrote its exact bytes; one that no recorded
run wrote may have been dropped there by anyone, so it is ``proof-stale`` (and, in a check of
commits on a machine with no such record, e.g. CI, ``proof-missing``). An artifact that is part
of the change being checked would be its own proof: ``proof-invalid`` unless the requirement
says ``committed: true``, and then it is read from the checked content and judged by its
content alone. Artifact paths are outputs, not inputs: they are left out of every comparison
of trees.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Iterator

from avorelo_gate.dataclass_lite import dataclass, replace
from avorelo_gate.git.change import Change
from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import INDEX, WORKTREE
from avorelo_gate.proof.artifacts import (
    ArtifactError,
    ArtifactMissing,
    file_nonempty,
    log_requirement,
    read_capped,
    resolve_artifact,
    sha256_file,
)
from avorelo_gate.proof.junit import MAX_JUNIT_BYTES, JUnitInvalid, parse_junit
from avorelo_gate.proof.records import ProofRecord, RecordStore, load_store
from avorelo_gate.proof.requirements import (
    kind_of,
    label_of,
    requirement_artifact,
    requirements_of,
)
from avorelo_gate.proof.stale import MAX_NAMED_PATHS, stale_wording
from avorelo_gate.result import ProofStatus, Violation
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import Policy

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from avorelo_gate.proof.requirements import Requirement

RULES = {"missing": "proof-missing", "failed": "proof-failed", "stale": "proof-stale",
         "invalid": "proof-invalid"}
UNKNOWN_PROVENANCE = "not produced by a recorded `avorelo-gate prove` run for this content"
MAX_HINT_COMMAND = 160


@dataclass(frozen=True)
class Target:
    """The content being checked, and where committed artifacts are read from."""

    tree: str
    rev: str                       # INDEX, WORKTREE or a commit id
    local: bool                    # staged/worktree: artifacts on disk may be for this content
    touched: frozenset[str]
    outputs: frozenset[str]        # artifact paths: never part of a freshness comparison
    base: str = ""                 # what the change is against (HEAD for the index)


@dataclass(frozen=True)
class Finding:
    """One requirement judged: its status, a hint, and the artifact's path."""

    status: ProofStatus
    hint: str = ""
    path: str | None = None


@dataclass(frozen=True)
class ProofVerdict:
    """Every requirement's status and the violations they add up to."""

    statuses: tuple[ProofStatus, ...] = ()
    violations: tuple[Violation, ...] = ()


def check_proof(repo: Repo, change: Change, task: ResolvedTask, policy: Policy,
                store: RecordStore | None = None) -> ProofVerdict:
    reqs = requirements_of(task, policy)
    if not reqs or not change.touched:
        return ProofVerdict()  # nothing changed, nothing to prove
    target = target_of(repo, change, reqs)
    store = store if store is not None else load_store(repo)
    findings = [judge(repo, target, store, req) for req in reqs]
    return ProofVerdict(statuses=tuple(replace(f.status, spec=dict(req))
                                       for f, req in zip(findings, reqs, strict=True)),
                        violations=tuple(v for f in findings if (v := violation_of(f))))


def is_violation_for(v: Violation, requirement: str) -> bool:
    """Whether ``v`` is the violation ``violation_of`` made for ``requirement``."""
    return v.rule in RULES.values() and v.message.startswith(f"{requirement}: ")


def violation_of(finding: Finding) -> Violation | None:
    s = finding.status
    if s.status == "ok":
        return None
    return Violation(RULES[s.status], f"{s.requirement}: {s.detail}", finding.path,
                     finding.hint or None)


def target_of(repo: Repo, change: Change, reqs: tuple[Requirement, ...]) -> Target:
    rev = change.snapshot.rev
    if change.mode == "staged":
        tree = repo.write_index_tree()
    elif change.mode == "worktree":
        tree = repo.worktree_tree()
    else:
        tree = repo.tree_of(change.head)
    outputs = frozenset(a for r in reqs if (a := requirement_artifact(r)) is not None)
    return Target(tree=tree, rev=rev, local=change.mode in ("staged", "worktree"),
                  touched=frozenset(t.path for t in change.touched), outputs=outputs,
                  base=change.base)


def judge(repo: Repo, target: Target, store: RecordStore, req: Requirement) -> Finding:
    if kind_of(req) == "command":
        return judge_command(repo, target, store, str(req["command"]))
    return judge_artifact(repo, target, store, req)


# -- command: NAME ----------------------------------------------------------------------------
def judge_command(repo: Repo, target: Target, store: RecordStore, name: str) -> Finding:
    label = f"command:{name}"
    again = f"avorelo-gate prove --name {name} -- <the test command>"
    runs = list(store.runs_of(name))
    if not runs:
        where = "in this clone" if target.local else (
            "on this machine (a check of commits needs a prove run here, e.g. in the CI job)")
        return Finding(ProofStatus(label, "missing", f"no `avorelo-gate prove --name {name}` "
                                   f"record {where}"), f"run: {again}")
    usable = [r for r in runs if r.usable]
    if not usable:
        return Finding(ProofStatus(label, "stale", _moved_detail(runs[0]), tree=runs[0].tree),
                       f"run it again without editing meanwhile: {_rerun(runs[0])}")
    run, changes = pick_fresh(repo, target, usable)
    if changes:
        return _stale(repo, label, run, changes, _rerun(run), target)
    return judge_exit(label, run)


def judge_exit(label: str, run: ProofRecord) -> Finding:
    if run.passed:
        return Finding(ProofStatus(label, "ok", f"exit 0 at {run.finished}", tree=run.tree))
    how = "was interrupted" if run.interrupted else f"exited {run.exit_code}"
    return Finding(ProofStatus(label, "failed", f"the last run on this content {how}",
                               tree=run.tree),
                   f"fix what fails, then run it again: {_rerun(run)}")


def pick_fresh(repo: Repo, target: Target,
               runs: list[ProofRecord]) -> tuple[ProofRecord, tuple[tuple[str, str], ...]]:
    """The newest run on exactly this content, else the newest run and what differs from it
    (an older run can be the fresh one again after an edit was reverted)."""
    newest = runs[0]
    changes = differences(repo, target, newest)
    if not changes:
        return newest, ()
    exact = next((r for r in runs[1:] if r.tree == target.tree), None)
    return (exact, ()) if exact is not None else (newest, changes)


def differences(repo: Repo, target: Target, run: ProofRecord) -> tuple[tuple[str, str], ...]:
    """(status, path) of the content that differs between the run's tree and the target's."""
    if run.tree == target.tree:
        return ()
    if not repo.has_tree(run.tree):
        return (("?", ""),)  # the run's tree is gone from the object database (gc)
    return tuple((s, p) for s, p in repo.changed_paths(run.tree, target.tree)
                 if p not in target.outputs)


def _stale(repo: Repo, label: str, run: ProofRecord, changes: tuple[tuple[str, str], ...],
           again: str, target: Target, path: str | None = None,
           sha: str | None = None) -> Finding:
    detail, hint = stale_wording(repo, run, changes, again, index=target.rev == INDEX,
                                 local=target.local, tree=target.tree, base=target.base)
    return Finding(ProofStatus(label, "stale", detail, sha256=sha, tree=run.tree,
                               stale_paths=tuple(p for s, p in changes if s != "?")),
                   hint, path)


def _moved_detail(run: ProofRecord) -> str:
    shown = ", ".join(display_path(p) for p in run.changed_during_run[:MAX_NAMED_PATHS])
    return f"content changed while {run.name} ran ({shown}): that run proves nothing"


def _rerun(run: ProofRecord) -> str:
    command = shlex.join(run.argv)
    if len(command) > MAX_HINT_COMMAND:  # a hint is one line; the record keeps the argv
        command = (f"<the command in $(git rev-parse --git-path avorelo)/proof/{run.name}"
                   "/latest.json>")
    return f"avorelo-gate prove --name {run.name} -- {command}"


# -- junit / log / file -----------------------------------------------------------------------
def judge_artifact(repo: Repo, target: Target, store: RecordStore,
                   req: Requirement) -> Finding:
    label, rel = label_of(req), requirement_artifact(req) or ""
    if req.get("committed") is True:
        return judge_committed(repo, target, req, label, rel)
    if rel in target.touched:
        # At push and in CI the report is in a commit already: the index is not the fix.
        leave = (f"leave it out of the change (git rm --cached -- "
                 f"{shlex.quote(display_path(rel))})" if target.local else
                 "take it out of the commit that added it (git rebase -i, then git rm "
                 f"--cached -- {shlex.quote(display_path(rel))} in that commit)")
        return Finding(ProofStatus(label, "invalid", "self-supplied: the artifact is part of "
                                   "the change being checked, so it cannot be its own proof"),
                       f"{leave} and produce it with avorelo-gate prove, or declare "
                       "committed: true if it is meant to be committed", rel)
    try:
        path = resolve_artifact(repo.toplevel or "", rel) if repo.toplevel else None
        if path is None:
            raise ArtifactMissing("no working tree to read it from")
        sha = sha256_file(path)
    except ArtifactError as e:
        return _unreadable(label, rel, e)
    content = judge_content(req, label, path, sha)
    if content.status.status != "ok":
        return Finding(content.status, content.hint, rel)
    return judge_provenance(repo, target, store, content.status, rel)


def judge_provenance(repo: Repo, target: Target, store: RecordStore, found: ProofStatus,
                     rel: str) -> Finding:
    sha = found.sha256 or ""
    producer = store.producer(rel, sha)
    if producer is None:
        status = "stale" if target.local else "missing"
        detail = UNKNOWN_PROVENANCE if target.local else (
            f"{UNKNOWN_PROVENANCE} on this machine (a check of commits needs a prove run here, "
            "e.g. in the CI job, or committed: true)")
        return Finding(_with(found, status, detail),
                       f"produce it through the gate: avorelo-gate prove --name tests -- "
                       f"<the command that writes {display_path(rel)}>", rel)
    if not producer.usable:
        return Finding(_with(found, "stale", _moved_detail(producer), tree=producer.tree),
                       f"run it again without editing meanwhile: {_rerun(producer)}", rel)
    changes = differences(repo, target, producer)
    if changes:
        return _stale(repo, found.requirement, producer, changes, _rerun(producer), target,
                      rel, sha)
    return Finding(_with(found, "ok", f"written by {producer.name} at {producer.finished}",
                         tree=producer.tree))


def judge_committed(repo: Repo, target: Target, req: Requirement, label: str,
                    rel: str) -> Finding:
    try:
        with committed_copy(repo, target, rel) as path:
            if path is None:
                return Finding(ProofStatus(label, "missing",
                                           "not in the content being checked (committed: "
                                           "true reads it from there)"),
                               f"add {display_path(rel)} to the change, or drop committed: "
                               "true", rel)
            found = judge_content(req, label, path, sha256_file(path))
    except ArtifactError as e:
        return _unreadable(label, rel, e)
    status = found.status if found.status.status != "ok" else _with(
        found.status, "ok", "committed; judged by its content", tree=target.tree)
    return Finding(status, found.hint, rel if status.status != "ok" else None)


@contextlib.contextmanager
def committed_copy(repo: Repo, target: Target, rel: str) -> Iterator[str | None]:
    """The artifact as the checked content holds it, as a file the readers can stream."""
    if target.rev == WORKTREE:
        try:
            yield resolve_artifact(repo.toplevel or "", rel)
        except ArtifactMissing:
            yield None
        return
    entry = repo.blob_entry(target.rev, rel)
    if entry is None:
        yield None
        return
    if entry.mode == "120000":
        raise ArtifactError("a symlink in the checked content; a committed artifact must be "
                            "a regular file")
    with tempfile.TemporaryDirectory(prefix="avorelo-artifact-") as tmp:
        path = os.path.join(tmp, "artifact")
        with open(path, "wb") as f:
            repo.copy_blob(entry.oid, f)
        yield path


def judge_content(req: Requirement, label: str, path: str, sha: str) -> Finding:
    """What the bytes say, freshness aside. Reasons never quote the file."""
    kind = kind_of(req)
    try:
        if kind == "junit":
            return judge_junit(req, label, path, sha)
        if kind == "log":
            missing, forbidden = log_requirement(path, list(req.get("must_contain", ())),
                                                 list(req.get("must_not_contain", ())))
            problems = [f"does not contain {n!r}" for n in missing]
            problems += [f"contains {n!r}" for n in forbidden]
            if problems:
                return Finding(ProofStatus(label, "failed", "; ".join(problems), sha256=sha),
                               "fix what the log reports and run the command again")
        elif not file_nonempty(path):
            return Finding(ProofStatus(label, "failed", "the file is empty", sha256=sha),
                           "run the command that writes it again")
    except ArtifactError as e:
        return Finding(ProofStatus(label, "invalid", e.reason, sha256=sha))
    return Finding(ProofStatus(label, "ok", sha256=sha))


def judge_junit(req: Requirement, label: str, path: str, sha: str) -> Finding:
    try:
        counts = parse_junit(read_capped(path, MAX_JUNIT_BYTES))
    except JUnitInvalid as e:
        return Finding(ProofStatus(label, "invalid", f"not a usable JUnit report: {e.reason}",
                                   sha256=sha),
                       "regenerate it with the test runner (e.g. pytest --junitxml=PATH)")
    shown = {"tests": counts.tests, "failures": counts.failures, "errors": counts.errors,
             "skipped": counts.skipped}
    if counts.flaky:
        shown["flaky"] = counts.flaky
    # Zero executed tests is never proof, whatever min_tests says: it is a failed proof
    # (the report is fine; the run proved nothing), so min_tests: 0 behaves as 1.
    minimum = max(1, int(req.get("min_tests", 1)))
    problem = None
    if counts.failures or counts.errors:
        problem = f"{counts.failures} failed, {counts.errors} errored"
    elif counts.tests == 0:
        problem = f"no test was executed ({counts.skipped} skipped): zero tests is not proof"
    elif counts.tests < minimum:
        problem = f"{counts.tests} test(s) executed, min_tests is {minimum}"
    if problem:
        return Finding(ProofStatus(label, "failed", problem, counts=shown, sha256=sha),
                       "make the tests pass, then run them again through avorelo-gate prove")
    return Finding(ProofStatus(label, "ok", counts=shown, sha256=sha))


def _unreadable(label: str, rel: str, e: ArtifactError) -> Finding:
    if isinstance(e, ArtifactMissing):
        return Finding(ProofStatus(label, "missing", e.reason),
                       f"produce it: avorelo-gate prove --name tests -- <the command that "
                       f"writes {display_path(rel)}>", rel)
    return Finding(ProofStatus(label, "invalid", e.reason),
                   "artifacts must be regular files inside the repository", rel)


def _with(found: ProofStatus, status: str, detail: str, tree: str | None = None) -> ProofStatus:
    return ProofStatus(found.requirement, status, detail, counts=found.counts,
                       sha256=found.sha256, tree=tree, stale_paths=found.stale_paths)
