"""Every fast path gives exactly what the full path gives (issue 6).

- the click-free parser (``fastpath``) produces the values click would, or declines;
- ``hook pre-commit`` / ``hook commit-msg`` judge as ``check`` / ``check --message-file`` do;
- the scope translation is pathspec's own, regex for regex;
- the streamed diff parser equals parsing the whole output at once;
- the staged diff started early (``readahead``) and the prefetched ``receipt verify`` give the
  single path's results;
- YAML parsed once per content equals YAML parsed each time.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import GitRepo
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from inproc import run_main

from avorelo_gate import fastpath, receipt_verify, schema
from avorelo_gate.cli import build_cli
from avorelo_gate.errors import BadInputError
from avorelo_gate.gate import CheckRequest, check_request, open_repo
from avorelo_gate.git import RawNumstatParser, fsdecode, zsplit
from avorelo_gate.output import FORMATS
from avorelo_gate.readahead import staged_read_ahead
from avorelo_gate.scope import pattern_regex


# -- the click-free parser ------------------------------------------------------------------------
def click_params(argv: list[str]) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The command click resolves ``argv`` to and the values it hands the callback; None when
    click refuses the argv (help, usage errors, bad values)."""
    group: click.Command = build_cli(os.environ)
    names: list[str] = []
    args = list(argv)
    try:
        ctx = group.make_context("avorelo-gate", args, resilient_parsing=False)
        while isinstance(group, click.Group):
            with warnings.catch_warnings():  # click 8.2 deprecates protected_args (9.0: args)
                warnings.simplefilter("ignore", DeprecationWarning)
                rest = [*ctx.protected_args, *ctx.args]
            if not rest:
                return None
            name, cmd, rest = group.resolve_command(ctx, rest)
            assert cmd is not None and name is not None
            names.append(name)
            ctx = cmd.make_context(name, list(rest), parent=ctx)
            group = cmd
    except (click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
        return None
    return tuple(names), dict(ctx.params)


ARGVS = [
    ["check"], ["check", "--staged"], ["check", "--worktree"], ["check", "--range", "a..b"],
    ["check", "--commit", "HEAD"], ["check", "--range=a...b", "--format", "json"],
    ["check", "--task", "T-1", "--task-file", "t.yaml", "--message-file", "m.txt"],
    ["check", "--allow-policy-change", "--output", "out.json", "--format=sarif"],
    ["check", "--format", "xml"], ["check", "--format"], ["check", "--staged", "--worktree"],
    ["check", "--task", "A", "--task", "B"], ["check", "extra"], ["check", "-h"],
    ["check", "--help"], ["check", "--task", "--staged"], ["check", "--task="],
    ["check", "--task-file", "."], ["check", "--output", "sub"], ["check", "--staged=x"],
    ["check", "--", "x"], ["check", "--unknown"], ["check", "--form", "json"],
    ["ci", "--base", "main"], ["ci", "--base=main", "--head", "topic", "--format", "github"],
    ["ci"], ["ci", "--head", "x"], ["ci", "--base", "main", "--allow-policy-change"],
    ["ci", "--base", "main", "--base", "other"],
    ["route"], ["route", "--scope", "src/**"], ["route", "--scope", "a", "--scope", "b"],
    ["route", "--task", "T", "--format", "json"], ["route", "--format", "sarif"],
    ["route", "--scope=", "--format=text"],
    ["receipt", "verify"], ["receipt", "verify", "HEAD~3..HEAD"],
    ["receipt", "verify", "--format", "json", "HEAD"], ["receipt", "verify", "a", "b"],
    ["receipt", "verify", "-n", "3"], ["receipt", "verify", ""], ["receipt", "show"],
    ["receipt"], ["--version"], ["--help"], [], ["hook", "pre-commit"], ["prove", "--", "x"],
    ["validate"], ["Check"], ["route", "--scope", "-x"], ["route", "--scope=-x"],
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # click.Path looks at the disk: a directory and a file for the path options to meet.
    (tmp_path / "sub").mkdir()
    (tmp_path / "t.yaml").write_text("id: T-1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a) or "(none)" for a in ARGVS])
def test_fast_parser_gives_clicks_values_or_declines(argv: list[str], workdir: Path) -> None:
    fast = fastpath.parse(argv)
    if fast is not None:
        assert click_params(argv) == fast


TOKENS = ["check", "ci", "route", "receipt", "verify", "--staged", "--worktree", "--range",
          "--commit", "--task", "--task-file", "--message-file", "--allow-policy-change",
          "--format", "--output", "--base", "--head", "--scope", "json", "text", "sarif",
          "HEAD", "a..b", "sub", "t.yaml", "-", "--", "-h", "--format=json", "--task=",
          "--scope=src/**", "é", ""]


@given(argv=st.lists(st.sampled_from(TOKENS), max_size=7))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(argv=["route", "--scope", "a", "--scope", "b", "--format", "json"])
@example(argv=["receipt", "verify", "--format=json", "a..b"])
def test_fast_parser_agrees_with_click_on_any_argv(argv: list[str], workdir: Path) -> None:
    fast = fastpath.parse(argv)
    if fast is not None:
        assert click_params(argv) == fast


def test_fast_parser_takes_the_common_invocations(workdir: Path) -> None:
    for argv in (["check"], ["ci", "--base", "main"], ["route", "--scope", "src/**"],
                 ["receipt", "verify", "HEAD~10..HEAD"], ["check", "--format", "json"]):
        assert fastpath.parse(argv) is not None, argv


def test_fast_parser_knows_every_output_format() -> None:
    assert fastpath.FORMAT_CHOICES == FORMATS


# -- the same answers, end to end -----------------------------------------------------------------
TASK = ("id: T-1\nscope: [\"src/**\"]\nforbid: [\"src/keys/**\"]\nbudget: {max_files: 3}\n"
        "model: {weight: light}\n")


def setup_repo(repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n"
               "protected: [\".github/**\"]\nreceipts: {required: true}\n")
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("base", "--allow-empty")


STAGINGS = {
    "in-scope": {"src/b.py": "b\n"},
    "out-of-scope": {"src/b.py": "b\n", "docs/x.md": "x\n"},
    "forbidden": {"src/keys/k.pem": "k\n"},
    "protected": {".github/w.yml": "w\n"},
    "budget": {f"src/f{i}.py": f"{i}\n" for i in range(5)},
    "nothing": {},
}


def both_paths(repo: GitRepo, *args: str) -> tuple[Any, Any]:
    fast = run_main(*args, cwd=repo.path)
    full = run_main(*args, cwd=repo.path, env={"AVORELO_NO_FAST_PATH": "1"})
    return ((fast.returncode, fast.stdout, fast.stderr),
            (full.returncode, full.stdout, full.stderr))


@pytest.mark.parametrize("staging", sorted(STAGINGS))
def test_fast_and_full_check_and_hooks_agree(repo: GitRepo, staging: str) -> None:
    setup_repo(repo)
    for path, content in STAGINGS[staging].items():
        repo.write(path, content)
    repo.add()
    for args in (("check",), ("check", "--format", "json"), ("check", "--task", "T-1")):
        fast, full = both_paths(repo, *args)
        assert fast == full, args
    # The click-free hook judges the index as `check` does (the task is declared by its
    # file, so no rule waits for the message).
    hook = run_main("hook", "pre-commit", cwd=repo.path)
    check = run_main("check", cwd=repo.path, env={"AVORELO_NO_FAST_PATH": "1"})
    assert (hook.returncode, hook.stdout) == (check.returncode, check.stdout)
    message = repo.path / "msg.txt"
    message.write_text("work\n\nTask: T-1\nModel-Weight: light\n")
    hook = run_main("hook", "commit-msg", str(message), cwd=repo.path)
    check = run_main("check", "--message-file", str(message), cwd=repo.path,
                     env={"AVORELO_NO_FAST_PATH": "1"})
    assert (hook.returncode, hook.stdout) == (check.returncode, check.stdout)


def test_fast_and_full_ci_route_and_verify_agree(repo: GitRepo) -> None:
    setup_repo(repo)
    repo.git("branch", "base")
    for i, staging in enumerate(("in-scope", "out-of-scope", "budget")):
        for path, content in STAGINGS[staging].items():
            repo.write(path, content + str(i))
        repo.add()
        repo.commit(f"work {i}\n\nTask: T-1\n")
        assert run_main("receipt", "record", cwd=repo.path).returncode == 0
    for args in (("ci", "--base", "base"), ("ci", "--base", "base", "--format", "json"),
                 ("route", "--scope", "src/**"), ("route", "--task", "T-1", "--format", "json"),
                 ("receipt", "verify", "base..HEAD"), ("receipt", "verify", "--format", "json",
                                                       "base..HEAD")):
        fast, full = both_paths(repo, *args)
        assert fast == full, args


# -- the compiled matcher's regexes are pathspec's ------------------------------------------------
GLOBS = ["a", "b", "*", "**", "?", "*.py", "[abc]", "[!a]", "[^a]", "[]a]", "[a-c]*", "\\*",
         "\\", "é", "sp ace", "#c", "", " ", "x\\ "]


@given(st.lists(st.sampled_from(GLOBS), min_size=1, max_size=5).map("/".join),
       st.sampled_from(["", "!", "/", "!/"]), st.sampled_from(["", "/", " ", "\\ "]))
@settings(max_examples=500)
@example("**", "", "/")
@example("*", "", "/")
@example("", "", "/")
def test_pattern_regex_is_pathspecs(body: str, prefix: str, suffix: str) -> None:
    assert_pathspecs_regex(prefix + body + suffix)


@given(st.text(max_size=12))
@settings(max_examples=500)
def test_pattern_regex_is_pathspecs_on_any_text(pattern: str) -> None:
    assert_pathspecs_regex(pattern)


def assert_pathspecs_regex(pattern: str) -> None:
    from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

    try:
        expected: Any = GitIgnoreBasicPattern.pattern_to_regex(pattern)
    except ValueError:
        expected = ValueError
    try:
        got: Any = pattern_regex(pattern)
    except ValueError:
        got = ValueError
    assert got == expected, pattern


# -- the streamed diff parser ---------------------------------------------------------------------
def parse_whole(out: bytes) -> list[tuple[Any, ...]]:
    """The parser before streaming (git.py at the start of issue 6), kept as the reference."""
    fields = zsplit(out)
    raw = []
    counts = {}
    i = 0
    while i < len(fields):
        rec = fields[i]
        if rec.startswith(b":"):
            old_mode, new_mode, old_blob, new_blob, status = rec[1:].decode().split(" ")
            raw.append((status[:1], fsdecode(fields[i + 1]), old_mode, new_mode,
                        old_blob, new_blob))
            i += 2
            continue
        plus, minus, name = rec.split(b"\t", 2)
        binary = plus == b"-"
        counts[fsdecode(name)] = (0 if binary else int(plus), 0 if binary else int(minus),
                                  binary)
        i += 1
    return [(s, p, om, nm, ob, nb, *counts.get(p, (0, 0, False)))
            for s, p, om, nm, ob, nb in raw]


NAMES = [b"a", b"b/c", b"sp ace", b"tab\tname", b"new\nline", b":colon", b"\xff\xfe", b"1\t2"]


@st.composite
def diff_outputs(draw: st.DrawFn) -> bytes:
    paths = draw(st.lists(st.sampled_from(NAMES), max_size=6))
    out = bytearray()
    for p in paths:
        status = draw(st.sampled_from("AMDTU"))
        out += b":100644 100644 " + b"1" * 40 + b" " + b"2" * 40 + b" " + status.encode()
        out += b"\0" + p + b"\0"
    for p in draw(st.permutations(paths)):
        if draw(st.booleans()):
            out += b"-\t-\t" + p + b"\0"
        else:
            out += b"%d\t%d\t" % (draw(st.integers(0, 99)), draw(st.integers(0, 99))) + p + b"\0"
    if draw(st.booleans()) and paths:
        out += b"7\t1\t" + paths[0] + b"\0"   # a path counted twice: the last count wins
    return bytes(out)


@given(diff_outputs(), st.lists(st.integers(1, 40), max_size=12))
@settings(max_examples=400)
def test_streamed_parse_equals_whole_parse(out: bytes, cuts: list[int]) -> None:
    parser = RawNumstatParser()
    pos = 0
    for n in cuts:
        parser.feed(out[pos:pos + n])
        pos += n
    parser.feed(out[pos:])
    got = [(e.status, e.path, e.old_mode, e.new_mode, e.old_blob, e.new_blob, e.added,
            e.removed, e.binary) for e in parser.finish()]
    assert got == parse_whole(out)


# -- the staged diff started early ----------------------------------------------------------------
@pytest.mark.parametrize("staging", ["in-scope", "out-of-scope", "nothing"])
def test_read_ahead_gives_the_same_check(repo: GitRepo, staging: str) -> None:
    setup_repo(repo)
    for path, content in STAGINGS[staging].items():
        repo.write(path, content)
    repo.add()
    plain = open_repo(str(repo.path), os.environ)
    expected = check_request(plain, CheckRequest(), os.environ).result.to_dict()
    for amend in (False, True):  # an amend asks for another base: the early diff is dropped
        with staged_read_ahead(plain) as early:
            got = check_request(early, CheckRequest(amend=amend), os.environ).result
        if not amend:
            assert got.to_dict() == expected
        else:
            assert got.to_dict() == check_request(plain, CheckRequest(amend=True),
                                                  os.environ).result.to_dict()


def test_read_ahead_never_read_leaves_no_process(repo: GitRepo) -> None:
    setup_repo(repo)
    plain = open_repo(str(repo.path), os.environ)
    with staged_read_ahead(plain) as early:
        pending = getattr(early, "pending", None)
        assert pending is not None and pending.job is not None
        proc = pending.job._proc
    assert pending.job is None and proc is not None and proc.returncode is not None


# -- receipt verify, prefetched -------------------------------------------------------------------
def test_prefetched_verify_equals_one_commit_at_a_time(repo: GitRepo,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    setup_repo(repo)
    repo.git("branch", "side")
    messages = ["in scope\n\nTask: T-1\n", "no trailers\n", "two weights\n\nTask: T-1\n"
                "Model-Weight: light\nModel-Weight: heavy\n", "other task\n\nTask: T-2\n"]
    for i, message in enumerate(messages):
        repo.write(f"src/w{i}.py", f"{i}\n")
        if i == 3:
            repo.write(".avorelo/tasks/T-2.yaml", "id: T-2\nscope: [\"src/w3.py\"]\n")
            repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: false\n")
        repo.add()
        repo.commit(message)
    repo.git("checkout", "-q", "side")
    repo.write("docs/side.md", "side\n")
    repo.add()
    repo.commit("side work\n\nTask: T-1\n")
    repo.git("checkout", "-q", "-")
    repo.git("merge", "-q", "--no-edit", "side")
    head = repo.head()
    commits = repo.git("rev-list", head).stdout.decode().split()
    for c in commits:
        run_main("receipt", "record", c, cwd=repo.path)
    # One receipt edited: verify must say so on both paths.
    note = json.loads(repo.git("notes", "--ref=avorelo", "show", commits[1]).stdout)
    note["predicate"]["diff"]["added"] += 1
    repo.git("notes", "--ref=avorelo", "add", "-f", "-m", json.dumps(note), commits[1])
    environ = dict(os.environ)
    plain = open_repo(str(repo.path), environ)
    fast = [v.to_dict() for v in receipt_verify.verify_commits(plain, commits, environ)]
    monkeypatch.setattr(receipt_verify, "prefetch_commits", lambda repo, commits: repo)
    slow = [v.to_dict() for v in receipt_verify.verify_commits(plain, commits, environ)]
    assert fast == slow
    assert {v["status"] for v in fast} >= {"valid", "invalid"}


# -- YAML parsed once per content -----------------------------------------------------------------
def test_validated_yaml_is_shared_but_failures_name_their_source() -> None:
    good = b"id: T-9\nscope: [\"src/**\"]\n"
    first = schema.load_validated(good, schema.TASK, "a.yaml")
    assert schema.load_validated(good, schema.TASK, "b.yaml") == first
    assert first == schema.validate({"id": "T-9", "scope": ["src/**"]}, schema.TASK, "c.yaml")
    bad = b"id: T-9\nscoep: []\n"
    for source in ("one.yaml", "two.yaml"):
        with pytest.raises(BadInputError, match=source):
            schema.load_validated(bad, schema.TASK, source)
