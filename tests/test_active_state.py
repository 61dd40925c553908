"""The clone's local state: the active task and the observed model (task/active.py)."""
from __future__ import annotations

import pytest
from conftest import GitRepo
from hypothesis import given
from hypothesis import strategies as st

from avorelo_gate.errors import BadInputError
from avorelo_gate.git.repo import open_repo
from avorelo_gate.task.active import (
    ActiveTask,
    ObservedModel,
    Routed,
    clear_active,
    clear_observed,
    read_active,
    read_observed,
    state_path,
    valid_task_id,
    write_active,
    write_observed,
)


def test_active_task_round_trips_and_clears(repo: GitRepo) -> None:
    r = open_repo(str(repo.path))
    assert read_active(r) is None
    task = ActiveTask(id="AUTH-142", routed=Routed(weight="light", name="claude-haiku-4-5"))
    write_active(r, task)
    assert read_active(r) == task
    # Local state lives under $(git rev-parse --git-path avorelo), never in the work tree.
    path = state_path(r, "active-task")
    git_path = repo.git("rev-parse", "--path-format=absolute", "--git-path", "avorelo")
    assert path.startswith(git_path.stdout.decode().strip())
    assert repo.git("status", "--porcelain").stdout == b""
    assert clear_active(r) is True
    assert clear_active(r) is False
    assert read_active(r) is None


def test_observed_model_round_trips(repo: GitRepo) -> None:
    r = open_repo(str(repo.path))
    write_observed(r, ObservedModel(name="gpt-5-codex", agent="codex"))
    assert read_observed(r) == ObservedModel(name="gpt-5-codex", agent="codex")
    assert clear_observed(r) is True
    assert read_observed(r) is None


@pytest.mark.parametrize("content", [b"", b"[]", b"{", b'{"id": 7}', b'{"id": "../x"}',
                                     b'{"id": "A", "routed": {"weight": 3}}', b"\xff"])
def test_damaged_active_task_is_bad_input_naming_the_file(repo: GitRepo, content: bytes) -> None:
    r = open_repo(str(repo.path))
    write_active(r, ActiveTask(id="A"))
    with open(state_path(r, "active-task"), "wb") as f:
        f.write(content)
    with pytest.raises(BadInputError, match="active-task: damaged local state"):
        read_active(r)


@given(st.text(max_size=40))
def test_task_ids_never_name_a_path_outside_tasks_dir(text: str) -> None:
    if valid_task_id(text):
        assert "/" not in text and "\\" not in text and text not in (".", "..")
        assert not text.startswith(".") and "\0" not in text
