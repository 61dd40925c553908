"""The clone's working state: the active task (``task start``) and the model an agent's hook
payload named (observed), both local state under ``$(git rev-parse --git-path avorelo)``.

Neither is ever tracked or pushed: they say what this clone is doing now. The active task is
one source of a commit's task (after ``--task`` and the message's ``Task:``, before
``.avorelo/task.yaml``); the observed model goes into the next receipt beside the claimed one.
Both are small JSON documents written atomically; a damaged one is bad input naming the file.
"""
from __future__ import annotations

import json
import os
import re

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.files.atomic import write_atomic
from avorelo_gate.git.repo import Repo

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

ACTIVE_TASK_FILE = "active-task"
OBSERVED_MODEL_FILE = "observed-model"
# A task id names a file under .avorelo/tasks/: no separators, no dot-names, bounded.
TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Routed:
    """What the router decided at ``task start``: the weight, and the model the policy maps
    it to (``name`` the provider's id, ``alias`` a gateway alias; either may be absent)."""

    weight: str
    name: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class ActiveTask:
    """The clone's active task (task start), with the model routed for it."""

    id: str
    routed: Routed | None = None


@dataclass(frozen=True)
class ObservedModel:
    """A model named by an agent's own hook payload (not by the work's author)."""

    name: str
    agent: str


def valid_task_id(task_id: str) -> bool:
    return TASK_ID.fullmatch(task_id) is not None and not task_id.endswith(".")


def read_active(repo: Repo) -> ActiveTask | None:
    doc = _read(repo, ACTIVE_TASK_FILE)
    if doc is None:
        return None
    task_id = doc.get("id")
    routed = doc.get("routed")
    if not isinstance(task_id, str) or not valid_task_id(task_id):
        raise _damaged(repo, ACTIVE_TASK_FILE, "no valid 'id'")
    if routed is None:
        return ActiveTask(id=task_id)
    if not isinstance(routed, dict) or not isinstance(routed.get("weight"), str) or any(
            not isinstance(routed.get(k), (str, type(None))) for k in ("name", "alias")):
        raise _damaged(repo, ACTIVE_TASK_FILE, "'routed' is not a weight with name and alias")
    return ActiveTask(id=task_id, routed=Routed(weight=routed["weight"],
                                                name=routed.get("name"),
                                                alias=routed.get("alias")))


def write_active(repo: Repo, task: ActiveTask) -> None:
    doc: dict[str, Any] = {"id": task.id}
    if task.routed is not None:
        doc["routed"] = {"weight": task.routed.weight, "name": task.routed.name,
                         "alias": task.routed.alias}
    _write(repo, ACTIVE_TASK_FILE, doc)


def clear_active(repo: Repo) -> bool:
    """Forget the active task; False when there was none."""
    return _remove(repo, ACTIVE_TASK_FILE)


def read_observed(repo: Repo) -> ObservedModel | None:
    doc = _read(repo, OBSERVED_MODEL_FILE)
    if doc is None:
        return None
    name, agent = doc.get("name"), doc.get("agent")
    if not isinstance(name, str) or not isinstance(agent, str) or not name or not agent:
        raise _damaged(repo, OBSERVED_MODEL_FILE, "needs string 'name' and 'agent'")
    return ObservedModel(name=name, agent=agent)


def write_observed(repo: Repo, observed: ObservedModel) -> None:
    _write(repo, OBSERVED_MODEL_FILE, {"name": observed.name, "agent": observed.agent})


def clear_observed(repo: Repo) -> bool:
    return _remove(repo, OBSERVED_MODEL_FILE)


def state_path(repo: Repo, name: str) -> str:
    return os.path.join(repo.state_dir(), name)


def _read(repo: Repo, name: str) -> dict[str, Any] | None:
    path = state_path(repo, name)
    try:
        with open(path, "rb") as f:
            raw = f.read(64 * 1024 + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot read: {e.strerror}") from e
    try:
        doc = json.loads(raw) if len(raw) <= 64 * 1024 else None
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise _damaged(repo, name, "not a JSON object")
    return doc


def _write(repo: Repo, name: str, doc: dict[str, Any]) -> None:
    path = state_path(repo, name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as e:
        raise EnvironmentFailure(f"{os.path.dirname(path)}: cannot create: {e.strerror}") from e
    write_atomic(path, (json.dumps(doc, sort_keys=True) + "\n").encode())


def _remove(repo: Repo, name: str) -> bool:
    try:
        os.unlink(state_path(repo, name))
    except FileNotFoundError:
        return False
    except OSError as e:
        raise EnvironmentFailure(f"{state_path(repo, name)}: cannot remove: {e.strerror}") from e
    return True


def _damaged(repo: Repo, name: str, why: str) -> BadInputError:
    return BadInputError(f"{state_path(repo, name)}: damaged local state ({why}); "
                         f"To fix: remove it, or run `avorelo-gate task start ID` again")
