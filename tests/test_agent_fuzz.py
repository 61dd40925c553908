"""Whatever arrives on stdin, agent-hook answers in the agent's protocol: never a traceback,
never a stray exit code (most agents read either as "go ahead")."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from agent_support import DATA, payload, task_repo
from conftest import GitRepo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avorelo_gate.agents.hook import run_agent_hook

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10)
FIXTURES = sorted((p.parent.name, p.stem) for p in DATA.glob("*/*.json"))
EVENT_OF = {"stop": "stop", "stop_active": "stop", "session_start": "session-start"}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    import subprocess

    path = tmp_path_factory.mktemp("fuzz") / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    return task_repo(GitRepo(path))


def answer(agent: str, event: str, raw: bytes) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    code = run_agent_hook([agent, event], dict(os.environ), stdin=io.BytesIO(raw), stdout=out,
                          stderr=err)
    assert code == 0
    assert "Traceback" not in out.getvalue() + err.getvalue()
    text = out.getvalue()
    doc: dict[str, Any] = json.loads(text) if text.strip() else {}
    assert isinstance(doc, dict)
    return doc


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fixture=st.sampled_from(FIXTURES), key_choice=st.integers(0, 50), value=JSON)
def test_a_recorded_payload_with_any_field_replaced_gets_an_answer(
        work: GitRepo, fixture: tuple[str, str], key_choice: int, value: Any) -> None:
    agent, name = fixture
    doc = payload(agent, name, Path(work.path))
    keys = sorted(doc)
    doc[keys[key_choice % len(keys)]] = value
    answer(agent, EVENT_OF.get(name, "pre-tool"), json.dumps(doc).encode())


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(agent=st.sampled_from(["claude", "codex", "gemini", "copilot", "cline"]),
       event=st.sampled_from(["pre-tool", "stop", "session-start"]),
       raw=st.binary(max_size=64) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_get_an_answer(work: GitRepo, agent: str, event: str, raw: bytes) -> None:
    doc = answer(agent, event, raw)
    if event == "pre-tool" and agent != "cline":   # nothing usable: denied, with a reason
        assert "deny" in json.dumps(doc)
