"""A pytest plugin for mutmut's runs (``[tool.mutmut] pytest_add_cli_args``): a mutant's
tests run fastest first.

mutmut runs, for each mutant, every selected test that reached the mutated function, with
``-x``, in no particular order (a set's). A mutant is killed by the first test that fails, so
running the tests that took least time in the stats pass first finds that failure sooner; the
verdict is the same, since a surviving mutant still runs them all. Outside a mutant's run
(the stats pass, the clean run, ordinary pytest) the order is left alone.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_NOT_A_MUTANT = ("", "stats", "list_all_tests", "mutant_generation", "fail")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("MUTANT_UNDER_TEST", "") in _NOT_A_MUTANT:
        return
    stats = Path("mutmut-stats.json")   # mutmut runs the tests from mutants/
    if not stats.is_file():
        return
    durations: dict[str, float] = json.loads(stats.read_text(encoding="utf-8"))[
        "duration_by_test"]
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
