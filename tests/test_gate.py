"""The engine's rules end to end through ``avorelo-gate check`` on real repositories."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from conftest import PACKAGE_ROOT, GitRepo, assert_clean_error
from inproc import run_main

POLICY = ".avorelo/policy.yaml"
TASK = ".avorelo/task.yaml"
ANSI = re.compile(r"\x1b\[")


def setup(repo: GitRepo, policy: str | None = None, task: str | None = None,
          committed: dict[str, str] | None = None) -> None:
    """Commit the policy (and any files), then write the task file (staged later)."""
    if policy is not None:
        repo.write(POLICY, policy)
    for rel, text in (committed or {"README.md": "hello\n"}).items():
        repo.write(rel, text)
    repo.add()
    repo.commit("base")
    if task is not None:
        repo.write(TASK, task)


def stage(repo: GitRepo, *files: str, lines: int = 1) -> None:
    for rel in files:
        repo.write(rel, "".join(f"{rel} {i}\n" for i in range(lines)))
    repo.add()


def check(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = run_main("check", "--format", "json", *args, cwd=repo.path, env=env)
    result: dict[str, Any] = json.loads(proc.stdout)
    # the exact code for the verdict the test then asserts (never "0 or 1")
    assert proc.returncode == (0 if result["verdict"] == "pass" else 1), proc.stderr
    assert result["exit_code"] == proc.returncode
    return result


def rules(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return sorted((v["rule"], v["path"]) for v in result["violations"])


def message(repo: GitRepo, text: str) -> str:
    path = repo.path.parent / "COMMIT_MSG"
    path.write_text(text)
    return str(path)


# -- scope, forbid, protected, policy ----------------------------------------------------------
def test_in_scope_passes(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "src/a.py", "src/deep/b.py")
    result = check(repo)
    assert result["verdict"] == "pass"
    assert result["task"]["id"] == "T-1"
    assert result["task"]["sources"] == ["task-file"]


def test_out_of_scope_with_the_to_fix_hint(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "src/a.py", "docs/guide.md")
    result = check(repo)
    assert rules(result) == [("out-of-scope", "docs/guide.md")]
    hint = result["violations"][0]["hint"]
    assert "'docs/guide.md'" in hint and TASK in hint and "**" not in hint
    assert "git restore --staged -- docs/guide.md" in hint
    text = run_main("check", cwd=repo.path)
    assert text.returncode == 1
    assert "docs/guide.md: out-of-scope: outside the scope of task T-1" in text.stdout
    assert "    To fix: if task T-1 needs it, add 'docs/guide.md' to scope" in text.stdout
    assert text.stdout.rstrip().splitlines()[-1] == "1 violation in 3 file(s) (+4 -0); exit 1"


def test_forbidden_inside_scope(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\nforbid: ['src/keys/**']\n")
    stage(repo, "src/a.py", "src/keys/private.pem")
    assert rules(check(repo)) == [("forbidden", "src/keys/private.pem")]


def test_protected_even_inside_scope(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nprotected: ['.github/workflows/**']\n",
          task="id: T-1\nscope: ['**']\n")
    stage(repo, ".github/workflows/ci.yml", "src/a.py")
    assert rules(check(repo)) == [("protected", ".github/workflows/ci.yml")]


def test_deleting_a_protected_file_is_touching_it(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nprotected: ['.github/**']\n",
          committed={".github/ci.yml": "on: push\n"})
    repo.git("rm", "-q", ".github/ci.yml")
    assert rules(check(repo)) == [("protected", ".github/ci.yml")]


def test_policy_changed_and_allow_policy_change(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nrequire_task: false\n")
    repo.write(POLICY, "version: 1\nrequire_task: true\n")
    repo.add()
    assert rules(check(repo)) == [("policy-changed", POLICY)]
    assert check(repo, "--allow-policy-change")["verdict"] == "pass"
    assert check(repo, env={"AVORELO_ALLOW_POLICY_CHANGE": "1"})["verdict"] == "pass"
    # the policy in force is the base commit's, not the staged one
    assert check(repo, "--allow-policy-change")["violations"] == []


def test_policy_is_read_from_the_base_not_the_change(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nprotected: ['secret/**']\n")
    repo.write(POLICY, "version: 1\n")          # loosen the rules in the same change...
    stage(repo, "secret/x")
    result = check(repo, "--allow-policy-change")
    assert rules(result) == [("protected", "secret/x")]   # ...and still be judged by them


# -- trailers narrow, never widen --------------------------------------------------------------
def test_trailer_narrows_scope(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "src/auth/a.py", "src/other.py")
    msg = message(repo, "Fix auth\n\nTask: T-1\nTask-Scope: src/auth/**\n")
    result = check(repo, "--message-file", msg)
    assert rules(result) == [("out-of-scope", "src/other.py")]
    assert result["task"]["sources"] == ["trailer", "task-file"]


def test_trailer_never_widens_scope(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "src/a.py", "docs/a.md")
    msg = message(repo, "Docs too\n\nTask-Scope: src/**, docs/**\n")
    assert rules(check(repo, "--message-file", msg)) == [("out-of-scope", "docs/a.md")]


def test_trailer_scope_alone_narrows_but_is_no_task(repo: GitRepo) -> None:
    # Contract 0.2: require_task is met only by a task with an id.
    setup(repo, policy="version: 1\nrequire_task: true\n")
    stage(repo, "src/a.py", "docs/a.md")
    msg = message(repo, "Subject\n\nTask-Scope: src/**\n")
    assert rules(check(repo, "--message-file", msg)) == [("no-task", None),
                                                          ("out-of-scope", "docs/a.md")]


def test_invalid_trailer_scope_is_bad_input(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "src/a.py")
    msg = message(repo, "Subject\n\nTask-Scope: ../outside/**\n")
    assert_clean_error(run_main("check", "--message-file", msg, cwd=repo.path), 2,
                       "Task-Scope", "'..'")


def test_task_trailer_picks_the_named_task_file(repo: GitRepo) -> None:
    setup(repo, committed={".avorelo/tasks/AUTH-1.yaml": "id: AUTH-1\nscope: ['src/auth/**']\n",
                           TASK: "id: OTHER\nscope: ['**']\n"})
    stage(repo, "src/auth/a.py", "src/b.py")
    msg = message(repo, "Subject\n\nTask: AUTH-1\n")
    result = check(repo, "--message-file", msg)
    assert result["task"]["id"] == "AUTH-1"
    assert result["task"]["file"] == ".avorelo/tasks/AUTH-1.yaml"
    assert rules(result) == [("out-of-scope", "src/b.py")]
    assert check(repo, "--task", "AUTH-1")["task"]["file"] == ".avorelo/tasks/AUTH-1.yaml"


def test_task_id_with_no_task_file_declares_no_scope(repo: GitRepo) -> None:
    # Contract 0.2: never "every path is in scope"; under require_task it is no-task.
    setup(repo, policy="version: 1\nrequire_task: true\n")
    stage(repo, "src/a.py")
    result = check(repo, "--message-file", message(repo, "S\n\nTask: NEW-9\n"))
    assert result["exit_code"] == 1
    assert rules(result) == [("no-task", None)]
    assert ".avorelo/tasks/NEW-9.yaml does not exist" in result["violations"][0]["message"]
    scoped = check(repo, "--message-file",
                   message(repo, "S\n\nTask: NEW-9\nTask-Scope: src/**\n"))
    assert scoped["verdict"] == "pass"
    assert scoped["task"]["self_declared"] is True


# -- conflicting ids ---------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "env", "msg", "needles"), [
    (("--task", "A-1"), {}, "S\n\nTask: B-2\n", ("conflicting task ids", "A-1", "B-2")),
    ((), {"AVORELO_TASK": "A-1"}, "S\n\nTask: B-2\n", ("conflicting task ids", "A-1", "B-2")),
    (("--task", "A-1"), {"AVORELO_TASK": "B-2"}, None, ("conflicting task ids",)),
    ((), {}, "S\n\nTask: A-1\nTask: B-2\n", ("Task", "A-1", "B-2")),
], ids=["option-vs-trailer", "env-vs-trailer", "option-vs-env", "two-trailers"])
def test_conflicting_task_ids_are_bad_input(repo: GitRepo, args: tuple[str, ...],
                                            env: dict[str, str], msg: str | None,
                                            needles: tuple[str, ...]) -> None:
    setup(repo, task="id: FILE-ID\nscope: ['**']\n")
    stage(repo, "src/a.py")
    extra = ("--message-file", message(repo, msg)) if msg else ()
    proc = run_main("check", *args, *extra, cwd=repo.path, env=env)
    assert_clean_error(proc, 2, *needles)


# -- budgets and weights -----------------------------------------------------------------------
def test_budget_files(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nbudget: {max_files: 2}\n")
    stage(repo, "a", "b")            # with the task file: 3 files
    result = check(repo)
    assert rules(result) == [("budget-files", None)]
    assert "3 files" in result["violations"][0]["message"]


def test_budget_lines(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nbudget: {max_lines: 10}\n", committed={"a": "1\n2\n3\n"})
    repo.write("a", "1\nTWO\n3\n")       # +1 -1
    stage(repo, "b", lines=6)            # +6, task file +2: 10 lines, at the budget
    assert check(repo)["verdict"] == "pass"
    stage(repo, "c")                     # one more line
    result = check(repo)
    assert rules(result) == [("budget-lines", None)]
    assert "11 lines" in result["violations"][0]["message"]


def test_weight_budget_for_a_light_model(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nmodel: {weight: light}\n")
    stage(repo, "a", "b", "c", "d", "e")          # 6 files with the task file; light allows 5
    result = check(repo)
    assert rules(result) == [("weight-budget", None)]
    assert "6 files > 5" in result["violations"][0]["message"]
    assert result["model"]["weight"] == "light"
    # the trailer is the commit's own word about who did the work
    heavier = check(repo, "--message-file", message(repo, "S\n\nModel-Weight: standard\n"))
    assert heavier["verdict"] == "pass"
    assert heavier["model"]["weight"] == "standard"


def test_policy_weights_override_the_defaults(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nweights: {standard: {max_lines: 3}}\n",
          task="id: T-1\nmodel: {weight: standard}\n")
    stage(repo, "a", lines=5)
    assert rules(check(repo)) == [("weight-budget", None)]


def test_heavy_model_on_a_small_change_warns(repo: GitRepo) -> None:
    setup(repo)
    stage(repo, "a")
    result = check(repo, "--message-file", message(
        repo, "S\n\nModel: big-model\nModel-Weight: heavy\n"))
    assert result["verdict"] == "pass"
    assert any("heavy model" in w for w in result["warnings"])
    assert result["model"] == {"weight": "heavy", "name": "big-model", "claimed": True,
                               "source": {"weight": "trailer:Model-Weight",
                                          "name": "trailer:Model"}}


# -- no-task -----------------------------------------------------------------------------------
def test_no_task_with_require_task(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nrequire_task: true\n")
    stage(repo, "src/a.py")
    result = check(repo)
    assert rules(result) == [("no-task", None)]
    assert result["task"] is None
    # pre-commit: the message may still declare one, so it waits for commit-msg
    proc = run_main("hook", "pre-commit", cwd=repo.path)
    assert proc.returncode == 0, proc.stdout
    assert "may still declare one" in proc.stdout


def test_no_task_without_require_task_passes(repo: GitRepo) -> None:
    setup(repo)
    stage(repo, "anything")
    assert check(repo)["verdict"] == "pass"


def test_empty_change_passes(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nrequire_task: true\n")
    result = check(repo)
    assert result["verdict"] == "pass"
    assert result["diff"] == {"files": 0, "added": 0, "removed": 0}


# -- the JSON result ---------------------------------------------------------------------------
CONTRACT_KEYS = ["schema", "verdict", "exit_code", "range", "task", "model", "diff",
                 "violations", "warnings", "proof"]
# Keys other issues add beside the contract's ("Extend it freely"); nothing else may appear.
EXTENSION_KEYS = {"notes", "task_files_changed", "context", "tools", "approvals", "commits"}
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": CONTRACT_KEYS,
    "properties": {
        "schema": {"const": "avorelo.check/v1"},
        "verdict": {"enum": ["pass", "fail"]},
        "exit_code": {"enum": [0, 1]},
        "range": {"type": "object", "required": ["base", "head"],
                  "properties": {"base": STRING, "head": STRING},
                  "additionalProperties": False},
        "task": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["id", "scope", "forbid", "sources"],
            "properties": {"id": NULLABLE_STRING,
                           "scope": {"type": "array", "items": STRING},
                           "forbid": {"type": "array", "items": STRING},
                           "sources": {"type": "array", "items": {
                               "enum": ["explicit", "env", "trailer", "task-file"]}}}}]},
        "model": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["weight", "name", "claimed"],
            "properties": {"weight": {"enum": ["light", "standard", "heavy", None]},
                           "name": NULLABLE_STRING, "claimed": {"const": True}}}]},
        "diff": {"type": "object", "required": ["files", "added", "removed"],
                 "properties": {k: {"type": "integer", "minimum": 0}
                                for k in ("files", "added", "removed")},
                 "additionalProperties": False},
        "violations": {"type": "array", "items": {
            "type": "object", "required": ["rule", "path", "message", "hint"],
            "properties": {"rule": STRING, "path": NULLABLE_STRING, "message": STRING,
                           "hint": NULLABLE_STRING}}},
        "warnings": {"type": "array", "items": STRING},
        "proof": {"type": "array", "items": {
            "type": "object", "required": ["requirement", "status"],
            "properties": {"requirement": STRING, "status": {
                "enum": ["ok", "missing", "failed", "stale", "invalid"]}}}},
    },
}


def test_json_has_the_contract_keys_and_shapes(repo: GitRepo) -> None:
    setup(repo, policy="version: 1\nprotected: ['.github/**']\n",
          task="id: T-1\nscope: ['src/**']\nforbid: ['src/k/**']\nmodel: {weight: light}\n")
    stage(repo, "src/a.py", "docs/x.md", ".github/ci.yml", "src/k/key")
    for result in (check(repo), check(repo, "--worktree"), check(repo, "--commit", "HEAD")):
        jsonschema.validate(result, RESULT_SCHEMA)
        assert list(result)[:len(CONTRACT_KEYS)] == CONTRACT_KEYS
        assert set(result) - set(CONTRACT_KEYS) <= EXTENSION_KEYS, set(result)
    result = check(repo)
    assert result["verdict"] == "fail" and result["exit_code"] == 1
    assert result["range"] == {"base": repo.head(), "head": "INDEX"}
    assert {r for r, _ in rules(result)} == {"out-of-scope", "protected", "forbidden"}
    from avorelo_gate.result import RULES
    assert {v["rule"] for v in result["violations"]} <= set(RULES)


def test_output_writes_the_file_and_text_still_goes_to_stdout(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "docs/a.md")
    out = repo.path.parent / "result.json"
    proc = repo.gate("check", "--format", "json", "--output", str(out))
    assert proc.returncode == 1
    written = json.loads(out.read_text())
    assert rules(written) == [("out-of-scope", "docs/a.md")]
    assert "out-of-scope" in proc.stdout and not proc.stdout.lstrip().startswith("{")
    nested = repo.path.parent / "new" / "dir" / "r.json"
    assert run_main("check", "--format", "json", "--output", str(nested),
                    cwd=repo.path).returncode == 1
    assert json.loads(nested.read_text()) == written      # the same result, dirs made
    blocked = repo.path / "README.md" / "r.json"          # a file where a directory must be
    assert_clean_error(run_main("check", "--output", str(blocked), cwd=repo.path), 3,
                       "r.json", "cannot write")


# -- colour and awkward names ------------------------------------------------------------------
def run_on_tty(repo: GitRepo, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """The gate with its stdout on a real terminal (a pty), as a person runs it."""
    leader, follower = pty.openpty()
    full_env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), TERM="xterm", **env)
    proc = subprocess.Popen([sys.executable, "-m", "avorelo_gate", *args], cwd=repo.path,
                            env=full_env, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait()
    proc.stderr.close()  # type: ignore[union-attr]
    os.close(leader)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_tty_and_never_with_no_color(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    stage(repo, "docs/a.md")
    code, shown = run_on_tty(repo, "check", env={})
    assert code == 1 and ANSI.search(shown), shown     # a terminal gets colour...
    code, shown = run_on_tty(repo, "check", env={"NO_COLOR": "1"})
    assert code == 1 and "out-of-scope" in shown and not ANSI.search(shown)
    piped = repo.gate("check")                          # ...a pipe never does
    assert piped.returncode == 1 and "out-of-scope" in piped.stdout
    assert not ANSI.search(piped.stdout + piped.stderr)


AWKWARD = ["-rf", "--help", "new\nline.txt", "tab\there", "e\x1b[31mred", "caf\udce9"]


def test_awkward_names_break_nothing(repo: GitRepo) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    for name in AWKWARD:
        repo.write(os.fsencode(name), "x\n")
    repo.add()
    result = check(repo)
    assert sorted(p for _, p in rules(result)) == sorted(AWKWARD)
    text = run_main("check", cwd=repo.path)
    assert text.returncode == 1
    body = text.stdout
    assert "\x1b" not in body                     # an escape in a name is shown, not obeyed
    assert body.count("out-of-scope") == len(AWKWARD)
    assert "new\\nline.txt: out-of-scope" in body
    assert "caf\\xe9: out-of-scope" in body
    assert "-rf: out-of-scope" in body


@pytest.mark.parametrize("name", AWKWARD)
def test_the_to_fix_command_unstages_exactly_that_file(repo: GitRepo, name: str) -> None:
    setup(repo, task="id: T-1\nscope: ['src/**']\n")
    repo.write(os.fsencode(name), "x\n")
    stage(repo, "src/ok.py")
    result = check(repo)
    [violation] = result["violations"]
    command = violation["hint"].split("unstage it: ", 1)[1]
    subprocess.run(["bash", "-c", command], cwd=repo.path, check=True, capture_output=True)
    after = check(repo)
    assert after["verdict"] == "pass", after
    assert after["diff"]["files"] == 2   # src/ok.py and the task file are still staged


def test_root_commit_may_bring_the_policy_but_later_commits_may_not(repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: false\n")
    repo.write("a.txt", "a\n")
    repo.add()
    first = repo.gate("check", "--format", "json")
    assert first.returncode == 0, first.stdout
    repo.commit("root")
    assert repo.gate("check", "--commit", "HEAD").returncode == 0
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n")
    repo.add()
    later = repo.gate("check", "--format", "json")
    assert later.returncode == 1
    assert [v["rule"] for v in json.loads(later.stdout)["violations"]] == ["policy-changed"]
