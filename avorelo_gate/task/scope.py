"""Gitignore-style path matching: pathspec's patterns, matched by RE2 in linear time.

pathspec turns each gitignore pattern into a regular expression; Python's ``re`` backtracks,
so a pattern such as ``*a*a*a*a*a*a*a*a*b`` against one long name would keep a hook at full
CPU for hours, and the change itself can write the pattern (a task file, a trailer). RE2
guarantees time linear in the text for any pattern, and an ``RE2::Set`` answers for all
patterns in one pass. ``tests/test_scope.py`` proves the answers equal pathspec's own.

pathspec and re2 are imported only when a pattern list is first compiled (a hook with no
task scope never pays for them, nor a list of plain paths and directories, which is read from
its text), and each distinct list is compiled once per process.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Sequence

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.errors import BadInputError
from avorelo_gate.files import memo

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

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
    reversed_range = _reversed_range(body)
    if reversed_range:
        return (f"the range {reversed_range!r} in a '[...]' class runs backwards; write the "
                "lower character first")
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


def _reversed_range(body: str) -> str:
    """The first ``z-a`` range of a bracket class, which pathspec cannot compile (git's
    wildmatch lets it match nothing); '' when there is none. Classes are read as
    ``_unbalanced_bracket`` reads them."""
    i = 0
    while i < len(body):
        if body[i] != "[":
            i += 1
            continue
        j = i + 1
        if j < len(body) and body[j] in "!^":
            j += 1
        start = j
        if j < len(body) and body[j] == "]":
            j += 1
        end = body.find("]", j)
        if end == -1:
            return ""
        k = start
        while k + 2 < end:
            if body[k + 1] == "-" and body[k] > body[k + 2]:
                return body[k:k + 3]
            k += 3 if body[k + 1] == "-" else 1
        i = end + 1
    return ""


def _spec(patterns: Sequence[str]) -> pathspec.PathSpec[Any]:
    import pathspec

    # Only its patterns' regexes are used here; the "simple" backend builds nothing more
    # (pathspec would otherwise pick its own re2 backend, which refuses undecodable names).
    with warnings.catch_warnings():
        # pathspec's regex for a literal '[' inside a class reads as a "possible nested set"
        # to re; the meaning is pathspec's and the tests compare it with pathspec.
        warnings.simplefilter("ignore", FutureWarning)
        return pathspec.PathSpec.from_lines("gitignore", patterns, backend="simple")


def _regexes(pats: tuple[str, ...]) -> list[tuple[str, str, bool]]:
    """Each pattern that means something, with pathspec's regex and include flag, in order.

    Every pattern is kept in its place, repeats included: order is meaning (``src/a/**,
    !src/a/x, src/a/**`` includes src/a/x). Blank lines and comments are skipped, as
    PathSpec.from_lines skips them. Kept in the clone's memo where it is open: importing
    pathspec costs a hook more than the rest of its decision."""
    key = b""
    if memo.is_open():   # pre-push and ci never read the memo: no key to compute for them
        key = "\0".join((_pathspec_fingerprint(), *pats)).encode("utf-8", "surrogatepass")
    kept = memo.get("gitignore-regex", key)
    if isinstance(kept, list) and all(
            isinstance(r, list) and len(r) == 3 and isinstance(r[0], str)
            and isinstance(r[1], str) and isinstance(r[2], bool) for r in kept):
        return [(r[0], r[1], r[2]) for r in kept]
    try:
        spec = _spec(pats)
    except re.error as e:   # pattern_problem refuses what we know of; never a traceback
        culprit = next((p for p in pats if not _compiles(p)), pats[0] if pats else "")
        raise BadInputError(f"pattern {culprit!r} cannot be matched: {e}") from e
    found = [(str(p.pattern), p.regex.pattern, bool(p.include)) for p in spec.patterns
             if getattr(p, "regex", None) is not None and p.include is not None]
    memo.put("gitignore-regex", key, [list(r) for r in found])
    return found


def _compiles(pattern: str) -> bool:
    try:
        _spec((pattern,))
    except re.error:
        return False
    return True


def _pathspec_fingerprint() -> str:
    """The installed pathspec, without importing it: a new release may translate anew."""
    import importlib.util

    spec = importlib.util.find_spec("pathspec")
    origin = spec.origin if spec is not None else None
    try:
        st = os.stat(origin) if origin else None
    except OSError:
        st = None
    return f"{origin}:{st.st_size}:{st.st_mtime_ns}" if st else "unknown"


# Paths are git's bytes decoded with surrogateescape: an undecodable byte is a lone surrogate,
# which RE2 (UTF-8 only) cannot see. Each of the 128 such characters is mapped, in patterns
# and paths alike, to one of the last 128 code points of plane 16 (private use), so ``*`` and
# ``?`` still match it as one character and a literal still matches only itself.
_SURROGATES = {0xDC80 + i: 0x10FF80 + i for i in range(128)}
# pathspec's Python backend reads ``$`` as "end, or before a final newline" and ``.`` as
# "not a newline"; in git a newline is an ordinary byte of a file name (``src/**`` protects
# ``src/a\nb`` too), so the text's end is the only end and ``.`` matches it.
_END = "(?:/|$)"
MAX_MEMORY = 64 << 20


# pathspec's regex for a pattern with no wildcard in it, by shape: (head, tail, kind). Each
# kind is answered by string tests exactly as its regex would be (``_literal_match``), so a
# task or policy of plain paths and directories never needs RE2: the policy file, a protected
# config file, ``src/**``. Anything else is matched by RE2.
_LITERAL_FORMS = (
    ("^", "/", "under"),              # dir/**: what is under dir
    ("^", _END, "at"),                # a/b.py, /x: the path itself, or what is under it
    ("^(?:.+/)?", _END, "named"),     # name: a path ending in name, or what is under one
    ("^(?:.+/)?", "/", "named-dir"),  # name/: what is under a directory called name
)
_LITERAL = re.compile(r"(?:[\w./-]|\\[^\w])+", re.ASCII)


def _literal_rule(regex: str) -> tuple[str, str] | None:
    """(kind, literal) when pathspec's ``regex`` is one of the wildcard-free shapes."""
    for head, tail, kind in _LITERAL_FORMS:
        if regex.startswith(head) and regex.endswith(tail) and len(regex) > len(head + tail):
            body = regex[len(head):len(regex) - len(tail)]
            if _LITERAL.fullmatch(body):
                literal = re.sub(r"\\(.)", r"\1", body)
                if re.escape(literal) == body:
                    return kind, literal
    return None


# The plainest patterns read from their text alone, as pathspec would translate them: path
# segments of letters, digits and ``_.-``, optionally after ``!`` and ``/``, optionally ending
# in ``/`` or ``/**``. ``ci`` and pre-push (which never read the memo) then import neither
# pathspec nor RE2 for a policy such as the default one. tests/test_scope.py holds every such
# pattern's reading to ``_literal_rule`` of pathspec's own regex.
_PLAIN = re.compile(r"(!?)(/?)([\w.-]+(?:/[\w.-]+)*)(/\*\*|/)?", re.ASCII)


def _plain_rule(pattern: str) -> tuple[str, str, bool] | None:
    """(kind, literal, include) of a pattern in ``_PLAIN``'s shape, or None."""
    found = _PLAIN.fullmatch(pattern)
    if found is None:
        return None
    negated, rooted, body, tail = found.groups()
    anchored = bool(rooted) or "/" in body
    if tail == "/**":
        kind = "under"
    elif tail == "/":
        kind = "under" if anchored else "named-dir"
    else:
        kind = "at" if anchored else "named"
    return kind, body, not negated


def _literal_match(kind: str, literal: str, path: str) -> bool:
    """What the regex of that shape says of ``path`` (``(?:.+/)?``: one character or more,
    then a slash, before the name)."""
    if path.startswith(literal + "/") or (path == literal and kind in ("at", "named")):
        return True
    if kind in ("named", "named-dir"):
        if path.find("/" + literal + "/", 1) != -1:
            return True
        return (kind == "named" and path.endswith("/" + literal)
                and len(path) > len(literal) + 1)
    return False


def _utf8(text: str) -> bytes:
    if text.isascii():
        return text.encode()
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.translate(_SURROGATES).encode()


_COMPILED: dict[tuple[str, ...], Matcher] = {}
_FOLDED: dict[tuple[str, ...], FoldedMatcher] = {}
MAX_COMPILED = 256


@dataclass(frozen=True)
class Matcher:
    """Answers "does this path match these patterns?" as gitignore does: the last matching
    pattern decides. Every regex runs in RE2 (``google-re2``), whose automata take time
    linear in the path whatever the pattern (``*a*a*a*a*b`` cannot make it backtrack), all
    patterns at once in one ``RE2::Set``."""

    patterns: tuple[str, ...]
    _set: Any = field(compare=False, repr=False)
    _includes: tuple[bool, ...] = field(compare=False, repr=False)
    _all_include: bool = field(compare=False, repr=False)
    # When no pattern has a wildcard (``_LITERAL_FORMS``), the last one that matches decides,
    # by string tests: no regex engine is needed, and they are linear too.
    # (kind, literal, include), last pattern first.
    _literals: tuple[tuple[str, str, bool], ...] | None = field(default=None, compare=False,
                                                                repr=False)

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
        plain = [_plain_rule(p) for p in pats]
        if all(plain):   # an empty list too: it matches nothing, and needs no pathspec
            read = [rule for rule in plain if rule is not None]
            return cls(pats, None, tuple(include for _, _, include in read),
                       all(include for _, _, include in read), tuple(reversed(read)))
        regexes = _regexes(pats)
        includes = tuple(include for _, _, include in regexes)
        rules = [(_literal_rule(regex), include) for _, regex, include in regexes]
        if includes and all(rule for rule, _ in rules):
            # No wildcard anywhere: string tests answer, and RE2 is not even loaded.
            literals = tuple((rule[0], rule[1], include) for rule, include in reversed(rules)
                             if rule is not None)
            return cls(pats, None, includes, all(includes), literals)
        regex_set = None
        if includes:
            import re2

            options = re2.Options()
            options.never_capture = True
            options.dot_nl = True
            options.log_errors = False
            options.max_mem = MAX_MEMORY
            regex_set = re2.Set.SearchSet(options)
            for pattern, regex, _ in regexes:
                # pathspec's regexes are searched (``regex.search``): an unanchored Set
                # does that.
                body = _NAMED_GROUP.sub("(?:", regex).replace(_END, "(?:/|\\z)")
                try:
                    regex_set.Add(_utf8(body))
                except re2.error as e:
                    raise BadInputError(f"pattern {pattern!r} cannot be matched: {e}") from e
            regex_set.Compile()
        return cls(pats, regex_set, includes, all(includes), None)

    def match(self, path: str) -> bool:
        if self._literals is not None:
            for kind, literal, include in self._literals:
                if _literal_match(kind, literal, path):
                    return include
            return False
        if self._set is None:
            return False
        found: list[int] | None = self._set.Match(_utf8(path))
        if not found:
            return False
        if self._all_include:
            return True
        # RE2::Set reports every pattern that matched, in no order: the last one decides.
        return self._includes[max(found)]

    def __bool__(self) -> bool:
        return bool(self.patterns)


def fold_path(text: str) -> str:
    """A name as case-insensitive, normalising file systems see it: NFC, case folded.

    macOS (HFS+/APFS) and Windows checkouts compare names without case, and HFS+ stores
    them decomposed (NFD): ``src/Auth/keys/x`` and an NFD spelling of ``é`` land on the
    same file as ``src/auth/keys/x`` and ``é``."""
    if text.isascii():
        return text.lower()
    import unicodedata  # here: most names are ASCII, and the module is a shared library

    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


@dataclass(frozen=True)
class FoldedMatcher:
    """For rules that must fail closed (``protected``, ``forbid``): a path matches when it
    matches as written or when its folded spelling matches the folded patterns."""

    exact: Matcher
    folded: Matcher

    @classmethod
    def compile(cls, patterns: Iterable[str]) -> FoldedMatcher:
        pats = tuple(patterns)
        # Immutable, as Matcher is: one per pattern list serves every commit of a range.
        found = _FOLDED.get(pats)
        if found is None:
            if len(_FOLDED) >= MAX_COMPILED:
                _FOLDED.clear()
            found = _FOLDED[pats] = cls(Matcher.compile(pats),
                                        Matcher.compile(fold_path(p) for p in pats))
        return found

    def match(self, path: str) -> bool:
        if not self.exact:
            return False
        return self.exact.match(path) or self.folded.match(fold_path(path))

    def __bool__(self) -> bool:
        return bool(self.exact)
