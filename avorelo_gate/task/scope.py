"""Gitignore-style path matching: pathspec's patterns, compiled into one regular expression.

pathspec's ``match_file`` runs every pattern's regex in turn (~15 µs a path for 50 patterns);
one alternation of the same regexes, last pattern first, answers the same question in one
``match`` call. ``tests/test_scope.py`` proves the two agree.

pathspec is imported only when a pattern list is first compiled (a hook with no task scope
never pays for it), and each distinct list is compiled once per process.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec

MAX_PATTERN_LENGTH = 4096
_DRIVE = re.compile(r"^[A-Za-z]:")
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def pattern_problem(pattern: object) -> str | None:
    """Why a scope pattern is unusable, or None. The contract's rules, checked up front."""
    if not isinstance(pattern, str):
        return f"a pattern must be a string, not {type(pattern).__name__}"
    body = pattern[1:] if pattern.startswith("!") else pattern
    if not body.strip():
        return "empty pattern"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"pattern longer than {MAX_PATTERN_LENGTH} characters"
    if _CONTROL.search(pattern):
        # A tab can be part of a file name; other control characters only hide what a
        # pattern says (a terminal shows "a\x1b[2Kb" as something else entirely).
        return "pattern contains a control character"
    if "\\" in pattern:
        return "backslashes are not allowed; use '/' between directories"
    if _DRIVE.match(body):
        return "a drive letter makes the pattern absolute; patterns are relative to the repo root"
    if body.startswith("/"):
        return "absolute pattern; patterns are relative to the repository root (drop the '/')"
    parts = body.split("/")
    if ".." in parts:
        return "'..' is not allowed; patterns cannot leave the repository"
    if "." in parts:
        return "'.' components never match; write the path without './'"
    if _unbalanced_bracket(body):
        return "unbalanced '[' in the pattern"
    return None


def _unbalanced_bracket(body: str) -> bool:
    i = 0
    while i < len(body):
        if body[i] == "[":
            j = i + 1
            if j < len(body) and body[j] in "!^":
                j += 1
            if j < len(body) and body[j] == "]":
                j += 1  # a ']' first in the class is literal
            end = body.find("]", j)
            if end == -1:
                return True
            i = end + 1
        else:
            i += 1
    return False


def _spec(patterns: Sequence[str]) -> pathspec.PathSpec[Any]:
    import pathspec

    return pathspec.PathSpec.from_lines("gitignore", patterns)


_COMPILED: dict[tuple[str, ...], Matcher] = {}
MAX_COMPILED = 256


@dataclass(frozen=True)
class Matcher:
    """Answers "does this path match these patterns?" exactly as pathspec's match_file."""

    patterns: tuple[str, ...]
    _regex: re.Pattern[str] | None = field(compare=False, repr=False)
    _includes: tuple[bool, ...] = field(compare=False, repr=False)
    _all_include: bool = field(compare=False, repr=False)

    @classmethod
    def compile(cls, patterns: Iterable[str]) -> Matcher:
        pats = tuple(patterns)
        # A range of 4,000 commits compiles the same task's patterns 4,000 times; a Matcher
        # is immutable, so the first one serves them all (in this process only).
        found = _COMPILED.get(pats)
        if found is None:
            if len(_COMPILED) >= MAX_COMPILED:
                _COMPILED.clear()
            found = _COMPILED[pats] = cls._build(pats)
        return found

    @classmethod
    def _build(cls, pats: tuple[str, ...]) -> Matcher:
        alternatives: list[str] = []
        includes: list[bool] = []
        # Last pattern first: the first alternative that matches is the last matching pattern,
        # which is the one that decides in gitignore semantics. Empty lines are skipped, as
        # PathSpec.from_lines skips them.
        for p in reversed(_spec(pats).patterns):
            regex = getattr(p, "regex", None)
            if regex is None or p.include is None:
                continue
            include = bool(p.include)
            body = _NAMED_GROUP.sub("(?:", regex.pattern)
            # pathspec calls ``regex.search``: a regex without '^' ('*/' is just '/') may match
            # anywhere, so it gets a lazy any-prefix to keep search semantics under ``match``.
            if not body.startswith("^"):
                body = f"(?s:.*?)(?:{body})"
            alternatives.append(f"(?P<p{len(includes)}>{body})")
            includes.append(include)
        with warnings.catch_warnings():
            # pathspec's regex for a literal '[' inside a class reads as a "possible nested
            # set" to re; the meaning is pathspec's and the tests compare it with pathspec.
            warnings.simplefilter("ignore", FutureWarning)
            compiled = re.compile("|".join(alternatives)) if alternatives else None
        return cls(pats, compiled, tuple(includes), all(includes))

    def match(self, path: str) -> bool:
        if self._regex is None:
            return False
        m = self._regex.match(path)
        if m is None:
            return False
        if self._all_include:
            return True
        name = m.lastgroup
        # lastgroup is the outermost named group that closed last: ours are never nested.
        return self._includes[int(name[1:])] if name else False

    def __bool__(self) -> bool:
        return bool(self.patterns)


def match_reference(patterns: Sequence[str], path: str) -> bool:
    """pathspec itself: the slow, obviously-right answer the tests compare against."""
    return _spec(patterns).match_file(path)
