"""``ci --base REF [--head REF]``: the pull-request gate on real repositories.

The policy comes from the base, a merge's own additions are seen, shallow clones fail loudly
with the fix, receipts are demanded when the base's policy says so, and the CI formats hold
up against hostile file names, commit messages and model names.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE_ROOT, ROOT, GitRepo, assert_clean_error

from avorelo_gate.gate.annotate import unquote_c

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(PACKAGE_ROOT)}
POLICY = 'version: 1\nrequire_task: true\nprotected: ["ci/**"]\n'
TASK = 'id: T-1\nscope: ["src/**"]\n'
GITHUB_ENV = {"GITHUB_ACTIONS": "true"}


def make_project(make_repo, policy: str = POLICY) -> GitRepo:  # type: ignore[no-untyped-def]
    repo: GitRepo = make_repo("project")
    repo.write(".avorelo/policy.yaml", policy)
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py", "a = 1\n")
    repo.write("docs/guide.md", "one\ntwo\nthree\nfour\nfive\n")
    repo.add()
    repo.commit("init")
    repo.git("switch", "-q", "-c", "feature")
    return repo


def commit(repo: GitRepo, path: str, content: str = "x\n", message: str = "change") -> str:
    repo.write(path, content)
    repo.add()
    return repo.commit(message)


def ci_json(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> \
        tuple[int, dict[str, object]]:
    proc = repo.gate("ci", "--base", "main", "--head", "feature", "--format", "json", *args,
                     env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def rules(report: dict[str, object]) -> set[tuple[str, str | None]]:
    violations = report["violations"]
    assert isinstance(violations, list)
    return {(v["rule"], v["path"]) for v in violations}


@pytest.fixture
def project(make_repo) -> GitRepo:  # type: ignore[no-untyped-def]
    return make_project(make_repo)


def test_ci_in_scope_branch_passes(project: GitRepo) -> None:
    commit(project, "src/b.py")
    commit(project, "src/c.py")
    code, report = ci_json(project)
    assert code == 0, report
    assert report["verdict"] == "pass"
    commits = report["commits"]
    assert isinstance(commits, list) and len(commits) == 2
    assert report["diff"] == {"files": 2, "added": 2, "removed": 0}


def test_ci_out_of_scope_commit_fails_in_commit_and_range(project: GitRepo) -> None:
    bad = commit(project, "docs/new.md")
    code, report = ci_json(project)
    assert code == 1
    assert ("out-of-scope", "docs/new.md") in rules(report)
    commits = report["commits"]
    assert isinstance(commits, list)
    assert commits[0]["commit"] == bad
    assert commits[0]["violations"][0]["commit"] == bad


def test_ci_policy_widening_is_policy_changed_and_base_policy_applies(project: GitRepo) -> None:
    commit(project, ".avorelo/policy.yaml", "version: 1\nrequire_task: true\n", "loosen")
    commit(project, "ci/deploy.sh", "deploy\n", "deploy")
    code, report = ci_json(project)
    assert code == 1
    found = rules(report)
    assert ("policy-changed", ".avorelo/policy.yaml") in found
    assert ("protected", "ci/deploy.sh") in found
    # Even a maintainer's permission to change the policy does not let the change use itself.
    code, report = ci_json(project, "--allow-policy-change")
    assert code == 1
    found = rules(report)
    assert ("protected", "ci/deploy.sh") in found
    assert not any(rule == "policy-changed" for rule, _ in found)


def test_ci_policy_from_the_merge_base_not_head_of_base_branch(project: GitRepo) -> None:
    # The base branch tightening its policy later does not judge work forked before it... and
    # a pull request cannot rewrite what the merge base says.
    commit(project, "src/b.py")
    project.git("switch", "-q", "main")
    # The tightening applies to this branch's own change (issue 17: a tightened policy that
    # could not apply to the test's task proved nothing): read at main's tip, src/b.py
    # would be protected.
    commit(project, ".avorelo/policy.yaml", POLICY.replace('"ci/**"', '"ci/**", "src/b.py"'))
    project.git("switch", "-q", "feature")
    code, report = ci_json(project)
    assert code == 0, report
    notes = report["notes"]
    assert isinstance(notes, list)
    assert any("policy read from the base" in n for n in notes)


def test_ci_evil_merge_caught(project: GitRepo) -> None:
    commit(project, "src/b.py")
    project.git("switch", "-q", "main")
    commit(project, "src/main_side.py")
    project.git("switch", "-q", "feature")
    project.git("merge", "-q", "--no-commit", "main")
    project.write("docs/evil.md", "added while resolving\n")
    project.add()
    project.git("commit", "-q", "--no-verify", "--no-edit")
    merge = project.head()
    # git log shows a merge's changes to nobody (no -m): the file is invisible there.
    log = project.git("log", "--name-only", "--format=%H", "main..feature").stdout.decode()
    assert "docs/evil.md" not in log
    code, report = ci_json(project)
    assert code == 1
    overall = {(v["rule"], v["path"]) for v in report["violations"] if v.get("commit") is None}
    assert ("out-of-scope", "docs/evil.md") in overall            # the range as a whole
    commits = report["commits"]
    assert isinstance(commits, list)
    merged = next(c for c in commits if c["commit"] == merge)
    assert [v["path"] for v in merged["violations"]] == ["docs/evil.md"]
    assert "src/main_side.py" not in json.dumps(report["violations"])


def test_ci_range_task_is_the_one_declared_at_head(project: GitRepo) -> None:
    project.write(".avorelo/tasks/DOC-7.yaml", 'id: DOC-7\nscope: ["docs/**"]\n')
    project.add()
    project.commit("plan\n\nTask: DOC-7")
    commit(project, "docs/guide.md", "rewritten\n", "guide\n\nTask: DOC-7")
    # Task-Scope narrows its own commit only: the range is judged by DOC-7's whole scope.
    commit(project, "docs/extra.md", "extra\n", "extra\n\nTask: DOC-7\nTask-Scope: docs/extra.md")
    code, report = ci_json(project)
    assert code == 0, report
    task = report["task"]
    assert isinstance(task, dict) and task["id"] == "DOC-7"


def test_ci_nothing_changed_is_a_pass_with_a_note(project: GitRepo) -> None:
    code, report = ci_json(project)
    assert code == 0
    notes = report["notes"]
    assert isinstance(notes, list)
    assert any("nothing to check" in n for n in notes)


def test_ci_unknown_base_is_bad_input(project: GitRepo) -> None:
    proc = project.gate("ci", "--base", "no-such-branch")
    assert_clean_error(proc, 2, "--base no-such-branch")


def test_ci_shallow_clone_without_merge_base_is_environment(project: GitRepo,
                                                           tmp_path: Path) -> None:
    commit(project, "src/b.py")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch",
                    f"file://{project.path}", str(clone)], check=True)
    proc = project.gate("ci", "--base", "origin/main", "--head", "origin/feature", cwd=clone)
    assert_clean_error(proc, 3, "shallow", "fetch-depth: 0", "git fetch --unshallow",
                       "--deepen")
    # The base is not even there: the same fix.
    missing = project.gate("ci", "--base", "1" * 40, cwd=clone)
    assert_clean_error(missing, 3, "fetch-depth: 0")
    # After deepening, the same clone works.
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True)
    proc = project.gate("ci", "--base", "origin/main", "--head", "origin/feature", cwd=clone)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_receipts_fetched_and_missing(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = make_project(make_repo, POLICY + "receipts: {required: true}\n")
    installed = project.gate("install", "--hook", "post-commit", env=HOOK_ENV)
    assert installed.returncode == 0, installed.stderr
    project.write("src/b.py")
    project.add()
    project.git("commit", "-q", "-m", "with receipt", env=HOOK_ENV)
    notes = project.git("notes", "--ref=refs/notes/avorelo", "list").stdout.decode()
    assert project.head() in notes
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    project.git("push", "-q", "--no-verify", str(remote), "main", "feature",
                "refs/notes/avorelo")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", f"file://{remote}", str(clone)], check=True)
    ci = ("ci", "--base", "origin/main", "--head", "origin/feature", "--format", "json")
    missing = project.gate(*ci, cwd=clone)
    assert missing.returncode == 1, missing.stderr
    violations = json.loads(missing.stdout)["violations"]
    assert [v["rule"] for v in violations] == ["receipt-missing"]
    assert "git fetch origin" in violations[0]["hint"]
    assert "refs/notes/avorelo" in violations[0]["hint"]
    subprocess.run(["git", "fetch", "-q", "origin", "refs/notes/avorelo:refs/notes/avorelo"],
                   cwd=clone, check=True)
    fetched = project.gate(*ci, cwd=clone)
    assert fetched.returncode == 0, fetched.stdout
    # A commit made where no hook ran has no receipt, fetched or not.
    subprocess.run(["git", "switch", "-q", "feature"], cwd=clone, check=True)
    (clone / "src" / "c.py").write_text("c\n")
    subprocess.run(["git", "add", "-A"], cwd=clone, check=True)
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", "no hook"], cwd=clone,
                   check=True)
    skipped = project.gate("ci", "--base", "origin/main", "--format", "json", cwd=clone)
    assert skipped.returncode == 1
    rules_found = [(v["rule"], v["commit"]) for v in json.loads(skipped.stdout)["violations"]]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True,
                          check=True).stdout.decode().strip()
    assert rules_found == [("receipt-missing", head)]


# --- CI-native output ------------------------------------------------------------------------

HOSTILE_PATHS = ["docs/x%0A::error::pwned.md", "docs/nl\n::error::newline.md",
                 "docs/pct%25,title=forged:x.md", "docs/cr\r::warning::cr.md"]
HOSTILE_MESSAGE = "subject ::error::from-subject\n\n::error::body\n%0A::warning::encoded\n\n" \
                  "Model: ::error::model%0A::notice::x\nModel-Weight: heavy"


def gate_commands(output: str) -> list[str]:
    """The command names of every line the runner would read as a workflow command."""
    lines = re.split(r"\r\n|\r|\n", output)
    token = None
    commands = []
    for line in lines:
        stripped = line.lstrip()
        if token is not None:
            if stripped == f"::{token}::":
                token = None
            continue
        if stripped.startswith("::"):
            name = stripped[2:].split("::", 1)[0].split(" ", 1)[0]
            commands.append(name)
            if name == "stop-commands":
                token = stripped.split("::", 2)[2]
    assert token is None
    return commands


def test_ci_github_format_escapes_injection_payloads(project: GitRepo, tmp_path: Path) -> None:
    for path in HOSTILE_PATHS:
        project.write(path, "payload\n")
    project.add()
    project.commit(HOSTILE_MESSAGE)
    summary = tmp_path / "summary.md"
    env = {**GITHUB_ENV, "GITHUB_STEP_SUMMARY": str(summary)}
    proc = project.gate("ci", "--base", "main", "--head", "feature", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "\r" not in proc.stdout
    # Only the gate's own commands: errors, notices, warnings and its stop-commands block.
    commands = gate_commands(proc.stdout)
    assert set(commands) <= {"stop-commands", "error", "warning", "notice"}
    # Once each: the range repeats the commit's findings, and the annotations say them once.
    assert commands.count("error") == len(HOSTILE_PATHS)
    for line in proc.stdout.split("\n"):
        if line.startswith("::error "):
            props = line[len("::error "):].split("::", 1)[0]
            assert {p.split("=", 1)[0] for p in props.split(",")} == {"file", "line", "title"}
    for needle in ("::error::pwned", "::error::newline", "::error::from-subject",
                   "::error::body", "::error::model", "title=forged"):
        assert not any(line.lstrip().startswith(needle) for line in proc.stdout.split("\n"))
    assert "x%250A::error::pwned.md" in proc.stdout     # the name, as data, intact
    assert "model: ::error::model%250A::notice::x (heavy)" not in proc.stdout
    assert summary.read_text(encoding="utf-8").startswith("## avorelo-gate")


def test_ci_github_annotation_points_at_first_changed_line(project: GitRepo) -> None:
    commit(project, "docs/guide.md", "one\ntwo\nthree\nFOUR\nfive\n", "edit line 4")
    proc = project.gate("ci", "--base", "main", "--head", "feature", env=GITHUB_ENV)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stdout.split("\n") if ln.startswith("::error ")]
    assert errors and all("file=docs/guide.md,line=4," in ln for ln in errors)


def test_ci_sarif_valid_against_schema(project: GitRepo, tmp_path: Path) -> None:
    from test_report_formats import SHARED_SARIF_SCHEMA, validate_sarif

    for path in HOSTILE_PATHS:
        project.write(path, "payload\n")
    project.add()
    project.commit(HOSTILE_MESSAGE)
    out = tmp_path / "gate.sarif"
    proc = project.gate("ci", "--base", "main", "--format", "sarif", "--output", str(out))
    assert proc.returncode == 1, proc.stderr
    log = validate_sarif(out.read_text(encoding="utf-8"))
    results = log["runs"][0]["results"]
    assert len(results) == 2 * len(HOSTILE_PATHS)
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
               for r in results)
    if SHARED_SARIF_SCHEMA.exists():
        import jsonschema

        schema = json.loads(SHARED_SARIF_SCHEMA.read_text(encoding="utf-8"))
        jsonschema.Draft4Validator(schema).validate(log)


def test_ci_junit_one_suite_per_commit_and_range(project: GitRepo) -> None:
    import defusedxml.ElementTree as SafeET

    commit(project, "src/b.py")
    commit(project, "docs/new.md")
    proc = project.gate("ci", "--base", "main", "--format", "junit")
    assert proc.returncode == 1
    root = SafeET.fromstring(proc.stdout)
    assert len(root.findall("testsuite")) == 3
    assert root.get("failures") == "2"


def test_ci_github_chosen_automatically(project: GitRepo) -> None:
    proc = project.gate("ci", "--base", "main", env=GITHUB_ENV)
    assert proc.returncode == 0
    assert proc.stdout.startswith("::stop-commands::")


@pytest.mark.parametrize("quoted,raw", [('"a\\nb"', "a\nb"), ('"t\\tq\\"\\\\"', 't\tq"\\'),
                                        ('"\\303\\251"', "é"), ("plain", "plain")])
def test_unquote_c(quoted: str, raw: str) -> None:
    assert unquote_c(quoted) == raw


def test_action_and_workflow_never_inline_event_values() -> None:
    import yaml

    for rel in ("action.yml", "examples/github-workflow.yml"):
        doc = yaml.safe_load((ROOT / rel).read_text(encoding="utf-8"))
        steps = (doc["runs"]["steps"] if "runs" in doc
                 else [s for job in doc["jobs"].values() for s in job["steps"]])
        for step in steps:
            assert "${{" not in step.get("run", ""), (rel, step)
    workflow = (ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8")
    assert "fetch-depth: 0" in workflow
    assert "AVORELO_ALLOW_POLICY_CHANGE" in workflow


def test_readme_documents_every_hook_id() -> None:
    import yaml

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")):
        assert f"`{hook['id']}`" in readme, hook["id"]
