"""Proof requirements as tasks and the policy declare them (validated by ``schema.requirement``):
their kind, the artifact they name, a label for reports, and where ``prove`` finds them."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping

from avorelo_gate.errors import BadInputError
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import WORKTREE, Snapshot
from avorelo_gate.proof.records import normalize_artifact
from avorelo_gate.task.declare import ResolvedTask, load_task_file
from avorelo_gate.task.policy import POLICY_PATH, TASK_PATH, TASKS_DIR, Policy
from avorelo_gate.task.schema import PROOF_KINDS

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    Requirement = Mapping[str, Any]
ARTIFACT_KINDS = ("junit", "log", "file")


def kind_of(req: Requirement) -> str:
    for kind in PROOF_KINDS:
        if kind in req:
            return kind
    raise BadInputError(f"proof requirement {dict(req)!r}: names none of "
                        f"{', '.join(PROOF_KINDS)}")


def label_of(req: Requirement) -> str:
    kind = kind_of(req)
    return f"{kind}:{req[kind]}"


def requirement_artifact(req: Requirement) -> str | None:
    kind = kind_of(req)
    return normalize_artifact(str(req[kind])) if kind in ARTIFACT_KINDS else None


def requirements_of(task: ResolvedTask, policy: Policy) -> tuple[Requirement, ...]:
    """The task's own requirements, then the policy's; one that both declare counts once."""
    seen: dict[str, Requirement] = {}
    for req in (*task.proof, *policy.proof):
        seen.setdefault(repr(sorted(req.items())), req)
    return tuple(seen.values())


def requirements_on_disk(repo: Repo, say: Callable[[str], None]) -> list[Requirement]:
    """Every requirement a check may ask for: the policy at HEAD and in the working tree, and
    every task file in the working tree (which task applies is only known at commit time, from
    the message's trailers). A file that does not validate is skipped with a warning: the
    command still runs, and the check will refuse the file itself."""
    top = repo.toplevel or ""
    candidates = [POLICY_PATH, TASK_PATH]
    with contextlib.suppress(OSError):
        candidates += sorted(f"{TASKS_DIR}/{n}" for n in os.listdir(os.path.join(top, TASKS_DIR))
                             if n.endswith(".yaml"))
    sources = [(p, blob, data) for p, (blob, data) in Snapshot(repo, WORKTREE).read(
        candidates).items()]
    if repo.head:
        sources += [(f"{p} (at HEAD)", blob, data) for p, (blob, data) in Snapshot(
            repo, repo.head).read([POLICY_PATH]).items()]
    found: list[Requirement] = []
    for path, blob, data in sources:
        try:
            if path.startswith(POLICY_PATH):
                found.extend(Policy.parse(data, path, blob).proof)
            else:
                found.extend(load_task_file(data, path, blob).data.get("proof", ()))
        except BadInputError as e:
            say(f"prove: warning: {e} (its proof artifacts are not recorded)")
    return found
