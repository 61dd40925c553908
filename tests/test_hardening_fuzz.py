"""Issue 7, part 1: never a traceback. Hypothesis drives every command (``demo`` aside: it
builds its own repository and takes seconds) with random arguments, random bytes as the task,
policy, JUnit report and commit message, random environment values and random file names
(every byte 0x01-0xFF, names up to 255 bytes, paths 40 directories deep), staged or committed.

Every run must exit 0, 1, 2 or 3 (``prove``: its command's code), print no traceback and hit
no bug (an "internal error" line is one). Commands run in-process through the real ``main()``
(tests/inproc.py); stdin is the process's (``sys.stdin.buffer``), as under git.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GitRepo
from hardening_settings import HARDENING
from hardening_util import assert_no_traceback, clone, git, run_main_stdin, template
from hypothesis import event, given
from hypothesis import strategies as st
from inproc import run_main

POLICY = """\
version: 1
require_task: true
protected: [".github/**"]
weights: {light: {max_files: 5, max_lines: 200}}
receipts: {required: true}
approvals:
  - {paths: ["src/pay/**"], approvers: ["Ada Lovelace <ada@example.org>"], count: 1}
"""
TASK = """\
id: T-1
title: the fuzzed task
scope: ["src/**", "tests/**", "docs/**", ".avorelo/tasks/**"]
forbid: ["src/keys/**"]
budget: {max_files: 20, max_lines: 400}
risk: medium
model: {weight: light, name: claude-haiku-4-5}
context: ["docs/a.md", {path: "src/a.py"}]
tools: [pytest, sh, "true", "false", "PYTHON"]
proof:
  - junit: reports/junit.xml
  - command: tests
  - log: build.log
    must_contain: "OK"
""".replace("PYTHON", os.path.basename(sys.executable))
JUNIT = (b'<?xml version="1.0"?>\n<testsuite name="s" tests="1">'
         b'<testcase classname="c" name="t"/></testsuite>\n')
MESSAGE = "Fuzzed change\n\nTask: T-1\nModel-Weight: light\nTools-Used: pytest\n"


def build_rich(where: Path) -> None:
    """A repository with every kind of state the commands read: a policy demanding receipts,
    task files, receipts (valid and missing), a proof record, a remote, a tag, a branch."""
    remote = where / "remote.git"
    git(where, "init", "-q", "--bare", str(remote))
    path = where / "repo"
    path.mkdir()
    repo = GitRepo(path)
    repo.git("init", "-q")
    repo.write(".gitignore", "reports/\nbuild.log\n")
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write(".avorelo/tasks/T-2.yaml", "id: T-2\nscope: ['docs/**']\n")
    repo.write("src/a.py", "".join(f"a{i}\n" for i in range(10)))
    repo.write("docs/a.md", "doc\n")
    repo.add()
    repo.commit("base")
    assert run_main("receipt", "record", cwd=path).returncode == 0   # record always records
    repo.git("tag", "v1")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    repo.git("switch", "-q", "-c", "feature")
    repo.write("src/a.py", "changed\n")
    repo.add()
    repo.commit(MESSAGE)
    assert run_main("receipt", "record", cwd=path).returncode == 0   # record always records
    repo.git("tag", "receipted")   # the commit whose receipt the examples forge
    repo.write("docs/b.md", "out of scope\n")
    repo.add()
    repo.commit("No receipt, out of scope\n\nTask: T-1\n")
    repo.write("build.log", "OK\n")
    repo.write("reports/junit.xml", JUNIT)
    assert run_main("prove", "--name", "tests", "--", "true", cwd=path).returncode == 0
    repo.write("src/b.py", "staged\n")
    repo.add()
    repo.git("gc", "-q")   # one pack instead of a hundred loose objects: every example copies it


# -- strategies -------------------------------------------------------------------------------
# What argv can hold: any code point but NUL, and undecodable bytes as surrogateescape gives
# them (U+DC80..U+DCFF).
ARG_CHARS = st.one_of(
    st.characters(exclude_categories=["Cs"], exclude_characters="\0"),
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
)
RANDOM_TEXT = st.text(ARG_CHARS, max_size=30)
REVS = st.one_of(
    st.sampled_from(["HEAD", "main", "feature", "HEAD~1", "HEAD^^", "HEAD~9", "v1", "receipted",
                     "origin/main", "main..feature", "main...feature", "feature..main",
                     "HEAD..", "..HEAD", "@", "HEAD@{0}", ":/base", "HEAD:src/a.py",
                     "HEAD^{tree}", "refs/notes/avorelo", "0" * 40, "a" * 40, "-", "--",
                     "--all", "-n1", "", " ", "main..", "...", "HEAD...HEAD~1"]),
    RANDOM_TEXT,
)
TASK_IDS = st.one_of(st.sampled_from(["T-1", "T-2", "T-3", "", "-x", "../T-1", "t 1"]),
                     RANDOM_TEXT)
FORMATS = st.sampled_from(["text", "json", "sarif", "junit", "github"])
YAML_KEYS = ["id", "title", "scope", "forbid", "budget", "risk", "model", "context", "tools",
             "proof", "version", "require_task", "protected", "weights", "receipts",
             "approvals", "max_files", "max_lines", "weight", "name", "junit", "command",
             "log", "file", "min_tests", "committed", "must_contain", "path", "blob"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6),
                    st.floats(allow_nan=True), RANDOM_TEXT,
                    st.sampled_from(["src/**", "*.py", "!x", "light", "heavy", "low", "T-1",
                                     "reports/junit.xml", "../x", "/abs", "a\\b", "[", "**"]))
YAML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(YAML_KEYS), RANDOM_TEXT),
                                            inner, max_size=4)),
    max_leaves=12)


def _dump(value: Any) -> bytes:
    try:
        return yaml.safe_dump(value, allow_unicode=True).encode("utf-8", "surrogateescape")
    except (yaml.YAMLError, UnicodeEncodeError):
        return b"id: T-1\n"


YAML_DOCS = st.dictionaries(st.sampled_from(YAML_KEYS), YAML_VALUES, max_size=6).map(_dump)
FILE_BYTES = st.one_of(
    st.binary(max_size=300),
    YAML_DOCS,
    st.text(ARG_CHARS, max_size=200).map(lambda s: s.encode("utf-8", "surrogateescape")),
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe\x00", b"a: &x [*x]\n", b"- [" * 50,
                     JUNIT, JUNIT[:40], b"<testsuite>" * 200, TASK.encode(),
                     POLICY.encode(), b"version: 1\nrequire_task: false\n"]),
)
TRAILER_KEYS = st.sampled_from(["Task", "Task-Scope", "Model", "Model-Weight", "Tools-Used",
                                "Approved-by", "Assisted-by", "task", "TASK-SCOPE",
                                "Signed-off-by", "X"])
TRAILER_VALUES = st.one_of(st.sampled_from(["T-1", "T-2", "src/**", "light", "heavy", "huge",
                                            "pytest, sh", "Ada Lovelace <ada@example.org>",
                                            "claude:opus", "", "../x", "a, , b"]),
                           st.text(ARG_CHARS.filter(lambda c: c not in "\n\r"), max_size=40))
MESSAGES = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda subject, body, trailers: (
        f"{subject}\n\n{body}\n\n" + "".join(f"{k}: {v}\n" for k, v in trailers)
    ).encode("utf-8", "surrogateescape"),
        RANDOM_TEXT, RANDOM_TEXT, st.lists(st.tuples(TRAILER_KEYS, TRAILER_VALUES),
                                           max_size=6)),
)


def _segment(raw: bytes) -> bytes:
    seg = raw.replace(b"/", b"_").replace(b"\0", b"_")
    # git refuses these as path components ("invalid path"): not what is under test.
    if seg in (b".", b"..") or seg.lower().rstrip(b". ").startswith(b".git") \
            or seg.lower().startswith(b"git~"):
        seg = b"x" + seg
    return seg


SEGMENTS = st.one_of(
    st.binary(min_size=1, max_size=12),
    st.binary(min_size=200, max_size=255),
    st.sampled_from([b"-rf", b"--help", b"\x1b[2J", b"new\nline", b"tab\t", b" ", b"*",
                     b"\xff\xfe", b"src", b"docs", b".avorelo", b"tasks", b"keys", b"pay",
                     b".github", b"%0A::error::x", b"\xe2\x80\xa8", b"\xc2\x85"]),
).map(_segment)
PATHS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=4),
    st.lists(st.binary(min_size=1, max_size=3).map(_segment), min_size=30, max_size=40),
).map(lambda segs: b"/".join(segs))


@dataclass
class World:
    """What one example changes in its copy of the template before running a command."""

    files: list[tuple[bytes, bytes]] = field(default_factory=list)
    task: bytes | None = None
    policy: bytes | None = None
    junit: bytes | None = None
    message: bytes = b""
    commit: bool = False
    env: dict[str, str] = field(default_factory=dict)
    # The receipt of tag "receipted" replaced: raw bytes, or the real one with one field
    # replaced.
    note: bytes | tuple[tuple[str, ...], Any] | None = None


# Where a forged or damaged receipt differs from a real one.
RECEIPT_FIELDS = st.sampled_from([
    ("_type",), ("subject",), ("predicateType",), ("predicate",), ("predicate", "verdict"),
    ("predicate", "violations"), ("predicate", "task"), ("predicate", "diff"),
    ("predicate", "diff", "files"), ("predicate", "diff", "paths"), ("predicate", "proof"),
    ("predicate", "model"), ("predicate", "model", "weight"), ("predicate", "policy"),
    ("predicate", "time"), ("predicate", "signature"), ("predicate", "tools"),
    ("predicate", "context"), ("predicate", "approvals"), ("predicate", "options"),
    ("predicate", "gate", "version"), ("predicate", "task", "scope"),
    ("predicate", "task", "field_sources"), ("subject", "0", "digest", "gitCommit")])
NOTES = st.one_of(
    st.none(), st.none(),
    st.binary(max_size=300),
    YAML_VALUES.map(lambda v: json.dumps(v, default=str).encode("utf-8", "surrogateescape")),
    st.tuples(RECEIPT_FIELDS, YAML_VALUES),
)


def forge_note(path: Path, note: bytes | tuple[tuple[str, ...], Any]) -> None:
    """Replace a receipt exactly (``-C`` keeps the bytes as they are)."""
    if isinstance(note, tuple):
        keys, value = note
        doc = json.loads(git(path, "notes", "--ref=avorelo", "show", "receipted").stdout)
        here: Any = doc
        for key in keys[:-1]:
            here = here[int(key)] if isinstance(here, list) else here.get(key)
        if isinstance(here, list):
            here[int(keys[-1])] = value
        elif isinstance(here, dict):
            here[keys[-1]] = value
        note = json.dumps(doc, default=str).encode("utf-8", "surrogateescape")
    blob = git(path, "hash-object", "-w", "--stdin", input=note).stdout.decode().strip()
    git(path, "notes", "--ref=avorelo", "add", "-f", "-C", blob, "receipted", check=False)


ENV = st.dictionaries(
    st.sampled_from(["AVORELO_TASK", "AVORELO_ALLOW_POLICY_CHANGE", "AVORELO_RECEIPT_KEY",
                     "GITHUB_ACTIONS", "NO_COLOR", "PRE_COMMIT_TO_REF", "PRE_COMMIT_FROM_REF",
                     "PRE_COMMIT_REMOTE_NAME", "PRE_COMMIT_LOCAL_BRANCH",
                     "PRE_COMMIT_REMOTE_BRANCH", "PRE_COMMIT_COMMIT_MSG_FILENAME"]),
    st.one_of(st.sampled_from(["1", "true", "T-1", "HEAD", "main", "origin", "feature"]),
              st.text(ARG_CHARS.filter(lambda c: not 0xDC80 <= ord(c) <= 0xDCFF),
                      max_size=20)),
    max_size=3)
WORLDS = st.builds(
    World,
    files=st.lists(st.tuples(PATHS, FILE_BYTES), max_size=4),
    # Mostly the template's own files: random ones stop most runs at exit 2, before the engine.
    task=st.sampled_from([None, None, None]) | FILE_BYTES,
    policy=st.sampled_from([None, None, None]) | FILE_BYTES,
    junit=st.none() | FILE_BYTES,
    message=MESSAGES,
    commit=st.booleans(),
    env=ENV,
    note=NOTES,
)


def note_exit(proc: subprocess.CompletedProcess[str]) -> None:
    """For --hypothesis-show-statistics: how deep the examples got (exit 0/1 reached the
    engine), and what each environment failure was."""
    first = proc.stderr.strip().splitlines()[-1][:70] if proc.stderr.strip() else ""
    event(f"exit {proc.returncode}" + (f": {first}" if proc.returncode == 3 else ""))


class Sandbox:
    """A fresh copy of the template per example, removed afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0
        # Built here, once, not inside an example: a broken build must fail once, not be
        # retried and shrunk by hypothesis.
        self.source = template("rich", tmp_path.parent, build_rich)

    def make(self, world: World) -> tuple[Path, Path, dict[str, str]]:
        self.cleanup()   # the previous example's copy: hundreds of examples, one at a time
        self.count += 1
        where = self.tmp_path / f"ex{self.count}"
        clone(self.source, where)
        path = where / "repo"
        git(path, "remote", "set-url", "origin", str(where / "remote.git"))
        apply_world(path, world)
        msg = where / "MSG"
        msg.write_bytes(world.message)
        env = dict(world.env)
        if env.get("GITHUB_ACTIONS") or "GITHUB_ACTIONS" in env:
            env["GITHUB_STEP_SUMMARY"] = str(where / "summary.md")
        return path, msg, env


    def cleanup(self) -> None:
        shutil.rmtree(self.tmp_path / f"ex{self.count}", ignore_errors=True)



def write_bytes_path(root: Path, rel: bytes, content: bytes) -> bool:
    target = os.path.join(os.fsencode(root), rel)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(target):
            return False
        with open(target, "wb") as f:
            f.write(content)
    except OSError:
        return False   # a file where a directory must go, or a name too long: not our code
    return True


def apply_world(path: Path, world: World) -> None:
    for rel, content in world.files:
        write_bytes_path(path, rel, content)
    for rel, replaced in ((b".avorelo/task.yaml", world.task),
                          (b".avorelo/policy.yaml", world.policy)):
        if replaced is not None:
            write_bytes_path(path, rel, replaced)
    if world.junit is not None:
        write_bytes_path(path, b"reports/junit.xml", world.junit)
    git(path, "add", "-A", check=False)
    if world.commit:
        git(path, "commit", "-q", "--no-verify", "--allow-empty", "-F", "-",
            input=world.message, check=False)
    if world.note is not None:
        forge_note(path, world.note)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    yield box
    box.cleanup()


def opt(flag: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda v: [flag, v]))


# -- check --------------------------------------------------------------------------------------
CHECK_ARGS = st.tuples(
    st.sampled_from([[], ["--staged"], ["--worktree"]]) | opt("--range", REVS)
    | opt("--commit", REVS),
    opt("--task", TASK_IDS),
    st.sampled_from([[], ["--task-file", "TASKFILE"], ["--task-file", "missing.yaml"]]),
    st.sampled_from([[], ["--message-file", "MSG"]]),
    st.sampled_from([[], ["--allow-policy-change"]]),
    opt("--format", FORMATS),
    st.sampled_from([[], ["--output", "OUT"], ["--output", "no/such/dir/out"]]),
).map(lambda parts: ["check", *(a for p in parts for a in p)])


def fill(args: list[str], path: Path, msg: Path) -> list[str]:
    """Placeholders: the message file (random bytes) and a task file outside .avorelo/."""
    task_file = msg.parent / "task-file.yaml"
    if not task_file.exists():
        task_file.write_bytes((path / ".avorelo" / "task.yaml").read_bytes()
                              if (path / ".avorelo" / "task.yaml").is_file() else b"")
    table = {"MSG": str(msg), "TASKFILE": str(task_file), "OUT": str(msg.parent / "out")}
    return [table.get(a, a) for a in args]


@HARDENING
@given(world=WORLDS, args=CHECK_ARGS)
def test_check_never_a_traceback(sandbox: Sandbox, world: World, args: list[str]) -> None:
    path, msg, env = sandbox.make(world)
    proc = run_main(*fill(args, path, msg), cwd=path, env=env)
    note_exit(proc)
    assert_no_traceback(proc)


# -- the hooks ----------------------------------------------------------------------------------
HEX = st.text("0123456789abcdef", min_size=40, max_size=40)
PUSH_LINES = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["refs/heads/feature", "HEAD", "refs/tags/v1", "x"]),
                  st.sampled_from(["FEATURE", "MAIN", "0" * 40]) | HEX,
                  st.sampled_from(["refs/heads/feature", "refs/heads/main", ""]),
                  st.sampled_from(["MAIN", "0" * 40, "FEATURE"]) | HEX).map(" ".join),
        st.text(ARG_CHARS, max_size=60),
    ), max_size=4).map("\n".join)
REWRITE_LINES = st.lists(
    st.one_of(st.tuples(st.sampled_from(["FEATURE", "MAIN"]) | HEX,
                        st.sampled_from(["FEATURE", "MAIN"]) | HEX).map(" ".join),
              st.text(ARG_CHARS, max_size=60)), max_size=4).map("\n".join)
STDIN = st.one_of(PUSH_LINES, REWRITE_LINES, st.binary(max_size=200))
HOOK_ARGS = st.one_of(
    st.just(["pre-commit"]),
    st.tuples(st.just("prepare-commit-msg"), st.sampled_from(["MSG", "missing"]),
              st.sampled_from(["", "message", "commit", "merge", "template"]) | RANDOM_TEXT,
              st.sampled_from(["", "HEAD"]) | REVS).map(list),
    st.tuples(st.just("commit-msg"), st.sampled_from(["MSG", "missing", ""])).map(list),
    st.just(["commit-msg"]),
    st.just(["post-commit"]),
    st.tuples(st.just("post-rewrite"), st.sampled_from(["amend", "rebase"]) | RANDOM_TEXT)
    .map(list),
    st.tuples(st.just("pre-push"), st.sampled_from(["origin", "nowhere"]) | RANDOM_TEXT,
              st.sampled_from(["URL", "file:///nowhere"]) | RANDOM_TEXT).map(list),
    st.lists(RANDOM_TEXT, max_size=3),
).map(lambda a: ["hook", *a])


def fill_stdin(data: str | bytes, path: Path) -> bytes:
    if isinstance(data, bytes):
        return data
    shas = {name: git(path, "rev-parse", "-q", "--verify", ref, check=False)
            .stdout.decode().strip() or "0" * 40
            for name, ref in (("FEATURE", "feature"), ("MAIN", "main"))}
    for name, sha in shas.items():
        data = data.replace(name, sha)
    return data.encode("utf-8", "surrogateescape")


@HARDENING
@given(world=WORLDS, args=HOOK_ARGS, stdin=STDIN)
def test_hooks_never_a_traceback(sandbox: Sandbox, world: World, args: list[str],
                                 stdin: str | bytes) -> None:
    path, msg, env = sandbox.make(world)
    args = [str(path.parent / "remote.git") if a == "URL" else a for a in args]
    proc = run_main_stdin(*fill(args, path, msg), cwd=path, stdin=fill_stdin(stdin, path),
                          env=env)
    note_exit(proc)
    assert_no_traceback(proc)


# -- ci and receipts ----------------------------------------------------------------------------
REVIEW_ARGS = st.one_of(
    st.tuples(st.just(["ci"]), opt("--base", REVS), opt("--head", REVS),
              st.sampled_from([[], ["--allow-policy-change"]]), opt("--format", FORMATS))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["receipt", "show"]), st.lists(REVS, max_size=1),
              opt("--format", st.sampled_from(["text", "json", "xml"])))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["receipt", "list"]), st.lists(REVS, max_size=1),
              opt("-n", st.sampled_from(["1", "0", "-1", "x", "100000"])))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["receipt", "verify"]), st.lists(REVS, max_size=1),
              opt("--format", st.sampled_from(["text", "json"])))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["receipt", "record"]), st.lists(REVS, max_size=1))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["receipt"]), st.lists(RANDOM_TEXT, max_size=2))
    .map(lambda parts: [a for p in parts for a in p]),
)


@HARDENING
@given(world=WORLDS, args=REVIEW_ARGS)
def test_ci_and_receipts_never_a_traceback(sandbox: Sandbox, world: World,
                                           args: list[str]) -> None:
    path, _, env = sandbox.make(world)
    proc = run_main(*args, cwd=path, env=env)
    note_exit(proc)
    assert_no_traceback(proc)


# -- prove --------------------------------------------------------------------------------------
PY = sys.executable
PROVE_COMMANDS: list[tuple[list[str], int | None]] = [
    (["true"], 0),
    (["false"], 1),
    ([PY, "-c", "import sys; sys.exit(3)"], 3),
    (["sh", "-c", "echo OK > build.log"], 0),
    (["sh", "-c", "mkdir -p reports && printf '<testsuite/>' > reports/junit.xml"], 0),
    (["sh", "-c", "echo moved >> src/a.py"], 0),      # the content moves under the run
    (["sh", "-c", "printf '\\033[2J\\r\\n::error::x\\n'"], 0),
    ([PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"], None),
]
PROVE_ARGS = st.tuples(
    opt("--name", st.sampled_from(["tests", "build", "a" * 64, "a" * 65, "-x", ".x"])
        | RANDOM_TEXT),
    st.sampled_from([["--"], []]),
    st.one_of(st.sampled_from(range(len(PROVE_COMMANDS))),
              # a program that cannot exist on PATH: never a real one reading our stdin
              RANDOM_TEXT.map(lambda s: f"no-such-program-{s}")),
)


@HARDENING
@given(world=WORLDS, args=PROVE_ARGS)
def test_prove_never_a_traceback(sandbox: Sandbox, world: World,
                                 args: tuple[list[str], list[str], int | str]) -> None:
    path, _, env = sandbox.make(world)
    name, dashes, which = args
    code: int | None = None
    if isinstance(which, int):
        command, code = PROVE_COMMANDS[which]
        if code is None:   # killed by SIGTERM: 128 + 15, as a shell reports it
            code = 143
        allowed = frozenset({code, 2, 3})
    else:
        command, allowed = [which], frozenset({2, 3})
    proc = run_main("prove", *name, *dashes, *command, cwd=path, env=env)
    note_exit(proc)
    assert_no_traceback(proc, allowed, passed_through=code)


# -- setting up: init, install, validate, context, route ----------------------------------------
SETUP_ARGS = st.one_of(
    st.just(["init"]),
    st.tuples(st.just(["install"]),
              st.lists(st.sampled_from(["pre-commit", "commit-msg", "pre-push",
                                        "post-rewrite"]) | RANDOM_TEXT, max_size=2)
              .map(lambda hooks: [a for h in hooks for a in ("--hook", h)]),
              st.sampled_from([[], ["--force"]]))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["validate"]),
              st.lists(st.sampled_from([".avorelo/task.yaml", ".avorelo/policy.yaml",
                                        "TASKFILE", "MSG", "missing.yaml", ".", "src"])
                       | RANDOM_TEXT, max_size=3))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["context"]), opt("--task", TASK_IDS),
              opt("--format", st.sampled_from(["text", "json", "sarif"])))
    .map(lambda parts: [a for p in parts for a in p]),
    st.tuples(st.just(["route"]), opt("--task", TASK_IDS),
              st.lists(st.sampled_from(["src/**", "**", "../x", "[", "docs/*.md"])
                       | RANDOM_TEXT, max_size=2)
              .map(lambda scopes: [a for s in scopes for a in ("--scope", s)]),
              opt("--format", st.sampled_from(["text", "json"])))
    .map(lambda parts: [a for p in parts for a in p]),
    st.lists(RANDOM_TEXT, min_size=1, max_size=3),
)


@HARDENING
@given(world=WORLDS, args=SETUP_ARGS, hooks_path=st.sampled_from([None, "hooks dir", ""]))
def test_setup_commands_never_a_traceback(sandbox: Sandbox, world: World, args: list[str],
                                          hooks_path: str | None) -> None:
    path, msg, env = sandbox.make(world)
    if hooks_path is not None:
        git(path, "config", "core.hooksPath", hooks_path)
    proc = run_main(*fill(args, path, msg), cwd=path, env=env)
    note_exit(proc)
    assert_no_traceback(proc)


# -- the one mapping site, end to end -----------------------------------------------------------
def test_a_bug_is_one_line_exit_3_and_debug_shows_the_trace(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the properties above rely on: a bug anywhere below main() is exit 3, one line
    naming it, and --debug prints the trace (through the real CLI, not _guard alone)."""
    import avorelo_gate.gate.assemble as gate_module

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("planted\x1b[2J bug")

    repo.write("a.txt")
    repo.add()
    monkeypatch.setattr(gate_module, "run_check", broken)
    quiet = run_main("check", cwd=repo.path)
    assert quiet.returncode == 3
    lines = quiet.stderr.splitlines()
    assert len(lines) == 1 and "internal error: ZeroDivisionError" in lines[0], lines
    assert "Traceback" not in quiet.stderr and "--debug" in lines[0]
    loud = run_main("check", "--debug", cwd=repo.path)
    assert loud.returncode == 3
    assert "Traceback (most recent call last)" in loud.stderr and "in broken" in loud.stderr
