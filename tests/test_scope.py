"""Scope patterns: the contract's invalid kinds, and the compiled Matcher equal to pathspec."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import UNMEASURED
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scope_oracle import match_reference

from avorelo_gate.task.scope import Matcher, pattern_problem


@pytest.mark.parametrize(("pattern", "reason"), [
    ("../x", "'..'"),
    ("src/../etc/passwd", "'..'"),
    ("!..", "'..'"),
    ("/src/**", "absolute"),
    ("!/src", "absolute"),
    ("C:/Windows", "drive letter"),
    ("c:x", "drive letter"),
    ("src\\auth", "backslash"),
    ("\\!literal", "backslash"),
    ("src/[ab", "unbalanced '['"),
    ("[", "unbalanced '['"),
    ("a[!]", "unbalanced '['"),
    ("", "empty"),
    ("   ", "empty"),
    ("!", "empty"),
    ("! ", "empty"),
    ("a\nb", "control character"),
    ("a\rb", "control character"),
    ("a\0b", "control character"),
    ("a\x01b", "control character"),
    ("a\x7fb", "control character"),
    ("./src", "'.'"),
    ("src/./a", "'.'"),
    ("src/.", "'.'"),
    ("x" * 5000, "longer than"),
])
def test_pattern_problem_names_each_invalid_kind(pattern: str, reason: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None, pattern
    assert reason in problem, (pattern, problem)


@pytest.mark.parametrize("value", [None, 3, ["a"], {"a": 1}, True])
def test_pattern_problem_refuses_non_strings(value: object) -> None:
    assert "must be a string" in (pattern_problem(value) or "")


@pytest.mark.parametrize("pattern", [
    "src/**", "!src/keys/**", "*.py", "**/test_*.py", "docs/", "a/**/b", "[abc].txt",
    "x[]a]", "x[!a]", "?.md", ".github/workflows/**", ".avorelo/policy.yaml", "...",
    "a..b", ".hidden", "name with spaces", "é/ü", "tab\there", "a/b/c.d",
])
def test_pattern_problem_accepts_valid_patterns(pattern: str) -> None:
    assert pattern_problem(pattern) is None
    assert Matcher.compile([pattern]).patterns == (pattern,)


@given(st.text(max_size=30))
@settings(max_examples=300)
def test_pattern_problem_never_raises_and_valid_patterns_compile(pattern: str) -> None:
    # Whatever a file or a trailer holds, the check answers; what it accepts, pathspec builds.
    problem = pattern_problem(pattern)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        matcher = Matcher.compile([pattern])
        matcher.match("a/b")


# -- Matcher equals pathspec -------------------------------------------------------------------
PATH_SEGMENTS = ["a", "b", "ab", "c.py", "x.txt", ".hidden", "é", "日本", "sp ace", "t\tab",
                 "\udcff", "n\udcc3", "[a]", "!x", "-rf", "*", "a?"]
GLOB_SEGMENTS = ["a", "b", "ab", "c.py", "*", "**", "?", "*.py", "[abc]", "[!a]", "a*", "?b",
                 ".hidden", "é", "sp ace", "\udcff", "x.txt", "[a-c]*"]

segments = st.sampled_from(GLOB_SEGMENTS)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    body = "/".join(draw(st.lists(segments, min_size=1, max_size=4)))
    if draw(st.booleans()):
        body += "/"
    if draw(st.integers(0, 3)) == 0:
        body = "!" + body
    return body


paths = st.lists(st.sampled_from(PATH_SEGMENTS), min_size=1, max_size=5).map("/".join)


@given(st.lists(patterns(), max_size=6), st.lists(paths, min_size=1, max_size=8))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@example(["**"], ["a", "sp ace/\udcff"])
@example(["src/", "!src/keep/**", "src/keep/no"], ["src/keep/no", "src/keep/yes", "src"])
@example(["*", "!*.py"], ["c.py", "a/c.py", "a/b"])
@example(["a/**/b"], ["a/b", "a/x/y/b", "a/b/c", "ab/b"])
def test_matcher_equals_pathspec(pats: list[str], candidates: list[str]) -> None:
    pats = [p for p in pats if pattern_problem(p) is None]
    matcher = Matcher.compile(pats)
    for path in candidates:
        assert matcher.match(path) == match_reference(pats, path), (pats, path)


@given(st.lists(st.text(alphabet="ab/*?![]. \t\n\udcffé", min_size=1, max_size=8), max_size=4),
       st.lists(st.text(alphabet="ab/. \t\n\udcffé!*", min_size=1, max_size=10), max_size=6))
@settings(max_examples=400)
@example(["**"], ["\na"])
@example(["*"], ["\n\nx"])
def test_matcher_equals_pathspec_on_arbitrary_text(pats: list[str], candidates: list[str]) -> None:
    # Control characters never reach a scope (pattern_problem refuses them), but paths can
    # hold any byte but NUL and '/': the two must agree on those too.
    pats = [p for p in pats if pattern_problem(p) is None]
    matcher = Matcher.compile(pats)
    for path in candidates:
        if path.startswith(("/", "./")):
            continue  # pathspec normalises these; git never produces them
        assert matcher.match(path) == match_reference(pats, path), (pats, path)


def test_matcher_with_no_patterns_matches_nothing() -> None:
    empty = Matcher.compile([])
    assert not empty
    assert not empty.match("anything")


def test_matcher_last_pattern_decides() -> None:
    m = Matcher.compile(["src/**", "!src/keys/**", "src/keys/public.pem"])
    assert m.match("src/a.py")
    assert not m.match("src/keys/private.pem")
    assert m.match("src/keys/public.pem")


# -- linear time and order (issue 12) ----------------------------------------------------------
@pytest.mark.parametrize("pattern", ["*a*a*a*a*a*a*a*a*b", "**/*a*a*a*a*a*a*a*a*a*a*b/**",
                                     "a*" * 200 + "b", "?*" * 300])
def test_matcher_takes_linear_time_on_any_pattern(pattern: str) -> None:
    import time

    matcher = Matcher.compile([pattern, "!x"])
    for name in ("a" * 100_000, "a/" * 20_000 + "a" * 50_000):
        start = time.perf_counter()
        matcher.match(name)
        # A backtracking engine needs hours here; RE2 a few milliseconds (generous bound for
        # a loaded machine).
        assert time.perf_counter() - start < 2.0, pattern


@pytest.mark.parametrize(("pats", "path", "expected"), [
    (["src/a/**", "!src/a/x", "src/a/**"], "src/a/x", True),
    (["src/a/**", "!src/a/x", "src/a/**", "!src/a/x"], "src/a/x", False),
    (["!src/a/x", "src/a/**"], "src/a/x", True),
])
def test_matcher_keeps_repeated_patterns_in_order(pats: list[str], path: str,
                                                  expected: bool) -> None:
    assert Matcher.compile(pats).match(path) is expected
    assert match_reference(pats, path) is expected


@pytest.mark.parametrize(("pattern", "path"), [
    ("src/**", "src/a\nb"), ("*.pem", "k\n.pem"), ("keys/", "a\nb/keys/x"), ("*.py", "a\nb/c.py")])
def test_matcher_reads_a_newline_as_part_of_a_name(pattern: str, path: str) -> None:
    # git names may hold a newline; pathspec's Python regexes stop at it (a protected
    # directory would let such a name through).
    assert Matcher.compile([pattern]).match(path)


def test_matcher_does_not_match_before_a_final_newline() -> None:
    assert not Matcher.compile(["*.py"]).match("a.py\n")


def test_task_scope_trailer_keeps_repeated_patterns() -> None:
    from avorelo_gate.task.trailers import Trailer, declaration_from

    found = declaration_from([Trailer("Task-Scope", "src/a/**, !src/a/x"),
                              Trailer("Task-Scope", "src/a/**")], source="msg")
    assert found.scope == ("src/a/**", "!src/a/x", "src/a/**")
    assert Matcher.compile(found.scope).match("src/a/x")


@pytest.mark.parametrize("pats", [
    ["src/**"], ["src/**", "!src/keys/**", "src/keys/pub/**"], ["a b/**", "!a b/c/**"],
    ["src/a-b.c/**", "src/**", "!src/**"], ["src/**", "é/**"], ["src/**", "*.py"]])
@pytest.mark.parametrize("path", ["src/x", "src", "srcx/y", "src/keys/a", "src/keys/pub/a",
                                  "a b/c/d", "a b/x", "src/a-b.c/x", "é/x", "src/k.py"])
def test_plain_directory_lists_answer_as_pathspec(pats: list[str], path: str) -> None:
    assert Matcher.compile(pats).match(path) == match_reference(pats, path)


@pytest.mark.parametrize("pattern", ["[[-?]", "src/[z-a].py", "[!9-0]x", "x[z-a]", "ab[z-a]",
                                     "[X-A]", "[]z-a]", "x[]z-a]", "[a-cz-a]", "[a][z-a]"])
def test_a_class_range_that_runs_backwards_is_bad_input(pattern: str) -> None:
    """pathspec cannot compile ``[z-a]`` (git's wildmatch lets it match nothing): refused up
    front, by validate and by every check, never an internal error."""
    assert "runs backwards" in (pattern_problem(pattern) or "")


def test_a_backwards_range_is_named_with_its_fix() -> None:
    assert pattern_problem("src/[z-a].py") == (
        "the range 'z-a' in a '[...]' class runs backwards; write the lower character first")


# "x[!- ]", "x[^- ]": the negation is not the start of a range ('!' > ' ' would run
# backwards). "[]]z-a]", "[x]b-a]": the class ends at its first ']' (one first in it is
# literal); what follows is literal text, not a range. "[a-a]": a range of one character.
# "[a-c-a]": after a range, '-' is literal ("c-a" is not a range). "[[]z-a]": a '[' inside
# a class starts nothing. Above, "[]z-a]": the range after a literal ']' counts; "[a-cz-a]":
# so does the range right after a range; "[a][z-a]": and a class right after a class.
@pytest.mark.parametrize("pattern", ["[a-z]", "[]-a]", "[a-]", "[-a]", "[!a-c]", "[]]",
                                     "x[!- ]", "x[^- ]", "[]]z-a]", "[x]b-a]", "[a-a]",
                                     "[a-c-a]", "[[]z-a]"])
def test_forward_ranges_and_literal_dashes_are_fine(pattern: str) -> None:
    assert pattern_problem(pattern) is None
    Matcher._build((pattern,))   # and pathspec compiles them


def test_a_backwards_range_in_a_task_file_is_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import GitRepo, assert_clean_error

    path = tmp_path / "r"
    path.mkdir()
    repo = GitRepo(path)
    repo.git("init", "-q")
    repo.write(".avorelo/task.yaml", 'id: T-1\nscope: ["[[-?]"]\n')
    repo.write("a.txt")
    repo.add()
    for args in (("check",), ("validate", ".avorelo/task.yaml")):
        proc: subprocess.CompletedProcess[str] = repo.gate(*args)
        assert_clean_error(proc, 2, ".avorelo/task.yaml", "[[-?]")


LITERAL_PATTERN = st.builds(
    lambda neg, lead, body, tail: neg + lead + body + tail,
    st.sampled_from(["", "!"]), st.sampled_from(["", "/"]),
    st.text(alphabet="ab/.-_", min_size=1, max_size=8),
    st.sampled_from(["", "/", "/**"])).filter(lambda p: pattern_problem(p) is None)
LITERAL_PATH = st.text(alphabet="ab/.-_\n", min_size=1, max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns=st.lists(LITERAL_PATTERN, min_size=1, max_size=5),
       paths=st.lists(LITERAL_PATH, min_size=1, max_size=8))
@example(patterns=[".pre-commit-config.yaml"], paths=["a/.pre-commit-config.yaml",
                                                      "/.pre-commit-config.yaml"])
@example(patterns=["docs/", "!docs/a"], paths=["x/docs/a", "docs/a/b", "docs"])
def test_wildcard_free_patterns_match_by_string_tests_as_pathspec_does(
        patterns: list[str], paths: list[str]) -> None:
    """Patterns with no wildcard are answered without RE2 (``_LITERAL_FORMS``); the answer
    is pathspec's own, newlines in names included."""
    matcher = Matcher._build(tuple(patterns))
    assert matcher._set is None   # string tests answered: RE2 was not used
    for path in paths:
        assert matcher.match(path) == match_reference(patterns, path), (patterns, path)


PLAIN_TEXT = st.text(alphabet="ab/.-_!*?[]# \\Z\u00e9\n", min_size=1, max_size=10)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=st.one_of(PLAIN_TEXT, LITERAL_PATTERN))
@example(pattern="src/**")
@example(pattern="!/a/b/")
@example(pattern="a/**/")
@example(pattern="**/name")
@example(pattern="a b")
@example(pattern="x/ ")
def test_a_plain_pattern_is_read_from_its_text_as_pathspec_translates_it(pattern: str) -> None:
    """``_plain_rule`` reads the plainest patterns without pathspec: whatever it reads must be
    what ``_literal_rule`` reads in pathspec's own regex for that pattern, and the include flag
    pathspec gives it; what it does not read goes to pathspec."""
    from avorelo_gate.task.scope import _literal_rule, _plain_rule, _regexes

    read = _plain_rule(pattern)
    if read is None:
        return
    [(_, regex, include)] = _regexes((pattern,))
    assert (_literal_rule(regex), include) == (read[:2], read[2]), (pattern, regex)


def test_plain_patterns_need_neither_pathspec_nor_re2() -> None:
    """The default policy's patterns, plain task scopes and an empty forbid list are compiled
    in a process that never imports pathspec or re2 (ci and pre-push read no memo); a
    wildcard still does."""
    code = ("import sys\n"
            "from avorelo_gate.task.scope import FoldedMatcher, Matcher\n"
            "m = FoldedMatcher.compile(['.avorelo/policy.yaml', 'src/**', '!src/gen/', 'docs'])\n"
            "assert m.match('SRC/a.py') and not m.match('src/gen/x') and m.match('a/docs/b')\n"
            "assert not FoldedMatcher.compile([]).match('a')\n"
            "assert not Matcher.compile([]).match('')\n"
            "print(sorted({'pathspec', 're2'} & set(sys.modules)))\n"
            "Matcher.compile(['src/*.py'])\n"
            "print(sorted({'pathspec', 're2'} & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, **UNMEASURED))
    assert out.stdout.split("\n")[:2] == ["[]", "['pathspec', 're2']"], out.stdout


# -- edges the whole-suite coverage run found unexercised ------------------------------------
def test_the_memo_key_names_pathspec_as_installed_or_unknown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A new pathspec may translate anew, so the memo key names the installed file; without
    one to stat, "unknown" (a key still, never an error)."""
    import importlib.util
    from types import SimpleNamespace

    from avorelo_gate.task import scope

    installed = scope._pathspec_fingerprint()
    assert installed.split(":")[0].endswith("pathspec/__init__.py")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert scope._pathspec_fingerprint() == "unknown"
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: SimpleNamespace(origin="/nonexistent/pathspec.py"))
    assert scope._pathspec_fingerprint() == "unknown"


def test_an_empty_folded_matcher_matches_nothing() -> None:
    from avorelo_gate.task.scope import FoldedMatcher

    empty = FoldedMatcher.compile([])
    assert not empty and not empty.match("SRC/A.PY") and not empty.match("")
    some = FoldedMatcher.compile(["src/**"])
    assert some and some.match("SRC/a.py") and not some.match("docs/a.md")


def test_the_reference_matcher_skips_comments_as_pathspec_does() -> None:
    assert match_reference(("# a comment", "src/**"), "src/a.py")
    assert not match_reference(("# src/**",), "src/a.py")


# -- the translation kept in the clone's memo (issue 14), and its defence ---------------------
MEMO_PATTERNS = ("src/**", "!src/keys/**", "*.pem", "# a comment", "docs/[a-c]*.md")


def _untranslatable(patterns: object) -> None:
    raise AssertionError(f"pathspec asked again for {patterns!r}")


def test_a_pattern_list_in_the_memo_is_not_translated_again(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The hooks keep pathspec's translation in the memo because importing pathspec costs a
    hook more than its decision: a second compile of the same list must take it from there,
    exactly as first made; another list is translated afresh."""
    from avorelo_gate.files import memo
    from avorelo_gate.task import scope

    with memo.using(str(tmp_path)):
        first = scope._regexes(MEMO_PATTERNS)
        monkeypatch.setattr(scope, "_spec", _untranslatable)
        assert scope._regexes(MEMO_PATTERNS) == first
        with pytest.raises(AssertionError, match="asked again"):
            scope._regexes(("other/**",))
    assert [r[0] for r in first] == ["src/**", "!src/keys/**", "*.pem", "docs/[a-c]*.md"]


@pytest.mark.parametrize("kept", [
    [["src/**", "^src/", 1]], [["src/**", 1, True]], [[1, "^src/", True]], [["src/**", "^src/"]],
    [["src/**", "^src/", True, "extra"]], ["src/**"], [("src/**", "^src/", True)]])
def test_a_memo_entry_of_the_wrong_shape_is_translated_afresh(
        tmp_path, kept: object) -> None:  # type: ignore[no-untyped-def]
    """Whatever the memo holds under the list's key, only a list of [pattern, regex, include]
    triples of the right types is used; anything else is a miss (the memo is a cache, never
    an input)."""
    from avorelo_gate.files import memo
    from avorelo_gate.task import scope

    pats = ("src/**",)
    fresh = scope._regexes(pats)
    key = "\0".join((scope._pathspec_fingerprint(), *pats)).encode("utf-8", "surrogatepass")
    with memo.using(str(tmp_path)):
        memo.put("gitignore-regex", key, kept)
        assert scope._regexes(pats) == fresh


def test_an_undecodable_pattern_is_kept_and_matched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A name that is not UTF-8 (git's bytes, held as surrogates, as a Task-Scope trailer can
    carry) still has a memo key and is matched byte for byte."""
    from avorelo_gate.files import memo
    from avorelo_gate.task import scope

    pats = ("src/\udcff/**",)
    with memo.using(str(tmp_path)):
        assert scope._regexes(pats) == scope._regexes(pats)
        assert Matcher._build(pats).match("src/\udcff/a")


@pytest.mark.parametrize("pats", [("docs/**", "src/[z-a].py", "x"), ("src/[z-a].py",)])
def test_a_pattern_pathspec_cannot_compile_is_named_not_its_neighbours(pats) -> None:  # type: ignore[no-untyped-def]
    """Defence in depth: pattern_problem refuses every pattern pathspec cannot compile, but a
    list that reached the translation without it names the pattern at fault (exit 2), never
    a traceback."""
    from avorelo_gate.errors import BadInputError
    from avorelo_gate.task import scope

    with pytest.raises(BadInputError) as raised:
        scope._regexes(pats)
    assert str(raised.value).startswith("pattern 'src/[z-a].py' cannot be matched: ")


@pytest.mark.parametrize("kind", ["Matcher", "FoldedMatcher"])
def test_a_pattern_list_is_compiled_once_per_process_and_the_cache_is_bounded(
        monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """A range of 4,000 commits compiles one task's patterns 4,000 times: the first matcher
    (immutable) serves them all. At MAX_COMPILED lists the cache starts again, so a process
    that meets many lists holds at most that many."""
    from avorelo_gate.task import scope

    cache = scope._COMPILED if kind == "Matcher" else scope._FOLDED
    monkeypatch.setattr(scope, "MAX_COMPILED", 4)
    cache.clear()
    compile_ = getattr(scope, kind).compile
    first = compile_(["src/**"])
    assert compile_(("src/**",)) is first
    for i in range(3):
        compile_([f"d{i}/**"])
    assert len(cache) == 4 and compile_(["src/**"]) is first
    compile_(["d9/**"])   # the fifth list: the cache starts again with it alone
    assert list(cache) == [("d9/**",)]
    assert compile_(["src/**"]) is not first
    cache.clear()
