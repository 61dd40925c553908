"""The gate adopted on a real history: Flask's repository (5,531 commits, 1,725 merges), from
``../shared/fixtures/flask.bundle``. Adopt, declare a task, do a scoped change with a real pytest
run through ``prove``, push to a bare remote with the hooks installed, and run ``ci`` in a
fresh clone (no local proof records: proof is credited from the receipts)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from test_adoption import next_command, sh

BUNDLE = ROOT.parent / "shared" / "fixtures" / "flask.bundle"
if not BUNDLE.exists():  # the brief's layout: /work/shared beside the checkout
    BUNDLE = Path("/work/shared/fixtures/flask.bundle")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not BUNDLE.exists(),
                       reason=f"the Flask fixture is absent (expected at {BUNDLE}, i.e. "
                       "../shared/fixtures/flask.bundle beside the checkout)"),
]

TASK = """\
id: GATE-1
title: Check the project metadata in a test of its own
scope: ["CHANGES.rst", "tests_gate/**"]
budget: {max_files: 3, max_lines: 60}
tools: [pytest]
proof:
  - command: tests
  - {junit: reports/junit.xml, min_tests: 2}
model: {weight: light, name: claude-haiku-4-5}
"""

# Flask's own suite needs its dependencies installed (werkzeug, jinja2...); this test needs
# none: the standard library reads the project's own pyproject.toml.
TEST = """\
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_project_name():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["name"] == "Flask"


def test_changes_mentions_the_gate():
    assert "avorelo-gate" in (ROOT / "CHANGES.rst").read_text(encoding="utf-8")
"""

PYTEST = (f"{sys.executable} -m pytest tests_gate --junitxml=reports/junit.xml "
          "-p no:cacheprovider -q")


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the test it adds reads TOML (3.11+)")
def test_adopt_and_land_a_scoped_change_on_flask(tmp_path: Path) -> None:
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    git(tmp_path, "clone", "-q", "--bare", str(BUNDLE), str(remote))
    git(tmp_path, "clone", "-q", str(remote), str(work))
    assert int(git(work, "rev-list", "--count", "HEAD")) > 5000

    # Adopt: each step as the previous one says.
    init = sh(work, "avorelo-gate init")
    installed = sh(work, next_command(init.stdout))
    adopted = sh(work, next_command(installed.stdout))
    assert adopted.returncode == 0, adopted.stdout
    pushed = sh(work, "git push origin HEAD refs/notes/avorelo")
    assert pushed.returncode == 0, pushed.stdout

    # The work, on a branch: the task file comes with it (a self-declared task; planning
    # it on main first is the other way).
    base = git(work, "rev-parse", "HEAD").strip()
    git(work, "switch", "-q", "-c", "gate-1")
    (work / ".avorelo" / "tasks" / "GATE-1.yaml").write_text(TASK)
    changes = work / "CHANGES.rst"
    changes.write_text("Checked by avorelo-gate.\n\n" + changes.read_text(encoding="utf-8"))
    (work / "tests_gate").mkdir()
    (work / "tests_gate" / "test_metadata.py").write_text(TEST)
    staged = sh(work, "git add -- .avorelo/tasks/GATE-1.yaml CHANGES.rst tests_gate")
    assert staged.returncode == 0
    proved = sh(work, f"avorelo-gate prove --name tests -- {PYTEST}")
    assert proved.returncode == 0, proved.stdout
    assert "2 passed" in proved.stdout
    made = sh(work, "git commit -q -m 'Check the metadata\n\nTask: GATE-1\nTools-Used: pytest'")
    assert made.returncode == 0, made.stdout
    pushed = sh(work, "git push origin gate-1 refs/notes/avorelo")
    assert pushed.returncode == 0, pushed.stdout
    assert len(pushed.stdout.splitlines()) < 15, pushed.stdout

    # CI: a fresh clone, with the receipts fetched; no prove records there.
    ci_dir = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--branch", "gate-1", str(remote), str(ci_dir))
    git(ci_dir, "fetch", "-q", "origin", "+refs/notes/avorelo:refs/notes/avorelo")
    ci = sh(ci_dir, f"avorelo-gate ci --base {base}")
    assert ci.returncode == 0, ci.stdout
    assert "proof junit:reports/junit.xml: ok" in ci.stdout

    # The same gate on the same history says no to work outside the task.
    (work / "src" / "flask" / "app.py").write_text("# not part of GATE-1\n", encoding="utf-8")
    git(work, "commit", "-q", "--no-verify", "-am", "Sneak\n\nTask: GATE-1")
    refused = sh(work, f"avorelo-gate ci --base {base}")
    assert refused.returncode == 1
    assert "src/flask/app.py: out-of-scope" in refused.stdout
