"""Scenarios that tell the right rule from its plausible wrong neighbours (issue 17).

Each scenario is built so that the rule the contract names and the neighbour an implementation
could easily take instead (the first new commit's parent for the remote's tip, the base tip for
the merge base, the oldest ``Task:`` for the newest) give different verdicts; each test asserts
the exact exit code, and where it helps shows the neighbour's verdict too.
Real git, real hooks, a real bare remote.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import PACKAGE_ROOT, GitRepo, ci_runner

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(PACKAGE_ROOT)}
LOOSE = "version: 1\nrequire_task: true\n"
TIGHT = 'version: 1\nrequire_task: true\nprotected: ["src/secret/**"]\n'
TASK = 'id: T-1\nscope: ["src/**"]\n'


def commit(repo: GitRepo, path: str, message: str, content: str = "x\n") -> str:
    repo.write(path, content)
    repo.add()
    return repo.commit(message)


def said(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def gate_json(repo: GitRepo, *args: str) -> tuple[int, dict[str, Any]]:
    proc = repo.gate(*args, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def rules(report: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["rule"], v["path"]) for v in report["violations"]}


# -- pre-push: the remote's old tip, not the first new commit's parent -------------------------
def test_pre_push_non_fast_forward_uses_the_remotes_tip_policy(make_repo, tmp_path: Path,
                                                               ) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work: GitRepo = make_repo("work")
    work.write(".avorelo/policy.yaml", LOOSE)
    work.write(".avorelo/task.yaml", TASK)
    work.write("src/a.py", "a\n")
    work.add()
    loose = work.commit("init")
    # A maintainer tightens the policy on the remote (its own, explicit change).
    tight = commit(work, ".avorelo/policy.yaml", "protect secrets", TIGHT)
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")
    assert work.gate("install", env=HOOK_ENV).returncode == 0
    # Someone rewrites main from before the tightening and touches what it protects: the
    # push is not a fast-forward, so the remote's tip (TIGHT) is not the parent (LOOSE).
    work.git("reset", "-q", "--hard", loose)
    work.git("config", "core.hooksPath", "/dev/null")      # an agent skipping the hooks
    rewritten = commit(work, "src/secret/key.py", "rotate\n\nTask: T-1")
    work.git("config", "--unset", "core.hooksPath")
    assert work.git("rev-parse", f"{rewritten}~1").stdout.decode().strip() == loose
    # The neighbour's answer: judged under the parent's policy the commit passes.
    neighbour, _ = gate_json(work, "check", "--commit", rewritten)
    assert neighbour == 0
    proc = work.git("push", "--force", "origin", "main", check=False, env=HOOK_ENV)
    assert proc.returncode == 1, said(proc)       # git: a hook refused
    assert "src/secret/key.py: protected" in said(proc), said(proc)
    on_remote = subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "main"],
                               capture_output=True, check=True).stdout.decode().strip()
    assert on_remote == tight


# -- ci: the merge base's policy, not the base branch's tip ------------------------------------
def ci_project(make_repo, policy: str) -> GitRepo:  # type: ignore[no-untyped-def]
    repo: GitRepo = make_repo("project")
    repo.write(".avorelo/policy.yaml", policy)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("init")
    repo.git("switch", "-q", "-c", "feature")
    return repo


def test_ci_base_branch_loosening_later_does_not_judge_the_branch(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = ci_project(make_repo, TIGHT)
    commit(repo, "src/secret/key.py", "rotate\n\nTask: T-1")
    repo.git("switch", "-q", "main")
    commit(repo, ".avorelo/policy.yaml", "loosen", LOOSE)  # main's tip no longer protects it
    repo.git("switch", "-q", "feature")
    code, report = gate_json(repo, "ci", "--base", "main", "--head", "feature")
    assert code == 1, report
    assert ("protected", "src/secret/key.py") in rules(report)


def test_ci_base_branch_tightening_later_does_not_judge_the_branch(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = ci_project(make_repo, LOOSE)
    commit(repo, "src/secret/key.py", "rotate\n\nTask: T-1")
    repo.git("switch", "-q", "main")
    commit(repo, ".avorelo/policy.yaml", "tighten", TIGHT)
    repo.git("switch", "-q", "feature")
    code, report = gate_json(repo, "ci", "--base", "main", "--head", "feature")
    assert code == 0, report


# -- ci: the range is judged by head's Task:, paths by the commit that touched them --------------
# Issue 13: "each commit judged by its own task, and the range as a whole by the tasks the range
# declares (a path is covered when a commit that touched it was allowed to); head's task is
# never replaced by an older one."
def two_task_range(make_repo, first: str, second: str,  # type: ignore[no-untyped-def]
                   paths: dict[str, str] | None = None) -> GitRepo:
    """DOC-7 may touch docs/ only; WIDE-1 docs/ and src/."""
    repo = ci_project(make_repo, LOOSE)
    repo.write(".avorelo/tasks/DOC-7.yaml", 'id: DOC-7\nscope: ["docs/**"]\n')
    repo.write(".avorelo/tasks/WIDE-1.yaml", 'id: WIDE-1\nscope: ["docs/**", "src/**"]\n')
    repo.add()
    repo.git("switch", "-q", "main")
    repo.commit("plan both tasks")
    repo.git("switch", "-q", "-C", "feature")
    paths = paths or {"DOC-7": "docs/guide.md", "WIDE-1": "src/b.py"}
    for task in (first, second):
        commit(repo, paths[task], f"work\n\nTask: {task}")
    return repo


def test_ci_range_task_is_heads_when_ids_differ(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = two_task_range(make_repo, "DOC-7", "WIDE-1")
    code, report = gate_json(repo, "ci", "--base", "main", "--head", "feature")
    # Head's task, WIDE-1, judges the range; the oldest, DOC-7, would refuse src/b.py.
    assert code == 0, report
    assert report["task"]["id"] == "WIDE-1"
    assert any("the range by head's, WIDE-1" in w for w in report["warnings"])


def test_ci_range_keeps_heads_task_and_covers_paths_by_their_commits(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = two_task_range(make_repo, "WIDE-1", "DOC-7")
    code, report = gate_json(repo, "ci", "--base", "main", "--head", "feature")
    # Head's DOC-7 judges the range (never the older WIDE-1), and src/b.py is covered because
    # the WIDE-1 commit that touched it was allowed to: each commit passes, so does the range.
    assert code == 0, report
    assert report["task"]["id"] == "DOC-7"
    assert [c["verdict"] for c in report["commits"]] == ["pass", "pass"]
    assert any("checked by the task of the commit that touched them" in n
               for n in report.get("notes", ()))


def test_ci_range_path_no_commit_was_allowed_to_touch_fails(make_repo) -> None:  # type: ignore[no-untyped-def]
    # The DOC-7 commit touches src/b.py, which its own task refuses: coverage comes only from a
    # commit that was allowed, so neither that commit nor the range passes.
    repo = two_task_range(make_repo, "WIDE-1", "DOC-7",
                          {"WIDE-1": "docs/intro.md", "DOC-7": "src/b.py"})
    code, report = gate_json(repo, "ci", "--base", "main", "--head", "feature")
    assert code == 1, report
    assert report["task"]["id"] == "DOC-7"
    assert [c["verdict"] for c in report["commits"]] == ["pass", "fail"]
    assert ("out-of-scope", "src/b.py") in rules(report)


# -- ci: a receipt credits proof only for the commit it was recorded for -----------------------
def test_ci_never_credits_a_receipt_copied_from_a_commit_with_the_same_tree(
        make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prove = ("prove", "--name", "tests", "--", sys.executable, "-c", "print('ok')")
    dev: GitRepo = make_repo("dev")
    dev.write(".avorelo/tasks/T-1.yaml", "id: T-1\nscope: ['src/**']\nproof: [{command: tests}]\n")
    dev.write("src/app.py", "a = 1\n")
    dev.add()
    dev.commit("init")
    assert dev.gate("install", env=HOOK_ENV).returncode == 0
    dev.git("checkout", "-q", "-b", "feature")
    shas = []
    for content in ("a = 2\n", "a = 3\n"):       # two proven commits, through the hooks
        dev.write("src/app.py", content)
        dev.add()
        assert dev.gate(*prove, env=HOOK_ENV).returncode == 0
        made = dev.git("commit", "-q", "-m", "change\n\nTask: T-1", check=False, env=HOOK_ENV)
        assert made.returncode == 0, said(made)
        shas.append(dev.head())
    # Back to the first commit's content: the same tree, another commit, never proven as such.
    dev.write("src/app.py", "a = 2\n")
    dev.add()
    dev.git("commit", "-q", "--no-verify", "-m", "back\n\nTask: T-1", env=HOOK_ENV)
    back = dev.head()
    assert dev.git("rev-parse", f"{back}^{{tree}}").stdout == \
        dev.git("rev-parse", f"{shas[0]}^{{tree}}").stdout
    dev.git("notes", "--ref=avorelo", "copy", "-f", shas[0], back)
    ci = ci_runner(dev, tmp_path)
    code, report = gate_json(ci, "ci", "--base", "origin/main", "--head", "origin/feature")
    # The two proven commits are credited from their own receipts; the copy credits nothing.
    assert code == 1, report
    by_commit = {c["commit"]: c for c in report["commits"]}
    assert [by_commit[s]["verdict"] for s in shas] == ["pass", "pass"]
    assert [v["rule"] for v in by_commit[back]["violations"]] == ["proof-missing"]


# -- proof: a run whose content left the object database is not fresh --------------------------
def test_proof_run_on_a_garbage_collected_tree_is_stale_not_fresh(repo: GitRepo) -> None:
    from inproc import run_main

    repo.write(".gitignore", "out.log\n")
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: ['src/**']\nproof: [{command: tests}]\n")
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("base")
    repo.write("src/a.py", "never committed\n")
    repo.add()
    proved = run_main("prove", "--name", "tests", "--", "true", cwd=repo.path)
    assert proved.returncode == 0, proved.stderr
    assert run_main("check", cwd=repo.path).returncode == 0          # fresh: the same tree
    repo.write("src/a.py", "edited after the run\n")
    repo.add()
    # The run's tree was never committed: pruning removes it (and the blob it held).
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("prune", "--expire=now")
    proc = run_main("check", "--format", "json", cwd=repo.path)
    assert proc.returncode == 1, proc.stdout
    [proof] = json.loads(proc.stdout)["proof"]
    assert proof["status"] == "stale", proof
    assert "left the object database" in proof["detail"], proof
