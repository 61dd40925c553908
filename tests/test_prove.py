"""``avorelo-gate prove``: the run, its log and its record, under concurrency and signals."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import PACKAGE_ROOT, GitRepo, assert_clean_error, run_gate

from avorelo_gate.git.repo import open_repo
from avorelo_gate.proof.records import HISTORY_LIMIT
from avorelo_gate.proof.run import run_prove

PY = sys.executable
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def proof_dir(repo: GitRepo, name: str) -> Path:
    return repo.path / ".git" / "avorelo" / "proof" / name


def latest(repo: GitRepo, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((proof_dir(repo, name) / "latest.json").read_text())
    return data


def history(repo: GitRepo, name: str) -> list[dict[str, Any]]:
    folder = proof_dir(repo, name) / "history"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def leftovers(repo: GitRepo, name: str) -> list[str]:
    return [p.name for p in proof_dir(repo, name).rglob(".avorelo-tmp-*")]


@pytest.fixture
def committed(repo: GitRepo) -> GitRepo:
    repo.write("src/app.py", "VALUE = 1\n")
    repo.write(".gitignore", "build/\n")
    repo.add()
    repo.commit("init")
    return repo


def test_prove_streams_output_and_records_the_run(committed: GitRepo) -> None:
    code = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(0)"
    proc = committed.gate("prove", "--name", "unit", "--", PY, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert "to stdout" in proc.stdout
    assert "to stderr" in proc.stderr
    record = latest(committed, "unit")
    tree = committed.git("rev-parse", "HEAD^{tree}").stdout.decode().strip()
    assert record["name"] == "unit"
    assert record["argv"] == [PY, "-c", code]
    assert record["exit_code"] == 0 and record["interrupted"] is False
    assert record["tree"] == record["tree_after"] == tree
    assert record["usable"] is True
    assert record["started"] <= record["finished"]
    assert record["duration_s"] >= 0
    log = (proof_dir(committed, "unit") / record["log"]).read_text()
    assert "to stdout" in log and "to stderr" in log
    assert history(committed, "unit") == [record]


def test_prove_exits_with_the_command_code(committed: GitRepo) -> None:
    proc = committed.gate("prove", "--name", "unit", "--", PY, "-c", "raise SystemExit(3)")
    assert proc.returncode == 3
    assert latest(committed, "unit")["exit_code"] == 3


def test_prove_name_defaults_to_the_program_basename(committed: GitRepo) -> None:
    assert committed.gate("prove", "--", PY, "-c", "pass").returncode == 0
    assert latest(committed, os.path.basename(PY))["argv"][0] == PY


def test_prove_keeps_the_command_options_its_own(committed: GitRepo) -> None:
    # No "--": everything after the program is the program's, even --name.
    code = "import sys; print(sys.argv[1:])"
    proc = committed.gate("prove", "--name", "unit", PY, "-c", code, "--name", "x", "-h")
    assert proc.returncode == 0, proc.stderr
    assert "['--name', 'x', '-h']" in proc.stdout


def test_prove_tracked_content_uses_the_working_tree_not_the_index(committed: GitRepo) -> None:
    # Same size, same second as the commit: only git's racy-git check can see this edit.
    committed.write("src/app.py", "VALUE = 2\n")
    index = committed.path / ".git" / "index"
    index_before = index.read_bytes()
    assert committed.gate("prove", "--name", "unit", "--", PY, "-c", "pass").returncode == 0
    assert index.read_bytes() == index_before  # the user's index is never written
    assert not list((committed.path / ".git").glob("avorelo-index-*"))
    record = latest(committed, "unit")
    committed.git("add", "src/app.py")
    assert record["tree"] == committed.git("write-tree").stdout.decode().strip()


def test_prove_leaves_out_untracked_files_and_says_so(committed: GitRepo) -> None:
    committed.write("scratch.txt", "notes\n")
    code = "open('output.bin', 'w').write('made by the run')"
    proc = committed.gate("prove", "--name", "unit", "--", PY, "-c", code)
    assert proc.returncode == 0
    record = latest(committed, "unit")
    assert record["usable"] is True  # a file the run created is output, not content
    assert record["tree"] == committed.git("rev-parse", "HEAD^{tree}").stdout.decode().strip()
    assert "untracked file(s)" in proc.stderr and "git add" in proc.stderr


def test_prove_marks_content_changed_during_the_run(committed: GitRepo) -> None:
    code = "open('src/app.py', 'w').write('VALUE = 99\\n')"
    proc = committed.gate("prove", "--name", "unit", "--", PY, "-c", code)
    assert proc.returncode == 0
    record = latest(committed, "unit")
    assert record["usable"] is False
    assert record["changed_during_run"] == ["src/app.py"]
    assert record["tree"] != record["tree_after"]
    assert "content changed while the command ran (src/app.py)" in proc.stderr


def test_prove_records_the_artifacts_it_produced(committed: GitRepo) -> None:
    committed.write(".avorelo/tasks/T-1.yaml", "id: T-1\nproof:\n  - log: build/out.log\n"
                    "    must_contain: OK\n  - file: build/missing.txt\n")
    committed.add()
    committed.commit("task")
    write_ok = "import os; os.makedirs('build', exist_ok=True); open('build/out.log', 'w')" \
               ".write('build OK\\n')"
    assert committed.gate("prove", "--name", "build", "--", PY, "-c", write_ok).returncode == 0
    first = latest(committed, "build")
    sha = hashlib.sha256(b"build OK\n").hexdigest()
    assert first["artifacts"] == [{"path": "build/out.log", "sha256": sha, "produced": True}]
    # A run that leaves the bytes as they were does not vouch for them.
    assert committed.gate("prove", "--name", "lint", "--", PY, "-c", "pass").returncode == 0
    assert latest(committed, "lint")["artifacts"] == [
        {"path": "build/out.log", "sha256": sha, "produced": False}]


def test_prove_command_not_found_is_bad_input(committed: GitRepo) -> None:
    proc = committed.gate("prove", "--name", "unit", "--", "no-such-program-xyz", "--flag")
    assert_clean_error(proc, 2, "no-such-program-xyz: command not found")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not proof_dir(committed, "unit").exists()


@pytest.mark.parametrize("args", [["prove"], ["prove", "--"], ["prove", "--name", "x"]])
def test_prove_without_a_command_is_usage_error(committed: GitRepo, args: list[str]) -> None:
    assert_clean_error(committed.gate(*args), 2, "no command given")


@pytest.mark.parametrize("name", ["has space", "-dash", "a/b", "x" * 65, ""])
def test_prove_refuses_bad_names(committed: GitRepo, name: str) -> None:
    assert_clean_error(committed.gate("prove", "--name", name, "--", PY, "-c", "pass"), 2,
                       "not a proof name")


def test_prove_in_a_bare_repository_is_bad_input(make_repo: Any) -> None:
    bare = make_repo("bare.git", "--bare")
    assert_clean_error(bare.gate("prove", "--", PY, "-c", "pass"), 2, "bare repository")


def test_prove_keeps_a_bounded_history(committed: GitRepo,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(committed.path)
    repo = open_repo(str(committed.path))
    for i in range(HISTORY_LIMIT + 2):
        assert run_prove(repo, "unit", [PY, "-c", f"print({i})"], dict(os.environ),
                         say=lambda _: None) == 0
    runs = history(committed, "unit")
    assert len(runs) == HISTORY_LIMIT
    assert [r["argv"][2] for r in runs] == [f"print({i})" for i in range(2, HISTORY_LIMIT + 2)]
    assert latest(committed, "unit") == runs[-1]
    assert len(list((proof_dir(committed, "unit") / "logs").glob("*.log"))) == HISTORY_LIMIT


def test_prove_concurrent_runs_leave_whole_records(committed: GitRepo) -> None:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    procs = [subprocess.Popen(
        [PY, "-m", "avorelo_gate", "prove", "--name", "tests", "--", PY, "-c",
         f"import time; time.sleep({(i % 4) * 0.05}); print('run {i}')"],
        cwd=committed.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(8)]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    runs = history(committed, "tests")
    assert sorted(r["argv"][2][-7:-2] for r in runs) == [f"run {i}" for i in range(8)]
    record = latest(committed, "tests")
    assert record in runs
    assert leftovers(committed, "tests") == []
    logs = sorted((proof_dir(committed, "tests") / "logs").glob("*.log"))
    assert len(logs) == 8 and all(p.read_text().startswith("run ") for p in logs)


def wait_for(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def start_prove(repo: GitRepo, name: str, code: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    # A session of its own: a signal sent to the test run never reaches it by accident.
    return subprocess.Popen([PY, "-m", "avorelo_gate", "prove", "--name", name, "--", PY,
                             "-c", code], cwd=repo.path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


@posix_only
def test_prove_sigkill_mid_run_keeps_the_previous_record(committed: GitRepo,
                                                         tmp_path: Path) -> None:
    assert committed.gate("prove", "--name", "tests", "--", PY, "-c", "print('one')") \
        .returncode == 0
    before = (proof_dir(committed, "tests") / "latest.json").read_bytes()
    marker = tmp_path / "child.pid"
    code = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    proc = start_prove(committed, "tests", code)
    child = int(wait_for(marker))
    proc.kill()
    proc.communicate(timeout=30)
    os.kill(child, signal.SIGKILL)
    assert (proof_dir(committed, "tests") / "latest.json").read_bytes() == before
    assert [r["argv"][2] for r in history(committed, "tests")] == ["print('one')"]
    assert leftovers(committed, "tests") == []
    again = committed.gate("prove", "--name", "tests", "--", PY, "-c", "print('three')")
    assert again.returncode == 0
    assert latest(committed, "tests")["argv"][2] == "print('three')"


@posix_only
def test_prove_sigint_reaches_the_child_and_is_recorded(committed: GitRepo,
                                                        tmp_path: Path) -> None:
    ready, caught = tmp_path / "ready", tmp_path / "caught"
    code = (
        "import signal, sys, time\n"
        f"def on_int(signum, frame):\n    open({str(caught)!r}, 'w').write('SIGINT')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGINT, on_int)\n"
        f"open({str(ready)!r}, 'w').write('ready')\n"
        "time.sleep(60)\n")
    proc = start_prove(committed, "tests", code)
    wait_for(ready)
    proc.send_signal(signal.SIGINT)  # to prove alone, as a CI runner's cancel would
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert caught.read_text() == "SIGINT"
    record = latest(committed, "tests")
    assert record["interrupted"] is True and record["exit_code"] == 130
    assert b"interrupted" in err


@posix_only
def test_prove_sigterm_is_forwarded(committed: GitRepo, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = f"import time; open({str(ready)!r}, 'w').write('ready'); time.sleep(60)"
    proc = start_prove(committed, "tests", code)
    wait_for(ready)
    proc.terminate()
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert latest(committed, "tests")["interrupted"] is True


def test_prove_passes_debug_after_the_separator_to_the_command(committed: GitRepo) -> None:
    code = "import sys; print(sys.argv[1:])"
    proc = committed.gate("--debug", "prove", "--name", "unit", "--", PY, "-c", code, "--debug")
    assert proc.returncode == 0, proc.stderr
    assert "['--debug']" in proc.stdout


@posix_only
def test_prove_ctrl_c_at_a_terminal_reaches_the_child_once(committed: GitRepo,
                                                           tmp_path: Path) -> None:
    import fcntl
    import termios

    ready, caught = tmp_path / "ready", tmp_path / "caught"
    code = (
        "import signal, time\n"
        "count = 0\n"
        "def on_int(signum, frame):\n    global count\n    count += 1\n"
        "signal.signal(signal.SIGINT, on_int)\n"
        f"open({str(ready)!r}, 'w').write('ready')\n"
        "deadline = time.time() + 30\n"
        "while not count and time.time() < deadline:\n    time.sleep(0.01)\n"
        "time.sleep(0.5)  # a second, forwarded SIGINT would land here\n"
        f"open({str(caught)!r}, 'w').write(str(count))\n")
    master, slave = os.openpty()

    def become_terminal_session() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    # preexec_fn: the pty must become prove's controlling terminal, as in a real shell.
    proc = subprocess.Popen(
        [PY, "-m", "avorelo_gate", "prove", "--name", "tests", "--", PY, "-c", code],
        cwd=committed.path, env=env, stdin=slave, stdout=slave, stderr=slave,
        preexec_fn=become_terminal_session)
    os.close(slave)
    try:
        wait_for(ready)
        os.write(master, b"\x03")  # Ctrl-C: the terminal signals its foreground group
        assert proc.wait(timeout=30) == 130
    finally:
        os.close(master)
    assert caught.read_text() == "1"
    assert latest(committed, "tests")["interrupted"] is True


def test_prove_counts_intent_to_add_files_and_runs_from_a_subdirectory(
        committed: GitRepo) -> None:
    committed.write("src/new.py", "NEW = 1\n")
    committed.git("add", "-N", "src/new.py")
    proc = committed.gate("prove", "--name", "unit", "--", PY, "-c", "import os; "
                          "print(os.getcwd())", cwd=committed.path / "src")
    assert proc.returncode == 0, proc.stderr
    record = latest(committed, "unit")
    assert record["cwd"] == "src"
    committed.git("add", "src/new.py")
    assert record["tree"] == committed.git("write-tree").stdout.decode().strip()


@pytest.mark.slow
def test_demo_refuses_a_stale_proof_and_exits_0(tmp_path: Path) -> None:
    proc = run_gate("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "proof-stale: command:tests: tests ran before src/greet.py was edited" in proc.stdout
    assert "ok: now the commit passes" in proc.stdout
