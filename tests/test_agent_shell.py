"""The shell-command parser that denies commands getting round the gate (agents/shell.py)."""
from __future__ import annotations

import shlex
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avorelo_gate.agents.patch import patch_paths
from avorelo_gate.agents.shell import bypass_reason

DENIED = [
    "git commit --no-verify -m x", "git commit -n -m x", "git commit -anm x",
    "git commit -qam x -n", "git commit --no-verif -m x", "git push --no-verify",
    "git push origin main --no-verify", "FOO=1 BAR=2 git commit -n",
    "env -i PATH=/bin git commit --no-verify", "sudo -u me git commit -n -m x",
    "cd src && git commit -n", "true; git commit -n", "false || git push --no-verify",
    "git status | git commit -n", "git status\ngit commit -n",
    "(git commit --no-verify)", "echo `git commit -n`", 'echo "$(git commit --no-verify)"',
    "bash -c 'git commit --no-verify'", "sh -ec 'git commit -n -m x'",
    "eval git commit --no-verify", "/usr/bin/git commit -n",
    "git -c core.hooksPath=/dev/null commit -m x", "git -c CORE.HooksPath commit",
    "git -C sub -c core.hookspath=x commit", "git --config-env=core.hooksPath=HP commit",
    "git config core.hooksPath /tmp/none", "git config --unset core.hooksPath",
    "git config set core.hooksPath x", "git -c include.path=/tmp/evil commit",
    "GIT_CONFIG_PARAMETERS=\"'core.hooksPath'='/dev/null'\" git commit",
    "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.hooksPath GIT_CONFIG_VALUE_0=/x git commit",
    "git -c alias.ci='commit -n' ci -m x", "git config alias.ci '!git commit --no-verify'",
    "git notes --ref avorelo add -m x", "git notes --ref=refs/notes/avorelo remove HEAD",
    "GIT_NOTES_REF=refs/notes/avorelo git notes add -m x",
    "git -c core.notesRef=refs/notes/avorelo notes add -m x",
    "git update-ref refs/notes/avorelo HEAD", "git update-ref -d refs/notes/avorelo",
    "echo delete | git update-ref --stdin",
    "git push origin :refs/notes/avorelo", "git push --force origin refs/notes/avorelo",
    "git push origin +refs/notes/avorelo", "git push -d origin refs/notes/avorelo",
    "rm -rf .git/refs/notes/avorelo",
    "AVORELO_ALLOW_POLICY_CHANGE=1 git commit -m x", "export AVORELO_ALLOW_POLICY_CHANGE=1",
    "env AVORELO_ALLOW_POLICY_CHANGE=yes git commit", "avorelo-gate check --allow-policy-change",
    "SKIP=avorelo-gate-pre-commit git commit -m x",
    "git commit -m 'unbalanced", 'echo "open',
]
ALLOWED = [
    "git commit -m x", "git commit -am 'fix the thing'", "git commit -mn", "git commit -m -n",
    "git commit -- -n", "git push -n origin main", "git push origin HEAD",
    "git push origin refs/notes/avorelo", "git fetch origin +refs/notes/avorelo:refs/notes/avorelo",
    "git log -n 5", "git notes --ref avorelo show HEAD", "git notes --ref=avorelo list",
    "git config --get core.hooksPath", "git config user.name me",
    "git commit -m 'git commit --no-verify is not allowed'", "echo hi > src/y.py",
    "pytest -q && ruff check .", "avorelo-gate prove --name tests -- pytest -q",
    "bash -c 'git commit -m done'", "git -c user.name=x commit -m y",
    "SKIP=flake8 git commit -m x", "grep -rn git .",
]


@pytest.mark.parametrize("command", DENIED)
def test_a_command_that_gets_round_the_gate_is_denied(command: str) -> None:
    assert bypass_reason(command)


@pytest.mark.parametrize("command", ALLOWED)
def test_an_ordinary_command_is_allowed(command: str) -> None:
    assert bypass_reason(command) is None


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 .,:_/", min_size=1,
               max_size=12).filter(lambda w: w.strip() != "")
SAFE_UNITS = {
    "commit": st.one_of(
        st.just(["-a"]), st.just(["-q"]), st.just(["--amend"]), st.just(["-v"]),
        st.just(["--no-edit"]), st.just(["-s"]), WORD.map(lambda m: ["-m", shlex.quote(m)]),
        WORD.map(lambda m: ["--message=" + shlex.quote(m)]), st.just(["-am", "msg"])),
    "push": st.one_of(
        st.just(["origin"]), st.just(["main"]), st.just(["-u"]), st.just(["--tags"]),
        st.just(["-n"]), st.just(["--dry-run"]), st.just(["HEAD:refs/heads/x"])),
}
PREFIXES = st.sampled_from(["", "FOO=1 ", "env ", "env -i A=b ", "GIT_TRACE=0 ", "command ",
                            "nice -n 5 "])
GLOBALS = st.sampled_from(["", "-c user.name=x ", "-C . ", "--no-pager ",
                           "-c color.ui=never -C . "])
WRAPS = st.sampled_from(["{}", "true && {}", "{} ; echo done", "bash -c {q}", "sh -lc {q}",
                         "cd . && {} || echo failed", "echo start\n{}"])


def _command(prefix: str, glob: str, sub: str, units: list[list[str]], wrap: str) -> str:
    line = f"{prefix}git {glob}{sub} " + " ".join(w for u in units for w in u)
    return wrap.replace("{q}", shlex.quote(line)).replace("{}", line)


@st.composite
def git_commands(draw: st.DrawFn, bypass: bool) -> str:
    sub = draw(st.sampled_from(["commit", "push"]))
    units = draw(st.lists(SAFE_UNITS[sub], max_size=6))
    if bypass:
        flag = draw(st.sampled_from(["--no-verify", "-n", "-qn", "-an", "--no-veri"])
                    if sub == "commit" else st.just("--no-verify"))
        units.insert(draw(st.integers(0, len(units))), [flag])
    return _command(draw(PREFIXES), draw(GLOBALS), sub, units, draw(WRAPS))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(git_commands(bypass=True))
def test_no_verify_anywhere_in_a_commit_or_push_is_denied(command: str) -> None:
    assert bypass_reason(command), command


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(git_commands(bypass=False))
def test_commit_and_push_without_a_bypass_are_allowed(command: str) -> None:
    assert bypass_reason(command) is None, command


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=200))
def test_any_text_gets_an_answer_not_an_exception(command: str) -> None:
    result = bypass_reason(command)
    assert result is None or isinstance(result, str)


def _calls(fn: object, *args: object) -> int:
    """Function calls (Python and C) made while running fn: work, counted, not timed."""
    count = [0]

    def profile(frame: object, event: str, arg: object) -> None:
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(profile)
    try:
        fn(*args)  # type: ignore[operator]
    finally:
        sys.setprofile(None)
    return count[0]


def test_long_patch_bodies_take_linear_work() -> None:
    def body(n: int) -> str:
        hunk = "".join(f"*** Update File: src/f{i}.py\n@@\n-a\n+b\n" for i in range(n))
        return f"*** Begin Patch\n{hunk}*** End Patch\n"

    small, large = _calls(patch_paths, body(500), "codex"), _calls(patch_paths, body(4000),
                                                                     "codex")
    assert large <= 8 * small * 1.2   # 8x the input: linear work, not 64x
    assert len(patch_paths(body(4000), "codex")) == 4000


def test_long_commands_take_linear_work() -> None:
    def command(n: int) -> str:
        return " && ".join(f"git commit -m 'step {i}' -a" for i in range(n))

    small, large = _calls(bypass_reason, command(100)), _calls(bypass_reason, command(800))
    assert large <= 8 * small * 1.2
    assert bypass_reason(command(800) + " && git commit -n")
