"""Hermetic real-git fixtures: temp HOME, no system config, pinned identity, no signing."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import avorelo_gate

# Hypothesis's per-example deadline and its too-slow health check time examples by the wall
# clock, which 2 cores shared by many runs stretch without bound: a timing test that flakes
# under load proves nothing (issue 17). Example counts stay as each test sets them.
settings.register_profile("shared-machine", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")



def _tests_on_a_tmpfs() -> None:
    """Every temporary directory of the run (pytest's tmp_path, and what git, pip and the
    pre-commit framework make) on a tmpfs when the machine has a roomy one and TMPDIR names
    nothing else. This machine's ext4 (and CI's) is mounted with ``discard``: an rmdir takes
    ~3 ms and each fsync reaches the disk, which made test repositories a fifth of the
    suite's wall clock (tests/test_prepush.py and test_receipts.py: 55-60 s against 45-47)."""
    shm = "/dev/shm"
    if os.environ.get("TMPDIR"):
        return
    try:
        st = os.statvfs(shm)
    except OSError:
        return
    roomy = st.f_bavail * st.f_frsize >= 4 << 30    # a container's 64 MB default is not
    if roomy and os.access(shm, os.W_OK) and not st.f_flag & os.ST_NOEXEC:
        os.environ["TMPDIR"] = shm
        tempfile.tempdir = None     # forget any directory tempfile chose before this


_tests_on_a_tmpfs()
ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["subprocess_coverage"]
# Where the package the tests imported lives: ROOT, except under mutmut (tools/mutation.py),
# where it is ROOT/mutants. Child processes (the CLI, git hooks) must import the same copy.
PACKAGE_ROOT = Path(avorelo_gate.__file__).resolve().parent.parent
# For a process whose imports a test counts: under ``--decision-coverage`` it would import
# coverage.py (and with it typing, inspect, dataclasses); this leaves it unmeasured.
UNMEASURED = {"DECISION_COVERAGE_START": ""}

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own HOME and a git that reads no system or user config."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(("GIT_", "AVORELO_", "PRE_COMMIT")) or key in {
                "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR"}:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TEMPLATE_DIR", "")
    for k, v in IDENTITY.items():
        monkeypatch.setenv(k, v)
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgSign = false\n[tag]\n\tgpgSign = false\n"
        "[protocol \"file\"]\n\tallow = always\n")
    # Shared by every test that drives the pre-commit framework (the brief: one cache).
    monkeypatch.setenv("PRE_COMMIT_HOME", str(_pre_commit_home(tmp_path_factory)))
    _MUTMUT_STATS[0] = os.environ.get("MUTANT_UNDER_TEST") == "stats"
    if _MUTMUT_STATS[0]:
        # mutmut's stats pass (tools/mutation.py): a child process would try to record its
        # calls with a mutmut config it cannot find from a test repository's cwd, and the
        # calls would be lost anyway. Children run the plain code; this process keeps its
        # own copy of the mode (mutmut.mutation.trampoline.set_mutant_under_test).
        monkeypatch.delenv("MUTANT_UNDER_TEST")
    yield home


# Under mutmut, the stats pass learns which tests reach which function from calls made in
# this process only; run_gate then calls main() here so that CLI tests are attributed.
# (Set per test by hermetic_env, which also takes the variable out of the environment.)
_MUTMUT_STATS = [False]
# tools/mutation_hand.py --in-process: the CLI runs in the test's process (as in the stats
# pass), sparing each call a Python start; the mutant is switched on there as in a child.
_IN_PROCESS = os.environ.get("AVORELO_TESTS_CLI_IN_PROCESS") == "1"


_PC_HOME: list[Path] = []


def _pre_commit_home(factory: pytest.TempPathFactory) -> Path:
    shared = os.environ.get("AVORELO_TEST_PRE_COMMIT_HOME")
    if shared:
        return Path(shared)
    if not _PC_HOME:
        _PC_HOME.append(factory.getbasetemp() / "pre-commit-home")
    return _PC_HOME[0]


class GitRepo:
    """A real repository in a temp dir, with helpers that call the real git and the real CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, check: bool = True, input: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        full_env = dict(os.environ, **(env or {}))
        proc = subprocess.run(["git", *args], cwd=self.path, input=input, env=full_env,
                              capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: "
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def write(self, rel: str | bytes, content: str | bytes = "x\n") -> Path:
        p = self.path / os.fsdecode(rel) if isinstance(rel, bytes) else self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        p.write_bytes(content)
        return p

    def add(self, *paths: str) -> None:
        self.git("add", "-A", "--", *(paths or (".",)))

    def commit(self, message: str = "commit", *extra: str) -> str:
        self.git("commit", "-q", "--no-verify", "-m", message, *extra)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.decode().strip()

    def gate(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_gate(*args, cwd=cwd or self.path, input=input, env=env)


def hooks_run_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks that ``avorelo-gate install`` writes from here on run this interpreter and this
    checkout (the code under test, a mutated copy included)."""
    monkeypatch.setenv("AVORELO_GATE_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH",
                       str(PACKAGE_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run_gate(*args: str, cwd: Path, input: bytes | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (what hooks and users run)."""
    # prove streams its command's output to fd 1, which an in-process run does not capture
    # (the command is the first word that is not an option: `--debug prove` too).
    command = next((a for a in args if not a.startswith("-")), "")
    if (_MUTMUT_STATS[0] or _IN_PROCESS) and command != "prove":
        from inproc import run_main
        return run_main(*args, cwd=cwd, env=env, input=input)
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = str(PACKAGE_ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "avorelo_gate", *args], cwd=cwd, input=input,
                          env=full_env, capture_output=True, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


def ci_runner(dev: GitRepo, tmp_path: Path) -> GitRepo:
    """What a CI job sees of ``dev``: ``main``, ``feature`` and the receipts pushed to a new
    bare remote, then a fresh clone of it that fetched the notes (no local proof records)."""
    remote = tmp_path / "remote.git"
    dev.git("init", "-q", "--bare", str(remote))
    dev.git("push", "-q", "--no-verify", str(remote), "main", "feature", "refs/notes/avorelo")
    ci = GitRepo(tmp_path / "ci")
    dev.git("clone", "-q", str(remote), str(ci.path))
    ci.git("fetch", "-q", "origin", "refs/notes/avorelo:refs/notes/avorelo")
    return ci


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int,
                       *needles: str) -> None:
    """Bad input: the expected exit code, one line naming the culprit, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    path = tmp_path / "repo"
    path.mkdir()
    r = GitRepo(path)
    r.git("init", "-q")
    return r


@pytest.fixture
def make_repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    counter = [0]

    def _make(name: str | None = None, *init_args: str) -> GitRepo:
        counter[0] += 1
        path = tmp_path / (name or f"repo{counter[0]}")
        path.mkdir(parents=True)
        r = GitRepo(path)
        r.git("init", "-q", *init_args)
        return r

    return _make
