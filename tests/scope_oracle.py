"""The tests' oracle for scope matching: pathspec's own patterns, one by one, in Python's
``re`` (moved here from avorelo_gate/task/scope.py: no verdict uses it)."""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

from avorelo_gate.task.scope import _END, _spec


def match_reference(patterns: Sequence[str], path: str) -> bool:
    """pathspec's own patterns, one by one, last match deciding, in Python's ``re``: the
    slow, obviously-right answer the tests compare against (with git's reading of a newline:
    an ordinary character of a name)."""
    decided = False
    for p in _spec(patterns).patterns:
        regex = getattr(p, "regex", None)
        if regex is None or p.include is None:
            continue
        body = regex.pattern.replace(_END, "(?:/|\\Z)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            found = re.search(body, path, re.DOTALL)
        if found:
            decided = bool(p.include)
    return decided
