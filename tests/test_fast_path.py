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
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import UNMEASURED, GitRepo
from hypothesis import given, settings
from hypothesis import strategies as st
from inproc import run_main

from avorelo_gate.errors import BadInputError, GitError
from avorelo_gate.gate.assemble import CheckRequest, check_request
from avorelo_gate.git.diff import RawNumstatParser
from avorelo_gate.git.paths import display_path, fsdecode, fsencode, zsplit
from avorelo_gate.git.repo import Repo, open_repo
from avorelo_gate.points import readahead
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


@pytest.mark.parametrize("staging", ["in-scope", "out-of-scope", "nothing"])
def test_check_started_before_click_judges_as_check_does(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch, staging: str) -> None:
    """main.py starts a staged check's git work before click parses the arguments; the
    verdict and every printed word are those of the same check started after parsing."""
    setup_repo(repo)
    for path, text in STAGINGS[staging].items():
        repo.write(path, text)
    repo.add()
    monkeypatch.chdir(repo.path)
    early = run_main("check", "--format", "json", "--task", "T-1", cwd=repo.path)
    assert readahead._EARLY == []
    monkeypatch.setattr(readahead, "start_early", lambda args, environ: None)
    late = run_main("check", "--format", "json", "--task", "T-1", cwd=repo.path)
    assert (early.returncode, early.stdout) == (late.returncode, late.stdout)
    assert early.returncode == (0 if staging != "out-of-scope" else 1)


def unstop(text: str) -> str:
    """GitHub's output stops workflow commands with a fresh random token each run."""
    tokens = re.findall(r"^::stop-commands::([0-9a-f]+)$", text, re.MULTILINE)
    return text.replace(tokens[0], "TOKEN") if tokens else text


@pytest.mark.parametrize("staging", sorted(STAGINGS))
def test_bare_check_skips_click_and_judges_as_click_does(repo: GitRepo, staging: str) -> None:
    """``check`` alone goes straight to the command (main.py); ``check --staged`` names the
    same defaults through click. Every word, both streams, and the exit code are the same,
    in text and in the GitHub format CI would pick."""
    setup_repo(repo)
    for path, text in STAGINGS[staging].items():
        repo.write(path, text)
    repo.add()
    for env in ({}, {"GITHUB_ACTIONS": "true"}):
        bare = run_main("check", cwd=repo.path, env=env)
        named = run_main("check", "--staged", cwd=repo.path, env=env)
        assert (bare.returncode, unstop(bare.stdout), bare.stderr) == (
            named.returncode, unstop(named.stdout), named.stderr)
        assert bare.returncode == (1 if staging in ("out-of-scope", "forbidden", "protected",
                                                    "budget") else 0), bare.stdout
    # a policy change: the default refuses it (--allow-policy-change is not the default)
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: false\n")
    repo.add()
    bare, named = run_main("check", cwd=repo.path), run_main("check", "--staged", cwd=repo.path)
    assert (bare.returncode, bare.stdout) == (named.returncode, named.stdout)
    assert bare.returncode == 1 and "policy-changed" in bare.stdout, bare.stdout
    repo.git("checkout", "HEAD", "--", ".avorelo/policy.yaml")
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: [\"src/**\"]\nsurprise: 1\n")
    repo.add()
    bare, named = run_main("check", cwd=repo.path), run_main("check", "--staged", cwd=repo.path)
    assert (bare.returncode, bare.stdout, bare.stderr) == (
        named.returncode, named.stdout, named.stderr)
    assert bare.returncode == 2 and "surprise" in bare.stderr, bare.stderr


def test_bare_check_never_imports_click(repo: GitRepo) -> None:
    setup_repo(repo)
    code = ("import sys\nfrom avorelo_gate.main import main\nrc = main(sys.argv[1:])\n"
            "print('click' in sys.modules, rc)\n")
    env = dict(os.environ, **UNMEASURED)
    for args, imported in ((["check"], False), (["check", "--staged"], True)):
        out = subprocess.run([sys.executable, "-c", code, *args], cwd=repo.path, env=env,
                             capture_output=True, text=True, check=True).stdout
        assert out.splitlines()[-1] == f"{imported} 0", (args, out)


def test_an_early_start_is_only_for_a_staged_check_and_nothing_is_left_running(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    setup_repo(repo)
    monkeypatch.chdir(repo.path)
    for other in (["--commit", "HEAD"], ["--range=HEAD~1..HEAD"], ["--worktree"], ["-h"]):
        readahead.start_early(other, os.environ)
        assert readahead._EARLY == [], other
    readahead.start_early(["--format", "json"], os.environ)
    assert len(readahead._EARLY) == 1
    _, pending, objects = readahead._EARLY[0]
    assert pending.job is not None and objects is not None
    procs = [pending.job._proc, objects._proc]
    readahead.cancel_early()     # what main.py does when nothing took it (a usage error)
    assert readahead._EARLY == [] and pending.job is None
    assert all(p is not None and p.returncode is not None for p in procs)
    # Outside a repository the guess is dropped; the command reports the error itself.
    monkeypatch.chdir(tmp_path)
    readahead.start_early([], os.environ)
    assert readahead._EARLY == []
    outside = run_main("check", cwd=tmp_path)
    assert (outside.returncode, outside.stdout) == (2, "")
    assert outside.stderr.count("\n") == 1 and "not a git repository" in outside.stderr


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
def _receipted_history(repo: GitRepo) -> list[str]:
    """Six commits with receipts (a merge, a task added on the way, two weights in one
    message), one of the receipts edited after it was recorded; newest first."""
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
    return commits


def test_prefetched_verify_equals_one_commit_at_a_time(repo: GitRepo,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    commits = _receipted_history(repo)
    environ = dict(os.environ)
    plain = open_repo(str(repo.path), environ)
    fast = [v.to_dict() for v in receipt_verify.verify_commits(plain, commits, environ)]
    # Asked once for all: as many git processes for two commits as for all of them (the task
    # file at each commit's parent was once read one process per commit: 46x git's listing).
    spawned = {len(some): _git_processes(monkeypatch, lambda some=some: (
        receipt_verify.verify_commits(plain, some, environ))) for some in (commits[:2], commits)}
    assert len(commits) >= 6 and spawned[2] == spawned[len(commits)], spawned
    monkeypatch.setattr(receipt_verify, "prefetch_commits", lambda repo, commits: repo)
    slow = [v.to_dict() for v in receipt_verify.verify_commits(plain, commits, environ)]
    assert fast == slow
    assert {v["status"] for v in fast} >= {"valid", "invalid"}


def test_verify_whose_bulk_diff_fails_asks_each_commit_and_leaves_no_thread(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The diffs are counted in a thread while the notes are parsed (gate/prefetch.py): when
    git cannot give them in bulk, each commit's diff is asked alone, as before; and when the
    work beside that thread fails, the thread is waited for, never left running."""
    commits = _receipted_history(repo)
    environ = dict(os.environ)
    plain = open_repo(str(repo.path), environ)
    whole = [v.to_dict() for v in receipt_verify.verify_commits(plain, commits, environ)]

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise GitError("git diff-tree --stdin: refused for this test")

    with monkeypatch.context() as m:
        m.setattr(Repo, "diff_commits", refused)
        alone = [v.to_dict() for v in receipt_verify.verify_commits(plain, commits, environ)]
    assert alone == whole and {v["status"] for v in whole} >= {"valid", "invalid"}

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Repo, "cat_at_revs", broken)
        with pytest.raises(KeyboardInterrupt):
            receipt_verify.verify_commits(plain, commits, environ)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("avorelo-git")]


def _git_processes(monkeypatch: pytest.MonkeyPatch, work: Any) -> int:
    """How many processes ``work`` starts (real ones: the count is taken on the way)."""
    started: list[object] = []
    real = subprocess.Popen

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            started.append(args[0] if args else kwargs.get("args"))
            super().__init__(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", Counted)
        work()
    return len(started)


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


# -- merges: their own paths, lines counted for those only (issue 14) -----------------------------
def merge_history(repo: GitRepo) -> list[tuple[str, str]]:
    """A clean merge, an evil one (a resolution adds and edits files of its own) and an
    octopus; returns (merge, first parent) pairs."""
    setup_repo(repo)
    repo.git("branch", "side")
    repo.git("branch", "third")
    repo.write("src/main.py", "main\n")
    repo.add()
    repo.commit("main work")
    repo.git("checkout", "-q", "side")
    repo.write("src/side.py", "side\n")
    repo.add()
    repo.commit("side work")
    repo.git("checkout", "-q", "third")
    repo.write("docs/third.md", "third\n")
    repo.add()
    repo.commit("third work")
    repo.git("checkout", "-q", "main" if repo.git("rev-parse", "--verify", "-q", "main",
                                                  check=False).returncode == 0 else "master")
    repo.git("merge", "-q", "--no-edit", "side")
    repo.git("merge", "-q", "--no-commit", "third")
    repo.write("src/evil.py", "resolution\nlines\n")
    repo.write("src/a.py", "a\nchanged while merging\n")
    repo.add()
    repo.commit("evil merge")
    repo.git("checkout", "-q", "-b", "oct1", "HEAD~1")
    repo.write("o1.txt", "1\n")
    repo.add()
    repo.commit("o1")
    repo.git("checkout", "-q", "-b", "oct2", "HEAD~1")
    repo.write("o2.txt", "2\n")
    repo.add()
    repo.commit("o2")
    repo.git("merge", "-q", "--no-edit", "oct1", "third")
    out = repo.git("rev-list", "--merges", "--parents", "--all").stdout.decode().split("\n")
    return [(f[0], f[1]) for f in (line.split() for line in out) if f]


@pytest.mark.parametrize("max_pathspecs", [1000, 0])
def test_merge_own_entries_equal_the_whole_diff_filtered(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch, max_pathspecs: int) -> None:
    from avorelo_gate.git import diff as git_diff

    merges = merge_history(repo)
    assert len(merges) == 3
    monkeypatch.setattr(git_diff, "MAX_PATHSPECS", max_pathspecs)
    plain = open_repo(str(repo.path), os.environ)
    own = plain.merge_own_paths([m for m, _ in merges])
    whole = plain.diff_commits(merges)
    expected = {m: [e for e in whole[m] if e.path in set(own[m])] for m, _ in merges}
    got = plain.merge_own_entries(merges)
    assert got == expected
    assert sorted(e.path for entries in got.values() for e in entries) == [
        "src/a.py", "src/evil.py"]
    assert all(e.added > 0 for entries in got.values() for e in entries)


# -- prepare-commit-msg: the shell script and the Python hook leave the same state ---------------
HOOKS_DIR = Path(__file__).resolve().parent.parent / "hooks"


# The pre-commit framework runs the script too, and passes what git gave it in the environment.
FRAMEWORK_AMEND = {"PRE_COMMIT_COMMIT_MSG_SOURCE": "commit",
                   "PRE_COMMIT_COMMIT_OBJECT_NAME": "HEAD"}


@pytest.mark.parametrize(("hook_args", "env", "amend"), [
    (["message"], {}, False), (["commit", "HEAD"], {}, True), (["commit", "HEAD~1"], {}, False),
    ([], {}, False), (["template"], {}, False),
    (None, FRAMEWORK_AMEND, True), ([], FRAMEWORK_AMEND, True),
    (None, {**FRAMEWORK_AMEND, "PRE_COMMIT_COMMIT_OBJECT_NAME": "HEAD~1"}, False),
    (None, {"PRE_COMMIT_COMMIT_MSG_SOURCE": "message"}, False),
    # git's own arguments win over the environment.
    (["message"], FRAMEWORK_AMEND, False), (["commit", "HEAD"], {
        "PRE_COMMIT_COMMIT_MSG_SOURCE": "message"}, True)])
@pytest.mark.parametrize("born", [True, False])
def test_prepare_commit_msg_script_equals_python_hook(
        repo: GitRepo, hook_args: list[str] | None, env: dict[str, str], amend: bool,
        born: bool) -> None:
    """``hook_args`` None: no argument at all, not even the message file (the framework's
    prepare-commit-msg entry passes no file names)."""
    if born:
        setup_repo(repo)
    state = repo.path / ".git" / "avorelo"
    results = []
    for how in ("python", "shell"):
        (state / "pending").mkdir(parents=True, exist_ok=True)
        (state / "pending" / "abandoned.json").write_text("{}")
        (state / "pending" / ".avorelo-tmp-x").write_text("")
        (state / "prepare-commit-msg.json").unlink(missing_ok=True)
        argv = [] if hook_args is None else [".git/COMMIT_EDITMSG", *hook_args]
        if how == "python":
            proc = run_main("hook", "prepare-commit-msg", *argv, cwd=repo.path, env=env)
            code = proc.returncode
        else:
            code = subprocess.run(["sh", str(HOOKS_DIR / "prepare-commit-msg"), *argv],
                                  cwd=repo.path, check=False,
                                  env={**os.environ, **env}).returncode
        pending = sorted(os.listdir(state / "pending")) if (state / "pending").exists() else []
        results.append((code, json.loads((state / "prepare-commit-msg.json").read_text()),
                        pending))
    assert results[0] == results[1]
    assert results[0][1]["amend"] is amend
    assert results[0][1]["head"] == (repo.head() if born else None)


# -- commit-msg reuses pre-commit's staged diff (issue 14) ----------------------------------------
def _between_hooks(repo: GitRepo, change: str) -> dict[str, str]:
    """What may change between pre-commit and commit-msg; the environment commit-msg gets."""
    if change == "index":
        repo.write("docs/late.md", "staged after pre-commit\n")
        repo.add()
    elif change == "index-same-size":
        repo.write("src/b.py", "c\n")      # same length, other content: only the bytes differ
        repo.add()
    elif change == "policy":
        repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: false\n")
        repo.add()
    elif change == "attributes":
        repo.write(".gitattributes", "*.py -diff\n")
    elif change == "head":
        repo.git("commit", "-q", "--no-verify", "--allow-empty", "-m", "moved on")
    elif change == "env":
        return {"AVORELO_TASK": "T-OTHER", "AVORELO_MODEL_WEIGHT": "heavy"}
    return {}


@pytest.mark.parametrize("change", ["none", "index", "index-same-size", "policy", "attributes",
                                    "head", "env"])
def test_commit_msg_with_pre_commit_cache_judges_as_full_path(repo: GitRepo,
                                                             change: str) -> None:
    from avorelo_gate.points import staged_cache

    setup_repo(repo)
    repo.write("src/b.py", "b\n")
    repo.add()
    assert run_main("hook", "pre-commit", cwd=repo.path).returncode == 0
    plain = open_repo(str(repo.path), os.environ)
    cached = staged_cache.load(plain, plain.head or "")
    assert cached is not None and cached == plain.diff_staged()
    env = _between_hooks(repo, change)
    plain = open_repo(str(repo.path), os.environ)
    # The cache answers only for the index, base and attributes it was made for.
    assert (staged_cache.load(plain, plain.head or "") is not None) is (change in ("none",
                                                                                   "env"))
    message = repo.path / "msg.txt"
    message.write_text("work\n\nTask: T-1\nModel-Weight: light\n")
    hook = run_main("hook", "commit-msg", str(message), cwd=repo.path, env=env)
    full = run_main("check", "--message-file", str(message), cwd=repo.path, env=env)
    assert (hook.returncode, hook.stdout) == (full.returncode, full.stdout)


def test_staged_cache_ignores_a_damaged_file(repo: GitRepo) -> None:
    from avorelo_gate.points import staged_cache

    setup_repo(repo)
    repo.write("src/b.py", "b\n")
    repo.add()
    plain = open_repo(str(repo.path), os.environ)
    base = plain.head or ""
    key = staged_cache.cache_key(plain, base)
    path = Path(plain.state_dir()) / staged_cache.CACHE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    good = [b"M", b"src/b.py", b"100644", b"100644", b"a" * 40, b"b" * 40, b"1", b"0", b"0"]
    assert key is not None
    for fields in ([key.encode(), *good], [key.encode(), *good[:8]],
                   [key.encode(), *good[:6], b"one", *good[7:]],
                   [key.encode(), *good[:8], b"yes"], [b"0" * 64, *good], [b"garbage"]):
        path.write_bytes(b"\0".join(fields) + b"\0")
        assert (staged_cache.load(plain, base) is not None) is (fields == [key.encode(), *good])
    path.write_bytes(b"no NUL at all")
    assert staged_cache.load(plain, base) is None


def test_real_commit_msg_takes_pre_commit_diff(repo: GitRepo) -> None:
    """In a real `git commit`, git hands commit-msg the index pre-commit saw: the key holds."""
    setup_repo(repo)
    hooks = repo.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    probe = ("import os, sys; from avorelo_gate.git.repo import open_repo; "
             "from avorelo_gate.points.staged_cache import load; r = open_repo(); "
             "sys.stderr.write('CACHE %s\\n' % ('hit' if load(r, r.head) is not None "
             "else 'miss'))")
    env_line = f'export PYTHONPATH="{Path(__file__).resolve().parent.parent}"\n'
    (hooks / "pre-commit").write_text(
        f"#!/bin/sh\n{env_line}exec '{sys.executable}' -m avorelo_gate hook pre-commit\n")
    (hooks / "commit-msg").write_text(
        f"#!/bin/sh\n{env_line}'{sys.executable}' -c \"{probe}\" || exit 9\n"
        f"exec '{sys.executable}' -m avorelo_gate hook commit-msg \"$1\"\n")
    for hook in ("pre-commit", "commit-msg"):
        (hooks / hook).chmod(0o755)
    repo.write("src/b.py", "b\n")
    repo.add()
    proc = repo.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False)
    assert proc.returncode == 0, proc.stderr
    assert b"CACHE hit" in proc.stderr


def _display_every_character(path: str) -> str:
    """display_path without its shortcut: each character kept or escaped on its own."""
    raw = fsencode(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
    return "".join(ch if ch == "\\" or ch.isprintable() or ch == " "
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


@given(st.text() | st.binary().map(fsdecode))
def test_display_path_shortcut_equals_escaping_each_character(path: str) -> None:
    assert display_path(path) == _display_every_character(path)


def test_display_path_escapes_what_a_terminal_would_act_on() -> None:
    assert display_path("a\x1b[2Kb\tc d") == "a\\x1b[2Kb\\tc d"
    assert display_path(fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert display_path("src/été.py") == "src/été.py"


# -- several names in one rev-parse: resolve_each is resolve, name by name ----------------------
@pytest.fixture(scope="module")
def named_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, dict[str, str]]:
    """A merge on main, an annotated tag, a branch, and a file whose name is a revision's
    expression (``x^{commit}``: with no ``--``, rev-parse would take it for a path)."""
    path = tmp_path_factory.mktemp("names") / "repo"
    path.mkdir()
    repo = GitRepo(path)
    repo.git("init", "-q", "-b", "main")
    first = merge_history(repo)[0][0]
    repo.write("x^{commit}", "a file named like a revision\n")
    repo.write("nope", "a file named like a missing branch\n")
    repo.add()
    repo.commit("odd names")
    repo.git("tag", "-a", "-m", "v1", "v1", "HEAD~1")
    ids = {"merge": first, "tree": repo.git("rev-parse", "HEAD^{tree}").stdout.decode().strip(),
           "blob": repo.git("rev-parse", "HEAD:nope").stdout.decode().strip()}
    return open_repo(str(path), os.environ), ids


REVISION_NAMES = ["HEAD", "HEAD~1", "main", "side", "v1", "v1^{}", "@", "HEAD^@", "HEAD^!",
         "HEAD~1..HEAD", "HEAD...side", "nope", "x", "-n", "--all", "", "HEAD^{tree}",
         "merge", "merge^2", "merge^3", "tree", "blob", "short", "HEAD~99", "main:nope"]


@given(st.lists(st.sampled_from(REVISION_NAMES), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_resolve_each_answers_as_resolve_does_name_by_name(
        named_repo: tuple[Repo, dict[str, str]], names: list[str]) -> None:
    repo, ids = named_repo
    names = [ids[n] if n in ids else ids["merge"][:9] if n == "short" else n for n in names]
    one_by_one: list[str] | None = []
    for name in names:
        try:
            one_by_one.append(repo.resolve(name))   # type: ignore[union-attr]
        except BadInputError:
            one_by_one = None
            break
    assert repo.resolve_each(names) == one_by_one


def test_resolve_each_of_the_tree_kind(named_repo: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = named_repo
    assert repo.resolve_each(["HEAD", ids["tree"]], "tree") == [repo.tree_of("HEAD"),
                                                                  ids["tree"]]
    assert repo.resolve_each(["HEAD", ids["blob"]], "tree") is None
    # What --verify refuses, one name at a time, the batch refuses whole.
    for names in (["HEAD", "HEAD~1..HEAD"], ["HEAD...side"], ["x"], ["HEAD^@"], ["nope"],
                  ["HEAD", "-n"], ["v1", ""]):
        assert repo.resolve_each(names) is None, names
    assert repo.resolve_each(["v1", "side"]) == [repo.resolve("v1"), repo.resolve("side")]


# -- ci's first git questions, asked while click is imported (points/ci_ahead.py) ----------------
@pytest.fixture(scope="module")
def ci_project(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """main with a policy and a task; feature with work in and out of scope and a merge of
    main; an unrelated root branch."""
    path = tmp_path_factory.mktemp("ci-ahead") / "repo"
    path.mkdir()
    repo = GitRepo(path)
    repo.git("init", "-q", "-b", "main")
    from test_ci import commit

    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n")
    repo.write(".avorelo/task.yaml", 'id: T-1\nscope: ["src/**"]\n')
    commit(repo, "src/a.py", "a\n", "init")
    repo.git("switch", "-q", "-c", "feature")
    commit(repo, "src/b.py", "b\n", "in scope\n\nTask: T-1")
    repo.git("switch", "-q", "main")
    commit(repo, "src/c.py", "c\n", "main moves on\n\nTask: T-1")
    repo.git("switch", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "main")
    commit(repo, "docs/d.md", "d\n", "out of scope\n\nTask: T-1")
    repo.git("switch", "-q", "--orphan", "unrelated")
    commit(repo, "x.txt", "x\n", "unrelated root")
    repo.git("switch", "-q", "feature")
    return repo


@pytest.mark.parametrize("words", [
    ["--base", "main", "--head", "feature"],
    ["--base=main", "--head=feature"],
    ["--head", "feature", "--format", "json", "--base", "main"],
    ["--base", "main"],                                   # --head defaults to HEAD
    ["--base", "feature~1", "--head", "feature"],
    ["--base", "main", "--base", "feature~2"],            # given twice: the guess gives up
    ["--base", "nope", "--head", "feature"],              # the error is run_ci's own
    ["--base", "main", "--head", "nope"],
    ["--base", "unrelated", "--head", "feature"],         # no merge base
    ["--base", "main", "--head", "main..feature"],
    ["--help"],
])
def test_ci_asked_ahead_judges_as_ci_does(ci_project: GitRepo, words: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from avorelo_gate.points import ci_ahead

    taken: list[object] = []
    take = ci_ahead.take

    def recording_take(repo: Repo, base: str, head: str) -> ci_ahead.AskedAhead | None:
        taken.append(take(repo, base, head))
        return taken[-1]

    monkeypatch.setattr(ci_ahead, "take", recording_take)
    ahead = run_main("ci", *words, cwd=ci_project.path)          # main.py starts it early
    assert ci_ahead._STARTED == []
    assert not [t for t in threading.enumerate() if t.name == "avorelo-ci-ahead"]
    asked_ahead = bool(taken and taken[0] is not None)
    taken.clear()
    # The same command through click alone: nothing was started, every answer asked in turn.
    before = os.getcwd()
    os.chdir(ci_project.path)
    try:
        from contextlib import redirect_stderr, redirect_stdout
        from io import StringIO

        from avorelo_gate.cli import run_cli
        from avorelo_gate.main import _guard

        out, err = StringIO(), StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = _guard(lambda: run_cli(["ci", *words], dict(os.environ)), False)
    finally:
        os.chdir(before)
    assert (ahead.returncode, ahead.stdout, ahead.stderr) == (code, out.getvalue(),
                                                             err.getvalue())
    assert not any(taken)
    plain = "--base" in " ".join(words) and words.count("--base") < 2 and not any(
        bad in words for bad in ("nope", "unrelated", "main..feature"))
    assert asked_ahead is plain, (words, ahead.stdout, ahead.stderr)
    if plain:
        assert ahead.returncode in (0, 1) and ahead.stdout
