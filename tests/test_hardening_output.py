"""Issue 7, part 6: what the gate prints can never be used against its reader.

tests/test_report_formats.py (pure renderers) and tests/test_ci.py (``ci`` on hostile paths
and messages) hold the GitHub format to "no workflow command but the gate's own". Here the
same holds for branch names (pre-push notes, ci), for the job summary (Markdown: no forged
rows, headings or HTML), and for the text format a person reads in a terminal: a path,
message, trailer, model name, task title or branch name holding an escape sequence (clear the
screen, set the title, move the cursor, fake a line with a carriage return) is shown escaped,
never sent raw, by every command that prints repository data.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import GitRepo
from hardening_util import assert_no_traceback, git, raw_controls, run_main_stdin
from inproc import run_main
from test_report_formats import run_as_runner

GITHUB = {"GITHUB_ACTIONS": "true"}

# Every byte a terminal acts on, in the places a repository can hold it.
ESCAPES = ["\x1b[2J", "\x1b]0;pwned\x07", "\x1b[31m", "\x9b2J", "\r", "\x08\x08",
           "\u202e", "\u2028", "\x85", "\x7f", "\x00"[:0] + "\x0c"]
HOSTILE_NAMES = [f"src/e{i}{e}x.py" for i, e in enumerate(ESCAPES)] + [
    "docs/out\x1b[2Jside.md", "src/nl\nfake: PASS.py", "src/pct%0A::error::x.py"]
# Legal in a ref name (no ASCII controls, space, ':', '~', '^', '?', '*', '[', '\\').
HOSTILE_BRANCHES = ["pct%0A%3A%3Aerror%3A%3Apwned", "c1\u009b2J", "ls\u2028injected",
                    "nel\u0085line", "rtl\u202ename", "comma,title=forged", "amp&lt;b&gt;"]
MESSAGE = ("Subject \x1b[2J clears\n\nBody \x1b]0;title\x07 and \x9b31m\n\n"
           "Task: T-1\nModel: evil\x1b[2Jmodel\nModel-Weight: light\n"
           "Assisted-by: agent:\x1b[31mred\nTools-Used: \x1b[1mbold\n")
TASK = ('id: T-1\ntitle: "title \\e[2J \\x9b"\nscope: ["src/**"]\n'
        'model: {weight: light, name: "name\\e]0;t\\a"}\n'
        'context: ["src/**"]\n')


def hostile_repo(repo: GitRepo, remote: Path) -> str:
    """Hostile names, message, trailers and task text, committed on a branch with receipts
    recorded and pushed; returns the hostile commit."""
    git(repo.path.parent, "init", "-q", "--bare", str(remote))
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("base")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    repo.git("switch", "-q", "-c", "feature")
    for name in HOSTILE_NAMES:
        repo.write(name, "x\n")
    repo.add()
    sha = repo.commit(MESSAGE)
    assert run_main("receipt", "record", cwd=repo.path).returncode == 0   # record always records
    return sha


TEXT_COMMANDS: list[tuple[str, ...]] = [
    ("check", "--commit", "HEAD"),
    ("check", "--range", "main..feature"),
    ("ci", "--base", "main", "--format", "text"),
    ("receipt", "show"),
    ("receipt", "list"),
    ("receipt", "verify", "main..feature"),
    ("receipt", "record"),
    ("context",),
    ("route",),
    ("route", "--task", "T-1"),
    ("validate",),
]
# The exact verdict of each (issue 17): the hostile names are outside T-1's scope, so the
# commands that judge the feature commit fail; its receipt is recorded and valid.
TEXT_CODES = {("check", "--commit", "HEAD"): 1, ("check", "--range", "main..feature"): 1,
              ("ci", "--base", "main", "--format", "text"): 1}


@pytest.fixture
def hostile(repo: GitRepo, tmp_path: Path) -> tuple[GitRepo, str]:
    return repo, hostile_repo(repo, tmp_path / "remote.git")


@pytest.mark.parametrize("args", TEXT_COMMANDS, ids=[" ".join(a) for a in TEXT_COMMANDS])
def test_text_output_never_carries_a_raw_escape(hostile: tuple[GitRepo, str],
                                                args: tuple[str, ...]) -> None:
    repo, _ = hostile
    proc = run_main(*args, cwd=repo.path)
    assert_no_traceback(proc, frozenset({TEXT_CODES.get(args, 0)}))
    shown = proc.stdout + proc.stderr
    assert raw_controls(shown) == [], (raw_controls(shown), shown[-3000:])


def test_staged_and_hook_output_never_carries_a_raw_escape(hostile: tuple[GitRepo, str],
                                                           tmp_path: Path) -> None:
    repo, sha = hostile
    msg = tmp_path / "MSG"
    msg.write_text(MESSAGE)
    for name in HOSTILE_NAMES:
        repo.write(name, "changed\n")
    repo.add()
    runs = [run_main("check", "--message-file", str(msg), cwd=repo.path),
            run_main("check", "--worktree", cwd=repo.path),
            run_main("hook", "pre-commit", cwd=repo.path),
            run_main("hook", "commit-msg", str(msg), cwd=repo.path),
            run_main("prove", "--name", "tests", "--", "true", cwd=repo.path),
            run_main_stdin("hook", "pre-push", "origin", "URL", cwd=repo.path,
                           stdin=f"refs/heads/feature {sha} refs/heads/feature "
                                 f"{'0' * 40}\n".encode())]
    # every judging run fails (hostile names out of scope), except pre-commit, which cannot know
    # the task yet (a Task: trailer may pick another) and defers scope to commit-msg; prove: 0
    for proc, code in zip(runs, (1, 1, 0, 1, 0, 1), strict=True):
        assert_no_traceback(proc, frozenset({code}))
        shown = proc.stdout + proc.stderr
        assert raw_controls(shown) == [], (proc.args, raw_controls(shown), shown[-3000:])


def test_the_escapes_are_shown_not_dropped(hostile: tuple[GitRepo, str]) -> None:
    """Escaping is not deleting: a reviewer still sees that the name holds an escape."""
    repo, _ = hostile
    text = run_main("check", "--commit", "HEAD", cwd=repo.path).stdout
    assert "docs/out\\x1b[2Jside.md" in text, text
    shown = run_main("receipt", "show", cwd=repo.path).stdout
    assert "\\x1b" in shown and "evil" in shown, shown


# -- branch names ---------------------------------------------------------------------------------
def test_branch_names_never_forge_a_workflow_command(hostile: tuple[GitRepo, str]) -> None:
    repo, sha = hostile
    zero = "0" * 40
    for branch in HOSTILE_BRANCHES:
        repo.git("branch", branch, sha)
    # notes name the refs: deleted on the remote, already there, a tag
    lines = [f"refs/heads/{b} {zero} refs/heads/{b} {sha}" for b in HOSTILE_BRANCHES[:3]]
    lines += [f"refs/heads/{b} {sha} refs/heads/{b} {zero}" for b in HOSTILE_BRANCHES[3:]]
    proc = run_main_stdin("hook", "pre-push", "origin", "file:///x", cwd=repo.path,
                          stdin=("\n".join(lines) + "\n").encode(), env=GITHUB)
    assert_no_traceback(proc, frozenset({1}))   # the pushed commit's names are out of scope
    commands, _ = run_as_runner(proc.stdout)
    assert {c.name for c in commands} <= {"error", "warning", "notice"}
    notices = [c.data for c in commands if c.name == "notice"]
    for branch in HOSTILE_BRANCHES[:3]:   # the runner reads back exactly the gate's words
        assert f"refs/heads/{branch}: deleted on the remote, nothing to check" in notices
    assert raw_controls(proc.stderr) == []
    text = run_main_stdin("hook", "pre-push", "origin", "file:///x", cwd=repo.path,
                          stdin=("\n".join(lines) + "\n").encode())
    assert raw_controls(text.stdout + text.stderr) == [], text.stdout


def test_ci_with_hostile_branch_names_and_the_step_summary(hostile: tuple[GitRepo, str],
                                                           tmp_path: Path) -> None:
    repo, sha = hostile
    for branch in HOSTILE_BRANCHES:
        repo.git("branch", branch, sha)
    summary = tmp_path / "summary.md"
    env = {**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)}
    for branch in HOSTILE_BRANCHES:
        proc = run_main("ci", "--base", "main", "--head", branch, cwd=repo.path, env=env)
        assert_no_traceback(proc, frozenset({1}))
        commands, _ = run_as_runner(proc.stdout)
        assert {c.name for c in commands} <= {"error", "warning", "notice"}
        files = {c.props.get("file") for c in commands if c.name == "error"}
        assert files - {None} <= set(HOSTILE_NAMES), files
    # a base that is not there: the error line names it, on one line, and is no command
    missing = run_main("ci", "--base", "nope%0A::error::x", cwd=repo.path, env=env)
    assert missing.returncode == 2
    assert all(not ln.lstrip().startswith("::") for ln in missing.stderr.split("\n"))
    assert_summary_is_inert(summary.read_text(encoding="utf-8"))


OUR_HEADINGS = re.compile(r"^(## avorelo-gate: .*|### (Violations|Commits|Proof|Warnings|"
                          r"Notes))$")


def assert_summary_is_inert(summary: str) -> None:
    """Read as GitHub renders Markdown: only the gate's headings, tables whose rows keep their
    column count, and no HTML but the <br> the gate writes."""
    assert summary.count("## avorelo-gate") == len(HOSTILE_BRANCHES)
    columns = 0
    for line in summary.split("\n"):
        if line.startswith("#"):
            assert OUR_HEADINGS.match(line), line
        if line.startswith("|"):
            cells = len(re.findall(r"(?<!\\)\|", line)) - 1
            if set(line) <= set("|- "):
                columns = cells           # the separator row after a header
            elif columns:
                assert cells == columns, line
        else:
            columns = 0
        assert "<" not in line.replace("<br>", ""), line
        assert "](" not in line.replace("\\]\\(", ""), line


def test_step_summary_with_hostile_paths_and_messages(hostile: tuple[GitRepo, str],
                                                      tmp_path: Path) -> None:
    repo, _ = hostile
    for name in ("docs/x|y|z.md", "docs/<img src=x onerror=alert(1)>.md",
                 "docs/[click](javascript:alert(1)).md", "docs/## Forged.md",
                 "docs/a\n## Forged heading.md", "docs/`code`*em*_u_.md"):
        repo.write(name, "x\n")
    repo.add()
    repo.commit("More\n\nTask: T-1\nModel: <script>alert(1)</script>|cell")
    summary = tmp_path / "summary.md"
    proc = run_main("ci", "--base", "main", cwd=repo.path,
                    env={**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1
    text = summary.read_text(encoding="utf-8")
    assert "Violations" in text and "x\\|y\\|z" in text, text
    for line in text.split("\n"):
        assert "<" not in line.replace("<br>", ""), line
        if line.startswith("#"):
            assert OUR_HEADINGS.match(line), line


def test_non_utf8_names_reach_every_format(repo: GitRepo, tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in a name: shown as \\xNN, never a crash writing them."""
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: ['src/**']\n")
    repo.write("src/a.py")
    repo.add()
    repo.commit("base")
    repo.write(os.fsdecode(b"docs/caf\xe9\x1b[2J.md"), "x\n")
    repo.add()
    repo.commit("latin-1\n\nTask: T-1")
    for fmt in ("text", "json", "sarif", "junit", "github"):
        summary = tmp_path / f"summary-{fmt}.md"
        proc = run_main("check", "--commit", "HEAD", "--format", fmt, cwd=repo.path,
                        env={"GITHUB_STEP_SUMMARY": str(summary)})
        assert_no_traceback(proc)
        assert proc.returncode == 1
        if fmt == "text":   # the machine formats carry data exactly (JSON and XML escape it)
            assert raw_controls(proc.stdout) == [], (fmt, proc.stdout)
        if fmt == "json":
            [v] = json.loads(proc.stdout)["violations"]
            assert "caf" in v["path"]
