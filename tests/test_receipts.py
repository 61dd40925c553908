"""Receipts: recorded through the installed hooks, re-anchored after amend and rebase, and every
tamper caught by ``receipt verify`` (real git, real hooks, real notes)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    PACKAGE_ROOT,
    ROOT,
    GitRepo,
    assert_clean_error,
    hooks_run_this_checkout,
    run_gate,
)
from receipt_history import make_commits

import avorelo_gate
from avorelo_gate.adopt.install import render_hook
from avorelo_gate.receipts.build import canonical_bytes

NOTES = "refs/notes/avorelo"
POLICY = """\
version: 1
require_task: true
weights:
  light: {max_files: 3, max_lines: 50}
"""
TASK = 'id: T-1\nscope: ["src/**"]\nmodel: {weight: light, name: haiku-x}\n'


@pytest.fixture
def hooked(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A repository with a policy, a task and every hook installed by ``avorelo-gate install``."""
    hooks_run_this_checkout(monkeypatch)
    repo.write(".avorelo/policy.yaml", POLICY)
    repo.write(".avorelo/tasks/T-1.yaml", TASK)
    repo.write(".avorelo/tasks/T-2.yaml", TASK.replace("T-1", "T-2"))
    repo.write("src/app.py", "print('hi')\n")
    repo.write("docs/guide.md", "# guide\n")
    repo.add()
    repo.commit("init")
    installed = repo.gate("install")
    assert installed.returncode == 0, installed.stderr
    return repo


def hook_commit(repo: GitRepo, message: str, *extra: str, code: int = 0,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    proc = repo.git("commit", "-q", "-m", message, *extra, check=False, env=env)
    assert proc.returncode == code, proc.stderr.decode()
    return proc


def edit_and_commit(repo: GitRepo, path: str = "src/app.py", message: str = "edit\n\nTask: T-1",
                    **kw: Any) -> subprocess.CompletedProcess[bytes]:
    with open(repo.path / path, "a", encoding="utf-8") as f:
        f.write("more\n")
    repo.add()
    return hook_commit(repo, message, **kw)


def note_of(repo: GitRepo, rev: str = "HEAD") -> bytes | None:
    sha = repo.git("rev-parse", rev).stdout.decode().strip()
    listed = repo.git("notes", f"--ref={NOTES}", "list", sha, check=False)
    if listed.returncode != 0:
        return None
    return repo.git("cat-file", "blob", listed.stdout.decode().strip()).stdout


def receipt_of(repo: GitRepo, rev: str = "HEAD") -> dict[str, Any]:
    data = note_of(repo, rev)
    assert data is not None, f"no receipt on {rev}"
    doc: dict[str, Any] = json.loads(data)
    return doc


def put_note(repo: GitRepo, rev: str, data: bytes) -> None:
    blob = repo.git("hash-object", "-w", "--stdin", input=data).stdout.decode().strip()
    repo.git("notes", f"--ref={NOTES}", "add", "-f", "-C", blob, rev)


def all_notes_anchored(repo: GitRepo) -> list[tuple[str, str]]:
    """(annotated commit, subject) of every note whose subject is another commit."""
    out = repo.git("notes", f"--ref={NOTES}", "list").stdout.decode().split("\n")
    wrong = []
    for line in filter(None, out):
        blob, obj = line.split()
        subject = json.loads(repo.git("cat-file", "blob", blob).stdout)["subject"][0]["name"]
        if subject != obj:
            wrong.append((obj, subject))
    return wrong


def verify(repo: GitRepo, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return repo.gate("receipt", "verify", *args, env=env)


def without_time(data: bytes) -> bytes:
    doc = json.loads(data)
    del doc["predicate"]["time"]
    return canonical_bytes(doc)


# -- recording --------------------------------------------------------------------------------
def test_commit_through_hooks_attaches_the_receipt(hooked: GitRepo) -> None:
    proc = edit_and_commit(hooked)
    assert b"attached to refs/notes/avorelo (the commit-msg verdict)" in proc.stderr
    r = receipt_of(hooked)
    head = hooked.head()
    tree = hooked.git("rev-parse", "HEAD^{tree}").stdout.decode().strip()
    assert r["_type"] == "https://in-toto.io/Statement/v1"
    assert r["predicateType"] == "https://avorelo.dev/receipt/v1"
    assert r["subject"] == [{"name": head, "digest": {"gitCommit": head, "gitTree": tree}}]
    p = r["predicate"]
    assert p["verdict"] == "pass" and p["violations"] == []
    assert p["task"]["id"] == "T-1"
    assert p["task"]["field_sources"] == {"id": "trailer:Task",
                                          "scope": ".avorelo/tasks/T-1.yaml"}
    assert p["model"] == {"weight": "light", "name": "haiku-x", "claimed": True,
                          "source": {"weight": "task-file", "name": "task-file"}}
    assert p["diff"] == {"files": 1, "added": 1, "removed": 0, "paths": ["src/app.py"],
                         "paths_truncated": False,
                         "paths_sha256": hashlib.sha256(b"src/app.py\0").hexdigest()}
    policy_blob = hooked.git("rev-parse", "HEAD~1:.avorelo/policy.yaml").stdout.decode().strip()
    assert p["policy"] == {"blob": policy_blob}
    assert p["gate"] == {"version": avorelo_gate.__version__}
    assert p["signature"] == {"alg": "none"}
    assert not list((hooked.path / ".git" / "avorelo" / "pending").iterdir())
    assert verify(hooked).returncode == 0


def test_receipt_is_canonical_and_identical_apart_from_time(hooked: GitRepo) -> None:
    edit_and_commit(hooked)
    from_hook = note_of(hooked)
    assert from_hook is not None
    assert from_hook == canonical_bytes(json.loads(from_hook))
    assert hooked.gate("receipt", "record").returncode == 0
    recorded = note_of(hooked)
    assert recorded is not None
    assert without_time(recorded) == without_time(from_hook)


def test_receipt_bytes_identical_with_a_pinned_time(hooked: GitRepo,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    edit_and_commit(hooked)
    first = note_of(hooked)
    assert hooked.gate("receipt", "record").returncode == 0
    assert note_of(hooked) == first
    assert receipt_of(hooked)["predicate"]["time"] == "2026-01-01T00:00:00Z"
    assert_clean_error(hooked.gate("receipt", "record", env={"SOURCE_DATE_EPOCH": "soon"}), 2,
                       "SOURCE_DATE_EPOCH")


def test_no_verify_commit_is_recorded_from_the_commit(hooked: GitRepo) -> None:
    hooked.write("docs/guide.md", "changed\n")
    hooked.write("src/app.py", "x = 1\n")
    hooked.add()
    proc = hook_commit(hooked, "sneaky\n\nTask: T-1", "--no-verify")
    assert b"(recorded from the commit)" in proc.stderr
    p = receipt_of(hooked)["predicate"]
    assert p["verdict"] == "fail"
    assert [(v["rule"], v["path"]) for v in p["violations"]] == [("out-of-scope",
                                                                   "docs/guide.md")]
    assert verify(hooked).returncode == 0  # a true receipt of a failing commit is valid


def test_killed_between_commit_msg_and_post_commit_is_repaired(hooked: GitRepo) -> None:
    hooked.write("src/app.py", "y = 2\n")
    hooked.add()
    msg = hooked.path.parent / "msg.txt"  # outside the work tree: never staged
    msg.write_text("edit\n\nTask: T-1\n")
    assert hooked.gate("hook", "commit-msg", str(msg)).returncode == 0
    pending = list((hooked.path / ".git" / "avorelo" / "pending").iterdir())
    assert sorted(p.suffix for p in pending) == [".json", ".sh"]   # for Python, for the shell
    # The commit happens but post-commit never runs (SIGKILL): no hooks at all for it.
    hooked.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-F", str(msg))
    assert note_of(hooked) is None
    missing = verify(hooked)
    assert missing.returncode == 1 and "receipt-missing" in missing.stdout
    assert hooked.gate("receipt", "record").returncode == 0
    assert verify(hooked).returncode == 0
    # The abandoned pending receipt is never attached to a later commit.
    proc = edit_and_commit(hooked, message="next\n\nTask: T-2")
    assert b"(the commit-msg verdict)" in proc.stderr
    assert receipt_of(hooked)["predicate"]["task"]["id"] == "T-2"
    assert verify(hooked, "HEAD~2..HEAD").returncode == 0


def test_stale_pending_receipt_for_the_same_tree_is_not_attached(hooked: GitRepo) -> None:
    hooked.write("src/app.py", "z = 3\n")
    hooked.add()
    msg = hooked.path.parent / "msg.txt"  # outside the work tree: never staged
    msg.write_text("edit\n\nTask: T-1\n")
    assert hooked.gate("hook", "commit-msg", str(msg)).returncode == 0
    # Same tree, same parent, another task; commit-msg does not run (--no-verify).
    proc = hook_commit(hooked, "other\n\nTask: T-2", "--no-verify")
    assert b"(recorded from the commit)" in proc.stderr
    assert receipt_of(hooked)["predicate"]["task"]["id"] == "T-2"
    assert verify(hooked).returncode == 0


def test_damaged_pending_receipt_is_replaced_by_a_fresh_one(hooked: GitRepo) -> None:
    hooked.write("src/app.py", "w = 4\n")
    hooked.add()
    msg = hooked.path.parent / "msg.txt"
    msg.write_text("edit\n\nTask: T-1\n")
    assert hooked.gate("hook", "commit-msg", str(msg)).returncode == 0
    [pending] = (hooked.path / ".git" / "avorelo" / "pending").glob("*.json")
    doc = json.loads(pending.read_bytes())
    doc["predicate"]["verdict"] = "maybe"
    pending.write_text(json.dumps(doc))
    hooked.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-F", str(msg))
    proc = hooked.gate("hook", "post-commit")
    assert proc.returncode == 0 and "(recorded from the commit)" in proc.stderr
    assert receipt_of(hooked)["predicate"]["verdict"] == "pass"
    assert verify(hooked).returncode == 0


# -- rewrites ---------------------------------------------------------------------------------
def test_amend_reanchors_the_receipt(hooked: GitRepo) -> None:
    edit_and_commit(hooked)
    old = hooked.head()
    hooked.write("src/more.py", "m = 1\n")
    hooked.add()
    proc = hook_commit(hooked, "edit, amended\n\nTask: T-1", "--amend")
    assert hooked.head() != old
    assert b"re-anchored 1 receipt(s)" in proc.stderr
    r = receipt_of(hooked)
    assert r["subject"][0]["name"] == hooked.head()
    assert r["predicate"]["diff"]["paths"] == ["src/app.py", "src/more.py"]
    assert all_notes_anchored(hooked) == []
    assert verify(hooked).returncode == 0


def test_rebase_reanchors_every_receipt(hooked: GitRepo) -> None:
    hooked.git("checkout", "-q", "-b", "feature")
    edit_and_commit(hooked, "src/app.py", "one\n\nTask: T-1")
    edit_and_commit(hooked, "src/two.py", "two\n\nTask: T-1")
    hooked.git("checkout", "-q", "main")
    edit_and_commit(hooked, "src/main.py", "on main\n\nTask: T-2")
    hooked.git("checkout", "-q", "feature")
    before = hooked.git("rev-list", "main..feature").stdout.split()
    proc = hooked.git("rebase", "-q", "main", check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    after = hooked.git("rev-list", "main..feature").stdout.decode().split()
    assert len(after) == 2 and not set(after) & {b.decode() for b in before}
    assert all_notes_anchored(hooked) == []
    checked = verify(hooked, "main..feature")
    assert checked.returncode == 0, checked.stdout
    assert "2 valid" in checked.stdout


def test_post_rewrite_rejects_garbage_on_stdin(hooked: GitRepo) -> None:
    proc = hooked.gate("hook", "post-rewrite", "amend", input=b"not a pair\n")
    assert_clean_error(proc, 2, "post-rewrite")


# -- tampering --------------------------------------------------------------------------------
def _edit(data: bytes, fn: Any) -> bytes:
    doc = json.loads(data)
    fn(doc)
    return canonical_bytes(doc)


def _set_weight(doc: dict[str, Any]) -> None:
    doc["predicate"]["model"]["weight"] = "heavy"


def _set_verdict(doc: dict[str, Any]) -> None:
    doc["predicate"]["verdict"] = "fail"


def _wrong_type(doc: dict[str, Any]) -> None:
    doc["predicate"]["diff"]["files"] = "1"


TAMPERS: dict[str, tuple[Any, str]] = {
    "edited verdict": (lambda d: _edit(d, _set_verdict), "verdict"),
    "changed weight": (lambda d: _edit(d, _set_weight), "model.weight"),
    "duplicated key": (lambda d: d.replace(b'{"_type":', b'{"_type":"x","_type":', 1),
                       "duplicate key '_type'"),
    "NaN": (lambda d: d.replace(b'"added":1', b'"added":NaN', 1), "NaN"),
    "Infinity": (lambda d: d.replace(b'"files":1', b'"files":-Infinity', 1), "Infinity"),
    "wrong type": (lambda d: _edit(d, _wrong_type), "predicate.diff.files"),
    "not JSON": (lambda d: b"LGTM, trust me", "not JSON"),
    "not UTF-8": (lambda d: d.replace(b"T-1", b"T-\xff", 1), "not UTF-8"),
    "JSON, not a receipt": (lambda d: b"[1, 2]", "expected a mapping"),
    # issue 17: each compared field and the subject's tree, alone (T-2 is a real task here)
    "other task": (lambda d: _edit(d, lambda doc: doc["predicate"]["task"].update(id="T-2")),
                   "task.id: the receipt says 'T-2'"),
    "subject tree": (lambda d: _edit(d, lambda doc: doc["subject"][0]["digest"].update(
        gitTree="0" * 40)), "gitTree 000000000000 is not the commit's tree"),
    # a field that is not a mapping on one side is named whole, with what it is
    "approvals claimed": (lambda d: _edit(d, lambda doc: doc["predicate"].update(approvals=[])),
                          "approvals: the approvals differs: the receipt says [], recomputed "
                          "from the commit None"),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_verify_catches_tampering(hooked: GitRepo, case: str) -> None:
    edit_and_commit(hooked)
    original = note_of(hooked)
    assert original is not None
    change, needle = TAMPERS[case]
    tampered = change(original)
    assert tampered != original
    put_note(hooked, "HEAD", tampered)
    proc = verify(hooked)
    assert proc.returncode == 1, proc.stdout
    assert "receipt-invalid" in proc.stdout and needle in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr
    # The JSON report names the status too, whichever check found it (issue 17: a receipt
    # that does not parse is "invalid" there as well, not some other word).
    doc = json.loads(verify(hooked, "HEAD~1..HEAD", "--format", "json").stdout)
    assert [(c["status"], any(needle in p for p in c["problems"]))
            for c in doc["commits"]] == [("invalid", True)]


def test_verify_catches_a_receipt_copied_from_another_commit(hooked: GitRepo) -> None:
    edit_and_commit(hooked)
    first = note_of(hooked)
    assert first is not None
    edit_and_commit(hooked)
    put_note(hooked, "HEAD", first)
    proc = verify(hooked)
    assert proc.returncode == 1
    assert "receipt-invalid" in proc.stdout and "copied from another commit" in proc.stdout
    listed = hooked.gate("receipt", "list")
    assert "(subject is another commit)" in listed.stdout


def test_verify_catches_an_edited_failing_verdict(hooked: GitRepo) -> None:
    hooked.write("docs/guide.md", "sneaky\n")
    hooked.add()
    hook_commit(hooked, "out of scope\n\nTask: T-1", "--no-verify")
    note = note_of(hooked)
    assert note is not None

    def whitewash(doc: dict[str, Any]) -> None:
        doc["predicate"]["verdict"] = "pass"
        doc["predicate"]["violations"] = []

    put_note(hooked, "HEAD", _edit(note, whitewash))
    proc = verify(hooked)
    assert proc.returncode == 1
    assert "verdict: the receipt says 'pass', the commit gives 'fail'" in proc.stdout
    assert "out-of-scope docs/guide.md" in proc.stdout


def test_verify_names_every_recorded_and_recomputed_violation(hooked: GitRepo) -> None:
    """A failing receipt whose violations were swapped for others of the same count: both
    lists are shown whole, each entry apart (issue 17)."""
    hooked.write("docs/guide.md", "sneaky\n")
    hooked.write("docs/more.md", "more\n")
    hooked.add()
    hook_commit(hooked, "out of scope\n\nTask: T-1", "--no-verify")
    note = note_of(hooked)
    assert note is not None

    def swap(doc: dict[str, Any]) -> None:
        for v in doc["predicate"]["violations"]:
            if v.get("path") == "docs/more.md":
                v["path"] = "docs/other.md"

    put_note(hooked, "HEAD", _edit(note, swap))
    proc = verify(hooked)
    assert proc.returncode == 1
    assert ("violations differ: recorded [out-of-scope docs/guide.md, out-of-scope "
            "docs/other.md], recomputed [out-of-scope docs/guide.md, out-of-scope "
            "docs/more.md]") in proc.stdout, proc.stdout


def test_receipt_records_the_context_the_task_was_given(hooked: GitRepo) -> None:
    """The context set the commit was checked with (each file's blob at the parent) and the
    task's tools are in the receipt, and verify recomputes them (issue 17: neither was pinned
    by any test)."""
    hooked.write(".avorelo/tasks/T-3.yaml",
                 'id: T-3\nscope: ["src/**"]\ncontext: [docs/guide.md]\ntools: [pytest]\n')
    hooked.add()
    hook_commit(hooked, "a task with context\n\nTask: T-1")
    guide = hooked.git("rev-parse", "HEAD:docs/guide.md").stdout.decode().strip()
    parent = hooked.git("rev-parse", "HEAD").stdout.decode().strip()
    edit_and_commit(hooked, message="edit\n\nTask: T-3")
    context = receipt_of(hooked)["predicate"]["context"]
    assert context == {"at": parent, "files": [
        {"path": "docs/guide.md", "blob": guide, "size": len("# guide\n")}],
        "total_bytes": len("# guide\n")}, context
    # and the tools it declared and used (Tools-Used: trailers), as recorded
    assert receipt_of(hooked)["predicate"]["tools"] == {"declared": ["pytest"], "used": []}
    assert verify(hooked, "HEAD~1..HEAD").returncode == 0


def test_receipt_records_the_approvals_the_policy_asked_for(hooked: GitRepo) -> None:
    ada = "Ada Lovelace <ada@example.org>"
    hooked.write(".avorelo/policy.yaml", POLICY + f'approvals:\n  - {{paths: ["src/**"], '
                 f'approvers: ["{ada}"], count: 1}}\n')
    hooked.add()
    hook_commit(hooked, "approvals\n\nTask: T-1", env={"AVORELO_ALLOW_POLICY_CHANGE": "1"})
    edit_and_commit(hooked, message=f"edit\n\nTask: T-1\nApproved-by: {ada}")
    assert receipt_of(hooked)["predicate"]["approvals"] == [
        {"rule": 0, "required": 1, "approved_by": [ada], "claimed": True, "via": "trailer",
         "satisfied": True}]
    assert verify(hooked, "HEAD~1..HEAD").returncode == 0


def test_verify_reports_missing_receipts_and_missing_notes_ref(repo: GitRepo) -> None:
    repo.write("a.txt")
    repo.add()
    repo.commit("no hooks here")
    proc = repo.gate("receipt", "verify")
    assert proc.returncode == 1
    assert "receipt-missing" in proc.stdout and "git fetch origin" in proc.stdout
    shown = repo.gate("receipt", "show")
    assert_clean_error(shown, 1, "receipt-missing")
    listed = repo.gate("receipt", "list")
    assert listed.returncode == 0 and "(no receipt)" in listed.stdout


def test_verify_json_format(hooked: GitRepo) -> None:
    edit_and_commit(hooked)
    proc = verify(hooked, "HEAD~1..HEAD", "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "avorelo.receipt-verify/v1"
    assert doc["verdict"] == "pass" and doc["exit_code"] == 0
    assert [c["status"] for c in doc["commits"]] == ["valid"]


def test_verify_bad_revision_is_exit_2(hooked: GitRepo) -> None:
    assert_clean_error(verify(hooked, "nope..HEAD"), 2, "nope")


# -- signing ----------------------------------------------------------------------------------
def test_hmac_signed_receipts(hooked: GitRepo) -> None:
    edit_and_commit(hooked, env={"AVORELO_RECEIPT_KEY": "s3cret"})
    sig = receipt_of(hooked)["predicate"]["signature"]
    assert sig["alg"] == "hmac-sha256" and len(sig["value"]) == 64
    good = verify(hooked, env={"AVORELO_RECEIPT_KEY": "s3cret"})
    assert good.returncode == 0, good.stdout
    # The key was used: the report says the signature is valid, not that it went unchecked.
    assert f"(signed (hmac-sha256, key id {sig['keyid']}): valid)" in good.stdout, good.stdout
    assert "not checked" not in good.stdout
    wrong = verify(hooked, env={"AVORELO_RECEIPT_KEY": "guess"})
    assert wrong.returncode == 1 and "signed with another key" in wrong.stdout
    unchecked = verify(hooked)
    assert unchecked.returncode == 0 and "not checked" in unchecked.stdout

    def backdate(doc: dict[str, Any]) -> None:
        doc["predicate"]["time"] = "2020-01-01T00:00:00Z"  # not recomputable: only signed

    note = note_of(hooked)
    assert note is not None
    put_note(hooked, "HEAD", _edit(note, backdate))
    assert verify(hooked).returncode == 0
    edited = verify(hooked, env={"AVORELO_RECEIPT_KEY": "s3cret"})
    assert edited.returncode == 1 and "does not match the receipt's content" in edited.stdout
    shown = hooked.gate("receipt", "show", env={"AVORELO_RECEIPT_KEY": "s3cret"})
    assert "signature: signed (hmac-sha256" in shown.stdout and "INVALID" in shown.stdout


def test_policy_demanding_signatures(hooked: GitRepo) -> None:
    hooked.write(".avorelo/policy.yaml", POLICY + "receipts: {signed: true}\n")
    hooked.add()
    hook_commit(hooked, "sign receipts\n\nTask: T-1", env={"AVORELO_ALLOW_POLICY_CHANGE": "1"})
    proc = edit_and_commit(hooked)
    assert b"AVORELO_RECEIPT_KEY is not set" in proc.stderr
    unsigned = verify(hooked, env={"AVORELO_RECEIPT_KEY": "k"})
    assert unsigned.returncode == 1 and "the receipt is unsigned" in unsigned.stdout
    assert "unsigned" in hooked.gate("receipt", "show").stdout
    edit_and_commit(hooked, env={"AVORELO_RECEIPT_KEY": "k"})
    assert verify(hooked, env={"AVORELO_RECEIPT_KEY": "k"}).returncode == 0
    assert_clean_error(verify(hooked), 3, "AVORELO_RECEIPT_KEY is not set")


# -- weights and environment claims -----------------------------------------------------------
def test_weight_budget_verdict_is_recorded_and_verified(hooked: GitRepo) -> None:
    for i in range(4):  # the policy lets a light model change 3 files
        hooked.write(f"src/m{i}.py", f"{i}\n")
    hooked.add()
    proc = hook_commit(hooked, "big\n\nTask: T-1", code=1)
    assert b"weight-budget" in proc.stderr
    hook_commit(hooked, "big\n\nTask: T-1", "--no-verify")
    p = receipt_of(hooked)["predicate"]
    assert [v["rule"] for v in p["violations"]] == ["weight-budget"]
    assert verify(hooked).returncode == 0

    def lighten(doc: dict[str, Any]) -> None:
        doc["predicate"]["model"]["weight"] = "heavy"
        doc["predicate"]["verdict"], doc["predicate"]["violations"] = "pass", []

    note = note_of(hooked)
    assert note is not None
    put_note(hooked, "HEAD", _edit(note, lighten))
    proc2 = verify(hooked)
    assert proc2.returncode == 1
    assert "model.weight" in proc2.stdout and "weight-budget" in proc2.stdout


def test_environment_claims_are_recorded_and_replayed(hooked: GitRepo) -> None:
    edit_and_commit(hooked, env={"AVORELO_MODEL_WEIGHT": "standard", "AVORELO_MODEL": "m-9"})
    model = receipt_of(hooked)["predicate"]["model"]
    assert model == {"weight": "standard", "name": "m-9", "claimed": True,
                     "source": {"weight": "env:AVORELO_MODEL_WEIGHT",
                                "name": "env:AVORELO_MODEL"}}
    assert verify(hooked).returncode == 0
    # The verifier's own environment is not the committer's.
    assert verify(hooked, env={"AVORELO_MODEL_WEIGHT": "heavy"}).returncode == 0


# -- reading ----------------------------------------------------------------------------------
def test_show_and_list(hooked: GitRepo) -> None:
    edit_and_commit(hooked)
    text = hooked.gate("receipt", "show")
    assert text.returncode == 0
    assert f"receipt for commit {hooked.head()}" in text.stdout
    assert "verdict: pass" in text.stdout and "model: light haiku-x claimed" in text.stdout
    raw = hooked.gate("receipt", "show", "--format", "json")
    assert raw.stdout.encode() == note_of(hooked) + b"\n"  # type: ignore[operator]
    listed = hooked.gate("receipt", "list").stdout.splitlines()
    assert len(listed) == 2
    assert listed[0].split() == [hooked.head()[:12], "T-1", "pass", "light", "haiku-x"]
    assert listed[1].endswith("(no receipt)")
    bad = hooked.gate("receipt", "show", "no-such-rev")
    assert_clean_error(bad, 2, "no-such-rev")


def test_non_utf8_path_is_recorded_and_verifies(hooked: GitRepo) -> None:
    hooked.write(b"src/caf\xe9.py", "x\n")
    hooked.add()
    hook_commit(hooked, "latin-1 name\n\nTask: T-1")
    p = receipt_of(hooked)["predicate"]
    assert p["diff"]["paths"] == ["src/caf\\xe9.py"]
    assert p["diff"]["paths_sha256"] == hashlib.sha256(b"src/caf\xe9.py\0").hexdigest()
    assert verify(hooked).returncode == 0


# -- concurrency ------------------------------------------------------------------------------
def test_concurrent_commits_in_two_worktrees(hooked: GitRepo) -> None:
    second = hooked.path.parent / "second"
    hooked.git("worktree", "add", "-q", "-b", "other", str(second))
    trees = [GitRepo(hooked.path), GitRepo(second)]
    for round_ in range(3):
        for i, t in enumerate(trees):
            t.write(f"src/w{i}.py", f"{round_}\n")
            t.add()
        procs = [subprocess.Popen(["git", "commit", "-q", "-m", f"r{round_}\n\nTask: T-1"],
                                  cwd=t.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for t in trees]
        for p in procs:
            _, err = p.communicate()
            assert p.returncode == 0, err.decode()
    for t in trees:
        proc = verify(t, "HEAD~3..HEAD")
        assert proc.returncode == 0, proc.stdout
        assert "3 valid" in proc.stdout


def test_concurrent_note_writers_lose_nothing(repo: GitRepo) -> None:
    shas = make_commits(repo.path, [_work(i) for i in range(45)])
    script = ("import sys; from avorelo_gate.git.repo import open_repo; "
              "from avorelo_gate.receipts.store import write_notes; "
              "write_notes(open_repo(), {s: ('{\"n\":\"%s\"}' % s).encode() "
              "for s in sys.argv[1:]})")
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", script, *shas[i::3]], cwd=repo.path,
                              env=env, stderr=subprocess.PIPE) for i in range(3)]
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err.decode()
    listed = repo.git("notes", f"--ref={NOTES}", "list").stdout.decode().split("\n")
    assert len([line for line in listed if line]) == 45


def _work(i: int) -> Any:
    from receipt_history import Work
    return Work((f"f{i}.txt",))


# -- installation -----------------------------------------------------------------------------
def test_install_sets_notes_rewrite_config_and_keeps_other_refs(repo: GitRepo) -> None:
    repo.git("config", "notes.rewriteRef", "refs/notes/commits")
    proc = repo.gate("install")
    assert proc.returncode == 0, proc.stderr
    refs = repo.git("config", "--get-all", "notes.rewriteRef").stdout.decode().split()
    assert refs == ["refs/notes/commits", NOTES]
    for key in ("notes.rewrite.amend", "notes.rewrite.rebase"):
        assert repo.git("config", key).stdout.decode().strip() == "true"
    assert f"git push <remote> {NOTES}" in proc.stdout
    assert f"+{NOTES}:{NOTES}" in proc.stdout
    again = repo.gate("install")
    assert again.returncode == 0
    assert repo.git("config", "--get-all", "notes.rewriteRef").stdout.decode().split() == refs
    for hook in ("post-commit", "post-rewrite"):
        assert (Path(repo.path) / ".git" / "hooks" / hook).exists()


def test_hook_scripts_and_pre_commit_manifest_offer_post_commit() -> None:
    for hook in ("post-commit", "post-rewrite"):
        assert (ROOT / "hooks" / hook).read_text() == render_hook(hook)
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    post = [h for h in manifest if h["id"] == "avorelo-gate-post-commit"]
    assert post and post[0]["stages"] == ["post-commit"]
    assert post[0]["entry"] == "avorelo-gate hook post-commit"
    assert (post[0]["pass_filenames"], post[0]["always_run"]) == (False, True)


def test_record_outside_a_repository_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_error(run_gate("receipt", "record", cwd=tmp_path), 2, "not a git repository")
