"""Help that a new user reads: it never runs a hook, lists --debug, and never cuts a word."""
from __future__ import annotations

import re

import pytest
from conftest import GitRepo

from avorelo_gate.points.dispatch import HOOK_HANDLERS


@pytest.mark.parametrize("hook", sorted(HOOK_HANDLERS))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_hook_help_prints_help_and_runs_nothing(repo: GitRepo, hook: str, flag: str) -> None:
    # An out-of-scope staged file and a required task: running the hook would exit 1.
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n")
    repo.add()
    repo.commit("policy")
    repo.write("docs/x.md")
    repo.add()
    proc = repo.gate("hook", hook, flag)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"avorelo-gate hook {hook}")
    assert "usage: avorelo-gate hook" in proc.stdout
    assert "PASS" not in proc.stdout and "FAIL" not in proc.stdout
    assert not (repo.path / ".git" / "avorelo" / "prepare-commit-msg.json").exists()


def test_top_level_help_documents_debug(repo: GitRepo) -> None:
    proc = repo.gate("--help")
    assert proc.returncode == 0
    options = proc.stdout.split("Options:")[1].split("Commands:")[0]
    assert "--debug" in options and "trace" in options


def command_rows(text: str) -> dict[str, str]:
    """The 'Commands:' section as name -> its (wrapped) description joined on one line."""
    rows: dict[str, str] = {}
    name = ""
    for line in text.split("Commands:")[1].splitlines():
        found = re.match(r"^  (\S+)\s+(.*)$", line)
        if found:
            name = found.group(1)
            rows[name] = found.group(2)
        elif line.strip() and name:
            rows[name] += " " + line.strip()
    return rows


@pytest.mark.parametrize("args", [["--help"], ["receipt", "--help"]])
def test_command_descriptions_are_whole_sentences(repo: GitRepo, args: list[str]) -> None:
    rows = command_rows(repo.gate(*args).stdout)
    assert rows
    for name, text in rows.items():
        assert not text.endswith("..."), (name, text)
        assert text.endswith((".", ")")), (name, text)
