"""Every fast path gives exactly what the full path gives (issue 6).

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
from typing import Any

import pytest
from conftest import GitRepo
from hypothesis import given, settings
from hypothesis import strategies as st
from inproc import run_main

from avorelo_gate.errors import BadInputError, GitError
from avorelo_gate.gate.assemble import CheckRequest, check_request
from avorelo_gate.git.diff import RawNumstatParser
from avorelo_gate.git.paths import fsdecode, zsplit
from avorelo_gate.git.repo import open_repo
from avorelo_gate.points.readahead import staged_read_ahead
from avorelo_gate.receipts import verify as receipt_verify
from avorelo_gate.task import schema

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


@pytest.mark.parametrize("staging", sorted(STAGINGS))
def test_hooks_judge_as_check_does(repo: GitRepo, staging: str) -> None:
    setup_repo(repo)
    for path, content in STAGINGS[staging].items():
        repo.write(path, content)
    repo.add()
    # The click-free hook judges the index as `check` does when the task is already named
    # (AVORELO_TASK); with no task named yet it defers the task's rules to commit-msg.
    named = {"AVORELO_TASK": "T-1"}
    hook = run_main("hook", "pre-commit", cwd=repo.path, env=named)
    check = run_main("check", cwd=repo.path, env=named)
    assert (hook.returncode, hook.stdout) == (check.returncode, check.stdout)
    deferred = run_main("hook", "pre-commit", cwd=repo.path)
    assert deferred.returncode == (1 if staging == "protected" else 0), deferred.stdout
    message = repo.path / "msg.txt"
    message.write_text("work\n\nTask: T-1\nModel-Weight: light\n")
    hook = run_main("hook", "commit-msg", str(message), cwd=repo.path)
    check = run_main("check", "--message-file", str(message), cwd=repo.path)
    assert (hook.returncode, hook.stdout) == (check.returncode, check.stdout)


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


def test_streamed_git_fails_exactly_as_run_fails(repo: GitRepo) -> None:
    setup_repo(repo)
    git = open_repo(str(repo.path), os.environ).git
    args = ("diff-index", "--cached", "no-such-rev", "--")
    with pytest.raises(GitError) as streamed:
        git.stream(*args, consume=lambda chunk: None)
    with pytest.raises(GitError) as ran:
        git.out(*args)
    assert str(streamed.value) == str(ran.value)


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
        pending, objects = getattr(early, "pending", None), getattr(early, "objects", None)
        assert pending is not None and pending.job is not None and objects is not None
        procs = [pending.job._proc, objects._proc]
    assert pending.job is None
    assert all(p is not None and p.returncode is not None for p in procs)


def test_read_ahead_objects_answer_only_what_was_asked_ahead(repo: GitRepo) -> None:
    setup_repo(repo)
    repo.write(".avorelo/tasks/T-7.yaml", "id: T-7\nscope: [\"src/**\"]\n")
    repo.add()
    plain = open_repo(str(repo.path), os.environ)
    names = [":.avorelo/tasks/T-7.yaml", ":.avorelo/task.yaml", "HEAD:.avorelo/policy.yaml",
             ":src/a.py", ":missing"]
    with staged_read_ahead(plain, {"AVORELO_TASK": "T-7"}) as early:
        for subset in (names[:1], names[1:2], [f"{plain.head}:.avorelo/policy.yaml"], names):
            assert early.cat_objects(subset) == plain.cat_objects(subset), subset


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
