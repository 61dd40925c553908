"""task/narrow.py: every combination of task-file versions is at least as strict as each."""
from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from avorelo_gate.task.narrow import combine
from avorelo_gate.task.scope import Matcher

PATTERNS = st.lists(st.sampled_from(["src/**", "src/a/**", "docs/*.md", "!src/a/x", "*.py",
                                     "b/**", "**"]), max_size=4)
PATHS = st.sampled_from(["src/a/x", "src/a/y.py", "src/b.py", "docs/g.md", "b/c", "top.py"])
BUDGET = st.fixed_dictionaries({}, optional={"max_files": st.integers(0, 9),
                                             "max_lines": st.integers(0, 99)})
VERSION = st.fixed_dictionaries({}, optional={
    "scope": PATTERNS, "forbid": PATTERNS, "budget": BUDGET,
    "risk": st.sampled_from(["low", "medium", "high"]),
    "tools": st.lists(st.sampled_from(["pytest", "ruff", "mypy"]), unique=True, max_size=3)})


@given(st.lists(VERSION, min_size=1, max_size=3), PATHS)
def test_combined_is_as_strict_as_every_version(versions: list[dict[str, Any]],
                                                path: str) -> None:
    got = combine(versions)
    in_scope = all(Matcher.compile(s).match(path) for s in got.scopes)
    for v in versions:
        if "scope" in v and not Matcher.compile(v["scope"]).match(path):
            assert not in_scope           # no version's refusal is lost
        for pattern in v.get("forbid", ()):
            assert pattern in got.forbid
        for key in ("max_files", "max_lines"):
            limit = v.get("budget", {}).get(key)
            if limit is not None:
                assert getattr(got.budget, key) <= limit
        if "risk" in v:
            assert ["low", "medium", "high"].index(got.risk or "low") >= \
                ["low", "medium", "high"].index(v["risk"])
        if "tools" in v:
            assert got.tools is not None and set(got.tools) <= set(v["tools"])
    if all("scope" in v and Matcher.compile(v["scope"]).match(path) for v in versions):
        assert in_scope                   # and nothing stricter than all of them together


def test_empty_scope_is_a_constraint_and_no_scope_key_is_none() -> None:
    assert combine([{"scope": []}]).scopes == ((),)
    assert combine([{}]).scopes == ()
    assert not any(Matcher.compile(s).match("a") for s in combine([{"scope": []}]).scopes)
