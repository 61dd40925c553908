"""Issue 13's task rules at the three points: the task precedence (``AVORELO_TASK``, the
message's ``Task:``, the active task, ``.avorelo/task.yaml``), every hook stage judging a
commit by the same task (``-m``, ``-F``, ``--amend``, plain hooks and the pre-commit
framework), and ``ci`` with several tasks on one branch."""
from __future__ import annotations

import subprocess

import pytest
from conftest import GitRepo
from task_scenarios import HOOK_ENV, Project, text
from test_hooks_e2e import HOOK_TYPES, local_config, pre_commit

from avorelo_gate.git.repo import open_repo
from avorelo_gate.task.active import ActiveTask, write_active

# task.yaml allows src/** only; DOCS-1 allows docs/** only: judged by the wrong one, a docs
# commit fails and a src commit passes.
FILES = {".avorelo/task.yaml": "id: TASK-1\nscope: ['src/**']\n",
         ".avorelo/tasks/DOCS-1.yaml": "id: DOCS-1\nscope: ['docs/**']\n",
         ".avorelo/tasks/A.yaml": "id: A\nscope: ['a/**']\n",
         ".avorelo/tasks/B.yaml": "id: B\nscope: ['b/**']\n",
         "src/s.py": "s\n", "docs/d.md": "d\n"}


@pytest.fixture
def project(make_repo) -> Project:  # type: ignore[no-untyped-def]
    return Project(make_repo("work"), make_repo("remote.git", "--bare"), files=FILES)


def commit_m(p: Project, message: str, *args: str,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return p.repo.git("commit", "-m", message, *args, check=False, env={**HOOK_ENV, **(env or {})})


@pytest.mark.parametrize("how", ["-m", "-F"])
def test_named_task_commit_is_judged_by_its_task_at_every_stage(project: Project,
                                                                how: str) -> None:
    if how == "-m":
        project.repo.write("docs/d.md", "m\n")
        project.repo.add()
        proc = commit_m(project, "Docs\n\nTask: DOCS-1")
        assert proc.returncode == 0, text(proc)
        # pre-commit deferred (to install's commit-msg hook beside it), and said so
        assert "pre-commit: the whole check runs at commit-msg" in text(proc)
        project.codes.append(0)
    else:
        project.commit("Docs\n\nTask: DOCS-1\n", {"docs/d.md": "f\n"})
    v = project.verdicts()
    assert v.commits == [0], v.describe()
    v.assert_same()


def test_named_task_out_of_its_scope_is_refused_at_commit_msg(project: Project) -> None:
    # src/s.py is in task.yaml's scope, not DOCS-1's: the fallback would pass it.
    project.commit("Src\n\nTask: DOCS-1\n", {"src/s.py": "x\n"})
    v = project.verdicts()
    assert v.commits == [1], v.describe()
    assert "src/s.py: out-of-scope" in v.commit_output[0]
    v.assert_same()


@pytest.mark.parametrize("args", [("--amend", "--no-edit"), ("--amend", "-m",
                                                              "Docs again\n\nTask: DOCS-1")])
def test_amend_of_a_named_task_commit_keeps_its_task(project: Project,
                                                     args: tuple[str, ...]) -> None:
    project.commit("Docs\n\nTask: DOCS-1\n", {"docs/d.md": "1\n"})
    project.repo.write("docs/d.md", "2\n")
    project.repo.add()
    proc = project.repo.git("commit", *args, check=False, env=HOOK_ENV)
    assert proc.returncode == 0, text(proc)
    assert project.repo.git("show", "HEAD:docs/d.md").stdout == b"2\n"
    v = project.verdicts()
    v.assert_same()
    assert v.push == 0


def test_amend_that_strays_is_refused(project: Project) -> None:
    project.commit("Docs\n\nTask: DOCS-1\n", {"docs/d.md": "1\n"})
    before = project.repo.head()
    project.repo.write("src/s.py", "stray\n")
    project.repo.add()
    proc = project.repo.git("commit", "--amend", "--no-edit", check=False, env=HOOK_ENV)
    assert proc.returncode == 1, text(proc)
    assert "src/s.py: out-of-scope" in text(proc)
    assert project.repo.head() == before


def test_pre_commit_framework_judges_by_the_named_task(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo: GitRepo = make_repo("fw")
    for rel, content in FILES.items():
        repo.write(rel, content)
    repo.write(".pre-commit-config.yaml", local_config())
    repo.add()
    repo.commit("base")
    assert pre_commit(repo, "install", *HOOK_TYPES).returncode == 0
    repo.write("docs/d.md", "fw\n")
    repo.add()
    proc = repo.git("commit", "-m", "Docs\n\nTask: DOCS-1", check=False, env=HOOK_ENV)
    assert proc.returncode == 0, text(proc)
    before = repo.head()
    repo.write("src/s.py", "fw\n")
    repo.add()
    proc = repo.git("commit", "-m", "Src\n\nTask: DOCS-1", check=False, env=HOOK_ENV)
    assert proc.returncode == 1, text(proc)
    assert "src/s.py: out-of-scope" in text(proc)
    assert repo.head() == before
    repo.git("reset", "-q", "--hard")
    repo.write("docs/d.md", "amended\n")
    repo.add()
    proc = repo.git("commit", "--amend", "--no-edit", check=False, env=HOOK_ENV)
    assert proc.returncode == 0, text(proc)


# -- precedence: AVORELO_TASK, Task:, the active task, task.yaml ------------------------------
def test_active_task_is_used_and_written_into_the_message(project: Project) -> None:
    write_active(open_repo(cwd=str(project.repo.path)), ActiveTask(id="DOCS-1"))
    code = project.commit("Docs by the active task\n", {"docs/d.md": "active\n"})
    assert code == 0, project.outputs
    body = project.repo.git("log", "-1", "--format=%B").stdout.decode()
    assert "Task: DOCS-1" in body
    v = project.verdicts()
    v.assert_same()


def test_message_task_outranks_the_active_task(project: Project) -> None:
    write_active(open_repo(cwd=str(project.repo.path)), ActiveTask(id="DOCS-1"))
    code = project.commit("Src\n\nTask: TASK-1\n", {"src/s.py": "mine\n"})
    assert code == 0, project.outputs
    code = project.commit("Docs under TASK-1\n\nTask: TASK-1\n", {"docs/d.md": "no\n"})
    assert code == 1, project.outputs
    v = project.verdicts()
    v.assert_same()


def test_env_task_is_written_into_the_message(project: Project) -> None:
    code = project.commit("Docs by env\n", {"docs/d.md": "env\n"}, env={"AVORELO_TASK": "DOCS-1"})
    assert code == 0, project.outputs
    assert "Task: DOCS-1" in project.repo.git("log", "-1", "--format=%B").stdout.decode()
    v = project.verdicts()
    v.assert_same()


def test_without_any_named_task_task_yaml_decides(project: Project) -> None:
    project.commit("Docs, no task\n", {"docs/d.md": "none\n"})
    v = project.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("out-of-scope", "docs/d.md") in v.ci_rules()


# -- ci with several tasks on one branch -----------------------------------------------------
def test_branch_with_tasks_a_b_a_passes_and_keeps_heads_task(project: Project) -> None:
    project.commit("A1\n\nTask: A\n", {"a/1": "1\n"})
    project.commit("B1\n\nTask: B\n", {"b/1": "1\n"})
    project.commit("A2\n\nTask: A\n", {"a/2": "2\n"})
    v = project.verdicts()
    assert v.commits == [0, 0, 0], v.describe()
    v.assert_same()
    assert v.ci_json["task"]["id"] == "A"              # head's, not the newest distinct (B)


def test_commit_outside_its_own_task_fails_though_heads_task_allows_it(project: Project) -> None:
    project.commit("A1\n\nTask: A\n", {"a/1": "1\n"})
    project.commit("B strays\n\nTask: B\n", {"a/3": "3\n"})
    project.commit("A2\n\nTask: A\n", {"a/2": "2\n"})
    v = project.verdicts()
    assert v.commits == [0, 1, 0], v.describe()
    v.assert_same()
    commits = v.ci_json["commits"]
    assert [(x["rule"], x["path"]) for x in commits[1]["violations"]] == [("out-of-scope", "a/3")]


def test_heavier_weight_in_the_message_is_not_refused_by_pre_commit(project: Project) -> None:
    # AVORELO_TASK names the task, so pre-commit judges at once; the task says light, the
    # message will say heavy: pre-commit must not refuse what commit-msg passes.
    project.land("Plan\n", {".avorelo/tasks/L.yaml":
                            "id: L\nscope: ['src/**']\nmodel: {weight: light}\n"})
    files: dict[str, str | None] = {f"src/f{i}.py": f"{i}\n" for i in range(7)}
    light = project.commit("Light\n", files, env={"AVORELO_TASK": "L"})
    assert light == 1 and "weight-budget" in project.outputs[-1], project.outputs[-1]
    project.repo.git("reset", "-q", "--hard", "HEAD~1")
    project.codes.clear()
    project.outputs.clear()
    heavy = project.commit("Heavy\n\nModel-Weight: heavy\n", files, env={"AVORELO_TASK": "L"})
    assert heavy == 0, project.outputs[-1]
    v = project.verdicts()
    v.assert_same()


def test_commit_pushed_to_two_refs_is_judged_from_each_base(make_repo) -> None:  # type: ignore[no-untyped-def]
    # The remote's "old" branch predates task OWN; pushing the work there too makes OWN
    # self-declared for that ref, and the policy refuses self-declared tasks.
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"),
                policy="version: 1\nrequire_task: true\nself_declared_tasks: refuse\n")
    p.repo.git("push", "-q", "--no-verify", "origin", "main:old")
    p.land("Plan\n", {".avorelo/tasks/OWN.yaml": "id: OWN\nscope: ['docs/**']\n"})
    assert p.commit("Work\n\nTask: OWN\n", {"docs/o.md": "o\n"}) == 0
    alone = p.repo.git("push", "origin", "work:main", check=False, env=HOOK_ENV)
    assert alone.returncode == 0, text(alone)
    p.repo.git("push", "-q", "--no-verify", "origin", "+main:main")   # undo, push both
    p.repo.git("fetch", "-q", "origin")
    both = p.repo.git("push", "origin", "work:main", "work:old", check=False, env=HOOK_ENV)
    assert both.returncode == 1, text(both)
    assert "task-self-declared" in text(both)
    ci = p.repo.gate("ci", "--base", "origin/old", "--head", "work")
    assert ci.returncode == 1 and "task-self-declared" in ci.stdout, ci.stdout
