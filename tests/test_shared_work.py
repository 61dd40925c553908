"""Work shared across the commits of a range (issue 14) gives each commit the answer it gets
alone.

``ci`` and pre-push resolve a task once for every commit with the same task inputs
(points/commits.py ``_task_inputs``), and read each distinct version of ``.avorelo/`` once
(git/objects.py ``cat_at_revs``). These tests hold both to the plain path: each commit's task
resolved on its own from plain snapshots, and each file read by its own ``REV:PATH``.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import GitRepo
from inproc import run_main
from test_prepush import HOOK_ENV

from avorelo_gate.errors import BadInputError
from avorelo_gate.git.repo import open_repo
from avorelo_gate.git.snapshot import Snapshot
from avorelo_gate.receipts import verify as receipt_verify
from avorelo_gate.task.declare import resolve_task
from avorelo_gate.task.policy import Policy
from avorelo_gate.task.trailers import commit_trailers, declaration_from

POLICY = 'version: 1\nrequire_task: true\n'
WIDE = 'id: T-1\nscope: ["src/**"]\n'
NARROW = 'id: T-1\nscope: ["src/a/**"]\n'


TASK_FILE, ID_FILE = ".avorelo/task.yaml", ".avorelo/tasks/T-1.yaml"


def _main_and_feature(make_repo, name: str,  # type: ignore[no-untyped-def]
                      task_file: str) -> tuple[GitRepo, str]:
    """main: the policy, the wide task file and src/a/x.py; then on branch feature."""
    repo: GitRepo = make_repo(name)
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(task_file, WIDE)
    repo.write("src/a/x.py", "x = 0\n")
    repo.add()
    base = repo.commit("init")
    repo.git("switch", "-q", "-c", "feature")
    return repo, base


def _range(make_repo, task_file: str = TASK_FILE,  # type: ignore[no-untyped-def]
           trailers: bool = True) -> tuple[GitRepo, str, list[str]]:
    """A branch whose task file goes narrow, wide, narrow again, with commits between that
    keep it: equal own versions with different parents' versions (whose labels the task
    names), and equal task inputs that may share one resolution. ``task_file``: the one
    file every commit uses, or the task's own (whose path only the task id names).
    ``trailers=False``: no commit names the task (the shell does, when receipts are
    recorded)."""
    repo, base = _main_and_feature(make_repo, "shared", task_file)
    named = "\n\nTask: T-1" if trailers else ""
    shas = []
    for path, content, message in (
            (task_file, NARROW, "narrow the task" + named),
            ("src/a/x.py", "x = 1\n", "work" + named),
            (task_file, WIDE, "widen it back" + named),
            (task_file, NARROW, "narrow it again" + named),
            ("src/a/x.py", "x = 2\n", "more work" + named),
            ("src/b/y.py", "y = 1\n", "outside the narrowed scope" + named),
            ("src/a/z.py", "z = 1\n",
             "a trailer scope" + (named + "\nTask-Scope: src/a/z.py" if trailers else "")),
            ("src/a/w.py", "w = 1\n", "no task named"),
            ("src/a/v.py", "v = 1\n", "more work" + named)):
        repo.write(path, content)
        repo.add()
        shas.append(repo.commit(message))
    return repo, base, shas


@pytest.mark.parametrize("task_file", [TASK_FILE, ID_FILE])
def test_each_commit_in_ci_gets_the_task_it_gets_alone(make_repo, task_file: str) -> None:  # type: ignore[no-untyped-def]
    """Both kinds of task file: ``.avorelo/tasks/T-1.yaml`` is read only because the commit's
    trailer names T-1, so a key that left the id's file out would share one task between
    commits whose files differ."""
    repo, base, shas = _range(make_repo, task_file)
    proc = repo.gate("ci", "--base", "main", "--head", "feature", "--format", "json")
    assert proc.returncode == 1, proc.stderr   # src/b/y.py is outside the narrowed task
    report = json.loads(proc.stdout)
    by_commit = {c["range"]["head"]: c for c in report["commits"]}
    assert list(by_commit) == shas

    git = open_repo(str(repo.path))
    trailers = commit_trailers(git, shas)
    parent = base
    for sha in shas:
        alone = resolve_task(Snapshot(git, sha), environ={},
                             declaration=declaration_from(trailers[sha], source=sha),
                             bases=[Snapshot(git, base)], parent=Snapshot(git, parent))
        assert by_commit[sha]["task"] == (alone.to_dict() if alone.declared else None), sha
        parent = sha
    # The shared resolutions did not blur the labels: the two "narrow" commits name their
    # own parents, the commits that keep the narrow file name only the base.
    narrowed = [by_commit[s]["task"]["narrowed_by"] for s in (shas[0], shas[3], shas[4])]
    assert narrowed == [[f"{task_file} at {base[:12]}"] * 2,
                        [f"{task_file} at {base[:12]}", f"{task_file} at {shas[2][:12]}"],
                        [f"{task_file} at {base[:12]}"]]
    assert {(v["rule"], v["path"]) for v in by_commit[shas[5]]["violations"]} == {
        ("out-of-scope", "src/b/y.py")}


def test_cat_at_revs_answers_as_each_name_alone(make_repo) -> None:  # type: ignore[no-untyped-def]
    """Every shape ``.avorelo`` can take at a commit: a tree, missing, a file, a symlink and
    a submodule entry pointing at a commit that is in the repository (whose tree has the
    files: git's own ``REV:PATH`` does not walk into it, and neither may the shortcut)."""
    repo, base, shas = _range(make_repo)
    revs = [base, *shas]
    repo.git("switch", "-q", "--orphan", "odd")
    repo.write(".avorelo", "not a directory\n")
    repo.git("add", ".avorelo")
    revs.append(repo.commit("a file named .avorelo"))
    repo.git("rm", "-q", "--cached", ".avorelo")
    blob = repo.git("hash-object", "-w", "--stdin", input=b"tasks").stdout.decode().strip()
    repo.git("update-index", "--add", "--cacheinfo", f"120000,{blob},.avorelo")
    revs.append(repo.commit("a symlink named .avorelo"))
    repo.git("rm", "-q", "--cached", ".avorelo")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{shas[0]},.avorelo")
    revs.append(repo.commit("a submodule named .avorelo, at a commit that is here"))
    repo.git("rm", "-q", "--cached", ".avorelo")
    repo.write("other.txt", "no .avorelo at all\n")
    repo.git("add", "other.txt")
    revs.append(repo.commit("no .avorelo"))

    git = open_repo(str(repo.path))
    paths = [".avorelo/task.yaml", ".avorelo/policy.yaml", ".avorelo/tasks/T-1.yaml",
             ".avorelo/.avorelo/task.yaml"]
    pairs = [(rev, path) for rev in revs for path in paths]
    shared = git.cat_at_revs(pairs, ".avorelo")
    alone = {f"{rev}:{path}": git.cat_objects([f"{rev}:{path}"])[f"{rev}:{path}"]
             for rev, path in pairs}
    assert shared == alone
    # Both shapes of answer occur, so the comparison is not of two empty maps.
    assert sum(v is not None for v in shared.values()) == 2 * (1 + len(shas))
    assert all(shared[f"{rev}:.avorelo/task.yaml"] is None for rev in revs[-4:])


def test_receipt_verify_shares_tasks_only_between_equal_inputs(
        make_repo, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """``receipt verify`` of a range (one task resolution per distinct inputs) gives each
    receipt the verdict it gets without any sharing. Receipts recorded under different
    environments (a task or model named by the shell, replayed from the receipt) must not
    share a task with receipts recorded without them, or one would be judged by the other's
    model and come out invalid."""
    repo, _, shas = _range(make_repo)
    recorded_under = [{}, {"AVORELO_MODEL": "claude-opus-4"}, {},
                      {"AVORELO_TASK": "T-1"}, {"AVORELO_MODEL_WEIGHT": "light"}, {}, {},
                      {"AVORELO_TASK": "T-1"}, {}]
    for sha, env in zip(shas, recorded_under, strict=True):
        proc = run_main("receipt", "record", sha, cwd=repo.path, env=env)
        assert proc.returncode == 0, proc.stderr
    # One receipt edited: both paths must find it.
    note = json.loads(repo.git("notes", "--ref=avorelo", "show", shas[4]).stdout)
    note["predicate"]["task"]["scope"] = ["**"]
    repo.git("notes", "--ref=avorelo", "add", "-f", "-m", json.dumps(note), shas[4])

    environ = {k: v for k, v in os.environ.items() if not k.startswith("AVORELO_")}
    plain = open_repo(str(repo.path), environ)
    shared = [v.to_dict() for v in receipt_verify.verify_commits(plain, shas, environ)]
    monkeypatch.setattr(receipt_verify, "prefetch_commits", lambda repo, commits: repo)
    alone = [v.to_dict() for v in receipt_verify.verify_commits(plain, shas, environ)]
    assert shared == alone
    assert [v["status"] for v in shared] == ["valid"] * 4 + ["invalid"] + ["valid"] * 4


def test_equal_bad_trailers_are_each_commits_own_violation(make_repo) -> None:  # type: ignore[no-untyped-def]
    """Commits with the same trailers share one parsed declaration; an error is not shared:
    each commit's names that commit."""
    repo, _, shas = _range(make_repo)
    bad = "two tasks\n\nTask: T-1\nTask: T-2"
    made = []
    for name in ("src/a/p.py", "src/a/q.py"):
        repo.write(name, "p = 1\n")
        repo.add()
        made.append(repo.commit(bad))
    proc = repo.gate("ci", "--base", "main", "--head", "feature", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    by_commit = {c["range"]["head"]: c for c in json.loads(proc.stdout)["commits"]}
    for sha in made:
        assert [(v["rule"], v["message"]) for v in by_commit[sha]["violations"]
                if v["rule"] == "trailer-invalid"] == [
            ("trailer-invalid", f"commit {sha[:12]}: conflicting Task trailers: 'T-1', 'T-2'")]
    # The commits before them, whose trailers parse, are judged as before.
    assert by_commit[shas[1]]["violations"] == []


def test_a_real_push_refuses_the_range_as_ci_does(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same branch pushed with the hooks installed: pre-push shares work across the
    commits as ci does and reaches ci's verdict, naming the same commit and path."""
    repo, _, shas = _range(make_repo)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    installed = repo.gate("install", env=HOOK_ENV)
    assert installed.returncode == 0, installed.stderr
    pushed = repo.git("push", "origin", "feature", check=False, env=HOOK_ENV)
    said = (pushed.stdout + pushed.stderr).decode("utf-8", "replace")
    assert pushed.returncode != 0, said
    assert "src/b/y.py: out-of-scope" in said and f"[{shas[5][:12]}]" in said, said
    assert repo.git("ls-remote", "origin", "refs/heads/feature").stdout == b""
    ci = repo.gate("ci", "--base", "main", "--head", "feature")
    assert ci.returncode == 1 and "src/b/y.py: out-of-scope" in ci.stdout + ci.stderr


def test_a_policy_parsed_once_keeps_each_callers_source() -> None:
    """One parse per policy content, but where it was read is each caller's own; a policy
    that fails names the source it was read from, every time."""
    data = b"version: 1\nrequire_task: true\nprotected: [ci/**]\n"
    first = Policy.parse(data, ".avorelo/policy.yaml (at aaaaaaaaaaaa)", "b1")
    second = Policy.parse(data, ".avorelo/policy.yaml (at bbbbbbbbbbbb)", "b1")
    assert (first.source, second.source) == (".avorelo/policy.yaml (at aaaaaaaaaaaa)",
                                              ".avorelo/policy.yaml (at bbbbbbbbbbbb)")
    assert (first.protected, first.require_task, first.blob) == (
        (".avorelo/policy.yaml", "ci/**"), True, "b1")
    assert second == Policy.parse(data, ".avorelo/policy.yaml (at bbbbbbbbbbbb)", "b1")
    # The blob id is the caller's too: the same bytes under another id are another policy.
    assert Policy.parse(data, "p", "b2").blob == "b2"
    for where in ("at cccccccccccc", "at dddddddddddd"):
        with pytest.raises(BadInputError, match=f"^{where}: require_tasks: unknown key"):
            Policy.parse(b"version: 1\nrequire_tasks: true\n", where, "b3")


def test_receipt_verify_of_a_task_the_shell_named(
        make_repo, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """No commit names the task; every receipt was recorded with ``AVORELO_TASK=T-1``, which
    verify replays. The task's own file is read only because of that variable, and it goes
    narrow, wide and narrow again: shared resolutions that ignored the variable would judge
    every receipt by the first one's task, and find the others invalid."""
    repo, _, shas = _range(make_repo, ID_FILE, trailers=False)
    for sha in shas:
        proc = run_main("receipt", "record", sha, cwd=repo.path, env={"AVORELO_TASK": "T-1"})
        assert proc.returncode == 0, proc.stderr
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AVORELO_")}
    plain = open_repo(str(repo.path), environ)
    shared = [v.to_dict() for v in receipt_verify.verify_commits(plain, shas, environ)]
    monkeypatch.setattr(receipt_verify, "prefetch_commits", lambda repo, commits: repo)
    alone = [v.to_dict() for v in receipt_verify.verify_commits(plain, shas, environ)]
    assert shared == alone
    assert [v["status"] for v in shared] == ["valid"] * len(shas), shared
    recorded = [json.loads(repo.git("notes", "--ref=avorelo", "show", s).stdout)
                ["predicate"]["task"] for s in shas]
    assert {t["file"] for t in recorded} == {ID_FILE}
    assert len({t["file_blob"] for t in recorded}) == 2   # narrow and wide


def test_a_replayed_task_id_that_is_not_one_is_refused_by_resolution(make_repo) -> None:  # type: ignore[no-untyped-def]
    """A receipt edited to claim the shell named a task id holding a newline: verify replays
    it, and the task's resolution refuses the id, naming the variable. Sharing reads no task
    file for an id that is not one (it would have asked git for a name with a newline, and
    failed with git's complaint instead)."""
    repo, _, shas = _range(make_repo, ID_FILE, trailers=False)
    proc = run_main("receipt", "record", shas[1], cwd=repo.path, env={"AVORELO_TASK": "T-1"})
    assert proc.returncode == 0, proc.stderr
    note = json.loads(repo.git("notes", "--ref=avorelo", "show", shas[1]).stdout)
    assert note["predicate"]["task"]["field_sources"]["id"] == "env:AVORELO_TASK"
    note["predicate"]["task"]["id"] = "T-1\nX"
    repo.git("notes", "--ref=avorelo", "add", "-f", "-m", json.dumps(note), shas[1])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AVORELO_")}
    [checked] = receipt_verify.verify_commits(open_repo(str(repo.path), environ), [shas[1]],
                                              environ)
    assert (checked.status, checked.problems) == ("invalid", (
        "cannot recompute the verdict from the commit: AVORELO_TASK: 'T-1\\nX' is not a task "
        "id (letters, digits, . _ -, starting with a letter or digit)",))


def test_sibling_commits_with_one_parent_each_get_their_own_task(make_repo) -> None:  # type: ignore[no-untyped-def]
    """Two commits made on the same parent and merged: equal declarations, equal earlier
    versions (the same parent, the same base), different task files of their own. Only the
    commit's own files tell them apart, so those must be in what decides sharing."""
    repo, base = _main_and_feature(make_repo, "siblings", TASK_FILE)
    repo.write("src/a/x.py", "x = 1\n")
    repo.add()
    repo.commit("work\n\nTask: T-1")
    repo.git("switch", "-q", "-c", "side")
    repo.write(TASK_FILE, NARROW)
    repo.add()
    narrowing = repo.commit("narrow the task\n\nTask: T-1")
    repo.git("switch", "-q", "feature")
    repo.write("src/a/y.py", "y = 1\n")
    repo.add()
    keeping = repo.commit("keep the task\n\nTask: T-1")
    repo.git("merge", "-q", "--no-edit", "side")
    proc = repo.gate("ci", "--base", "main", "--head", "feature", "--format", "json")
    by_commit = {c["range"]["head"]: c for c in json.loads(proc.stdout)["commits"]}
    git = open_repo(str(repo.path))
    trailers = commit_trailers(git, [narrowing, keeping])
    for sha in (narrowing, keeping):
        parent = repo.git("rev-parse", f"{sha}^").stdout.decode().strip()
        alone = resolve_task(Snapshot(git, sha), environ={},
                             declaration=declaration_from(trailers[sha], source=sha),
                             bases=[Snapshot(git, base)], parent=Snapshot(git, parent))
        assert by_commit[sha]["task"] == alone.to_dict(), sha
    assert by_commit[narrowing]["task"]["file_blob"] != by_commit[keeping]["task"]["file_blob"]
