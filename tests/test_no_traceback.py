"""Bad arguments anywhere: exit 2 with one line and no traceback; bugs: exit 3, trace on --debug."""
from __future__ import annotations

from pathlib import Path

import click
import pytest
from conftest import GitRepo, assert_clean_error
from inproc import run_main

from avorelo_gate.cli import build_cli
from avorelo_gate.errors import BadInputError
from avorelo_gate.main import _guard


def every_command() -> list[list[str]]:
    """Every command and subcommand path the CLI offers, found from the CLI itself."""
    found: list[list[str]] = []

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, cmd in sorted(group.commands.items()):
            found.append([*prefix, name])
            if isinstance(cmd, click.Group):
                walk(cmd, [*prefix, name])

    walk(build_cli({}), [])
    return found


COMMANDS = every_command()


def single_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("avorelo-gate: "), lines[0]
    return lines[0]


@pytest.fixture
def committed(repo: GitRepo) -> GitRepo:
    repo.write("a.txt")
    repo.add()
    repo.commit("one")
    return repo


def test_the_cli_offers_the_core_commands() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"check", "hook", "init", "install", "validate", "demo"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_unknown_option_is_one_line_exit_2(committed: GitRepo, command: list[str]) -> None:
    proc = run_main(*command, "--no-such-option", cwd=committed.path)
    assert_clean_error(proc, 2, "--no-such-option")
    single_error_line(proc.stderr)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_help_exits_0(committed: GitRepo, command: list[str]) -> None:
    proc = run_main(*command, "--help", cwd=committed.path)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout.lower() and proc.stderr == ""


BAD_ARGS: list[tuple[list[str], tuple[str, ...]]] = [
    (["no-such-command"], ("No such command",)),
    (["check", "--format", "xml"], ("--format", "xml")),
    (["check", "--range", "HEAD"], ("--range", "A..B")),
    (["check", "--range", "nope..HEAD"], ("nope",)),
    (["check", "--range", "HEAD...nope"], ("nope",)),
    (["check", "--commit", "nope"], ("nope",)),
    (["check", "--commit"], ("--commit", "requires an argument")),
    (["check", "--commit", "HEAD", "--range", "HEAD..HEAD"], ("--range", "--commit")),
    (["check", "--task", "../x"], ("--task", "../x")),
    (["check", "--task", "a b"], ("--task",)),
    (["check", "--task", "-x"], ("--task",)),
    (["check", "--task-file", "missing.yaml"], ("missing.yaml",)),
    (["check", "--task-file", "."], (".",)),
    (["check", "--message-file", "missing-msg"], ("missing-msg",)),
    (["hook"], ("usage",)),
    (["hook", "no-such-hook"], ("no-such-hook",)),
    (["hook", "commit-msg"], ("MSGFILE",)),
    (["hook", "commit-msg", "missing-msg"], ("missing-msg",)),
    (["install", "--hook", "no-such-hook"], ("no-such-hook",)),
    (["install", "--hook"], ("--hook", "requires an argument")),
    (["validate", "missing.yaml"], ("missing.yaml",)),
    (["ci"], ("--base",)),
    (["ci", "--base", "nope"], ("nope",)),
    (["prove"], ("no command",)),
]


@pytest.mark.parametrize(("args", "needles"), BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_arguments_are_one_line_exit_2(committed: GitRepo, args: list[str],
                                           needles: tuple[str, ...]) -> None:
    proc = run_main(*args, cwd=committed.path)
    assert_clean_error(proc, 2, *needles)
    single_error_line(proc.stderr)


def test_bad_arguments_through_the_console_entry_point(committed: GitRepo) -> None:
    # The same table, a few rows through a real interpreter (what users and hooks run).
    for args, needles in (BAD_ARGS[1], BAD_ARGS[2], BAD_ARGS[8], BAD_ARGS[14]):
        proc = committed.gate(*args)
        assert_clean_error(proc, 2, *needles)
        single_error_line(proc.stderr)


NEEDS_A_REPO = [["check"], ["check", "--commit", "HEAD"], ["hook", "pre-commit"],
                ["init"], ["install"], ["validate"], ["ci", "--base", "main"],
                ["receipt", "show"], ["receipt", "verify"], ["route"], ["context"]]


@pytest.mark.parametrize("args", NEEDS_A_REPO, ids=[" ".join(a) for a in NEEDS_A_REPO])
def test_outside_a_repository_is_exit_2(tmp_path: Path, args: list[str]) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    proc = run_main(*args, cwd=lonely, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert_clean_error(proc, 2, "not a git repository")
    single_error_line(proc.stderr)
    assert list(lonely.iterdir()) == []     # and nothing written


def test_a_broken_branch_is_exit_3_never_a_first_commit(committed: GitRepo) -> None:
    committed.write("b.txt")
    committed.add()
    (committed.path / ".git" / "refs" / "heads" / "main").write_text("garbage\n")
    proc = committed.gate("check")
    assert_clean_error(proc, 3, "refs/heads/main", "broken")
    committed.git("pack-refs", "--all")
    (committed.path / ".git" / "packed-refs").write_text("0123456789" * 4 + " refs/heads/main\n")
    assert_clean_error(committed.gate("check"), 3, "broken")


def test_head_naming_a_missing_commit_is_exit_3(committed: GitRepo) -> None:
    (committed.path / ".git" / "HEAD").write_text("0123456789" * 4 + "\n")
    assert_clean_error(committed.gate("check"), 3)


def test_an_unborn_branch_is_a_first_commit(repo: GitRepo) -> None:
    repo.write("a.txt")
    repo.add()
    assert run_main("check", cwd=repo.path).returncode == 0


# -- the one mapping site ----------------------------------------------------------------------
def boom() -> int:
    raise RuntimeError("a bug\nspanning lines")


def test_internal_error_is_one_line_exit_3_without_debug(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _guard(boom, debug=False) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = single_error_line(err)
    assert "internal error: RuntimeError: a bug spanning lines" in line
    assert "--debug" in line


def test_internal_error_shows_the_trace_with_debug(capsys: pytest.CaptureFixture[str]) -> None:
    assert _guard(boom, debug=True) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "in boom" in err


def test_expected_failure_never_shows_a_trace_even_with_debug(
        capsys: pytest.CaptureFixture[str]) -> None:
    def bad() -> int:
        raise BadInputError("x.yaml: scope[0]: nope")

    assert _guard(bad, debug=True) == 2
    err = capsys.readouterr().err
    assert err == "avorelo-gate: error: x.yaml: scope[0]: nope\n"


def test_interrupt_is_130(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert _guard(interrupted, debug=False) == 130
    assert "interrupted" in capsys.readouterr().err


def test_debug_flag_is_accepted_anywhere(committed: GitRepo) -> None:
    assert run_main("--debug", "check", cwd=committed.path).returncode == 0
    assert run_main("check", "--debug", cwd=committed.path).returncode == 0
    proc = run_main("check", "--debug", "--range", "HEAD", cwd=committed.path)
    assert_clean_error(proc, 2, "--range")
