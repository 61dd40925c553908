"""Tests written to kill mutants that survived tools/mutation.py (mutation/REPORT.md), each
against behaviour the contract or the module's own promise specifies, so that it stays valid
when the code under it is rewritten."""
from __future__ import annotations

import pytest

from avorelo_gate.task.scope import Matcher, match_reference


@pytest.mark.parametrize("patterns", [
    ["src/**", "# a comment line, as in a .gitignore"],
    ["# first", "src/**", "!src/keys/**", "# last"],
])
def test_matcher_skips_comment_patterns_exactly_as_pathspec(patterns: list[str]) -> None:
    """Matcher answers as pathspec's match_file (scope.py's promise); a comment pattern before
    or after the others must not end the compilation early."""
    for path in ("src/a.py", "src/keys/k.pem", "docs/a.md"):
        assert Matcher.compile(patterns).match(path) == match_reference(patterns, path), path
    assert Matcher.compile(patterns).match("src/a.py")


def test_literal_bracket_in_a_class_compiles_and_matches_as_pathspec() -> None:
    """'[[]' is a class holding '[': Python's re warns about a "possible nested set" when the
    matcher compiles its alternation; the matcher silences exactly that warning (pathspec's
    own compile may still show it) and must not fail on it."""
    import warnings

    patterns = ["docs/[[]draft]-mutation-kill.md"]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        matcher = Matcher.compile(patterns)
    assert not [w for w in shown if w.filename.endswith("scope.py")], shown
    for path in ("docs/[draft]-mutation-kill.md", "docs/d-mutation-kill.md"):
        assert matcher.match(path) == match_reference(patterns, path), path
    assert matcher.match("docs/[draft]-mutation-kill.md")


@pytest.mark.parametrize(("pattern", "problem"), [
    ("src/[x].py", None),                 # a one-character class
    ("src/[X].py", None),
    ("src/[[]x", None),                   # a class holding '['
    ("src/[]]x", None),                   # ']' first in a class is literal
    ("src/[!]]x", None),
    ("src/[^a]x", None),
    ("src/[x", "unbalanced '[' in the pattern"),
    ("src/[]", "unbalanced '[' in the pattern"),
    ("src/[!]", "unbalanced '[' in the pattern"),
    ("src/[a][]", "unbalanced '[' in the pattern"),   # the second class never closes
    ("src/[a][", "unbalanced '[' in the pattern"),    # an unclosed '[' right after a class
])
def test_bracket_classes_accepted_and_refused_on_both_sides(pattern: str,
                                                             problem: str | None) -> None:
    from avorelo_gate.task.scope import pattern_problem

    assert pattern_problem(pattern) == problem
    if problem is None:   # what is accepted means what pathspec means
        for path in ("src/x.py", "src/]x", "src/ax", "src/bx"):
            assert Matcher.compile([pattern]).match(path) == match_reference([pattern], path)
