"""The pre-push gate, end to end: real pushes to a local bare remote with the hooks installed.

Git runs the installed hook with the refs on stdin; a refused push leaves the remote as it was.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE_ROOT, GitRepo, assert_clean_error

from avorelo_gate.errors import BadInputError
from avorelo_gate.points.prepush import is_zero_id, parse_push_lines

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(PACKAGE_ROOT)}
POLICY = 'version: 1\nrequire_task: true\nprotected: ["ci/**"]\n'
RECEIPTS_POLICY = POLICY + "receipts: {required: true}\n"
TASK = 'id: T-1\nscope: ["src/**"]\n'


class Pushing:
    """A working repository with the gate's hooks installed and a bare remote ``origin``."""

    def __init__(self, work: GitRepo, remote: Path) -> None:
        self.work = work
        self.remote = remote

    def push(self, *args: str, env: dict[str, str] | None = None) -> \
            subprocess.CompletedProcess[str]:
        proc = self.work.git("push", *args, check=False, env={**HOOK_ENV, **(env or {})})
        # Which stream a hook's output reaches the pusher on depends on git's version: both
        # are read as one (as "stderr", where assert_clean_error looks).
        both = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        return subprocess.CompletedProcess(proc.args, proc.returncode, "", both)

    def on_remote(self, ref: str) -> str | None:
        proc = subprocess.run(["git", "--git-dir", str(self.remote), "rev-parse", "--verify",
                               "-q", ref], capture_output=True, check=False)
        return proc.stdout.decode().strip() or None

    def commit(self, path: str, content: str = "x\n", message: str = "change",
               *extra: str) -> str:
        self.work.write(path, content)
        self.work.add()
        return self.work.commit(message, *extra)


def make_pushing(make_repo, tmp_path: Path, policy: str = POLICY,  # type: ignore[no-untyped-def]
                 object_format: str = "sha1") -> Pushing:
    remote = tmp_path / "remote.git"
    fmt = [f"--object-format={object_format}"] if object_format != "sha1" else []
    subprocess.run(["git", "init", "-q", "--bare", *fmt, str(remote)], check=True)
    work = make_repo("work", *fmt)
    work.write(".avorelo/policy.yaml", policy)
    work.write(".avorelo/task.yaml", TASK)
    work.write("src/a.py", "a = 1\n")
    work.write("docs/old.md", "old\n")
    work.add()
    work.commit("init")
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")          # before the hooks: the remote's history
    installed = work.gate("install", env=HOOK_ENV)
    assert installed.returncode == 0, installed.stderr
    return Pushing(work, remote)


@pytest.fixture
def pushing(make_repo, tmp_path: Path) -> Pushing:  # type: ignore[no-untyped-def]
    return make_pushing(make_repo, tmp_path)


def test_pre_push_fast_forward_in_scope_passes(pushing: Pushing) -> None:
    sha = pushing.commit("src/b.py")
    proc = pushing.push("origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert pushing.on_remote("main") == sha
    assert "1 new commit(s) checked" in proc.stderr


def test_pre_push_no_verify_commit_refused(pushing: Pushing) -> None:
    before = pushing.on_remote("main")
    pushing.commit("src/b.py")
    bad = pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    proc = pushing.push("origin", "main")
    assert proc.returncode == 1, proc.stderr
    assert "docs/guide.md: out-of-scope" in proc.stderr
    assert f"[{bad[:12]}]" in proc.stderr
    assert pushing.on_remote("main") == before     # the whole push was refused


def test_pre_push_new_branch_checks_only_commits_not_on_remote(pushing: Pushing) -> None:
    # Out-of-scope work already on the remote was judged when it got there, not again now.
    pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    pushing.work.git("push", "-q", "--no-verify", "origin", "main")
    pushing.work.git("switch", "-q", "-c", "feature")
    sha = pushing.commit("src/b.py")
    proc = pushing.push("origin", "feature")
    assert proc.returncode == 0, proc.stderr
    assert pushing.on_remote("feature") == sha
    assert "1 new commit(s) checked" in proc.stderr


def test_pre_push_new_branch_with_bad_commit_refused(pushing: Pushing) -> None:
    pushing.work.git("switch", "-q", "-c", "feature")
    pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    proc = pushing.push("origin", "feature")
    assert proc.returncode == 1
    assert "out-of-scope" in proc.stderr
    assert pushing.on_remote("feature") is None


def test_pre_push_force_push_checks_rewritten_commits(pushing: Pushing) -> None:
    pushing.commit("src/b.py")
    assert pushing.push("origin", "main").returncode == 0
    pushed = pushing.on_remote("main")
    pushing.work.write("docs/guide.md", "guide\n")
    pushing.work.add()
    pushing.work.git("commit", "-q", "--amend", "--no-verify", "--no-edit")
    refused = pushing.push("--force", "origin", "main")
    assert refused.returncode == 1
    assert "docs/guide.md: out-of-scope" in refused.stderr
    assert pushing.on_remote("main") == pushed
    pushing.work.git("rm", "-q", "docs/guide.md")
    good = pushing.work.git("commit", "-q", "--amend", "--no-verify", "--no-edit")
    assert good.returncode == 0
    accepted = pushing.push("--force", "origin", "main")
    assert accepted.returncode == 0, accepted.stderr
    assert pushing.on_remote("main") == pushing.work.head()


def test_pre_push_deletion_passes(pushing: Pushing) -> None:
    pushing.work.git("switch", "-q", "-c", "feature")
    pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    pushing.work.git("push", "-q", "--no-verify", "origin", "feature")
    proc = pushing.push("origin", "--delete", "feature")
    assert proc.returncode == 0, proc.stderr
    assert "deleted on the remote, nothing to check" in proc.stderr
    assert pushing.on_remote("feature") is None


def test_pre_push_annotated_tag_resolves_to_its_commit(pushing: Pushing) -> None:
    bad = pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    pushing.work.git("tag", "-a", "v1", "-m", "release", bad)
    refused = pushing.push("origin", "v1")
    assert refused.returncode == 1
    assert "docs/guide.md: out-of-scope" in refused.stderr
    assert pushing.on_remote("refs/tags/v1") is None
    pushing.work.git("tag", "-a", "v0", "-m", "old", "HEAD~1")   # already on the remote
    assert pushing.push("origin", "v0").returncode == 0


def test_pre_push_tag_of_a_blob_is_skipped_with_a_note(pushing: Pushing) -> None:
    blob = pushing.work.git("rev-parse", "HEAD:src/a.py").stdout.decode().strip()
    pushing.work.git("tag", "-a", "blobtag", "-m", "a blob", blob)
    proc = pushing.push("origin", "blobtag")
    assert proc.returncode == 0, proc.stderr
    assert "not a commit" in proc.stderr and "blob" in proc.stderr


def test_pre_push_several_refs_one_bad_refuses_all(pushing: Pushing) -> None:
    pushing.work.git("switch", "-q", "-c", "good")
    pushing.commit("src/good.py")
    pushing.work.git("switch", "-q", "-c", "bad", "main")
    pushing.commit("docs/bad.md", "bad\n", "bad", "--no-verify")
    pushing.work.git("switch", "-q", "-c", "good2", "main")
    pushing.commit("src/good2.py")
    proc = pushing.push("origin", "good", "bad", "good2")
    assert proc.returncode == 1
    assert "docs/bad.md: out-of-scope" in proc.stderr
    assert "3 new commit(s) checked" in proc.stderr      # every line, not only the first
    for ref in ("good", "bad", "good2"):
        assert pushing.on_remote(ref) is None


def test_pre_push_each_commit_against_its_own_task(pushing: Pushing) -> None:
    pushing.work.write(".avorelo/tasks/DOC-7.yaml", 'id: DOC-7\nscope: ["docs/**"]\n')
    pushing.work.add()
    pushing.work.commit("plan DOC-7\n\nTask: DOC-7")
    pushing.commit("docs/guide.md", "guide\n", "write the guide\n\nTask: DOC-7")
    pushing.commit("src/b.py", "b\n", "code")                       # task.yaml: T-1
    narrowed = pushing.commit("src/c.py", "c\n", "narrow\n\nTask-Scope: src/other/**")
    proc = pushing.push("origin", "main")
    assert proc.returncode == 1
    assert "src/c.py: out-of-scope" in proc.stderr
    assert f"[{narrowed[:12]}]" in proc.stderr
    assert "docs/guide.md" not in proc.stderr.split("avorelo-gate: FAIL")[1]


def test_pre_push_policy_from_the_remote_side(pushing: Pushing) -> None:
    # The push loosens the policy and then uses the loosening: the remote's policy judges both.
    pushing.commit(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n", "loosen")
    pushing.commit("ci/deploy.sh", "deploy\n", "deploy")
    proc = pushing.push("origin", "main", env={"AVORELO_ALLOW_POLICY_CHANGE": "1"})
    assert proc.returncode == 1
    assert "ci/deploy.sh: protected" in proc.stderr
    assert "policy-changed" not in proc.stderr          # the maintainer's flag was given


def test_pre_push_merge_checked_on_its_own_changes(pushing: Pushing) -> None:
    pushing.work.git("switch", "-q", "-c", "feature")
    pushing.commit("src/b.py")
    pushing.work.git("switch", "-q", "main")
    pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    pushing.work.git("push", "-q", "--no-verify", "origin", "main")
    pushing.work.git("switch", "-q", "feature")
    pushing.work.git("merge", "-q", "--no-edit", "--no-verify", "main")
    clean = pushing.push("origin", "feature")
    assert clean.returncode == 0, clean.stderr     # the merged docs are main's, not the merge's
    pushing.work.git("reset", "-q", "--hard", "HEAD~1")
    pushing.work.git("merge", "-q", "--no-commit", "main")
    pushing.work.write("docs/evil.md", "added while merging\n")
    pushing.work.add()
    pushing.work.git("commit", "-q", "--no-verify", "--no-edit")
    evil = pushing.push("--force", "origin", "feature")
    assert evil.returncode == 1
    assert "docs/evil.md: out-of-scope" in evil.stderr
    assert "docs/guide.md" not in evil.stderr


def test_pre_push_remote_ahead_is_fetch_first(pushing: Pushing, make_repo) -> None:  # type: ignore[no-untyped-def]
    other = make_repo("other")
    other.git("fetch", "-q", str(pushing.remote), "main")
    other.git("reset", "-q", "--hard", "FETCH_HEAD")
    other.write("src/theirs.py")
    other.add()
    other.commit("theirs")
    other.git("push", "-q", str(pushing.remote), "HEAD:main")
    mine = pushing.commit("src/mine.py")
    proc = pushing.push("--force", "origin", "main")
    assert proc.returncode != 0 and "fetch first" in proc.stderr
    assert pushing.on_remote("main") == other.head()
    # git reports any refusing hook as its own exit 1; the hook itself says "environment".
    line = f"refs/heads/main {mine} refs/heads/main {other.head()}\n".encode()
    hook = pushing.work.gate("hook", "pre-push", "origin", str(pushing.remote), input=line)
    assert_clean_error(hook, 3, "fetch first", "git fetch origin")


def test_pre_push_to_a_url_says_what_it_assumed(pushing: Pushing) -> None:
    pushing.commit("src/b.py")
    proc = pushing.push(f"file://{pushing.remote}", "main:refs/heads/via-url")
    assert proc.returncode == 0, proc.stderr
    assert "is a URL, not a configured remote" in proc.stderr
    assert "1 new commit(s) checked" in proc.stderr


def test_pre_push_sha256_repository(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pushing = make_pushing(make_repo, tmp_path, object_format="sha256")
    pushing.work.git("switch", "-q", "-c", "feature")
    pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    refused = pushing.push("origin", "feature")             # remote id: 64 zeros
    assert refused.returncode == 1, refused.stderr
    assert "docs/guide.md: out-of-scope" in refused.stderr
    pushing.work.git("push", "-q", "--no-verify", "origin", "feature")
    deleted = pushing.push("origin", "--delete", "feature")  # local id: 64 zeros
    assert deleted.returncode == 0, deleted.stderr


def test_pre_push_receipt_missing_when_hooks_skipped(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pushing = make_pushing(make_repo, tmp_path, policy=RECEIPTS_POLICY)
    recorded = pushing.commit("src/b.py")     # post-commit records its receipt
    proc = pushing.push("origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert pushing.on_remote("main") == recorded
    # A tool that commits without any hook (here: hooks switched off) leaves no receipt.
    pushing.work.write("src/c.py")
    pushing.work.add()
    pushing.work.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "no hooks")
    skipped = pushing.push("origin", "main")
    assert skipped.returncode == 1
    assert "receipt-missing" in skipped.stderr
    assert "out-of-scope" not in skipped.stderr
    # A receipt edited after the fact no longer says what its commit says.
    pushing.work.git("notes", "--ref=refs/notes/avorelo", "add", "-f", "-m", '{"_type": 1}')
    edited = pushing.push("origin", "main")
    assert edited.returncode == 1
    assert "receipt-invalid" in edited.stderr and "receipt-missing" not in edited.stderr


def test_hook_pre_push_empty_stdin_passes(pushing: Pushing) -> None:
    proc = pushing.work.gate("hook", "pre-push", "origin", str(pushing.remote), input=b"")
    assert proc.returncode == 0
    assert proc.stdout == "" and proc.stderr == ""


def test_hook_pre_push_bad_line_is_bad_input(pushing: Pushing) -> None:
    proc = pushing.work.gate("hook", "pre-push", "origin", str(pushing.remote),
                             input=b"refs/heads/main nothex refs/heads/main 00\n")
    assert_clean_error(proc, 2, "pre-push stdin line 1")


def test_hook_pre_push_unknown_local_object_is_environment(pushing: Pushing) -> None:
    missing = "1" * 40
    line = f"refs/heads/main {missing} refs/heads/main {'0' * 40}\n".encode()
    proc = pushing.work.gate("hook", "pre-push", "origin", str(pushing.remote), input=line)
    assert_clean_error(proc, 3, "not in this repository")


@pytest.mark.parametrize("oid,zero", [("0" * 40, True), ("0" * 64, True), ("0" * 39 + "1", False),
                                      ("", False)])
def test_is_zero_id_any_length(oid: str, zero: bool) -> None:
    assert is_zero_id(oid) is zero


def test_parse_push_lines_splits_from_the_right() -> None:
    refs = parse_push_lines(f"HEAD~1 {'a' * 40} refs/heads/x {'0' * 40}\n\n")
    assert [(r.local_ref, r.creates, r.deletes) for r in refs] == [("HEAD~1", True, False)]
    with pytest.raises(BadInputError, match="line 1"):
        parse_push_lines(f"main {'a' * 40} refs/heads/x\n")


# --- the pre-commit framework's pre-push stage ------------------------------------------------

def test_pre_commit_framework_pre_push_stage(pushing: Pushing) -> None:
    work = pushing.work
    for hook in ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit",
                 "post-rewrite", "pre-push"):
        (work.path / ".git" / "hooks" / hook).unlink()
    work.write(".pre-commit-config.yaml", (
        "repos:\n- repo: local\n  hooks:\n  - id: avorelo-gate-pre-push\n"
        "    name: avorelo-gate pre-push\n"
        f"    entry: {sys.executable} -m avorelo_gate hook pre-push\n"
        "    language: system\n    pass_filenames: false\n    always_run: true\n"
        "    require_serial: true\n    stages: [pre-push]\n"))
    work.add()
    work.commit("pre-commit config")
    work.git("push", "-q", "origin", "main")
    env = {**os.environ, **HOOK_ENV}
    installed = subprocess.run([sys.executable, "-m", "pre_commit", "install", "--hook-type",
                                "pre-push"], cwd=work.path, env=env, capture_output=True,
                               check=False)
    assert installed.returncode == 0, installed.stderr
    pushing.commit("src/b.py")
    # CPU time of the finished child processes (git, the framework, the gate), not the wall
    # clock, which a loaded machine stretches without bound (issue 17).
    started = resource.getrusage(resource.RUSAGE_CHILDREN)
    good = pushing.push("origin", "main")
    assert good.returncode == 0, good.stderr
    bad = pushing.commit("docs/guide.md", "guide\n", "docs", "--no-verify")
    refused = pushing.push("origin", "main")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (used.ru_utime + used.ru_stime) - (started.ru_utime + started.ru_stime)
    assert refused.returncode == 1, refused.stderr
    output = refused.stderr
    assert "docs/guide.md: out-of-scope" in output and bad[:12] in output
    assert pushing.on_remote("main") != bad
    assert elapsed < 60
