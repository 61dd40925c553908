"""Gitignore-style path matching: pathspec's patterns, compiled into one regular expression.

pathspec's ``match_file`` runs every pattern's regex in turn (~15 µs a path for 50 patterns);
one alternation of the same regexes, last pattern first, answers the same question in one
``match`` call. ``tests/test_scope.py`` proves the two agree.

The regexes are pathspec's own, produced by ``pattern_regex``: a line-for-line port of
``GitIgnoreBasicPattern.pattern_to_regex`` (pathspec 1.x, registered as "gitignore"), because
importing pathspec costs a commit hook 20-70 ms (its backends probe for re2 and hyperscan) and
the hook needs nothing else from it. ``tests/test_fast_path.py`` checks that the port gives
pathspec's regex for every pattern hypothesis draws; pathspec stays the reference.
"""
from __future__ import annotations

import re
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


# -- pathspec's gitignore translation (pathspec/patterns/gitignore/basic.py and base.py) --------
def _normalize_segments(is_dir_pattern: bool,
                        segs: list[str]) -> tuple[list[str] | None, str | None]:
    if not segs[0]:
        del segs[0]  # a leading '/' anchors at the root
    elif (len(segs) == 1 or (len(segs) == 2 and not segs[1])) and segs[0] != "**":
        segs.insert(0, "**")  # one segment matches at any depth: "**/{pattern}"
    if not segs:
        raise ValueError("Pattern normalized to nothing.")
    if not segs[-1]:
        segs[-1] = "**"  # a trailing '/' matches everything below
    for i in range(len(segs) - 1, 0, -1):
        if segs[i - 1] == "**" and segs[i] == "**":
            del segs[i]
    if len(segs) == 1 and segs[0] == "**":
        return None, ("/" if is_dir_pattern else ".")
    if len(segs) == 2 and segs[0] == "**" and segs[1] == "*":
        return None, "."
    if len(segs) == 3 and segs[0] == "**" and segs[1] == "*" and segs[2] == "**":
        return None, "/"
    return segs, None


def _segment_glob(pattern: str) -> str:
    """One path segment's glob as a regex (``range_error='literal'``)."""
    escape = False
    regex = ""
    i, end = 0, len(pattern)
    while i < end:
        char = pattern[i]
        i += 1
        if escape:
            escape = False
            regex += re.escape(char)
        elif char == "\\":
            escape = True
        elif char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            j = i
            if j < end and pattern[j] in "!^":
                j += 1
            if j < end and pattern[j] == "]":
                j += 1
            while j < end and pattern[j] != "]":
                j += 1
            if j < end:
                j += 1
                expr = "["
                if pattern[i] in "!^":
                    expr += "^"
                    i += 1
                expr += pattern[i:j].replace("\\", "\\\\")
                regex += expr
                i = j
            else:
                regex += "\\["  # no closing bracket: a literal '['
        else:
            regex += re.escape(char)
    if escape:
        raise ValueError(f"Escape character found with no next character to escape: "
                         f"{pattern!r}")
    return regex


def _translate_segments(segs: list[str]) -> str:
    out: list[str] = []
    need_slash = False
    end = len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if i == 0:
                out.append("^(?:.+/)?")
            elif i < end:
                out.append("(?:/.+)?")
                need_slash = True
            else:
                out.append("/")
            continue
        if i == 0:
            out.append("^")
        if need_slash:
            out.append("/")
        out.append("[^/]+" if seg == "*" else _segment_glob(seg))
        if i == end:
            out.append("/?$" if seg == "*" else "(?:/|$)")
        need_slash = True
    return "".join(out)


def pattern_regex(pattern: str) -> tuple[str | None, bool | None]:
    """(regex source, include) exactly as pathspec's ``GitIgnoreBasicPattern.pattern_to_regex``
    gives them for a str pattern; (None, None) for a blank or comment line. Raises ValueError
    where pathspec raises GitIgnorePatternError (a ValueError)."""
    text = pattern if pattern.endswith("\\ ") else pattern.rstrip()
    if not text or text.startswith("#"):
        return None, None
    include = not text.startswith("!")
    if not include:
        text = text[1:]
    segs = text.split("/")
    is_dir_pattern = not segs[-1] and text != "/"
    try:
        normalized, override = _normalize_segments(is_dir_pattern, segs)
        if override is not None:
            return override, include
        assert normalized is not None
        return _translate_segments(normalized), include
    except ValueError as e:
        raise ValueError(f"Invalid git pattern: {pattern!r}") from e


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
        for regex, include in reversed([pattern_regex(p) for p in pats if p]):
            if regex is None or include is None:
                continue
            body = _NAMED_GROUP.sub("(?:", regex)
            # pathspec calls ``regex.search``: a regex without '^' ('*/' is just '/') may match
            # anywhere, so it gets a lazy any-prefix to keep search semantics under ``match``.
            if not body.startswith("^"):
                body = f"(?s:.*?)(?:{body})"
            alternatives.append(f"(?P<p{len(includes)}>{body})")
            includes.append(include)
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
