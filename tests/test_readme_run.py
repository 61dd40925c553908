"""Every shell block of the README that a user is meant to copy runs here, exactly as written,
in a throwaway repository. A block that is not meant to be copied says so on the line above
it: ``<!-- not run by tests/test_readme.py: <why> -->``."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, GitRepo
from test_adoption import existing_project, sh
from test_readme import README

from avorelo_gate.adopt.init import pre_commit_config

NOT_RUN = "<!-- not run by tests/test_readme.py: "
BLOCK = re.compile(r"^(?:(<!-- not run by tests/test_readme\.py: .*? -->)\n)?"
                   r"```(?:sh|bash|console)\n(.*?)^```", re.M | re.S)
# The first command of each block a test below runs (and the test's name).
RUN = {
    "python3 -m venv .venv && .venv/bin/pip install .": "test_install_blocks_as_written",
    "python3 -m venv ~/.avorelo-gate": "test_install_blocks_as_written",
    "avorelo-gate init       #": "test_adoption_blocks_as_written",
    "avorelo-gate init --pre-commit": "test_adoption_blocks_as_written",
    "git fetch origin '+refs/notes/avorelo": "test_adoption_blocks_as_written",
    "avorelo-gate context --task PAY-7": "test_worked_example_as_written",
    "git add -- src/auth tests/auth": "test_proof_block_as_written",
    "avorelo-gate install --agent claude": (
        "test_agent_install.py::test_the_readmes_agent_commands_run_as_written"),
    "avorelo-gate task start AUTH-142": (
        "test_router_readme.py::test_the_orchestrators_shell_block_runs_as_written"),
}


def first_command(block: str) -> str:
    return next(ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#"))


def block(start: str) -> str:
    found = [b for _, b in BLOCK.findall(README) if first_command(b).startswith(start)]
    assert len(found) == 1, (start, len(found))
    return found[0]


def yaml_block(first_line: str) -> str:
    """A ```yaml block of the README by its first line (e.g. ``# .avorelo/policy.yaml``)."""
    found = [b for b in re.findall(r"^```yaml\n(.*?)^```", README, re.M | re.S)
             if b.startswith(first_line)]
    assert len(found) == 1, first_line
    return found[0]


def run_block(cwd: Path, text: str, env: dict[str, str] | None = None) -> \
        subprocess.CompletedProcess[str]:
    """The block as one bash script that stops at the first failing command."""
    return sh(cwd, "set -e\n" + text, env)


def test_every_copyable_block_is_run_or_says_why_not() -> None:
    for marker, text in BLOCK.findall(README):
        if marker:
            assert marker.startswith(NOT_RUN) and len(marker) > len(NOT_RUN) + 10, marker
            continue
        command = first_command(text)
        assert any(command.startswith(s) for s in RUN), (
            f"README block starting {command!r} is run by no test: add it to RUN in "
            f"{__name__}.py, or mark it {NOT_RUN}<why> -->")
    for start in RUN:
        block(start)   # each one registered is still in the README, once


def test_the_pre_commit_config_shown_is_the_one_init_writes() -> None:
    assert "```yaml\n" + pre_commit_config() + "```" in README


@pytest.mark.parametrize("start", ["avorelo-gate init       #",
                                   "avorelo-gate init --pre-commit"])
def test_adoption_blocks_as_written(make_repo, tmp_path: Path, start: str) -> None:  # type: ignore[no-untyped-def]
    work, _ = existing_project(make_repo, tmp_path)
    adopted = run_block(work.path, block(start))
    assert adopted.returncode == 0, adopted.stdout
    assert "--no-verify" not in adopted.stdout
    assert work.git("status", "--porcelain").stdout == b""
    # A pull request after adoption, checked with the CI block as written.
    work.git("switch", "-q", "-c", "feature")
    work.write("src/app.py", "VALUE = 7\n")
    made = sh(work.path, "git add src/app.py && git commit -q -m 'Seven\n\nTask: TASK-1'")
    assert made.returncode == 0, made.stdout
    assert sh(work.path, "git push -q origin feature refs/notes/avorelo").returncode == 0
    work.git("fetch", "-q", "origin")
    work.git("update-ref", "-d", "refs/notes/avorelo")   # a fresh CI clone has none
    ci = run_block(work.path, block("git fetch origin '+refs/notes/avorelo"))
    assert ci.returncode == 0, ci.stdout
    assert "1 commit(s)" in ci.stdout


ROUND = "def cents(amount):\n    return round(amount, 2)\n"
TEST_ROUND = """\
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "src"))

from payments.round import cents


def test_cents():
    assert cents(1.234) == 1.23
"""


def test_worked_example_as_written(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work: GitRepo = make_repo("work")
    work.write(".avorelo/policy.yaml",
               yaml_block("# .avorelo/policy.yaml (committed by a maintainer)"))
    work.write(".avorelo/tasks/PAY-7.yaml", yaml_block("# .avorelo/tasks/PAY-7.yaml (written"))
    # The pinned blob in the example is git's id of "hello world\n".
    work.write("docs/payments.md", "hello world\n")
    work.write("src/payments/round.py", "def cents(amount):\n    return amount\n")
    work.write(".gitignore", "__pycache__/\n.pytest_cache/\n")
    work.add()
    work.commit("the maintainer's setup")
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")
    assert sh(work.path, "avorelo-gate install").returncode == 0
    # 2. the agent's work, inside the scope
    work.write("src/payments/round.py", ROUND)
    work.write("tests/payments/test_round.py", TEST_ROUND)
    done = run_block(work.path, block("avorelo-gate context --task PAY-7"))
    assert done.returncode == 0, done.stdout
    assert "1 passed" in done.stdout
    assert "verdict: pass" in done.stdout and "approval rule" in done.stdout
    assert subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"],
                          capture_output=True, text=True).stdout.strip() == work.head()


def test_proof_block_as_written(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work: GitRepo = make_repo("work")
    work.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n")
    work.write(".avorelo/tasks/AUTH-142.yaml", "id: AUTH-142\nscope: ['src/auth/**', "
               "'tests/auth/**']\nproof:\n  - command: tests\n  - junit: reports/junit.xml\n")
    work.write("src/auth/token.py", "TTL = 1\n")
    work.add()
    work.commit("setup")
    assert sh(work.path, "avorelo-gate install").returncode == 0
    for attempt in (1, 2):   # twice: the report of the first run must not join the second
        work.write("src/auth/token.py", f"TTL = {attempt + 1}\n")
        work.write("tests/auth/test_token.py",
                   f"def test_ttl():\n    assert {attempt} == {attempt}\n")
        done = run_block(work.path, block("git add -- src/auth tests/auth"))
        assert done.returncode == 0, done.stdout
    assert "reports/junit.xml" not in work.git("ls-files").stdout.decode()


@pytest.mark.slow
def test_install_blocks_as_written(tmp_path: Path) -> None:
    source = tmp_path / "home" / "src" / "avorelo-gate"
    # What a clone has: nothing .gitignore names, which other tests of the same run write to
    # meanwhile (.coverage-data, .hypothesis: a file gone mid-copy fails the copy).
    ignored = [Path(line.strip()).name for line in (ROOT / ".gitignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", *ignored))
    # Nothing of the test's own environment: a fresh HOME and this Python's base install.
    env = {"HOME": str(tmp_path / "home"),
           "PATH": os.pathsep.join([os.path.dirname(sys._base_executable),
                                    "/usr/local/bin", "/usr/bin", "/bin"]),
           "PYTHONPATH": ""}
    installed = run_block(tmp_path, block("python3 -m venv ~/.avorelo-gate"), env)
    assert installed.returncode == 0, installed.stdout
    assert "avorelo-gate, version" in installed.stdout
    demo = run_block(source, block("python3 -m venv .venv && .venv/bin/pip install ."), env)
    assert demo.returncode == 0, demo.stdout[-3000:]
    assert "demo: every step behaved as expected" in demo.stdout
