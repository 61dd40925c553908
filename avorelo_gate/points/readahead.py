"""The staged diff and the task and policy files, asked of git before the engine is imported.

``check --staged`` on 10,000 staged files spends ~0.4 s waiting for git's line counts, and a
commit hook spends ~40 ms importing the engine before it asks git anything. Started first,
git works while Python imports: ``ReadAheadRepo`` hands over the diff (the same command,
started a few milliseconds earlier) when the engine asks for exactly it, and the objects read
ahead (the index's task files, the policy at HEAD) when the engine asks for only those; any
other question goes to git as before. What is never asked for is stopped on the way out.
While git counts the diff's lines, the files read ahead are parsed (``_parse_ahead``).
``check`` starts all this even before click is imported (``start_early``, from main.py).
"""
from __future__ import annotations

import contextlib
import itertools
import subprocess
from collections.abc import Iterator, Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import GateError
from avorelo_gate.git.diff import DiffJob, RawEntry
from avorelo_gate.git.objects import batch_input, parse_batch
from avorelo_gate.git.repo import Repo
from avorelo_gate.task import schema

POLICY_PATH = ".avorelo/policy.yaml"  # policy.py's, without importing the YAML stack
TASK_PATH = ".avorelo/task.yaml"
TASKS_DIR = ".avorelo/tasks"


class _Pending:
    """The diff started for ``base``; taken once, or cancelled."""

    def __init__(self, base: str, job: DiffJob) -> None:
        self.base = base
        self.job: DiffJob | None = job
        self.entries: list[RawEntry] | None = None   # what the diff gave, once taken

    def take(self, base: str) -> DiffJob | None:
        job, self.job = self.job, None
        if job is not None and base != self.base:
            job.cancel()
            return None
        return job

    def cancel(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.cancel()


class _Objects:
    """``cat-file --batch`` for a few names, started now, read on first use."""

    def __init__(self, repo: Repo, names: Sequence[str]) -> None:
        self.names = tuple(dict.fromkeys(names))
        self._argv = ("cat-file", "--batch")
        self._proc: subprocess.Popen[bytes] | None = repo.git.spawn(
            *self._argv, input=batch_input(self.names))
        self._found: dict[str, tuple[str, bytes] | None] | None = None

    def get(self, repo: Repo,
            names: Sequence[str]) -> dict[str, tuple[str, bytes] | None] | None:
        if not names or not set(names) <= set(self.names):
            return None
        if self._found is None:
            proc, self._proc = self._proc, None
            if proc is None:
                return None
            out = bytearray()
            repo.git.drain(proc, self._argv, out.extend)
            self._found = parse_batch(bytes(out), self.names)
        return {n: self._found[n] for n in names}

    def cancel(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with proc:
                proc.kill()


@dataclass(frozen=True)
class ReadAheadRepo(Repo):
    """A Repo whose staged diff git is already computing while Python imports the engine."""

    pending: _Pending | None = None
    objects: _Objects | None = None

    def diff_staged(self, base: str | None = None) -> list[RawEntry]:
        job = self.pending.take(base or self.head or self.empty_tree) if self.pending else None
        if job is None:
            return super().diff_staged(base)
        self._parse_ahead()
        entries = job.entries()
        if self.pending is not None:
            self.pending.entries = entries
        return entries

    def _parse_ahead(self) -> None:
        """While git counts lines: parse the task and policy files read ahead (importing the
        YAML stack now, not after the diff). schema.load_validated keeps each parse for the
        engine's own call; a file that does not parse is left for that call to report."""
        found = self.objects.get(self, self.objects.names) if self.objects else None
        for name, value in (found or {}).items():
            if value is not None:
                spec = schema.POLICY if name.endswith(POLICY_PATH) else schema.TASK
                with contextlib.suppress(GateError):
                    schema.load_validated(value[1], spec, name)

    def cat_objects(self, names: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
        found = self.objects.get(self, names) if self.objects else None
        return found if found is not None else super().cat_objects(names)


def expected_objects(repo: Repo, environ: Mapping[str, str] | None,
                     task_id: str | None) -> list[str]:
    """What a staged check reads: the task files (``task.yaml``, and ``tasks/ID.yaml`` for the
    ids known so far: ``task_id`` (--task, or the message's) and AVORELO_TASK) in the index and
    at HEAD, where their earlier version narrows the task, and the policy in force (HEAD's; the
    index's before the first commit). A guess that misses costs nothing but the guess: git is
    asked as before."""
    ids = [task_id or "", (environ or {}).get("AVORELO_TASK", "").strip()]
    files = [f"{TASKS_DIR}/{t}.yaml" for t in dict.fromkeys(ids) if schema.TASK_ID.match(t)]
    files.append(TASK_PATH)
    names = [f":{p}" for p in files]
    if repo.head:
        names += [f"{repo.head}:{p}" for p in (*files, POLICY_PATH)]
    else:
        names.append(f":{POLICY_PATH}")
    return names


# `check` in staged mode, started by main.py before click and the CLI are imported (~40 ms
# that git now spends diffing): (the repository as it was opened, the diff, the objects).
_EARLY: list[tuple[Repo, _Pending, _Objects | None]] = []
# Any of these makes `check` something else than the staged check (or prints help).
_NOT_STAGED = ("--commit", "--range", "--worktree", "--help", "-h")


def start_early(args: Sequence[str], environ: Mapping[str, str]) -> None:
    """Start a staged ``check``'s git work now, when its arguments (``check ...``, not yet
    parsed) name no other mode. A guess: ``staged_read_ahead`` takes what was started only
    for the same repository and base, and ``cancel_early`` stops what nothing took. Any
    error is left for the command itself to meet and report, after its arguments are
    parsed."""
    if any(a in _NOT_STAGED or a.startswith(("--commit=", "--range=")) for a in args):
        return
    from avorelo_gate.git.repo import open_repo

    try:
        repo = open_repo(environ=environ)
        if repo.bare or not repo.toplevel:
            return
        task_id = next((b for a, b in itertools.pairwise(args) if a == "--task"),
                       next((a[len("--task="):] for a in args if a.startswith("--task=")), ""))
        pending, objects = _start(repo, environ, task_id)
    except GateError:
        return
    _EARLY.append((repo, pending, objects))


def cancel_early() -> None:
    while _EARLY:
        _, pending, objects = _EARLY.pop()
        _stop(pending, objects)


def _stop(pending: _Pending, objects: _Objects | None) -> None:
    pending.cancel()
    if objects is not None:
        objects.cancel()


def _start(repo: Repo, environ: Mapping[str, str] | None,
           task_id: str | None) -> tuple[_Pending, _Objects | None]:
    base = repo.head or repo.empty_tree
    pending = _Pending(base, DiffJob(repo, "diff-index", "--cached", base))
    try:
        return pending, _Objects(repo, expected_objects(repo, environ, task_id))
    except BaseException:
        pending.cancel()
        raise


def _take_early(repo: Repo) -> tuple[_Pending, _Objects | None] | None:
    """What ``start_early`` started for this very repository (same place, environment and
    HEAD), once; anything else it started is stopped."""
    found = None
    while _EARLY:
        early, pending, objects = _EARLY.pop()
        if found is None and early == repo:
            found = (pending, objects)
        else:
            _stop(pending, objects)
    return found


@contextlib.contextmanager
def staged_read_ahead(repo: Repo, environ: Mapping[str, str] | None = None,
                      task_id: str | None = None) -> Iterator[Repo]:
    """``repo``, with ``git diff-index --cached`` against HEAD and the reading of the task and
    policy files already running (since ``start_early``, when it guessed this command)."""
    if repo.bare or not repo.toplevel:
        cancel_early()
        yield repo  # no index to diff: the engine says so in its own words
        return
    early = _take_early(repo)
    pending, objects = early if early is not None else _start(repo, environ, task_id)
    try:
        yield ReadAheadRepo(git=repo.git, git_dir=repo.git_dir, common_dir=repo.common_dir,
                            bare=repo.bare, shallow=repo.shallow,
                            object_format=repo.object_format, toplevel=repo.toplevel,
                            head=repo.head, hooks=repo.hooks, pending=pending, objects=objects)
    finally:
        _stop(pending, objects)
