"""Issue 7, part 2: a user's git config never changes a verdict, at every gate point.

tests/test_hostile_config.py holds ``check`` to this under two dozen settings. Here the same
settings (the issue's ten, and all of them at once) are held against the other gate points:
``hook pre-push``, ``ci``, ``receipt verify`` and ``prove`` (the record it writes, and the
verdict of a ``check`` that reads it). Each runs on a fresh copy of one scenario whose verdict
is interesting (violations of several rules, a missing receipt, renames, a mode change,
non-ASCII and quoted names, decoy trailers) and must equal the verdict without the setting.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo
from hardening_util import clone, git, run_main_stdin, template
from inproc import run_main

POLICY = """\
version: 1
require_task: true
protected: [".github/**"]
receipts: {required: true}
"""
TASK = """\
id: T-1
scope: ["src/**", "sub/**", "docs/**"]
forbid: ["src/secret/**"]
model: {weight: light}
proof: [{command: tests}]
"""
GOOD = """\
Tidy the source

A body that talks about Task=EVIL and mentions
# Task: EVIL-HASH
; Task: EVIL-SEMI

Task: T-1
Task-Scope: src/**, docs/**, sub/**
Signed-off-by: Test Author <author@example.org>
"""
BAD = """\
Sneak things in

Task: T-1
Task-Scope: src/**
"""
# Reads the tracked file from wherever it is run (diff.relative runs from a subdirectory).
PROVE = ["prove", "--name", "tests", "--", "sh", "-c",
         'cat "$(git rev-parse --show-toplevel)/src/a.py" > /dev/null']
URL = "file:///the-remote"


def build_review(where: Path) -> None:
    remote = where / "remote.git"
    git(where, "init", "-q", "--bare", str(remote))
    path = where / "repo"
    path.mkdir()
    repo = GitRepo(path)
    repo.git("init", "-q")
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "".join(f"line {i}\n" for i in range(20)))
    repo.write("src/run.sh", "#!/bin/sh\n")
    repo.write("docs/old name.md", "".join(f"doc {i}\n" for i in range(30)))
    repo.write("sub/x.txt", "x\n")
    repo.write("ünï/ファイル.txt", "u\n")
    repo.add()
    repo.commit("base")
    assert run_main("receipt", "record", cwd=path).returncode == 0
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main", "refs/notes/avorelo")
    repo.git("switch", "-q", "-c", "feature")
    # 1: in scope, with a mode change and a copy; receipt recorded
    repo.write("src/a.py", "".join(f"line {i}\n" for i in range(0, 20, 2)))
    (path / "src/run.sh").chmod(0o755)
    repo.write("src/copy.py", "".join(f"line {i}\n" for i in range(20)))
    repo.write("sub/x.txt", "x\ny\n")
    repo.add()
    repo.commit(GOOD)
    assert run_main("receipt", "record", cwd=path).returncode == 0   # record always records
    # 2: out of the trailer's scope (a rename: two paths), forbidden, protected and
    # non-ASCII; no receipt
    repo.git("mv", "docs/old name.md", "docs/new name.md")
    repo.write("src/secret/k.pem", "KEY\n")
    repo.write(".github/workflows/ci.yml", "on: push\n")
    repo.write("ünï/ファイル.txt", "u\nv\n")
    repo.write("sub/x.txt", "x\ny\nz\n")
    repo.add()
    repo.commit(BAD)
    # a staged change for prove + check
    repo.write("src/a.py", "staged\n")
    repo.add()
    repo.git("gc", "-q")


def verdicts(path: Path, cwd: Path) -> dict[str, Any]:
    """Every gate point's verdict on the scenario, in a form two runs can compare."""
    feature = git(path, "rev-parse", "feature").stdout.decode().strip()
    zero = "0" * len(feature)
    push = run_main_stdin("hook", "pre-push", "origin", URL, cwd=cwd,
                          stdin=f"refs/heads/feature {feature} refs/heads/feature {zero}\n"
                          .encode())
    ci = run_main("ci", "--base", "main", "--head", "feature", "--format", "json", cwd=cwd)
    verify = run_main("receipt", "verify", "main..feature", "--format", "json", cwd=cwd)
    proved = run_main(*PROVE, cwd=cwd)
    latest = path / ".git" / "avorelo" / "proof" / "tests" / "latest.json"
    record = json.loads(latest.read_text(encoding="utf-8"))
    check = run_main("check", "--format", "json", "--message-file", str(path / ".git" / "MSG"),
                     cwd=cwd)
    for proc in (push, ci, verify, proved, check):
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, \
            (proc.args, proc.stderr)
    checked = json.loads(check.stdout)
    for proof in checked["proof"]:
        proof.pop("detail", None)   # "exit 0 at <time>": the run's time, not its verdict
    return {
        "pre-push": (push.returncode, push.stdout, push.stderr),
        "ci": (ci.returncode, json.loads(ci.stdout)),
        "receipt verify": (verify.returncode, json.loads(verify.stdout)),
        "prove": (proved.returncode, {k: record[k] for k in (
            "tree", "tree_after", "changed_during_run", "artifacts", "exit_code", "usable",
            "argv")}),
        "check after prove": (check.returncode, checked),
    }


_BASELINE: dict[str, dict[str, Any]] = {}


@pytest.fixture
def scenario(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A fresh copy of the scenario, and the verdicts on an untouched copy (once a worker)."""
    source = template("review", tmp_path.parent, build_review)
    if "review" not in _BASELINE:
        pristine = clone(source, tmp_path / "pristine") / "repo"
        (pristine / ".git" / "MSG").write_text(GOOD)
        _BASELINE["review"] = verdicts(pristine, pristine)
        shutil.rmtree(tmp_path / "pristine")
    path = clone(source, tmp_path / "copy") / "repo"
    (path / ".git" / "MSG").write_text(GOOD)
    return path, _BASELINE["review"]


def test_the_baseline_is_interesting(scenario: tuple[Path, dict[str, Any]]) -> None:
    """Equality proves nothing unless the verdicts say something: every gate point has
    violations of several rules to lose, and prove has a fresh record to spoil."""
    _, base = scenario
    code, out, err = base["pre-push"]
    assert code == 1 and "src/secret/k.pem: forbidden" in err + out, (out, err)
    ci_code, ci = base["ci"]
    assert ci_code == 1
    assert {"forbidden", "protected", "out-of-scope", "receipt-missing"} <= {
        v["rule"] for v in ci["violations"]}
    assert {"docs/old name.md", "docs/new name.md", "ünï/ファイル.txt"} <= {
        v.get("path") for v in ci["violations"]} | {
        p for c in ci.get("commits", []) for p in (v.get("path") for v in c["violations"])}
    verify_code, verified = base["receipt verify"]
    assert verify_code == 1
    assert sorted(c["status"] for c in verified["commits"]) == ["missing", "valid"]
    prove_code, record = base["prove"]
    assert prove_code == 0 and record["usable"] and record["changed_during_run"] == []
    check_code, checked = base["check after prove"]
    assert check_code == 0, checked["violations"]
    assert [(p["requirement"], p["status"]) for p in checked["proof"]] == [("command:tests",
                                                                            "ok")]


# The ten settings, with the values that change porcelain the most.
HOSTILE = [
    ("core.quotepath", "true"),
    ("diff.relative", "true"),
    ("diff.renames", "false"),
    ("diff.renames", "copies"),
    ("diff.renameLimit", "1"),
    ("color.ui", "always"),
    ("diff.external", "/bin/false"),
    ("core.commentChar", ";"),
    ("trailer.separators", "="),
    ("diff.noprefix", "true"),
    ("core.fileMode", "false"),
]


@pytest.mark.parametrize(("key", "value"), HOSTILE, ids=[f"{k}={v}" for k, v in HOSTILE])
def test_same_verdicts_under_hostile_config(scenario: tuple[Path, dict[str, Any]], key: str,
                                            value: str) -> None:
    path, base = scenario
    git(path, "config", key, value)
    # diff.relative only bites below the top: run from a subdirectory there.
    cwd = path / "sub" if key == "diff.relative" else path
    assert verdicts(path, cwd) == base


def test_same_verdicts_with_everything_at_once(scenario: tuple[Path, dict[str, Any]]) -> None:
    path, base = scenario
    for key, value in HOSTILE:
        if key not in ("diff.renames",):
            git(path, "config", key, value)
    git(path, "config", "diff.renames", "copies")
    git(path, "config", "color.diff", "always")
    git(path, "config", "log.showSignature", "true")
    git(path, "config", "notes.displayRef", "refs/notes/avorelo")
    assert verdicts(path, path / "sub") == base
