"""Issue 14's fast paths, each held to the full path's verdict.

- install's pre-commit hook leaves the whole check to commit-msg when install's commit-msg
  hook sits beside it (one Python process per commit instead of two): the commit gets
  exactly the verdict ``check --message-file`` gives, and pre-commit says it deferred;
  alone, or beside a commit-msg hook that is not ours, it checks in Python as before.
- the clone's memo (files/memo.py): a YAML document or a pattern list's regexes taken from it
  are exactly what parsing afresh gives; an entry kept for other bytes, or damaged, is a
  miss; pre-push never reads it, so a memo that lies cannot get a change past the push.
- with the memo warm, the hooks a commit and an agent's write start import neither PyYAML,
  pathspec, typing nor runpy (what issue 14 measured as most of a hook's cost).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from agent_support import install as install_agent
from agent_support import payload, run_hook, task_repo
from conftest import PACKAGE_ROOT, UNMEASURED, GitRepo, hooks_run_this_checkout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scope_oracle import match_reference

from avorelo_gate.adopt.hook_scripts import LAUNCHER
from avorelo_gate.adopt.install import MARKER
from avorelo_gate.errors import BadInputError
from avorelo_gate.files import memo
from avorelo_gate.task import scope
from avorelo_gate.task.yamlio import load_yaml

POLICY = 'version: 1\nrequire_task: true\nprotected: [".github/**"]\n'
TASK = 'id: T-1\nscope: ["src/**"]\nforbid: ["src/keys/**"]\n'
DEFERRED = "pre-commit: the whole check runs at commit-msg"


@pytest.fixture
def hooked(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    hooks_run_this_checkout(monkeypatch)
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/tasks/T-1.yaml", TASK)
    repo.write("src/app.py", "app\n")
    repo.add()
    repo.commit("init")
    return repo


# staged paths, message, the verdict's exit code, the rule it names
SCENARIOS = {
    "in-scope": ({"src/b.py": "b\n"}, "work\n\nTask: T-1\n", 0, ""),
    "out-of-scope": ({"docs/x.md": "x\n"}, "work\n\nTask: T-1\n", 1, "out-of-scope"),
    "forbidden": ({"src/keys/k.pem": "k\n"}, "work\n\nTask: T-1\n", 1, "forbidden"),
    "protected": ({".github/w.yml": "w\n"}, "work\n\nTask: T-1\n", 1, "protected"),
    "no-task": ({"src/b.py": "b\n"}, "work, no task\n", 1, "no-task"),
}


def _stage(repo: GitRepo, files: dict[str, str]) -> None:
    for path, content in files.items():
        repo.write(path, content)
    repo.add()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_deferred_pre_commit_gives_the_commit_check_s_verdict(hooked: GitRepo,
                                                                name: str) -> None:
    files, message, code, rule = SCENARIOS[name]
    assert hooked.gate("install").returncode == 0
    _stage(hooked, files)
    msg = hooked.path / "MSG"
    msg.write_text(message)
    checked = hooked.gate("check", "--message-file", str(msg), "--format", "json")
    assert checked.returncode == code, checked.stdout + checked.stderr
    head = hooked.head()
    proc = hooked.git("commit", "-q", "-m", message, check=False)
    stderr = proc.stderr.decode()
    assert DEFERRED in stderr
    assert (proc.returncode == 0) is (code == 0), stderr
    assert (hooked.head() != head) is (code == 0)
    if rule:
        assert rule in stderr
        assert rule in {v["rule"] for v in json.loads(checked.stdout)["violations"]}


def _cat_file_batches(trace: Path) -> int:
    """How many ``git cat-file --batch`` processes a GIT_TRACE2_EVENT trace saw start."""
    starts = [json.loads(line) for line in trace.read_text().splitlines()]
    return sum(1 for e in starts if e.get("event") == "start"
               and e["argv"][-2:] == ["cat-file", "--batch"])


WIDENED = 'id: T-1\nscope: ["src/**", "docs/**"]\n'
READ_ONCE = dict(SCENARIOS, **{
    # The commit widens its own task: the version at HEAD narrows it (read ahead with the
    # index's in the same process; reading the index's twice would let docs/ through).
    "widens-itself": ({".avorelo/tasks/T-1.yaml": WIDENED, "docs/x.md": "x\n"},
                      "work\n\nTask: T-1\n", 1, "out-of-scope")})


@pytest.mark.parametrize("name", sorted(READ_ONCE))
def test_a_commit_reads_its_task_and_policy_files_in_one_git_process(
        hooked: GitRepo, tmp_path: Path, name: str) -> None:
    """commit-msg reads the task's files in the index and at HEAD and HEAD's policy through
    one ``cat-file --batch`` (issue 14: it was three), with the verdict ``check
    --message-file`` gives."""
    files, message, code, rule = READ_ONCE[name]
    assert hooked.gate("install").returncode == 0
    _stage(hooked, files)
    msg = hooked.path / "MSG"
    msg.write_text(message)
    checked = hooked.gate("check", "--message-file", str(msg))
    assert checked.returncode == code, checked.stdout + checked.stderr
    trace = tmp_path / "trace.json"
    proc = hooked.git("commit", "-q", "-m", message, check=False,
                      env={"GIT_TRACE2_EVENT": str(trace)})
    stderr = proc.stderr.decode()
    assert proc.returncode == (0 if code == 0 else 1), stderr
    assert rule in stderr
    assert _cat_file_batches(trace) == 1


@pytest.mark.parametrize(("name", "args"), [
    ("in-scope", ("--task", "T-1")), ("widens-itself", ("--task", "T-1")),
    ("in-scope", ()), ("widens-itself", ())])
def test_check_reads_the_task_and_policy_files_in_one_git_process(
        hooked: GitRepo, tmp_path: Path, name: str, args: tuple[str, ...]) -> None:
    """``check`` (and the pre-commit hook, the same read-ahead) reads the task's files at HEAD
    with the index's: one ``cat-file --batch``, the same verdict."""
    files, _message, code, _rule = READ_ONCE[name]
    _stage(hooked, files)
    trace = tmp_path / "trace.json"
    proc = hooked.gate("check", *args, env={"GIT_TRACE2_EVENT": str(trace)})
    # Without --task nothing names T-1 (require_task: the policy says no-task).
    assert proc.returncode == (code if args else 1), proc.stdout + proc.stderr
    assert _cat_file_batches(trace) == 1


def test_an_amend_reads_its_own_base_and_keeps_the_verdict(hooked: GitRepo,
                                                          tmp_path: Path) -> None:
    """An amend is judged against HEAD's parent, which the read-ahead does not guess: git is
    asked as before, and the verdict is the amend's own."""
    assert hooked.gate("install").returncode == 0
    _stage(hooked, {"src/b.py": "b\n"})
    assert hooked.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False).returncode == 0
    _stage(hooked, {"docs/x.md": "x\n"})
    proc = hooked.git("commit", "-q", "--amend", "-m", "work\n\nTask: T-1", check=False)
    assert proc.returncode == 1
    assert "out-of-scope" in proc.stderr.decode()


def test_pre_commit_alone_checks_in_python(hooked: GitRepo) -> None:
    """Without commit-msg beside it nothing would check later: pre-commit judges what it can
    (the protected path) itself, before the message is written."""
    assert hooked.gate("install", "--hook", "pre-commit").returncode == 0
    _stage(hooked, {".github/w.yml": "w\n"})
    proc = hooked.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False)
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert DEFERRED not in stderr
    assert "protected" in stderr


def test_pre_commit_beside_a_foreign_commit_msg_hook_checks_in_python(hooked: GitRepo) -> None:
    assert hooked.gate("install").returncode == 0
    foreign = hooked.path / ".git" / "hooks" / "commit-msg"
    foreign.write_text("#!/bin/sh\n# someone else's commit-msg hook\nexit 0\n")
    _stage(hooked, {".github/w.yml": "w\n"})
    proc = hooked.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False)
    assert proc.returncode == 1
    assert DEFERRED not in proc.stderr.decode()
    assert "protected" in proc.stderr.decode()


def test_pre_commit_finds_commit_msg_under_core_hooks_path(hooked: GitRepo) -> None:
    hooked.git("config", "core.hooksPath", ".githooks")
    assert hooked.gate("install").returncode == 0
    assert (hooked.path / ".githooks" / "commit-msg").read_text().count(MARKER) == 1
    _stage(hooked, {"docs/x.md": "x\n"})
    proc = hooked.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False)
    assert DEFERRED in proc.stderr.decode()
    assert proc.returncode == 1 and "out-of-scope" in proc.stderr.decode()


# -- the memo ----------------------------------------------------------------------------------
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=plain)
def test_a_yaml_document_from_the_memo_is_the_parsed_one(tmp_path_factory: pytest.TempPathFactory,
                                                         document: object) -> None:
    data = yaml.safe_dump(document, allow_unicode=True).encode()
    fresh = load_yaml(data, "t.yaml")
    state = str(tmp_path_factory.mktemp("state"))
    with memo.using(state):
        first = load_yaml(data, "t.yaml")    # a miss: parsed and kept
        kept = memo.get("yaml", data)
        second = load_yaml(data, "t.yaml")   # a hit
    assert first == second == fresh
    assert repr(second) == repr(fresh)       # the same types too (1 is not 1.0 or True)
    assert kept == {"document": fresh}


def test_documents_json_cannot_carry_are_parsed_every_time(tmp_path: Path) -> None:
    data = b"when: 2024-01-02\n1: one\n"
    with memo.using(str(tmp_path)):
        assert load_yaml(data, "t.yaml") == load_yaml(data, "t.yaml")
        assert memo.get("yaml", data) is None
    assert not (tmp_path / "memo").exists() or not os.listdir(tmp_path / "memo")


def test_a_broken_file_fails_the_same_way_every_time(tmp_path: Path) -> None:
    data = b"a: 1\na: 2\n"
    with memo.using(str(tmp_path)):
        for _ in range(2):
            with pytest.raises(BadInputError, match="duplicate key 'a'"):
                load_yaml(data, "t.yaml")
        assert memo.get("yaml", data) is None


def test_an_entry_kept_for_other_bytes_or_damaged_is_a_miss(tmp_path: Path) -> None:
    narrow, wide = b"scope: [src/**]\n", b"scope: ['**']\n"
    with memo.using(str(tmp_path)):
        assert load_yaml(narrow, "t.yaml") == {"scope": ["src/**"]}
        (entry,) = (tmp_path / "memo").iterdir()
        # Another input's document under this input's name (as a CRC collision would
        # put it): the kept input differs, so it is not used.
        entry.write_text(json.dumps({"input": wide.decode(), "value": {"document": {
            "scope": ["**"]}}}))
        assert load_yaml(narrow, "t.yaml") == {"scope": ["src/**"]}
        for damaged in ("{not json", "[]", '{"input": 1}'):
            entry.write_text(damaged)
            assert load_yaml(narrow, "t.yaml") == {"scope": ["src/**"]}


def test_the_memo_opens_only_inside_a_session(tmp_path: Path) -> None:
    memo.open_at(str(tmp_path))          # pre-push, ci, a library call: stays closed
    assert not memo.is_open()
    with memo.session():
        assert not memo.is_open()
        memo.open_at(str(tmp_path))
        assert memo.is_open()
    assert not memo.is_open()


PATTERN = st.text(alphabet="ab/*?![]._-é", min_size=1, max_size=12).filter(
    lambda p: scope.pattern_problem(p) is None)
PATH = st.text(alphabet="ab/._-é", min_size=1, max_size=14).filter(
    lambda p: not p.startswith("/") and "//" not in p)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns=st.lists(PATTERN, min_size=1, max_size=5), paths=st.lists(PATH, max_size=8))
def test_a_matcher_from_the_memo_matches_as_one_built_afresh(
        tmp_path_factory: pytest.TempPathFactory, patterns: list[str],
        paths: list[str]) -> None:
    pats = tuple(patterns)
    fresh = scope.Matcher._build(pats)
    with memo.using(str(tmp_path_factory.mktemp("state"))):
        scope.Matcher._build(pats)            # fills the memo
        kept = scope.Matcher._build(pats)     # from the memo: pathspec not asked
    for path in paths:
        assert kept.match(path) == fresh.match(path) == match_reference(pats, path)


def test_pre_push_and_ci_do_not_read_the_memo(hooked: GitRepo, make_repo) -> None:  # type: ignore[no-untyped-def]
    """The memo is local state, trusted like the hooks beside it. One that lies (here: the
    task file's bytes mapped to a scope of every path) lets the commit hooks and ``check``
    pass an out-of-scope commit, as deleting the hooks would; pre-push and ``ci`` parse
    afresh and refuse."""
    remote = make_repo("remote.git", "--bare")
    hooked.git("remote", "add", "origin", str(remote.path))
    hooked.git("push", "-q", "origin", "HEAD:refs/heads/main")
    assert hooked.gate("install").returncode == 0
    task_bytes = (hooked.path / ".avorelo/tasks/T-1.yaml").read_bytes()
    state = hooked.git("rev-parse", "--git-path", "avorelo").stdout.decode().strip()
    with memo.using(str(hooked.path / state)):
        memo.put("yaml", task_bytes, {"document": {"id": "T-1", "scope": ["**"]}})
    _stage(hooked, {"docs/x.md": "x\n"})
    committed = hooked.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False)
    assert committed.returncode == 0, committed.stderr.decode()
    local = hooked.gate("check", "--commit", "HEAD")
    assert local.returncode == 0, local.stdout
    ci = hooked.gate("ci", "--base", "origin/main")
    assert ci.returncode == 1 and "out-of-scope" in ci.stdout, ci.stdout
    pushed = hooked.git("push", "-q", "origin", "HEAD:refs/heads/main", check=False)
    assert pushed.returncode != 0
    assert "out-of-scope" in (pushed.stdout + pushed.stderr).decode()


# -- what the hooks import ---------------------------------------------------------------------
HEAVY = ("yaml", "pathspec", "typing", "runpy")


def _imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_a_commit_s_hooks_import_nothing_heavy_once_the_memo_is_warm(hooked: GitRepo) -> None:
    assert hooked.gate("install").returncode == 0
    hooks = (hooked.path / ".git" / "hooks" / "commit-msg").read_text()
    assert f'-c "{LAUNCHER}" hook commit-msg' in hooks
    for i in range(2):
        _stage(hooked, {f"src/m{i}.py": f"{i}\n"})
        proc = hooked.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False,
                          env={"PYTHONPROFILEIMPORTTIME": "1", **UNMEASURED})
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    imported = _imported(proc.stderr.decode())
    assert "avorelo_gate.gate.engine" in imported      # commit-msg judged in full
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_check_imports_neither_yaml_nor_pathspec_once_the_memo_is_warm(
        hooked: GitRepo) -> None:
    _stage(hooked, {"src/m.py": "m\n"})
    for _ in range(2):
        proc = hooked.gate("check", "--task", "T-1",
                           env={"PYTHONPROFILEIMPORTTIME": "1", **UNMEASURED})
        assert proc.returncode == 0, proc.stdout
    imported = _imported(proc.stderr)
    assert "avorelo_gate.gate.engine" in imported
    assert not imported & {"yaml", "pathspec"}, imported & {"yaml", "pathspec"}


def test_an_agent_write_imports_nothing_heavy_once_the_memo_is_warm(
        repo: GitRepo, tmp_path: Path) -> None:
    task_repo(repo)
    install_agent(repo, "claude", tmp_path)
    body = payload("claude", "pre_tool_write", repo.path)
    body["tool_input"]["file_path"] = str(repo.path / "src" / "x.py")
    for _ in range(2):
        proc = run_hook(repo, "claude", "pre-tool", body, tmp_path,
                        env={"PYTHONPROFILEIMPORTTIME": "1", **UNMEASURED})
        assert proc.returncode == 0 and "deny" not in proc.stdout, proc.stdout
    imported = _imported(proc.stderr)
    assert "avorelo_gate.gate.engine" in imported
    # runpy: the test's shim runs `python -m`; the console script agents call does not.
    assert not imported & {"yaml", "pathspec", "typing"}, imported


def test_the_launcher_runs_the_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, "hook", "nonsense"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "hook" in proc.stderr


# -- post-commit in shell ----------------------------------------------------------------------
PINNED = {"SOURCE_DATE_EPOCH": "1700000000", "GIT_AUTHOR_DATE": "1700000000 +0000",
          "GIT_COMMITTER_DATE": "1700000000 +0000"}


def _commit_note(repo: GitRepo, env: dict[str, str]) -> tuple[bytes, str]:
    """Commit src/b.py through the hooks; the note attached, and what the hooks printed."""
    _stage(repo, {"src/b.py": "b\n"})
    proc = repo.git("commit", "-q", "-m", "work\n\nTask: T-1", check=False,
                    env={**PINNED, "PYTHONPROFILEIMPORTTIME": "1", **env})
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    note = repo.git("notes", "--ref=refs/notes/avorelo", "show", "HEAD").stdout
    return note, proc.stderr.decode()


def _python_starts(stderr: str) -> int:
    return sum(1 for line in stderr.splitlines()
               if line.startswith("import time:") and line.endswith("| avorelo_gate.main"))


def test_shell_post_commit_attaches_exactly_the_note_python_attaches(hooked: GitRepo) -> None:
    assert hooked.gate("install").returncode == 0
    shell_note, shell_said = _commit_note(hooked, {})
    assert _python_starts(shell_said) == 1               # commit-msg only
    assert "(the commit-msg verdict)" in shell_said
    assert not list((hooked.path / ".git" / "avorelo" / "pending").iterdir())
    hooked.git("notes", "--ref=refs/notes/avorelo", "remove", "HEAD")
    hooked.git("reset", "-q", "--soft", "HEAD~1")
    python_note, python_said = _commit_note(hooked, {"AVORELO_GATE_NO_SHELL": "1"})
    assert _python_starts(python_said) == 3              # pre-commit, commit-msg, post-commit
    assert shell_note == python_note
    verified = hooked.gate("receipt", "verify", "HEAD~1..HEAD")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_signing_key_leaves_post_commit_to_python(hooked: GitRepo) -> None:
    assert hooked.gate("install").returncode == 0
    note, said = _commit_note(hooked, {"AVORELO_RECEIPT_KEY": "k" * 32})
    assert _python_starts(said) == 2
    assert json.loads(note)["predicate"]["signature"]["alg"] == "hmac-sha256"


@pytest.mark.parametrize("damage", ["another parent", "another format", "truncated"])
def test_the_shell_never_attaches_a_pending_receipt_that_is_not_this_commit_s(
        hooked: GitRepo, damage: str) -> None:
    """post-commit run by hand over a pending receipt that does not fit: Python takes over
    and records the receipt from the commit itself."""
    assert hooked.gate("install").returncode == 0
    _stage(hooked, {"src/b.py": "b\n"})
    hooked.commit("work\n\nTask: T-1")                  # --no-verify: no receipt yet
    tree = hooked.git("rev-parse", "HEAD^{tree}").stdout.decode().strip()
    parent = hooked.git("rev-parse", "HEAD~1").stdout.decode().strip()
    lines = ["avorelo-pending-shell 1", parent, '{"bogus":"', '","x":"', '"}', "pass (T-1)"]
    if damage == "another parent":
        lines[1] = tree
    elif damage == "another format":
        lines[0] = "avorelo-pending-shell 0"
    else:
        lines = lines[:3]
    pending = hooked.path / ".git" / "avorelo" / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / f"{tree}.sh").write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(hooked.path / ".git" / "hooks" / "post-commit")],
                          cwd=hooked.path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "(recorded from the commit)" in proc.stderr
    note = hooked.git("notes", "--ref=refs/notes/avorelo", "show", "HEAD").stdout
    assert b"bogus" not in note
    verified = hooked.gate("receipt", "verify", "HEAD~1..HEAD")
    assert verified.returncode == 0, verified.stdout + verified.stderr
