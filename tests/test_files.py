"""Task and policy files: every kind of bad input is exit 2 with one line naming the file and
the key, through ``validate`` and through ``check``; and the index version is what counts."""
from __future__ import annotations

import json
import subprocess

import pytest
from conftest import GitRepo, assert_clean_error
from inproc import run_main

TASK = ".avorelo/task.yaml"
POLICY = ".avorelo/policy.yaml"
BIG = b"id: T-1\n" + b"# " + b"x" * (1024 * 1024) + b"\n"
DEEP = b"scope: " + b"[" * 100 + b"]" * 100 + b"\n"

BAD_TASKS: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("unknown-key", b"id: T-1\nscoep: [src/**]\n", ("scoep", "did you mean 'scope'")),
    ("unknown-nested-key", b"budget: {max_file: 3}\n", ("budget.max_file",
                                                       "did you mean 'max_files'")),
    ("duplicate-key", b"id: T-1\nscope: [a]\nscope: [b]\n", (":3:", "duplicate key 'scope'",
                                                             "line 2")),
    ("wrong-type", b"id: T-1\nbudget: {max_files: ten}\n", ("budget.max_files",
                                                            "expected an integer")),
    ("wrong-type-in-list", b"scope: [src/**, 3]\n", ("scope[1]", "must be a string")),
    ("negative-budget", b"budget: {max_lines: -5}\n", ("budget.max_lines", "at least 0")),
    ("bool-as-int", b"budget: {max_files: true}\n", ("budget.max_files", "integer")),
    ("unquoted-glob", b"id: T-1\nscope: [*.py]\n", (":2:", "quote")),
    ("unquoted-glob-block", b"scope:\n  - *.py\n", (":2:", "quote")),
    ("unclosed-bracket", b"scope: [src/**\n", ("quote",)),
    ("alias", b"title: &x hello\nid: *x\n", ("alias",)),
    ("python-tag", b"id: !!python/object/apply:os.system ['echo pwned']\n",
     ("tag", "not allowed")),
    ("custom-tag", b"id: !env HOME\n", ("tag", "not allowed")),
    ("merge-key", b"<<: {id: T-1}\n", ("merge keys",)),
    ("tab-indent", b"scope:\n\t- src/**\n", (":2", "tab")),
    ("non-utf8", b"id: T-1\ntitle: caf\xe9\n", ("not UTF-8",)),
    ("nul-byte", b"id: T-1\ntitle: a\0b\n", ("invalid YAML",)),
    ("too-big", BIG, ("limit",)),
    ("deep-nesting", DEEP, ("nested",)),
    ("invalid-glob-scope", b"scope: ['../etc/**']\n", ("scope[0]", "'..'")),
    ("invalid-glob-absolute", b"scope: ['/src/**']\n", ("scope[0]", "absolute")),
    ("invalid-glob-forbid", b"forbid: ['src\\\\keys']\n", ("forbid[0]", "backslash")),
    ("invalid-glob-bracket", b"forbid: ['src/[ab']\n", ("forbid[0]", "unbalanced")),
    ("unknown-weight", b"model: {weight: huge}\n", ("model.weight", "'huge'", "light")),
    ("unknown-risk", b"risk: extreme\n", ("risk", "low")),
    ("unknown-proof-kind", b"proof: [{junitt: r.xml}]\n", ("proof[0].junitt",
                                                           "did you mean 'junit'")),
    ("proof-two-kinds", b"proof: [{junit: r.xml, log: b.log}]\n", ("proof[0]", "exactly one")),
    ("bad-task-id", b"id: ../escape\n", ("id", "task id")),
    ("not-a-mapping", b"- src/**\n", ("expected a mapping",)),
    ("non-string-key", b"1: src\n", ("keys must be strings",)),
    ("empty", b"", ("empty",)),
    ("only-comments", b"# a task, some day\n\n", ("empty",)),
    ("only-null", b"~\n", ("empty",)),
]

BAD_POLICIES: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("unknown-key", b"version: 1\nrequire_tsk: true\n", ("require_tsk",
                                                         "did you mean 'require_task'")),
    ("duplicate-key", b"version: 1\nversion: 1\n", (":2:", "duplicate key 'version'")),
    ("wrong-type", b"require_task: yes please\n", ("require_task", "true or false")),
    ("bad-version", b"version: 2\n", ("version", "2")),
    ("invalid-glob-protected", b"protected: ['/etc/**']\n", ("protected[0]", "absolute")),
    ("invalid-glob-dotdot", b"protected: ['a/../b']\n", ("protected[0]", "'..'")),
    ("unknown-weight", b"weights: {huge: {}}\n", ("weights.huge", "unknown key")),
    ("weight-budget-type", b"weights: {light: {max_files: many}}\n",
     ("weights.light.max_files", "integer")),
    ("unknown-proof-kind", b"proof: [{logg: build.log}]\n", ("proof[0].logg",
                                                             "did you mean 'log'")),
    ("python-tag", b"version: !!python/name:os.system 1\n", ("tag", "not allowed")),
    ("yaml-syntax", b"protected: [*.yml]\n", (":1:", "quote")),
    ("empty", b"", ("empty",)),
]


def gate(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    # The tables run in-process (tests/inproc.py); the tests below them use a subprocess.
    return run_main(*args, cwd=repo.path)


def one_line_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(("content", "needles"), [c[1:] for c in BAD_TASKS],
                         ids=[c[0] for c in BAD_TASKS])
def test_validate_bad_task_file(repo: GitRepo, content: bytes, needles: tuple[str, ...]) -> None:
    repo.write(TASK, content)
    proc = gate(repo, "validate", TASK)
    assert_clean_error(proc, 2, TASK, *needles)
    one_line_error(proc.stderr)


@pytest.mark.parametrize(("content", "needles"), [c[1:] for c in BAD_TASKS],
                         ids=[c[0] for c in BAD_TASKS])
def test_check_with_bad_staged_task_file(repo: GitRepo, content: bytes,
                                         needles: tuple[str, ...]) -> None:
    repo.write("src/a.py")
    repo.write(TASK, content)
    repo.add()
    proc = gate(repo, "check")
    assert_clean_error(proc, 2, TASK, *needles)
    one_line_error(proc.stderr)


@pytest.mark.parametrize(("content", "needles"), [c[1:] for c in BAD_POLICIES],
                         ids=[c[0] for c in BAD_POLICIES])
def test_validate_bad_policy_file(repo: GitRepo, content: bytes,
                                  needles: tuple[str, ...]) -> None:
    repo.write(POLICY, content)
    proc = gate(repo, "validate")   # no argument: the files under .avorelo/
    assert_clean_error(proc, 2, POLICY, *needles)
    one_line_error(proc.stderr)


@pytest.mark.parametrize(("content", "needles"), [c[1:] for c in BAD_POLICIES],
                         ids=[c[0] for c in BAD_POLICIES])
def test_check_with_bad_committed_policy(repo: GitRepo, content: bytes,
                                         needles: tuple[str, ...]) -> None:
    repo.write(POLICY, content)
    repo.add()
    repo.commit("a broken policy, committed without hooks")
    repo.write("src/a.py")
    repo.add()
    proc = gate(repo, "check")
    assert_clean_error(proc, 2, POLICY, *needles)
    one_line_error(proc.stderr)


def test_bom_is_accepted_and_lines_still_count_from_one(repo: GitRepo) -> None:
    repo.write(TASK, "\ufeffid: T-1\nscope: ['src/**']\n".encode())
    assert repo.gate("validate", TASK).returncode == 0
    repo.write(TASK, "\ufeffid: T-1\nscope: [*.py]\n".encode())
    assert_clean_error(repo.gate("validate", TASK), 2, f"{TASK}:2:")


def test_task_file_via_task_file_option(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.add()
    repo.write("elsewhere/t.yaml", "id: T-1\nscope: [src/**]\nbudgt: {}\n")
    proc = repo.gate("check", "--task-file", "elsewhere/t.yaml")
    assert_clean_error(proc, 2, "elsewhere/t.yaml", "budgt", "did you mean 'budget'")
    assert_clean_error(repo.gate("check", "--task-file", "missing.yaml"), 2, "missing.yaml")


def test_named_task_file_id_must_match_its_name(repo: GitRepo) -> None:
    repo.write(".avorelo/tasks/AUTH-1.yaml", "id: AUTH-2\n")
    assert_clean_error(repo.gate("validate"), 2, "AUTH-1.yaml", "AUTH-2")


def test_validate_reports_every_file(repo: GitRepo) -> None:
    repo.write(POLICY, "version: 1\nrequire_task: true\n")
    repo.write(TASK, "id: T-1\nscope: [src/**]\n")
    repo.write(".avorelo/tasks/A.yaml", "id: A\nscoep: []\n")
    repo.write(".avorelo/tasks/B.yaml", "id: B\n")
    proc = repo.gate("validate")
    assert_clean_error(proc, 2, "A.yaml", "scoep")
    assert f"{POLICY}: ok (policy)" in proc.stdout
    assert "B.yaml: ok (task)" in proc.stdout
    assert "A.yaml" not in proc.stdout


def test_valid_files_validate(repo: GitRepo) -> None:
    repo.write(POLICY, "version: 1\nrequire_task: true\nprotected: ['.github/**']\n"
                       "weights: {light: {max_files: 3}}\nproof: [{command: tests}]\n")
    repo.write(TASK, "id: T-1\ntitle: x\nscope: ['src/**', '!src/gen/**']\nforbid: src/k\n"
                     "budget: {max_files: 3, max_lines: 10}\nrisk: low\n"
                     "model: {weight: light, name: m}\nproof: [{junit: r.xml, min_tests: 1}]\n")
    proc = repo.gate("validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# -- the index version is what counts for --staged --------------------------------------------
def test_staged_valid_task_with_broken_working_copy_passes(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.write(TASK, "id: T-1\nscope: ['src/**']\n")
    repo.add()
    repo.write(TASK, "id: T-1\nscope: [*.py\n")   # broken, but not staged
    proc = repo.gate("check", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["task"]["scope"] == ["src/**"]
    # the working tree is what --worktree reads
    assert_clean_error(repo.gate("check", "--worktree"), 2, TASK)


def test_staged_broken_task_with_fixed_working_copy_fails(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.write(TASK, "id: T-1\nscope: [*.py\n")
    repo.add()
    repo.write(TASK, "id: T-1\nscope: ['src/**']\n")   # fixed, but not staged
    assert_clean_error(repo.gate("check"), 2, TASK)
    assert repo.gate("check", "--worktree").returncode == 0


def test_staged_scope_decides_not_the_working_copy(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.write(TASK, "id: T-1\nscope: ['docs/**']\n")
    repo.add()
    repo.write(TASK, "id: T-1\nscope: ['src/**', 'docs/**']\n")  # widened, not staged
    proc = repo.gate("check", "--format", "json")
    assert proc.returncode == 1
    assert [v["path"] for v in json.loads(proc.stdout)["violations"]] == ["src/a.py"]


def test_commit_mode_reads_the_task_from_the_commit(repo: GitRepo) -> None:
    repo.write("src/a.py")
    repo.write(TASK, "id: T-1\nscope: ['docs/**']\n")
    repo.add()
    repo.commit("out of scope")
    repo.write(TASK, "id: T-1\nscope: ['src/**']\n")   # the working tree says otherwise
    repo.add()
    proc = repo.gate("check", "--commit", "HEAD", "--format", "json")
    assert proc.returncode == 1
    assert {v["rule"] for v in json.loads(proc.stdout)["violations"]} == {"out-of-scope"}
