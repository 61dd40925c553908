"""Lines counted only where a rule reads them (issue 14).

``ci`` and pre-push count a commit's lines (git diffs every blob for that: over Flask's whole
history ten times git's own listing) with the first diffs only under a policy file; under
the defaults they list the paths and count afterwards for a commit whose task has a line
budget or a model weight (engine.needs_lines). These tests hold that to the verdicts of the
full path: a commit whose task reads its lines is judged on them however it declares its
task, adopted or not, at the commit hooks, at push and in ``ci``; a commit whose task reads
none is judged as before and reported without line counts; and no rule can read lines that
were not counted.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import GitRepo
from three_points import Scene

from avorelo_gate.gate.engine import Options, evaluate, needs_lines
from avorelo_gate.git.change import Change
from avorelo_gate.result import DiffSummary, LinesNotCounted, TouchedFile
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import Budget, Policy

POLICY = ('version: 1\nrequire_task: true\n'
          'weights:\n  light: {max_files: 5, max_lines: 2}\n')
BUDGETED = 'id: T-1\nscope: ["src/**"]\nbudget: {max_lines: 2}\n'
WEIGHED = 'id: T-2\nscope: ["src/**"]\nmodel: {weight: light}\n'
PLAIN = 'id: T-3\nscope: ["src/**"]\n'
# Over the task's budget (2), and over the light weight's both in POLICY (2) and in the
# defaults (200).
OVER = "".join(f"line {i}\n" for i in range(201))
TASKS = {".avorelo/tasks/T-2.yaml": WEIGHED, ".avorelo/tasks/T-3.yaml": PLAIN}


def _scene(make_repo, tmp_path: Path, adopted: bool,  # type: ignore[no-untyped-def]
           current: str) -> Scene:
    policy = {".avorelo/policy.yaml": POLICY} if adopted else {}
    return Scene.build(make_repo, tmp_path, {**policy, ".avorelo/task.yaml": current, **TASKS,
                                             "src/a.py": "a\n"})


@pytest.fixture(params=[True, False], ids=["adopted", "defaults"])
def scene(request, make_repo, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    """The current task (.avorelo/task.yaml) has a line budget: a commit that names no task
    in its trailers gets it, and its lines. With a policy file, or under the defaults."""
    return _scene(make_repo, tmp_path, request.param, BUDGETED)


@pytest.fixture(params=[True, False], ids=["adopted", "defaults"])
def plain_scene(request, make_repo, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    """The current task reads no lines."""
    return _scene(make_repo, tmp_path, request.param, PLAIN)


def _adopted(scene: Scene) -> bool:
    return (scene.work.path / ".avorelo" / "policy.yaml").exists()


@pytest.mark.parametrize(("message", "rule"), [
    ("change", "budget-lines"),                              # the current task's budget
    ("change\n\nTask: T-2", "weight-budget"),               # the task file's weight
    ("change\n\nModel-Weight: light", "budget-lines"),      # a weight, and the task's budget
    ("change\n\nTask: T-3\nModel-Weight: light", "weight-budget"),
])
def test_a_task_that_reads_lines_is_judged_on_them_everywhere(
        scene: Scene, message: str, rule: str) -> None:
    made = scene.commit_hooks({"src/b.py": OVER}, message)
    assert made.code == 1, made.output
    scene.commit({"src/b.py": OVER}, message)        # the commit, hooks skipped
    scene.three("main", commit=made).all_fail_with(rule)


def test_a_task_that_reads_no_lines_passes_everywhere(plain_scene: Scene) -> None:
    scene = plain_scene
    made = scene.commit_hooks({"src/b.py": OVER}, "change")
    scene.three("main", commit=made).all_pass()
    report = json.loads(scene.work.gate("ci", "--base", "HEAD~1", "--format", "json").stdout)
    # The range as a whole keeps its line counts; the commit has them only where they were
    # counted with the first diffs (under a policy file).
    assert report["diff"] == {"files": 1, "added": 201, "removed": 0}
    lines = {"added": 201, "removed": 0} if _adopted(scene) else \
        {"added": None, "removed": None}
    assert report["commits"][0]["diff"] == {"files": 1, **lines}


def _diff_tree_argvs(repo: GitRepo, *args: str) -> list[list[str]]:
    trace = repo.path / ".." / "trace2.json"
    proc = repo.gate(*args, env={"GIT_TRACE2_EVENT": str(trace.resolve())})
    assert proc.returncode in (0, 1), proc.stderr
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    os.unlink(trace)
    return [e["argv"] for e in events if e["event"] == "start" and "diff-tree" in e["argv"]
            and "--stdin" in e["argv"]]


def test_which_commits_are_counted_and_when(scene: Scene) -> None:
    """Under a policy file every commit is counted with the first diffs. Under the defaults
    every commit is listed, and counted afterwards only where its task reads lines: here
    the unnamed commit (the current task's budget), not the one naming T-3."""
    scene.commit({"src/b.py": "b\n"}, "named\n\nTask: T-3")
    scene.commit({"src/c.py": "c\n"}, "unnamed, the current task: a line budget")
    argvs = _diff_tree_argvs(scene.work, "ci", "--base", "origin/main")
    counting = [a for a in argvs if "--numstat" in a]
    listing = [a for a in argvs if "--numstat" not in a]
    if _adopted(scene):
        assert (len(listing), len(counting)) == (0, 2), argvs    # the two halves
    else:
        assert (len(listing), len(counting)) == (1, 1), argvs
        assert counting[0] == argvs[-1], argvs                   # after the tasks


def test_a_range_without_tasks_is_listed_not_counted(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo: GitRepo = make_repo("plain")
    repo.write("README", "r\n")
    repo.add()
    base = repo.commit("init")
    for i in range(3):
        repo.write(f"f{i}.txt", "a\nb\nc\n")
        repo.add()
        repo.commit(f"work {i}")
    argvs = _diff_tree_argvs(repo, "ci", "--base", base)
    assert argvs and not any("--numstat" in a for a in argvs), argvs
    proc = repo.gate("ci", "--base", base)
    assert proc.returncode == 0, proc.stderr
    # The range as a whole is counted: its summary keeps the lines.
    assert "0 violations in 3 commit(s), 3 file(s) (+9 -0); exit 0" in proc.stdout


def test_a_push_reports_lines_only_when_every_commit_was_counted(
        plain_scene: Scene) -> None:
    plain_scene.commit({"src/b.py": "a\nb\nc\n"}, "change")
    pushed = plain_scene.push("main")
    assert pushed.code == 0, pushed.output
    size = "1 file(s) (+3 -0)" if _adopted(plain_scene) else "1 file(s)"
    assert f"0 violations in 1 commit(s), {size}; exit 0" in pushed.output


def test_a_merges_own_lines_are_counted_when_its_task_reads_them(scene: Scene) -> None:
    """A merge whose resolution adds work of its own ("evil merge"), naming no task: the
    current task's line budget applies to what the merge itself changed."""
    work = scene.work
    work.git("switch", "-q", "-c", "side")
    scene.commit({"src/side.py": "s\n"}, "side\n\nTask: T-3")
    work.git("switch", "-q", "main")
    work.git("merge", "-q", "--no-ff", "--no-commit", "side")
    work.write("src/own.py", "a\nb\nc\n")
    work.add()
    merge = work.commit("merge side")
    report = json.loads(work.gate("ci", "--base", "origin/main", "--format", "json").stdout)
    judged = {c["range"]["head"]: c for c in report["commits"]}
    assert [v["rule"] for v in judged[merge]["violations"]] == ["budget-lines"]
    assert judged[merge]["diff"] == {"files": 1, "added": 3, "removed": 0}
    pushed = scene.push("main")
    assert pushed.code == 1 and "budget-lines" in pushed.rules, pushed.output


# -- no rule reads lines that were not counted ----------------------------------------------
def _change(counted: bool) -> Change:
    touched = (TouchedFile(path="src/b.py", status="A", added=0, removed=0, binary=False),)
    return Change(base="0" * 40, head="1" * 40, touched=touched, snapshot=None,  # type: ignore[arg-type]
                  base_commit=None, mode="commit", lines_counted=counted)


@pytest.mark.parametrize("task", [
    ResolvedTask(id="T", scope=("src/**",), budget=Budget(max_lines=1)),
    ResolvedTask(id="T", scope=("src/**",), weight="light", weight_source="trailer"),
    ResolvedTask(id="T", scope=("src/**",), weight="heavy", weight_source="trailer"),
])
def test_a_rule_reading_uncounted_lines_raises_rather_than_judge_zero(
        task: ResolvedTask) -> None:
    assert needs_lines(task)
    policy = Policy()
    with pytest.raises(LinesNotCounted):
        evaluate(_change(False), task, policy, Options())
    assert evaluate(_change(True), task, policy, Options()).diff.lines == 0


def test_a_task_reading_no_lines_is_judged_without_them() -> None:
    task = ResolvedTask(id="T", scope=("src/**",), budget=Budget(max_files=1))
    assert not needs_lines(task)
    result = evaluate(_change(False), task, Policy(), Options())
    assert result.verdict == "pass"
    assert result.diff.to_dict() == {"files": 1, "added": None, "removed": None}
    with pytest.raises(LinesNotCounted):
        _ = DiffSummary.of(result.touched, counted=False).lines


def test_check_commit_of_a_task_without_line_rules_still_counts(
        make_repo) -> None:  # type: ignore[no-untyped-def]
    """One commit alone (check --commit, receipts) is always counted: its receipt records
    the lines."""
    repo: GitRepo = make_repo("one")
    repo.write("a.txt", "a\nb\nc\n")
    repo.add()
    sha = repo.commit("init")
    proc = repo.gate("check", "--commit", sha, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["diff"] == {"files": 1, "added": 3, "removed": 0}



@pytest.mark.parametrize("counted", [True, False])
def test_reports_show_lines_only_when_counted(counted: bool) -> None:
    from avorelo_gate.report.github import render_step_summary
    from avorelo_gate.report.text import render_text
    from avorelo_gate.result import CheckResult, GateReport

    diff = DiffSummary(files=2, added=5, removed=1, counted=counted)
    push = CheckResult(base="a" * 40, head="b" * 40, label="push", task=None, model=None,
                       diff=diff)
    report = GateReport(overall=push)
    text, summary = render_text(report), render_step_summary(report)
    if counted:
        assert "0 violations in 2 file(s) (+5 -1); exit 0" in text
        assert "**Diff** 2 files, +5 \u22121" in summary
    else:
        assert "0 violations in 2 file(s); exit 0" in text
        assert "**Diff** 2 files" in summary and "+5" not in summary
