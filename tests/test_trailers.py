"""Trailers: differential against git itself, immunity to user config, the declaration."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avorelo_gate.errors import BadInputError
from avorelo_gate.git.repo import Repo, open_repo
from avorelo_gate.task.trailers import (
    Trailer,
    TrailerDeclaration,
    comment_char,
    commit_trailers,
    declaration_from,
    parse_message,
    skip_blank_lines,
)

if TYPE_CHECKING:
    from tests.conftest import GitRepo

MakeRepo = Callable[..., "GitRepo"]

SCISSORS = "# ------------------------ >8 ------------------------\n"
SCISSORS_DIFF = (
    "# Do not modify or remove the line above.\n"
    "# Everything below it will be ignored.\n"
    "diff --git a/notes.txt b/notes.txt\n"
    "--- a/notes.txt\n"
    "+++ b/notes.txt\n"
    "@@ -1 +1,2 @@\n"
    " Task: EVIL\n"
    "+Task: EVIL\n"
    "\n"
    "Task: EVIL\n"
)

# (id, message, expected (key, value) pairs); every one is also checked against git itself.
CORPUS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("simple", "Fix it\n\nBody.\n\nTask: A-1\n", [("Task", "A-1")]),
    ("no-final-newline", "Fix it\n\nTask: A-1", [("Task", "A-1")]),
    ("last-paragraph-only", "Fix\n\nTask: OLD\n\nTask: NEW\n", [("Task", "NEW")]),
    ("last-paragraph-is-text", "Fix\n\nTask: A-1\n\nJust some text.\n", []),
    ("title-is-never-trailers", "Task: A-1\n\nTask: B-2\n", [("Task", "B-2")]),
    ("only-trailers", "Task: A-1\nModel: m\n", []),
    ("leading-blank-lines-are-skipped", "\n \r\n\nTask: A-1\n", []),
    ("leading-blank-then-subject", "\n\nFix\n\nTask: A-1\n", [("Task", "A-1")]),
    ("empty", "", []),
    ("blank-lines-only", "\n\n  \n", []),
    ("mixed-no-git-prefix", "Fix\n\nsome text\nTask: A-1\n", []),
    ("25pct-with-signoff", "Fix\n\nsome text\nmore text\nSigned-off-by: A <a@b.c>\nTask: X\n",
     [("Signed-off-by", "A <a@b.c>"), ("Task", "X")]),
    ("25pct-too-few", "Fix\n\n" + "text\n" * 7 + "Signed-off-by: A <a@b.c>\nTask: X\n", []),
    ("cherry-picked", "Fix\n\n(cherry picked from commit 0123abc)\nTask: X\nsome text\n",
     [("Task", "X")]),
    ("signoff-mixed", "Fix\n\nTask: A-1\nSigned-off-by: A <a@b.c>\nModel-Weight: light\n",
     [("Task", "A-1"), ("Signed-off-by", "A <a@b.c>"), ("Model-Weight", "light")]),
    ("comment-lines", "Fix\n\nTask: A-1\n# Please enter the commit message\n#Task: EVIL\n",
     [("Task", "A-1")]),
    ("comment-inside-block", "Fix\n\nTask: A-1\n# note\nModel: m\n",
     [("Task", "A-1"), ("Model", "m")]),
    ("semicolon-line-is-text-for-hash", "Fix\n\nTask: A-1\n;Task: EVIL\n", []),
    ("scissors", "Fix\n\nTask: GOOD\n\n" + SCISSORS + SCISSORS_DIFF, [("Task", "GOOD")]),
    ("crlf", "Fix\r\n\r\nBody\r\n\r\nTask: A-1\r\nModel: m\r\n",
     [("Task", "A-1"), ("Model", "m")]),
    ("continuation", "Fix\n\nTask-Scope: src/a/**,\n  src/b/**\nTask: A\n",
     [("Task-Scope", "src/a/**, src/b/**"), ("Task", "A")]),
    ("continuation-tab-crlf", "Fix\r\n\r\nTools-Used: pytest,\r\n\truff\r\n",
     [("Tools-Used", "pytest,\r ruff")]),
    ("case-insensitive-repeat", "Fix\n\ntask: A-1\nTASK: A-1\n",
     [("task", "A-1"), ("TASK", "A-1")]),
    ("space-before-colon", "Fix\n\nTask : X\nModel\t: m\n", [("Task", "X"), ("Model", "m")]),
    ("equals-is-not-a-separator", "Fix\n\nTask=X\n", []),
    ("indented-is-continuation", "Fix\n\n Task: X\n", []),
    ("empty-value", "Fix\n\nTask:\nModel: m\n", [("Task", ""), ("Model", "m")]),
    ("colons-in-value", "Fix\n\nAssisted-by: Claude:claude-opus-4 coccinelle\n",
     [("Assisted-by", "Claude:claude-opus-4 coccinelle")]),
    ("text-with-colon-is-not-trailer", "Fix\n\nsee the note: below\n", []),
    ("non-ascii-key", "Fix\n\nT\u00e2sk: X\n", []),
    ("non-utf8", "Fix caf\udce9\n\nTask: caf\udce9\n", [("Task", "caf\ufffd")]),
    ("divider-is-text", "Fix\n\nTask: A-1\n---\nnotes\n", []),
    ("control-chars-in-value", "Fix\n\nTask: a\x1eb\x1dc\x85\x0b\x0c\n",
     [("Task", "a\x1eb\x1dc\x85\x0b\x0c")]),
    # \x1f separates the id from the trailers in commit_trailers' own git log format.
    ("unit-separator-in-value", "Fix\n\nTask: a\x1fb\n", [("Task", "a\x1fb")]),
    ("trailing-blank-lines", "Fix\n\nTask: A-1\n\n\n  \n", [("Task", "A-1")]),
]

HOSTILE_CONFIG = (
    ("trailer.separators", "=:"),
    ("trailer.tsk.key", "Task"),
    ("trailer.ifexists", "replace"),
    ("trailer.model.key", "Task"),
    ("trailer.t.key", "Model-Weight"),
    ("trailer.fix.where", "end"),
)


def repo_of(r: GitRepo, environ: dict[str, str] | None = None) -> Repo:
    return open_repo(str(r.path), environ)


def pairs(trailers: tuple[Trailer, ...]) -> list[tuple[str, str]]:
    return [(t.key, t.value) for t in trailers]


def git_parse(r: GitRepo, message: str) -> list[tuple[str, str]]:
    """What git says, in r with r's own (clean, hermetic) config: the oracle.

    Commit semantics: no '---' divider, and the leading blank lines git log skips are skipped
    (both explained in trailers.py; test_commit_trailers_* check them against git log itself).
    """
    proc = r.git("-c", "trailer.separators=:", "interpret-trailers", "--parse", "--no-divider",
                  input=skip_blank_lines(message).encode("utf-8", "surrogateescape"))
    out = []
    for line in proc.stdout.decode("utf-8", "replace").split("\n"):
        if line:
            key, _, value = line.partition(":")
            out.append((key.strip(" \t"), value.strip(" \t\r\n")))
    return out


def commit_verbatim(r: GitRepo, message: str) -> str:
    msg_file = r.path.parent / f"{r.path.name}-msg"
    msg_file.write_bytes(message.encode("utf-8", "surrogateescape"))
    r.git("commit", "-q", "--no-verify", "--allow-empty", "--allow-empty-message",
          "--cleanup=verbatim", "-F", str(msg_file))
    return r.head()


def stored_message(r: GitRepo, commit: str) -> str:
    raw = r.git("cat-file", "commit", commit).stdout
    return raw.split(b"\n\n", 1)[1].decode("utf-8", "surrogateescape")


# -- parse_message ----------------------------------------------------------------------------
@pytest.mark.parametrize(("message", "expected"), [c[1:] for c in CORPUS],
                         ids=[c[0] for c in CORPUS])
def test_parse_message_corpus_matches_git(repo: GitRepo, message: str,
                                          expected: list[tuple[str, str]]) -> None:
    got = pairs(parse_message(repo_of(repo), message))
    assert got == expected
    assert got == git_parse(repo, message)


def test_parse_message_scissors_hides_the_diff(repo: GitRepo) -> None:
    message = "Fix\n\nTask: GOOD\n\n" + SCISSORS + SCISSORS_DIFF
    assert pairs(parse_message(repo_of(repo), message)) == [("Task", "GOOD")]
    # Without the scissors line the diff's last paragraph would be the trailer block.
    unscissored = message.replace(SCISSORS, "")
    assert pairs(parse_message(repo_of(repo), unscissored)) == [("Task", "EVIL")]


@pytest.mark.parametrize(("message", "expected"), [
    ("Fix\n\nTask: A-1\n;Task: EVIL\n", [("Task", "A-1")]),
    ("Fix\n\nTask: A-1\n#Task: X\n", []),
    ("Fix\n\nTask: GOOD\n\n" + SCISSORS.replace("#", ";") + SCISSORS_DIFF.replace("# ", "; "),
     [("Task", "GOOD")]),
    ("Fix\n\nTask: A\n; comment\nModel: m\n", [("Task", "A"), ("Model", "m")]),
], ids=["semicolon-comment", "hash-is-text", "semicolon-scissors", "comment-inside"])
def test_parse_message_honours_repo_comment_char(repo: GitRepo, message: str,
                                                 expected: list[tuple[str, str]]) -> None:
    repo.git("config", "core.commentChar", ";")
    got = pairs(parse_message(repo_of(repo), message))
    assert got == expected
    assert got == git_parse(repo, message)


@pytest.mark.parametrize(("value", "expected"), [(None, "#"), (";", ";"), ("auto", "#")])
def test_comment_char_values(repo: GitRepo, value: str | None, expected: str) -> None:
    if value is not None:
        repo.git("config", "core.commentChar", value)
    assert comment_char(repo_of(repo)) == expected


def test_parse_message_divider_follows_commit_semantics(repo: GitRepo) -> None:
    # interpret-trailers without --no-divider stops at '---' (email semantics); a commit
    # message does not, which is what git log's %(trailers) shows.
    message = "Fix\n\nTask: B\n---\nTask: A\nSigned-off-by: X <x@y.z>\n"
    email = repo.git("interpret-trailers", "--parse", input=message.encode()).stdout
    assert email == b"Task: B\n"
    got = pairs(parse_message(repo_of(repo), message))
    assert got == [("Task", "B"), ("Task", "A"), ("Signed-off-by", "X <x@y.z>")]
    sha = commit_verbatim(repo, message)
    assert pairs(commit_trailers(repo_of(repo), [sha])[sha]) == got


def set_config(r: GitRepo, items: tuple[tuple[str, str], ...], *where: str) -> None:
    for key, value in items:
        r.git("config", *where, "--add", key, value)


def test_parse_message_hostile_config_changes_nothing(make_repo: MakeRepo) -> None:
    clean, hostile = make_repo("clean"), make_repo("hostile")
    set_config(hostile, HOSTILE_CONFIG)
    set_config(hostile, (("trailer.task.key", "Model"),), "--global")  # the temp HOME
    # A hook runs under `git -c ...`: git hands that config on in GIT_CONFIG_PARAMETERS.
    environ = dict(os.environ, GIT_CONFIG_PARAMETERS="'trailer.task-scope.key'='Tools-Used'")
    clean_repo, hostile_repo = repo_of(clean), repo_of(hostile, environ)
    changed = 0
    for _, message, _ in CORPUS:
        expected = parse_message(clean_repo, message)
        assert parse_message(hostile_repo, message) == expected, message
        changed += pairs(expected) != git_parse(hostile, message)
    assert changed >= 5  # the hostile config really would have changed git's answer


def test_parse_message_outside_any_repository(make_repo: MakeRepo,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The isolated git must not discover a repository around its temp dir (TMPDIR may well
    # be inside a work tree): GIT_CEILING_DIRECTORIES stops it.
    r = make_repo("outer")
    r.git("config", "trailer.tsk.key", "Task")
    inner = r.path / "tmp"
    inner.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(inner))
    got = parse_message(repo_of(r), "Fix\n\ntsk: X\n")
    assert pairs(got) == [("tsk", "X")]


# -- commit_trailers --------------------------------------------------------------------------
def test_commit_trailers_corpus_matches_parse_message(repo: GitRepo) -> None:
    shas = [commit_verbatim(repo, message) for _, message, _ in CORPUS]
    r = repo_of(repo)
    got = commit_trailers(r, shas)
    assert set(got) == set(shas)
    for sha in shas:
        assert got[sha] == parse_message(r, stored_message(repo, sha))


def test_commit_trailers_hostile_config_falls_back(make_repo: MakeRepo) -> None:
    clean, hostile = make_repo("clean"), make_repo("hostile")
    messages = [message for _, message, _ in CORPUS]
    clean_shas = [commit_verbatim(clean, m) for m in messages]
    hostile_shas = [commit_verbatim(hostile, m) for m in messages]
    set_config(hostile, HOSTILE_CONFIG)
    expected = commit_trailers(repo_of(clean), clean_shas)
    got = commit_trailers(repo_of(hostile), hostile_shas)
    assert [got[s] for s in hostile_shas] == [expected[s] for s in clean_shas]
    naive = hostile.git("log", "--no-walk=unsorted", "--format=%(trailers:only,unfold)",
                        *hostile_shas).stdout
    plain = clean.git("log", "--no-walk=unsorted", "--format=%(trailers:only,unfold)",
                      *clean_shas).stdout
    assert naive != plain  # plain git log would have been fooled


def test_commit_trailers_comment_char(repo: GitRepo) -> None:
    repo.git("config", "core.commentChar", ";")
    sha = commit_verbatim(repo, "Fix\n\nTask: A-1\n;Task: EVIL\n")
    assert pairs(commit_trailers(repo_of(repo), [sha])[sha]) == [("Task", "A-1")]


def test_commit_trailers_many_in_one_call(repo: GitRepo) -> None:
    shas = [commit_verbatim(repo, f"c{i}\n\nTask: T-{i}\n") for i in range(150)]
    got = commit_trailers(repo_of(repo), list(reversed(shas)) + shas[:3])
    assert len(got) == 150
    assert all(pairs(got[s]) == [("Task", f"T-{i}")] for i, s in enumerate(shas))


def test_commit_trailers_empty_input(repo: GitRepo) -> None:
    repo.commit("x", "--allow-empty")
    assert commit_trailers(repo_of(repo), []) == {}


@pytest.mark.parametrize("bad", ["HEAD", "--not", "abc123", "^" + "a" * 40, "A" * 40])
def test_commit_trailers_rejects_non_ids(repo: GitRepo, bad: str) -> None:
    repo.commit("x", "--allow-empty")
    with pytest.raises(BadInputError):
        commit_trailers(repo_of(repo), [bad])


def test_commit_trailers_rejects_a_tag_id(repo: GitRepo) -> None:
    repo.commit("x", "--allow-empty")
    repo.git("tag", "-a", "-m", "t", "v1")
    tag = repo.git("rev-parse", "v1").stdout.decode().strip()
    with pytest.raises(BadInputError, match="not a commit"):
        commit_trailers(repo_of(repo), [tag])


# -- generated messages -----------------------------------------------------------------------
KEYS = ["Task", "task", "TASK", "tAsK", "Task-Scope", "Model", "model-weight", "Assisted-by",
        "Tools-Used", "Approved-by", "Signed-off-by", "Reviewed-by", "X", "tsk"]
VALUES = ["A-1", "B-2", "src/**", "light", "Claude:claude-opus-4", "a, b", "", "x: y",
          "caf\udce9", "Ada <ada@example.org>"]
SEPARATORS = [": ", ":", " : ", "\t:", "=", " = "]

trailer_line = st.builds(lambda k, s, v: k + s + v, st.sampled_from(KEYS),
                         st.sampled_from(SEPARATORS), st.sampled_from(VALUES))
line = st.one_of(
    trailer_line, trailer_line, trailer_line,
    st.sampled_from(["Some text.", "see the note: below", "more words here", "---",
                     "(cherry picked from commit 0123abc)", "Signed-off-by: A <a@b.c>",
                     "caf\udce9 text"]),
    st.sampled_from(["", "", "  "]),
    st.sampled_from(["  continued", "\tcontinued: x"]),
    st.sampled_from(["# a comment", "#Task: HIDDEN", "; semi", SCISSORS.rstrip("\n")]),
)


@st.composite
def messages(draw: st.DrawFn) -> str:
    """A subject, some body paragraphs and a last paragraph that is mostly trailer lines."""
    subject = draw(st.sampled_from(["Fix it", "", "Task: SUBJECT", "# comment"]))
    lines = [subject]
    for paragraph in draw(st.lists(st.lists(line, min_size=1, max_size=4), max_size=2)):
        lines += ["", *paragraph]
    last = draw(st.lists(st.one_of(trailer_line, trailer_line, trailer_line, line), max_size=8))
    lines += ["", *last] if last else []
    end = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.sampled_from([end, ""]))
    return end.join(lines) + final


GIT_SETTINGS = settings(max_examples=60, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture])


@GIT_SETTINGS
@given(message=messages())
def test_parse_message_generated_matches_git(repo: GitRepo, message: str) -> None:
    assert pairs(parse_message(repo_of(repo), message)) == git_parse(repo, message)


@GIT_SETTINGS
@given(batch=st.lists(messages(), min_size=1, max_size=3))
def test_commit_trailers_generated_matches_parse_message(repo: GitRepo,
                                                         batch: list[str]) -> None:
    r = repo_of(repo)
    shas = [commit_verbatim(repo, m) for m in batch]
    got = commit_trailers(r, shas)
    for sha in shas:
        stored = stored_message(repo, sha)
        assert got[sha] == parse_message(r, stored)
        assert pairs(got[sha]) == git_parse(repo, stored)


# -- declaration_from -------------------------------------------------------------------------
def decl(*items: tuple[str, str], source: str = "commit message") -> TrailerDeclaration:
    return declaration_from([Trailer(k, v) for k, v in items], source)


def test_declaration_empty() -> None:
    d = decl(("Signed-off-by", "A <a@b.c>"), ("Reviewed-by", ""))
    assert d == TrailerDeclaration(task_id=None, scope=(), model=None, model_source=None,
                                   weight=None, tools_used=(), approved_by=(), present=False)


def test_declaration_full() -> None:
    d = decl(("task", "AUTH-142"), ("Task-Scope", "src/auth/**, tests/auth/**"),
             ("TASK-SCOPE", " docs/**,, "), ("Model", "claude-haiku-4-5"),
             ("Model-Weight", "Light"), ("Tools-Used", "pytest, ruff"),
             ("tools-used", "ruff,mypy"), ("Approved-by", "Ada Lovelace <ada@example.org>"),
             ("approved-by", "Ada Lovelace <ada@example.org>"))
    assert d == TrailerDeclaration(
        task_id="AUTH-142", scope=("src/auth/**", "tests/auth/**", "docs/**"),
        model="claude-haiku-4-5", model_source="trailer:Model", weight="light",
        tools_used=("pytest", "ruff", "mypy"), approved_by=("Ada Lovelace <ada@example.org>",),
        present=True)


def test_declaration_same_value_twice_is_fine() -> None:
    d = decl(("Task", "A-1"), ("TASK", " A-1 "), ("Model-Weight", "heavy"),
             ("model-weight", "HEAVY"), ("Model", "m"), ("model", "m"))
    assert (d.task_id, d.weight, d.model) == ("A-1", "heavy", "m")


@pytest.mark.parametrize(("items", "message"), [
    ((("Task", "A-1"), ("task", "B-2")), "msg: conflicting Task trailers: 'A-1', 'B-2'"),
    ((("Task", "A-1"), ("Task", "a-1")), "msg: conflicting Task trailers: 'A-1', 'a-1'"),
    ((("Model", "x"), ("MODEL", "y")), "msg: conflicting Model trailers: 'x', 'y'"),
    ((("Model-Weight", "light"), ("Model-Weight", "Heavy")),
     "msg: conflicting Model-Weight trailers: 'light', 'heavy'"),
    ((("Assisted-by", "A:m1"), ("Assisted-by", "B:m2")),
     "msg: conflicting Assisted-by trailers: 'm1', 'm2'"),
])
def test_declaration_conflicts(items: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(BadInputError) as e:
        decl(*items, source="msg")
    assert str(e.value) == message
    assert e.value.exit_code == 2


@pytest.mark.parametrize("key", ["Task", "task-scope", "Model", "Model-Weight", "Tools-Used",
                                 "Approved-by", "Assisted-by"])
def test_declaration_empty_value_names_the_key(key: str) -> None:
    with pytest.raises(BadInputError, match=f"(?i)empty {key} trailer"):
        decl((key, "  "))


@pytest.mark.parametrize("key", ["Task-Scope", "Tools-Used"])
def test_declaration_list_of_nothing(key: str) -> None:
    with pytest.raises(BadInputError, match=f"{key} trailer ', ,' lists nothing"):
        decl((key, ", ,"))


@pytest.mark.parametrize(("values", "model"), [
    (["Claude:claude-opus-4"], "claude-opus-4"),
    (["Claude:claude-opus-4 coccinelle sparse"], "claude-opus-4"),
    (["Agent:vendor:model-x"], "model-x"),
    (["Claude"], None),
    (["Claude:"], None),
    (["Claude", "Claude:claude-opus-4", "Codex:claude-opus-4"], "claude-opus-4"),
])
def test_declaration_assisted_by_fallback(values: list[str], model: str | None) -> None:
    d = decl(*(("Assisted-by", v) for v in values))
    assert d.model == model
    assert d.model_source == ("trailer:Assisted-by" if model else None)
    assert d.present


def test_declaration_model_beats_assisted_by() -> None:
    d = decl(("Assisted-by", "Claude:claude-opus-4"), ("Model", "claude-haiku-4-5"),
             ("Assisted-by", "Other:other-model"))
    assert (d.model, d.model_source) == ("claude-haiku-4-5", "trailer:Model")


@pytest.mark.parametrize("weight", ["huge", "lite", "light heavy"])
def test_declaration_invalid_weight(weight: str) -> None:
    with pytest.raises(BadInputError, match="is not one of light, standard, heavy"):
        decl(("Model-Weight", weight))


@pytest.mark.parametrize("who", ["ada@example.org", "Ada Lovelace", "<ada@example.org>",
                                 "Ada <ada>", "Ada <ada@example.org> extra", "Ada<ada@x.org>"])
def test_declaration_invalid_approver(who: str) -> None:
    with pytest.raises(BadInputError, match="is not 'Name <email>'"):
        decl(("Approved-by", who))


def test_declaration_from_parsed_message(repo: GitRepo) -> None:
    message = ("Fix token refresh\n\nBody.\n\nTask: AUTH-142\ntask-scope: src/auth/**,\n"
               " tests/auth/**\nAssisted-by: Claude:claude-opus-4\nModel-Weight: STANDARD\n")
    d = declaration_from(parse_message(repo_of(repo), message))
    assert (d.task_id, d.scope, d.model, d.model_source, d.weight) == (
        "AUTH-142", ("src/auth/**", "tests/auth/**"), "claude-opus-4", "trailer:Assisted-by",
        "standard")


def test_declaration_from_names_the_commit_message_when_given_no_source() -> None:
    """The default ``source`` is what a bad trailer's error names (mutation: it was never
    asserted, every caller passes its own)."""
    with pytest.raises(BadInputError) as e:
        declaration_from((Trailer(key="Task", value=""),))
    assert str(e.value) == ("commit message: empty Task trailer; To fix: give it a value or "
                            "remove the line")


# -- commit_trailers' git log: what it must pin (mutation testing of task/trailers.py) -----------
def test_commit_trailers_answer_for_exactly_the_commits_given(repo: GitRepo) -> None:
    """``--no-walk``: the commits asked about, not their ancestors too."""
    commit_verbatim(repo, "one\n\nTask: A-1\n")
    second = commit_verbatim(repo, "two\n\nTask: A-2\n")
    got = commit_trailers(repo_of(repo), [second])
    assert list(got) == [second] and pairs(got[second]) == [("Task", "A-2")]


def test_commit_trailers_are_utf8_whatever_the_log_output_encoding(repo: GitRepo) -> None:
    """``--encoding=UTF-8``: a repository's ``i18n.logOutputEncoding`` would otherwise turn a
    task id or model name into another encoding's bytes."""
    repo.git("config", "i18n.logOutputEncoding", "ISO-8859-1")
    sha = commit_verbatim(repo, "Fix\n\nTools-Used: caf\u00e9\n")
    assert pairs(commit_trailers(repo_of(repo), [sha])[sha]) == [("Tools-Used", "caf\u00e9")]


def test_commit_trailers_bytes_git_cannot_convert_are_replaced(repo: GitRepo) -> None:
    """A commit that declares an encoding its bytes are not valid in: git passes them through
    unconverted, and they are read as U+FFFD, not refused with a traceback."""
    msg = repo.path.parent / "msg-euc-jp"
    msg.write_bytes(b"Fix\n\nTools-Used: a\xff\xfeb\n")
    repo.git("-c", "i18n.commitEncoding=EUC-JP", "commit", "-q", "--no-verify",
             "--allow-empty", "-F", str(msg))
    sha = repo.head()
    assert pairs(commit_trailers(repo_of(repo), [sha])[sha]) == [
        ("Tools-Used", "a\ufffd\ufffdb")]


def test_commit_trailers_token_config_cannot_rename_a_trailer(repo: GitRepo) -> None:
    """``trailer.tsk.key=Task`` makes git log print ``tsk: EVIL`` as ``Task: EVIL``: such
    config must be detected (it is, case and all) and the message parsed without it."""
    repo.git("config", "trailer.tsk.key", "Task")
    sha = commit_verbatim(repo, "Fix\n\ntsk: EVIL\n")
    naive = repo.git("log", "-1", "--format=%(trailers:only,unfold)", sha).stdout.decode()
    assert naive.strip() == "Task: EVIL"   # what plain git log would have said
    assert pairs(commit_trailers(repo_of(repo), [sha])[sha]) == [("tsk", "EVIL")]


def test_declaration_reads_our_trailers_after_someone_elses() -> None:
    """A trailer that is not ours (Signed-off-by, Co-authored-by) is skipped, not the end:
    the Task after it still counts."""
    got = declaration_from((Trailer(key="Signed-off-by", value="A <a@example.com>"),
                            Trailer(key="Task", value="T-1"),
                            Trailer(key="Co-authored-by", value="B <b@example.com>"),
                            Trailer(key="Model", value="m-1")))
    assert (got.task_id, got.model, got.present) == ("T-1", "m-1", True)
