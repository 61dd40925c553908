"""Which policy a pushed ref is judged by, and what the push changes as a whole.

CONTRACT, "Who decides what a change is judged by": the rules come from the remote's side,
never from the commits being pushed.

- A ref that exists on the remote: the policy at its old tip.
- A new ref: the policy where its new commits leave what the remote already has (the parents
  of the new commits that the remote has: its merge base with the remote's refs), at each
  such commit when there are several. A new ref whose history the remote has none of is
  judged under every policy the remote's branches hold; only a push to a remote with no
  branches at all (a new repository) takes the policy of its own root commit(s).
- The same commit pushed under several refs is judged under each of their policies (``jobs``
  pair every commit with every policy; ``check_commits`` keeps one result per pair).
- What the push does as a whole, old tip to new tip, is checked for ``policy-changed`` and
  ``protected`` as ``ci`` checks merge-base..head: a merge whose second parent brings back an
  older policy, or drops a protected file, changes no path of its own against every parent,
  and so no single commit shows it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError
from avorelo_gate.gate.assemble import CheckRequest, allow_policy_change
from avorelo_gate.gate.engine import Options, evaluate, load_policy
from avorelo_gate.git.change import Change
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.points.commits import Commit, touched_files
from avorelo_gate.result import Violation
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import POLICY_PATH, Policy

# The rules a whole push is held to beyond its commits: the ones no task can grant.
GUARDED_RULES = ("policy-changed", "protected")


@dataclass(frozen=True)
class RefPolicy:
    base: str | None     # the remote-side commit it was read at; None: a root's own (new repo)
    policy: Policy

    def describe(self) -> str:
        return self.base or f"{self.policy.source} of the pushed root commit (a new repository)"


def base_policy(repo: Repo, commit: str) -> Policy:
    """The policy at a base commit, or exit 2 naming the file and the commit when it is
    there but cannot be honoured (malformed: ``Policy.parse`` says so; not a readable file:
    a submodule entry, a directory, a blob this clone lacks). Never the defaults in its
    place: that would be a silent pass under no rules."""
    policy = load_policy(repo, commit, None)
    if policy.blob is None:
        kind = repo.entry_type(commit, POLICY_PATH)
        if kind is not None:
            what = "a blob this repository does not have" if kind == "blob" else f"a {kind}"
            raise BadInputError(f"{POLICY_PATH} at {commit[:12]}: cannot be read ({what}); "
                                "the rules it sets cannot be honoured")
    return policy


def ref_policies(repo: Repo, remote_commit: str | None, commits: Sequence[Commit],
                 remote_tips: Sequence[str]) -> list[RefPolicy]:
    """Every policy one pushed ref is judged under (one or more, never fewer)."""
    if remote_commit is not None:
        bases = [remote_commit]
    else:
        new = {c.sha for c in commits}
        bases = list(dict.fromkeys(p for c in commits for p in c.parents if p not in new))
        if not bases:
            bases = list(dict.fromkeys(remote_tips))
    if not bases:
        # Nothing on the remote at all: the pushed history begins the rules.
        roots = [c for c in commits if not c.parents]
        found = [RefPolicy(None, load_policy(repo, None, Snapshot(repo, r.sha))) for r in roots]
    else:
        found = [RefPolicy(b, base_policy(repo, b)) for b in bases]
    unique: dict[str | None, RefPolicy] = {}
    for rp in found:
        unique.setdefault(rp.policy.blob, rp)
    return list(unique.values())


def push_guard(repo: Repo, ref_name: str, tip: str, ref_policy: RefPolicy,
               environ: Mapping[str, str]) -> list[Violation]:
    """``policy-changed`` / ``protected`` for what the ref's update changes as a whole."""
    if ref_policy.base is None:
        return []   # a new repository: the root brings its policy and everything else
    base = ref_policy.base
    change = Change(base=base, head=tip, touched=touched_files(repo.diff_trees(base, tip)),
                    snapshot=Snapshot(repo, tip), base_commit=base, mode="range")
    allow = allow_policy_change(CheckRequest(mode="range"), environ)
    result = evaluate(change, ResolvedTask(), ref_policy.policy,
                      Options(allow_policy_change=allow, label="range"))
    return [Violation(v.rule, f"{ref_name}: {base[:12]}..{tip[:12]} as a whole: {v.message}",
                      v.path, v.hint, commit=tip)
            for v in result.violations if v.rule in GUARDED_RULES]
