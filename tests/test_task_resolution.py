"""How a task is resolved, judged the same at the commit hooks, pre-push and ``ci`` (contract
0.2, "Who decides what a change is judged by" -> Tasks; issue 12's "Tasks declared by the
change itself", issue 13's task rules).

Each scenario is built so that a plausible wrong rule gives another answer: the base version
of a task file differs from the changed one, the task ids differ across commits, a fallback
``task.yaml`` would allow what the named task does not.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_clean_error
from task_scenarios import POLICY, Project

TASK_A = "id: A\nscope: ['src/a/**']\n"
A_PATH = ".avorelo/tasks/A.yaml"


@pytest.fixture
def project(make_repo) -> Project:  # type: ignore[no-untyped-def]
    return Project(make_repo("work"), make_repo("remote.git", "--bare"),
                   files={A_PATH: TASK_A, ".avorelo/task.yaml": "id: T-1\nscope: ['**']\n",
                          "src/a/f.py": "a\n", "docs/x.md": "x\n"})


def refuse_policy(make_repo, files: dict[str, str]) -> Project:  # type: ignore[no-untyped-def]
    return Project(make_repo("work"), make_repo("remote.git", "--bare"),
                   policy=POLICY + "self_declared_tasks: refuse\n", files=files)


# -- a task file that exists at the base can only be narrowed ---------------------------------
def test_widening_own_task_file_is_refused_everywhere(project: Project) -> None:
    project.commit("Widen\n\nTask: A\n", {A_PATH: "id: A\nscope: ['**']\n",
                                          "docs/x.md": "widened\n"})
    v = project.verdicts()
    assert v.commits == [1] and "docs/x.md: out-of-scope" in v.commit_output[0], v.describe()
    v.assert_same()
    assert ("out-of-scope", "docs/x.md") in v.ci_rules()


def test_in_scope_work_with_an_edited_task_file_passes_everywhere(project: Project) -> None:
    # The control: editing the task file is allowed; only the widening is not used.
    project.commit("Edit\n\nTask: A\n", {A_PATH: "id: A\nscope: ['**']\ntitle: t\n",
                                         "src/a/f.py": "b\n"})
    v = project.verdicts()
    assert v.commits == [0], v.describe()
    v.assert_same()
    commit = v.ci_json["commits"][0]
    assert commit["task"]["narrowed_by"] == [f"{A_PATH} at {commit['range']['base'][:12]}"] \
        or commit["task"]["narrowed_by"][0].startswith(A_PATH)


def test_narrowing_in_the_change_applies_too(project: Project) -> None:
    # Base allows src/**; the change narrows to src/a/** and works in src/b: the changed
    # version's scope applies as well as the base's (intersection, not the base alone).
    project.land("Plan wider", {A_PATH: "id: A\nscope: ['src/**']\n"})
    project.commit("Narrow\n\nTask: A\n", {A_PATH: TASK_A, "src/b/g.py": "g\n"})
    v = project.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("out-of-scope", "src/b/g.py") in v.ci_rules()


def test_widening_across_two_commits_of_one_push_is_refused(make_repo) -> None:  # type: ignore[no-untyped-def]
    # C1 plans task N (src/**), C2 widens N and works in docs: the parent's version narrows
    # C2 at push and in ci too, though N is absent at the remote's tip and the merge base.
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"))
    p.commit("Plan N\n", {".avorelo/tasks/N.yaml": "id: N\nscope: ['src/**']\n"})
    p.commit("Widen\n\nTask: N\n", {".avorelo/tasks/N.yaml": "id: N\nscope: ['**']\n",
                                    "docs/y.md": "y\n"})
    v = p.verdicts()
    assert v.commits == [0, 1], v.describe()
    v.assert_same()
    assert ("out-of-scope", "docs/y.md") in v.ci_rules()


def test_deleting_own_task_file_keeps_the_base_version(project: Project) -> None:
    project.commit("Shed\n\nTask: A\n", {A_PATH: None, "docs/x.md": "shed\n"})
    v = project.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("out-of-scope", "docs/x.md") in v.ci_rules()


def test_forbid_of_the_base_survives_the_change(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"), files={
        A_PATH: "id: A\nscope: ['src/**']\nforbid: ['src/keys/**']\n", "src/keys/k": "k\n"})
    p.commit("Unforbid\n\nTask: A\n", {A_PATH: "id: A\nscope: ['src/**']\n",
                                       "src/keys/k": "leak\n"})
    v = p.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("forbidden", "src/keys/k") in v.ci_rules()


# -- named tasks with no file, empty scopes, Task-Scope alone --------------------------------
def test_named_task_without_file_is_no_task_not_every_path(project: Project) -> None:
    # task.yaml (T-1, scope **) would allow it: the wrong fallback.
    project.commit("Nope\n\nTask: NOPE\n", {"docs/x.md": "nope\n"})
    v = project.verdicts()
    assert v.commits == [1], v.describe()
    assert ".avorelo/tasks/NOPE.yaml does not exist" in v.commit_output[0]
    assert "does not match" not in v.commit_output[0]
    v.assert_same()
    assert ("no-task", None) in v.ci_rules()
    assert ".avorelo/tasks/NOPE.yaml does not exist" in v.push_output


def test_unknown_task_id_names_the_missing_file(project: Project) -> None:
    project.repo.write("docs/x.md", "y\n")
    project.repo.add()
    proc = project.repo.gate("check", "--task", "NOPE")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ".avorelo/tasks/NOPE.yaml does not exist" in proc.stdout
    assert "does not match" not in proc.stdout + proc.stderr


def test_empty_scope_means_no_path_is_in_scope(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"),
                files={".avorelo/tasks/E.yaml": "id: E\nscope: []\n", "src/e.py": "e\n"})
    p.commit("Empty\n\nTask: E\n", {"src/e.py": "f\n"})
    v = p.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("out-of-scope", "src/e.py") in v.ci_rules()


def test_task_scope_trailer_alone_does_not_meet_require_task(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"))
    p.commit("Scoped\n\nTask-Scope: src/**\n", {"src/s.py": "s\n"})
    v = p.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("no-task", None) in v.ci_rules()


# -- only two names are task files --------------------------------------------------------------
@pytest.mark.parametrize("path", [".avorelo/tasks/notes.txt", ".avorelo/tasks/sub/B.yaml",
                                  ".avorelo/tasks/B.yml", ".avorelo/Tasks/B.yaml"])
def test_other_files_under_tasks_are_ordinary_paths(project: Project, path: str) -> None:
    project.commit("Sneak\n\nTask: A\n", {path: "anything\n", "src/a/f.py": "b\n"})
    v = project.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("out-of-scope", path) in v.ci_rules()


# -- planning ----------------------------------------------------------------------------------
def test_planning_commit_needs_no_task(project: Project) -> None:
    project.commit("Plan B\n", {".avorelo/tasks/B.yaml": "id: B\nscope: ['docs/**']\n"})
    project.commit("Docs\n\nTask: B\n", {"docs/x.md": "planned\n"})
    v = project.verdicts()
    assert v.commits == [0, 0], v.describe()
    v.assert_same()
    assert "planning" in v.commit_output[0]


def test_planning_with_an_ordinary_path_is_not_planning(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"))
    p.commit("Plan and more\n", {".avorelo/tasks/B.yaml": "id: B\nscope: ['**']\n",
                                 "docs/x.md": "more\n"})
    v = p.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("no-task", None) in v.ci_rules()


# -- self-declared tasks -------------------------------------------------------------------------
def test_self_declared_task_is_recorded(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"))
    p.commit("Own\n\nTask: OWN\n", {".avorelo/tasks/OWN.yaml": "id: OWN\nscope: ['docs/**']\n",
                                    "docs/o.md": "o\n"})
    v = p.verdicts()
    assert v.commits == [0], v.describe()
    v.assert_same()
    assert v.ci_json["commits"][0]["task"]["self_declared"] is True
    assert v.ci_json["task"]["self_declared"] is True
    assert "self-declared" in v.commit_output[0]
    note = p.repo.git("notes", "--ref", "avorelo", "show", "HEAD").stdout
    assert json.loads(note)["predicate"]["task"]["self_declared"] is True


def test_self_declared_task_refused_by_policy(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = refuse_policy(make_repo, {"README.md": "r\n"})
    p.commit("Own\n\nTask: OWN\n", {".avorelo/tasks/OWN.yaml": "id: OWN\nscope: ['docs/**']\n",
                                    "docs/o.md": "o\n"})
    v = p.verdicts()
    assert v.commits == [1], v.describe()
    v.assert_same()
    assert ("task-self-declared", ".avorelo/tasks/OWN.yaml") in v.ci_rules()


def test_task_planned_on_the_branch_is_self_declared_at_push_and_ci(make_repo) -> None:  # type: ignore[no-untyped-def]
    # At commit the plan is in HEAD; the remote's tip and the merge base lack it, so the
    # points where the work lands decide (contract: "decided where the work is judged").
    p = refuse_policy(make_repo, {"README.md": "r\n"})
    p.commit("Plan\n", {".avorelo/tasks/OWN.yaml": "id: OWN\nscope: ['docs/**']\n"})
    p.commit("Work\n\nTask: OWN\n", {"docs/o.md": "o\n"})
    v = p.verdicts()
    assert v.commits == [0, 0], v.describe()
    assert (v.push, v.ci) == (1, 1), v.describe()
    assert ("task-self-declared", ".avorelo/tasks/OWN.yaml") in v.ci_rules()


def test_task_landed_before_the_work_is_not_self_declared(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = refuse_policy(make_repo, {"README.md": "r\n"})
    p.land("Plan\n", {".avorelo/tasks/OWN.yaml": "id: OWN\nscope: ['docs/**']\n"})
    p.commit("Work\n\nTask: OWN\n", {"docs/o.md": "o\n"})
    v = p.verdicts()
    assert v.commits == [0], v.describe()
    v.assert_same()
    assert "self_declared" not in v.ci_json["commits"][0]["task"]


def test_policy_key_is_validated(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo("bad")
    repo.write(".avorelo/policy.yaml", "version: 1\nself_declared_tasks: sometimes\n")
    proc = repo.gate("validate", ".avorelo/policy.yaml")
    assert_clean_error(proc, 2, "self_declared_tasks", "sometimes")


# -- bad input at the base --------------------------------------------------------------------
def test_malformed_task_file_at_the_base_is_exit_2_naming_file_and_commit(make_repo) -> None:  # type: ignore[no-untyped-def]
    p = Project(make_repo("work"), make_repo("remote.git", "--bare"),
                files={A_PATH: "id: A\nscope: {oops: 1}\n", "src/a/f.py": "a\n"})
    base = p.repo.head()
    p.repo.write(A_PATH, TASK_A)
    p.repo.write("src/a/f.py", "b\n")
    p.repo.add()
    msg = Path(p.repo.path.parent / "M")
    msg.write_text("Fix\n\nTask: A\n")
    proc = p.repo.gate("hook", "commit-msg", str(msg))
    assert_clean_error(proc, 2, A_PATH, base[:12])
    p.repo.git("commit", "-q", "--no-verify", "-F", str(msg))
    ci = p.ci()
    assert_clean_error(ci, 2, A_PATH, base[:12])
    push = p.push()
    assert push.returncode != 0
    out = push.stderr.decode()
    assert A_PATH in out and base[:12] in out and "Traceback" not in out
