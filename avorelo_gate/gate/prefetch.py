"""Many commits judged one by one, with git asked each question once for all of them.

``receipt verify`` recomputes every receipt with ``check_request(mode="commit")``, exactly as
``receipt record`` made it; for one commit that asks git six questions (the commit, its
parents, its diff, its trailers, its task file there and at its parent, the policy at its
parent): 6,000 processes for 1,000 commits. ``PrefetchedRepo`` asks each question once,
for every commit, and answers the per-commit calls from what came back. Nothing about the
verdict changes: the answers are the ones git gives to the single questions
(``tests/test_fast_path.py`` compares the two paths, and counts the processes), and
anything not prefetched goes to git as before. The answers live as long as the command.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.errors import BadInputError, GateError
from avorelo_gate.git.diff import RawEntry
from avorelo_gate.git.paths import zsplit
from avorelo_gate.git.repo import ObjectsReadAhead, Repo
from avorelo_gate.task.declare import TaskMemo, declared_task_files
from avorelo_gate.task.policy import AVORELO_DIR, POLICY_PATH

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from avorelo_gate.git.background import InBackground
    from avorelo_gate.task.trailers import TrailerDeclaration


@dataclass(frozen=True)
class PrefetchedRepo(ObjectsReadAhead):
    """A Repo that answers commits, diffs and blobs it was given in bulk, before asking git."""

    commits: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # Each commit's diff against parent 1, which git counts in a thread while the caller
    # goes on (receipt verify parses the notes meanwhile); the first diff asked for waits.
    pending_diffs: InBackground | None = field(default=None, compare=False)
    declarations: Mapping[str, TrailerDeclaration] = field(default_factory=dict)
    # The commits' tasks, each distinct set of task inputs resolved once.
    tasks: TaskMemo = field(default_factory=TaskMemo, compare=False)

    def resolve(self, rev: str, kind: str = "commit") -> str:
        known = self.commits.get(rev)
        if known is not None and kind in ("commit", "tree"):
            return rev if kind == "commit" else known[0]
        return super().resolve(rev, kind)

    def parents(self, commit: str) -> list[str]:
        known = self.commits.get(commit)
        return list(known[1]) if known is not None else super().parents(commit)

    def diffs(self) -> Mapping[str, list[RawEntry]]:
        """The diffs git counted in bulk; none when it could not: the single questions then
        go to git, which reports the problem as it always did."""
        if self.pending_diffs is None:
            return {}
        try:
            diffs: Mapping[str, list[RawEntry]] = self.pending_diffs.result()
        except GateError:
            return {}
        return diffs

    def diff_trees(self, a: str, b: str) -> list[RawEntry]:
        known = self.commits.get(b)
        if known is not None and a == (known[1][0] if known[1] else self.empty_tree):
            diffs = self.diffs()
            if b in diffs:
                # What _diff does after git answers: a text file forced binary gets its lines.
                return self._recount_forced_binary("diff-tree", ("-r", a, b), diffs[b])
        return super().diff_trees(a, b)


def prefetch_commits(repo: Repo, commits: Sequence[str]) -> PrefetchedRepo:
    """``repo`` with the answers for ``commits`` (full ids) read in five git processes."""
    shas = list(dict.fromkeys(commits))
    try:
        return _prefetch(repo, shas) if shas else _prefetched(repo)
    except GateError:
        # A commit git cannot read in bulk: the single questions report it as they always did.
        return _prefetched(repo)


def _prefetch(repo: Repo, shas: list[str]) -> PrefetchedRepo:
    out = repo.git.out("log", "--no-walk=unsorted", "--stdin", "-z", "--format=%H %T %P",
                       input=("\n".join(shas) + "\n").encode())
    known: dict[str, tuple[str, tuple[str, ...]]] = {}
    for rec in zsplit(out):
        ids = rec.decode().split()
        known[ids[0]] = (ids[1], tuple(ids[2:]))
    found = [c for c in shas if c in known]
    from avorelo_gate.git.background import InBackground  # typing: not on an agent's path

    diffs = InBackground(partial(repo.diff_commits, [(c, known[c][1][0] if known[c][1] else None)
                                                    for c in found]), "avorelo-git-diffs")
    try:
        declarations = _declarations(repo, found)
        return _prefetched(repo, commits=known, diffs=diffs, declarations=declarations,
                           objects=_objects(repo, found, known, declarations))
    except BaseException:
        diffs.join()   # no git process left behind
        raise


def _objects(repo: Repo, found: Sequence[str], known: Mapping[str, tuple[str, tuple[str, ...]]],
             declarations: Mapping[str, TrailerDeclaration]) -> \
        dict[str, tuple[str, bytes] | None]:
    wanted: list[tuple[str, str]] = []
    for c in found:
        parents = known[c][1]
        declared = declarations.get(c)
        paths = declared_task_files(declared.task_id if declared else None)
        # The task file at the commit, and at its parent, whose version narrows it
        # (task/declare.py resolve_task's bases).
        wanted.extend((rev, path) for rev in (c, *parents[:1]) for path in paths)
        # The policy in force is the parent's; a root commit's is its own (engine.load_policy).
        wanted.append((parents[0] if parents else c, POLICY_PATH))
    return repo.cat_at_revs(list(dict.fromkeys(wanted)), AVORELO_DIR)


def _declarations(repo: Repo, commits: Sequence[str]) -> dict[str, TrailerDeclaration]:
    """The commits whose trailers parse; the others are left to the single path, which then
    raises exactly the error it always raised."""
    from avorelo_gate.task.trailers import commit_trailers, declarations_of

    try:
        trailers = commit_trailers(repo, commits)
    except BadInputError:
        return {}
    return {c: found for c, found in declarations_of(
        trailers, lambda c: f"commit {c[:12]} message").items()
        if not isinstance(found, BadInputError)}


def _prefetched(repo: Repo, commits: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
                diffs: InBackground | None = None,
                objects: Mapping[str, tuple[str, bytes] | None] | None = None,
                declarations: Mapping[str, TrailerDeclaration] | None = None) -> PrefetchedRepo:
    return PrefetchedRepo(git=repo.git, git_dir=repo.git_dir, common_dir=repo.common_dir,
                          bare=repo.bare, shallow=repo.shallow,
                          object_format=repo.object_format, toplevel=repo.toplevel,
                          head=repo.head, hooks=repo.hooks, commits=commits or {},
                          pending_diffs=diffs, objects=objects or {},
                          declarations=declarations or {})
