"""Issue 7, part 5: crash safety.

Concurrency: WRITERS processes each write RECORDS_PER_WRITER pending receipts (the real
commit-msg writer, ``recording.leave_pending``) and as many proof records of one shared name
(the real ``prove`` writer, ``proofrecord.write_record``), while this process keeps reading
the files they race on: nothing torn (every read and every file parses), nothing lost (every
pending receipt is there; the proof history holds exactly the newest HISTORY_LIMIT runs).

Kills: ``prove``, ``hook commit-msg`` and ``hook post-commit`` are started for real and
SIGKILLed after a random delay (seeded: the same delays every run) within one normal run's
duration, KILLS_PER_COMMAND times each. A run that finishes before its delay is started again
with half the delay until the kill lands, so every round ends in exactly one kill whatever the
machine's load (deterministic by construction: the test counts kills, it does not hope for them;
on a loaded 2-core machine whole runs used to outlast their seeded delays). Only the gate's own
process dies, as when the OOM killer or a closed terminal takes it; the git processes it
started finish on their own, and the test waits for them before judging. After every kill the
previous good state is intact, and afterwards the next ordinary run repairs what the killed one
left undone.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo
from hardening_settings import KILL_SEED, KILLS_PER_COMMAND, RECORDS_PER_WRITER, WRITERS
from hardening_util import gate_process, git
from inproc import run_main

from avorelo_gate.files.atomic import TEMP_PREFIX
from avorelo_gate.git.repo import open_repo
from avorelo_gate.proof.records import HISTORY_LIMIT, load_store, read_record
from avorelo_gate.receipts.pending import SHELL_PENDING

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="waits for killed process groups through /proc")

WRITER = Path(__file__).resolve().parent / "crash_writer.py"
TASK = "id: T-1\nscope: ['src/**']\nproof: [{command: tests}]\ntools: [sh]\n"


def state_dir(repo: GitRepo) -> Path:
    return Path(open_repo(cwd=str(repo.path)).state_dir())


def parses(path: Path) -> bool:
    """A whole pending receipt: JSON for Python, or the post-commit shell's six lines."""
    try:
        data = path.read_bytes()
        if path.suffix == ".sh":
            lines = data.split(b"\n")
            return lines[0] == SHELL_PENDING and len(lines) == 7 and lines[-1] == b""
        json.loads(data)
    except (OSError, ValueError):
        return False
    return True


# -- concurrent writers -------------------------------------------------------------------------
class Reader(threading.Thread):
    """Reads the contended files over and over while the writers run."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(daemon=True)
        self.paths = paths
        self.reads = 0
        self.torn: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.paths:
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue            # not written yet: never half-there
                self.reads += 1
                try:
                    json.loads(data)
                except ValueError:
                    self.torn.append(f"{path.name}: {data[:80]!r}...{data[-80:]!r}")


def run_writers(repo: GitRepo, kind: str, watch: list[Path]) -> list[list[str]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    reader = Reader(watch)
    reader.start()
    procs = [subprocess.Popen([sys.executable, str(WRITER), kind, str(repo.path), str(w),
                               str(RECORDS_PER_WRITER)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env)
             for w in range(WRITERS)]
    outputs = [p.communicate(timeout=300) for p in procs]
    reader.stop.set()
    reader.join()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    assert reader.reads > 0 and not reader.torn, reader.torn[:3]
    return [out.decode().split() for out, _ in outputs]


@pytest.fixture
def passing(repo: GitRepo) -> GitRepo:
    """A staged change whose check passes (commit-msg leaves a pending receipt only then)."""
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: ['src/**']\n")
    repo.write("src/a.py")
    repo.add()
    repo.commit("base")
    repo.write("src/a.py", "b\n")
    repo.add()
    return repo


def test_concurrent_pending_receipts_none_torn_none_lost(passing: GitRepo) -> None:
    pending = state_dir(passing) / "pending"
    shared = pending / f"{'f' * 40}.json"
    written = run_writers(passing, "pending", [shared])
    expected = {f"{tree}.json" for keys in written for tree in keys}
    assert len(expected) == WRITERS * RECORDS_PER_WRITER
    every = set(os.listdir(pending))
    assert not [n for n in every if n.startswith(TEMP_PREFIX)], "temporary files left behind"
    names = {n for n in every if n.endswith(".json")}
    assert expected <= names, f"{len(expected - names)} pending receipts lost"
    assert names == expected | {shared.name}
    # each receipt commit-msg left is there in the post-commit shell's form too, whole
    shell = every - names
    assert shell == {n[:-len(".json")] + ".sh" for n in expected | {shared.name}}
    assert all(parses(pending / n) for n in shell)
    for name in names:
        doc = json.loads((pending / name).read_bytes())
        assert doc["tree"] == name[:-len(".json")]
        assert doc["predicate"]["verdict"] == "pass"


def test_concurrent_proof_records_none_torn_history_bound_kept(repo: GitRepo) -> None:
    repo.write("a.txt")
    repo.add()
    repo.commit("one")
    base = state_dir(repo) / "proof" / "tests"
    written = run_writers(repo, "proof", [base / "latest.json"])
    run_ids = sorted(r for keys in written for r in keys)
    assert len(set(run_ids)) == WRITERS * RECORDS_PER_WRITER
    latest = read_record(str(base / "latest.json"))
    assert latest is not None and latest.run_id in run_ids
    history = sorted(os.listdir(base / "history"))
    assert not [n for n in history if n.startswith(TEMP_PREFIX)], "temporary files left behind"
    # Nothing lost: exactly the newest HISTORY_LIMIT runs survive every writer's pruning.
    assert history == [f"{r}.json" for r in run_ids[-HISTORY_LIMIT:]]
    for name in history:
        record = read_record(str(base / "history" / name))
        assert record is not None and record.run_id == name[:-len(".json")]
        assert len(record.argv[-1]) == 4096
    assert not [n for n in os.listdir(base) if n.startswith(TEMP_PREFIX)]
    assert load_store(open_repo(cwd=str(repo.path))).runs_of("tests")


# -- SIGKILL at random points ------------------------------------------------------------------
def group_alive(pgid: int) -> bool:
    """Any process of the group still running (zombies, which nobody may reap, excepted)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def run_and_kill(args: list[str], cwd: Path, delay: float) -> int | None:
    """Start the real command, SIGKILL it after ``delay`` (None if it finished first), and
    wait until every process it started has finished."""
    proc = gate_process(*args, cwd=cwd)
    try:
        proc.wait(timeout=delay)
        killed = None
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = proc.pid
    proc.communicate()
    deadline = time.monotonic() + 20
    while group_alive(proc.pid):
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{args}: children of the killed process still running after 20 s")
        time.sleep(0.01)
    return killed


def kill_one_run(args: list[str], cwd: Path, delay: float) -> int:
    """Run the command until one run is killed: each run that finishes first is followed by
    one with half the delay (towards 0 s, where the kill always lands). Returns the number of
    runs that finished whole before the kill."""
    finished = 0
    while not run_and_kill(args, cwd, delay):
        finished += 1
        delay /= 2
    return finished


def normal_duration(args: list[str], cwd: Path) -> float:
    start = time.monotonic()
    proc = gate_process(*args, cwd=cwd)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode(errors="replace")
    return time.monotonic() - start


def delays(label: str, duration: float) -> list[float]:
    """Anywhere in a run, and every other one in its last 40% (where it writes: most of a
    run's first half is the interpreter starting)."""
    rng = random.Random(f"{KILL_SEED}-{label}")
    return [rng.uniform(0.0 if i % 2 else 0.6 * duration, duration)
            for i in range(KILLS_PER_COMMAND)]


def assert_clean_check(repo: GitRepo) -> dict[str, Any]:
    """The check after a kill: the proof still stands (or a new one does), so it passes."""
    proc = run_main("check", "--format", "json", cwd=repo.path)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture
def proving(repo: GitRepo) -> GitRepo:
    repo.write(".gitignore", "build.log\n")
    repo.write(".avorelo/task.yaml", TASK)
    repo.write("src/a.py")
    repo.add()
    repo.commit("base")
    repo.write("src/a.py", "b\n")
    repo.add()
    return repo


PROVE = ["prove", "--name", "tests", "--", "sh", "-c", "echo OK > build.log"]


def test_sigkill_during_prove_keeps_the_last_record(proving: GitRepo) -> None:
    base = state_dir(proving) / "proof" / "tests"
    duration = normal_duration(PROVE, proving.path)
    good = read_record(str(base / "latest.json"))
    assert good is not None
    for delay in delays("prove", duration):
        kill_one_run(PROVE, proving.path, delay)
        latest = read_record(str(base / "latest.json"))
        # the previous run, or a whole new one: never torn, never half-recorded
        assert latest is not None, (base / "latest.json").read_bytes()[:200]
        assert latest.run_id == good.run_id or (latest.finished >= good.finished
                                                and latest.tree == good.tree), latest
        good = latest
        for name in os.listdir(base / "history"):
            if not name.startswith("."):
                assert read_record(str(base / "history" / name)) is not None, name
        result = assert_clean_check(proving)
        assert [p["status"] for p in result["proof"]] == ["ok"], result
    # the next run repairs: a fresh record, and check reads it
    again = run_main(*PROVE, cwd=proving.path)
    assert again.returncode == 0, again.stderr
    latest = read_record(str(base / "latest.json"))
    assert latest is not None and latest.run_id != good.run_id
    assert assert_clean_check(proving)["verdict"] == "pass"


def test_sigkill_during_commit_msg_leaves_no_torn_pending_receipt(proving: GitRepo) -> None:
    assert run_main(*PROVE, cwd=proving.path).returncode == 0
    assert run_main("receipt", "record", "HEAD", cwd=proving.path).returncode == 0
    msg = proving.path.parent / "MSG"
    msg.write_text("Work\n\nTask: T-1\n")
    args = ["hook", "commit-msg", str(msg)]
    pending = state_dir(proving) / "pending"
    duration = normal_duration(args, proving.path)
    for delay in delays("commit-msg", duration):
        kill_one_run(args, proving.path, delay)
        for name in os.listdir(pending) if pending.is_dir() else []:
            if not name.startswith("."):
                assert parses(pending / name), name
        verified = run_main("receipt", "verify", "HEAD", cwd=proving.path)
        assert verified.returncode == 0, verified.stdout    # earlier receipts untouched
    # the next run repairs: commit-msg leaves its verdict, post-commit attaches it
    assert run_main(*args, cwd=proving.path).returncode == 0
    proving.commit("Work\n\nTask: T-1")
    attached = run_main("hook", "post-commit", cwd=proving.path)
    assert attached.returncode == 0, attached.stderr
    assert "the commit-msg verdict" in attached.stderr, attached.stderr
    verified = run_main("receipt", "verify", "HEAD", cwd=proving.path)
    assert verified.returncode == 0, verified.stdout


def test_sigkill_during_post_commit_keeps_the_notes_ref_and_repairs(proving: GitRepo) -> None:
    assert run_main(*PROVE, cwd=proving.path).returncode == 0
    proving.commit("Work\n\nTask: T-1")
    assert run_main("hook", "post-commit", cwd=proving.path).returncode == 0
    duration = normal_duration(["receipt", "record", "HEAD"], proving.path)
    for i, delay in enumerate(delays("post-commit", duration)):
        previous = proving.head()
        proving.write(f"src/n{i}.py", f"{i}\n")
        proving.add()
        head = proving.commit(f"Step {i}\n\nTask: T-1")
        kill_one_run(["hook", "post-commit"], proving.path, delay)
        # the notes ref is a valid commit and every earlier receipt still verifies
        assert git(proving.path, "rev-parse", "--verify", "refs/notes/avorelo^{commit}")
        assert git(proving.path, "notes", "--ref=avorelo", "list").returncode == 0
        before = run_main("receipt", "verify", previous, cwd=proving.path)
        assert before.returncode == 0, before.stdout
        # HEAD's receipt is there and whole, or not there at all: never invalid
        now = run_main("receipt", "verify", head, "--format", "json", cwd=proving.path)
        [entry] = json.loads(now.stdout)["commits"]
        assert entry["status"] in ("valid", "missing"), entry
        # the next run repairs
        repaired = run_main("receipt", "record", head, cwd=proving.path)
        assert repaired.returncode == 0, repaired.stderr    # record always records: exit 0
        assert run_main("receipt", "verify", head, cwd=proving.path).returncode == 0
    lock = Path(open_repo(cwd=str(proving.path)).common_state_dir()) / "notes.lock"
    if lock.exists():   # left by a killed holder: the lock is the open file, not the file
        assert run_main("hook", "post-commit", cwd=proving.path).returncode == 0


def test_a_pending_receipt_is_whole_without_waiting_for_the_disk(
        passing: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """commit-msg's pending receipt is renamed into place whole but not fsynced (git leaves
    the commit's own loose objects unsynced too); every other atomic write still is: the
    file, then its directory."""
    from avorelo_gate.files.atomic import write_atomic

    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    write_atomic(str(tmp_path / "kept.json"), b"{}")
    assert len(synced) == 2
    message = tmp_path / "MSG"
    message.write_text("work\n\nTask: T-1\n")
    for _ in range(2):   # the second with the hook's memo warm: nothing else to write
        synced.clear()
        assert run_main("hook", "commit-msg", str(message), cwd=passing.path).returncode == 0
    pending = state_dir(passing) / "pending"
    assert sorted(p.suffix for p in pending.iterdir()) == [".json", ".sh"]
    assert all(parses(p) for p in pending.iterdir())
    assert synced == []


def test_stale_temporary_files_of_killed_writers_are_swept(tmp_path: Path) -> None:
    from avorelo_gate.files.atomic import STALE_SECONDS, sweep_stale_temps, write_atomic

    old = tmp_path / f"{TEMP_PREFIX}killed"
    young = tmp_path / f"{TEMP_PREFIX}writing"
    foreign = tmp_path / ".tmp-not-ours"
    for p in (old, young, foreign):
        p.write_bytes(b"half a record")
    past = time.time() - STALE_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(foreign, (past, past))
    write_atomic(str(tmp_path / "latest.json"), b"{}")
    assert not old.exists()
    assert young.exists() and foreign.exists()
    assert (tmp_path / "latest.json").read_bytes() == b"{}"
    assert sweep_stale_temps(str(tmp_path)) == 0
