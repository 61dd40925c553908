"""A user's git config must never change a verdict: the same JSON under hostile settings."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import GitRepo
from inproc import run_main

POLICY = """\
version: 1
require_task: true
protected: [".github/**"]
"""
TASK = """\
id: T-1
scope: ["src/**", "sub/**"]
forbid: ["src/secret/**"]
budget: {max_files: 50, max_lines: 1000}
model: {weight: light}
"""
MESSAGE = """\
Tidy the source

A body that talks about Task=EVIL and mentions
# Task: EVIL-HASH
; Task: EVIL-SEMI

Task: T-1
Task-Scope: src/**, docs/**, sub/**, .github/**
Signed-off-by: Test Author <author@example.org>
"""


def build_scenario(repo: GitRepo) -> Path:
    """A staged change with every kind of entry and violations of several rules."""
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "".join(f"line {i}\n" for i in range(20)))
    repo.write("src/run.sh", "#!/bin/sh\n")
    repo.write("docs/old name.md", "".join(f"doc {i}\n" for i in range(30)))
    repo.write("sub/x.txt", "x\n")
    repo.write("sub/bin.dat", b"\0\1")
    repo.write("ünï/ファイル.txt", "u\n")
    repo.add()
    base = repo.commit("base")
    repo.write("src/a.py", "".join(f"line {i}\n" for i in range(0, 20, 2)))
    repo.git("mv", "docs/old name.md", "docs/new name.md")       # a rename: two paths
    repo.write("src/secret/k.pem", "KEY\n")                         # forbidden
    (repo.path / "src/run.sh").chmod(0o755)                         # mode change
    repo.write(".github/workflows/ci.yml", "on: push\n")            # protected
    repo.write("sub/x.txt", "x\ny\n")
    repo.write("sub/bin.dat", b"\0\2")
    repo.write("ünï/ファイル.txt", "u\nv\n")
    repo.write("src/copy.py", "".join(f"line {i}\n" for i in range(20)))  # a copy of a.py
    repo.add()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{base},sub/module")
    msg = repo.path.parent / "MSG"
    msg.write_text(MESSAGE)
    return msg


def verdict(repo: GitRepo, msg: Path, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> dict[str, object]:
    args = ("check", "--format", "json", "--message-file", str(msg))
    # Config lives in the repository, so the in-process entry point sees exactly what a
    # subprocess would; environment variables get a real subprocess.
    proc = (repo.gate(*args, cwd=cwd, env=env) if env
            else run_main(*args, cwd=cwd or repo.path))
    result: dict[str, object] = json.loads(proc.stdout)
    assert proc.returncode == (0 if result["verdict"] == "pass" else 1), proc.stderr
    assert result["exit_code"] == proc.returncode
    return result


@pytest.fixture
def scenario(repo: GitRepo) -> tuple[GitRepo, Path, dict[str, object]]:
    msg = build_scenario(repo)
    baseline = verdict(repo, msg)
    # The baseline must itself be the interesting verdict, or equality proves nothing.
    rules = {v["rule"] for v in baseline["violations"]}  # type: ignore[attr-defined]
    assert {"out-of-scope", "forbidden", "protected", "weight-budget"} <= rules, rules
    assert baseline["task"]["id"] == "T-1"  # type: ignore[index]
    assert baseline["diff"] == {"files": 11, "added": 55, "removed": 40}
    return repo, msg, baseline


HOSTILE = [
    ("core.quotepath", "true"),
    ("diff.renames", "false"),
    ("diff.renames", "true"),
    ("diff.renames", "copies"),
    ("diff.renameLimit", "1"),
    ("color.ui", "always"),
    ("color.diff", "always"),
    ("diff.external", "/bin/false"),
    ("diff.noprefix", "true"),
    ("diff.mnemonicPrefix", "true"),
    ("diff.suppressBlankEmpty", "true"),
    ("diff.ignoreSubmodules", "all"),
    ("diff.orderFile", "/dev/null"),
    ("core.commentChar", ";"),
    ("core.commentChar", "auto"),
    ("trailer.separators", "="),
    ("trailer.separators", ":="),
    ("trailer.ifexists", "replace"),
    ("trailer.task.key", "Task-Scope"),
    ("core.fileMode", "false"),
    ("core.ignoreCase", "true"),
    ("core.precomposeUnicode", "true"),
    ("status.relativePaths", "true"),
    ("log.showSignature", "true"),
    ("submodule.module.ignore", "all"),
]


@pytest.mark.parametrize(("key", "value"), HOSTILE, ids=[f"{k}={v}" for k, v in HOSTILE])
def test_same_verdict_under_hostile_config(scenario: tuple[GitRepo, Path, dict[str, object]],
                                           key: str, value: str) -> None:
    repo, msg, baseline = scenario
    repo.git("config", key, value)
    assert verdict(repo, msg) == baseline


def test_same_verdict_with_diff_relative_from_a_subdirectory(
        scenario: tuple[GitRepo, Path, dict[str, object]]) -> None:
    repo, msg, baseline = scenario
    repo.git("config", "diff.relative", "true")
    assert verdict(repo, msg, cwd=repo.path / "sub") == baseline
    assert verdict(repo, msg, cwd=repo.path / "src" / "secret") == baseline


def test_same_verdict_with_git_external_diff_env(
        scenario: tuple[GitRepo, Path, dict[str, object]]) -> None:
    repo, msg, baseline = scenario
    env = {"GIT_EXTERNAL_DIFF": "/bin/false", "GIT_DIFF_OPTS": "--unified=0",
           "GIT_PAGER": "/bin/false", "PAGER": "/bin/false", "LANG": "de_DE.UTF-8"}
    assert verdict(repo, msg, env=env) == baseline


def test_same_verdict_with_everything_at_once(
        scenario: tuple[GitRepo, Path, dict[str, object]]) -> None:
    repo, msg, baseline = scenario
    for key, value in HOSTILE:
        if key == "core.commentChar":
            continue  # set once below; two values would only be the last one anyway
        repo.git("config", "--add", key, value)
    repo.git("config", "core.commentChar", ";")
    repo.git("config", "diff.relative", "true")
    assert verdict(repo, msg, cwd=repo.path / "sub",
                   env={"GIT_EXTERNAL_DIFF": "/bin/false"}) == baseline


def test_same_verdict_with_a_global_attributes_file(
        scenario: tuple[GitRepo, Path, dict[str, object]], tmp_path: Path) -> None:
    # A user's attributes marking everything binary would zero every line count (and so
    # every budget); textconv drivers would rewrite what is counted.
    repo, msg, baseline = scenario
    attrs = tmp_path / "attributes"
    attrs.write_text("* -diff diff=evil\n")
    repo.git("config", "core.attributesFile", str(attrs))
    repo.git("config", "diff.evil.textconv", "false")
    repo.git("config", "diff.evil.binary", "true")
    assert verdict(repo, msg) == baseline


def test_same_verdict_with_git_config_parameters_env(
        scenario: tuple[GitRepo, Path, dict[str, object]]) -> None:
    repo, msg, baseline = scenario
    env = {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "diff.relative",
           "GIT_CONFIG_VALUE_0": "true", "GIT_CONFIG_KEY_1": "core.quotepath",
           "GIT_CONFIG_VALUE_1": "true"}
    assert verdict(repo, msg, cwd=repo.path / "sub", env=env) == baseline


def test_hostile_config_cannot_hide_a_path_from_the_engine(repo: GitRepo) -> None:
    """Sensitivity check: the scenario's violations are found path by path, by name."""
    msg = build_scenario(repo)
    repo.git("config", "core.quotepath", "true")
    paths = {v["path"] for v in verdict(repo, msg, cwd=repo.path / "sub")["violations"]}  # type: ignore[attr-defined]
    assert {"docs/old name.md", "docs/new name.md", "src/secret/k.pem",
            ".github/workflows/ci.yml", "ünï/ファイル.txt"} <= paths


@pytest.mark.parametrize("where", [".gitattributes", ".git/info/attributes"])
def test_local_attributes_cannot_zero_line_counts(
        scenario: tuple[GitRepo, Path, dict[str, object]], where: str) -> None:
    # An untracked .gitattributes or info/attributes is local state CI never sees: marking
    # text as binary must not hide lines from the budgets. Real binaries stay binary.
    repo, msg, baseline = scenario
    repo.write(where, "* -diff\n*.py binary\n")
    assert verdict(repo, msg) == baseline
    assert verdict(repo, msg, cwd=repo.path / "sub") == baseline
