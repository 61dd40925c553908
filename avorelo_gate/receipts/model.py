"""The model in a receipt beside the claim: ``routed`` (the weight and model the router chose
at ``task start``, kept in the active task) and ``observed`` (the model an agent's own hook
payload named). Neither can be recomputed from a commit: they are read from this clone's
local state when the receipt is made for the commit being made, and ``receipt verify``
takes them as recorded (the signature is what protects them, as for environment claims).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from avorelo_gate.dataclass_lite import dataclass

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

    from avorelo_gate.git.repo import Repo
    from avorelo_gate.task.declare import ResolvedTask

# A provider prefix (`anthropic/`, `openrouter/anthropic/`) and a date stamp
# (`-20251001`) name the same model as the bare id a person writes in a trailer.
_PREFIX = re.compile(r"^.*/")
_DATED = re.compile(r"-\d{8}\Z")


@dataclass(frozen=True)
class LocalModel:
    """The model routed and observed for the commit being made (local state)."""

    routed: Mapping[str, Any] | None = None     # {"weight", "name", "alias"}
    observed: Mapping[str, Any] | None = None   # {"name", "agent"}


def read_local_model(repo: Repo, task: ResolvedTask) -> LocalModel:
    """What this clone knows about the commit being made. The routed weight counts only for
    the task it was routed for: a commit that declares another task was not routed."""
    from avorelo_gate.task.active import read_active, read_observed

    active = read_active(repo)
    routed = None
    if active is not None and active.routed is not None and task.id == active.id:
        r = active.routed
        routed = {"weight": r.weight, "name": r.name, "alias": r.alias}
    observed = read_observed(repo)
    return LocalModel(routed, {"name": observed.name, "agent": observed.agent}
                      if observed is not None else None)


def recorded_local_model(predicate: Mapping[str, Any]) -> LocalModel:
    """The routed and observed model a receipt recorded (replayed by ``receipt verify``)."""
    model = predicate.get("model") or {}
    return LocalModel(model.get("routed"), model.get("observed"))


def model_record(task: ResolvedTask, local: LocalModel | None) -> dict[str, Any] | None:
    """The receipt's ``model``: the claim (``task.model_dict()``), and beside it what was
    routed and observed. Receipts without either are exactly as before."""
    claimed = task.model_dict()
    if local is None or (local.routed is None and local.observed is None):
        return claimed
    record = claimed or {"weight": None, "name": None, "claimed": True,
                         "source": {"weight": None, "name": None}}
    if local.routed is not None:
        record["routed"] = dict(local.routed)
    if local.observed is not None:
        record["observed"] = dict(local.observed)
    return record


def same_model(a: str, b: str) -> bool:
    def bare(name: str) -> str:
        return _DATED.sub("", _PREFIX.sub("", name.strip().lower()))
    return bare(a) == bare(b)


def disagreement(model: Mapping[str, Any] | None) -> str | None:
    """A warning when the claimed model is not the one the agent's payload named."""
    if not model or not model.get("observed") or not model.get("name"):
        return None
    observed = model["observed"]
    if same_model(str(model["name"]), str(observed["name"])):
        return None
    return (f"the claimed model {model['name']!r} is not the model {observed['agent']} "
            f"reported using ({observed['name']!r}); the receipt records both")
