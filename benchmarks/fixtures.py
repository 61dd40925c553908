"""The benchmark's repositories, built fast and cached under ``benchmarks/.fixtures/``.

Every repository is written with ``git fast-import`` (one process for thousands of commits or
100,000 files) and staged with ``git update-index --index-info`` (one process for 10,000
entries), never one ``git add`` per file. A fixture is rebuilt from scratch when its directory
lacks the ``built`` marker, so an interrupted build never leaves a half repository behind;
bump FIXTURE_VERSION whenever what a fixture contains changes.

The big repository has an index (``git read-tree``) but no checked-out files: neither
``git diff --cached`` (the floor) nor ``check --staged`` (the gate) looks at the working tree,
and 100,000 files on disk would only cost the cache 400 MB.
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from receipt_history import Work, add_receipts, generate, make_commits  # noqa: E402
from route_bench import works as route_works  # noqa: E402

FIXTURE_VERSION = "2"
FIXTURES = Path(__file__).resolve().parent / ".fixtures"
COMMITTER = "Bench <bench@example.org>"
EPOCH = 1767225600  # 2026-01-01, so that every build writes the same objects

POLICY = b"""\
version: 1
require_task: true
protected: [".github/workflows/**", ".pre-commit-config.yaml"]
weights:
  light:    {max_files: 5,  max_lines: 200}
  standard: {max_files: 50, max_lines: 2000}
  heavy:    {}
receipts: {required: false}
"""


@dataclass(frozen=True)
class Sizes:
    small_files: int = 300
    big_files: int = 50_000
    big_staged: int = 2_000
    range_commits: int = 4_000
    range_files: int = 400
    receipts: int = 10_000
    verify_commits: int = 1_000
    flask_ranges: tuple[int, ...] = (100, 1_000, 0)   # 0: every commit after the root


FULL = Sizes()
QUICK = Sizes(small_files=300, big_files=10_000, big_staged=500, range_commits=400,
              range_files=40, receipts=1_000, verify_commits=100, flask_ranges=(100,))

COMMIT_MESSAGE = "bench commit\n\nTask: SMALL-1\n"
# The gate's stages in one `git commit` (pre-push is another command).
COMMIT_STAGES = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit")
VENV = FIXTURES / "venv"


def bench_python() -> Path:
    """An interpreter that starts as an installed avorelo-gate does.

    A development checkout is installed editable, and the editable finder (imported from a
    .pth file by every start of that virtualenv) costs each start ~20 ms that no user's
    ``pip install avorelo-gate`` pays; a benchmark whose floor has no Python (a whole
    ``git commit``) would charge it to the gate four times. This virtualenv has none: one
    plain .pth line puts the source tree and the development environment's packages (PyYAML,
    pathspec, pre-commit) on ``sys.path``, which costs nothing at start.
    """
    python = VENV / "bin" / "python"
    pth = VENV / "avorelo-bench.pth"   # the marker: a venv interrupted mid-build lacks it
    import site

    wanted = "\n".join([str(ROOT), *site.getsitepackages()]) + "\n"
    if not (python.exists() and pth.exists() and pth.read_text() == wanted):
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True)
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, check=True).stdout.decode().strip()
        Path(purelib, "avorelo-bench.pth").write_text(wanted)
        pth.write_text(wanted)
    return python


def shared_dir() -> Path | None:
    """The project's shared data (``../shared`` from the checkout in CI); AVORELO_SHARED wins."""
    candidates = [Path(os.environ["AVORELO_SHARED"])] if os.environ.get("AVORELO_SHARED") else []
    candidates += [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    return next((c for c in candidates if (c / "fixtures").is_dir()), None)


def flask_bundle() -> Path | None:
    shared = shared_dir()
    bundle = shared / "fixtures" / "flask.bundle" if shared else None
    return bundle if bundle is not None and bundle.is_file() else None


def bench_env(home: Path) -> dict[str, str]:
    """One hermetic environment for fixtures, the gate and its floor alike."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "AVORELO_", "PRE_COMMIT")) and k not in (
               "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "PYTHONPATH",
               "PYTHONDONTWRITEBYTECODE")}
    # An installed package runs from bytecode (pip compiles it); a source tree run with
    # PYTHONDONTWRITEBYTECODE would recompile every module on every start, gate and floor
    # alike. The bytecode goes beside the fixtures, not into the source tree.
    env["PYTHONPYCACHEPREFIX"] = str(FIXTURES / "pycache")
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), GIT_TEMPLATE_DIR="", LC_ALL="C",
               GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.org",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.org",
               GIT_AUTHOR_DATE=f"{EPOCH} +0000", GIT_COMMITTER_DATE=f"{EPOCH} +0000",
               PYTHONPATH=str(ROOT), SOURCE_DATE_EPOCH=str(EPOCH))
    return env


def git(repo: Path, env: Mapping[str, str], *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=repo, env=dict(env), input=input,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:3])} failed: "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


class Stream:
    """A fast-import stream under construction (commits with inline file contents)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.tick = 0

    def commit(self, ref: str, message: str, files: Mapping[str, bytes],
               parent: str | None = None, mark: int | None = None) -> None:
        self.tick += 1
        self.buf += f"commit {ref}\n".encode()
        if mark is not None:
            self.buf += f"mark :{mark}\n".encode()
        self.buf += f"committer {COMMITTER} {EPOCH + self.tick} +0000\n".encode()
        self.buf += _data(message.encode())
        if parent is not None:
            self.buf += f"from {parent}\n".encode()
        for path, content in files.items():
            self.buf += f"M 100644 inline {path}\n".encode() + _data(content)

    def run(self, repo: Path, env: Mapping[str, str]) -> None:
        git(repo, env, "fast-import", "--quiet", "--done", input=bytes(self.buf) + b"done\n")


def source_file(seed: int, lines: int = 30) -> bytes:
    return "".join(f"value_{seed}_{n} = {seed * 31 + n}\n" for n in range(lines)).encode()


def task_yaml(task_id: str, scope: Sequence[str], max_files: int, max_lines: int,
              weight: str) -> bytes:
    scopes = ", ".join(f'"{s}"' for s in scope)
    return (f"id: {task_id}\ntitle: benchmark task\nscope: [{scopes}]\n"
            f"forbid: [\"src/secrets/**\"]\nbudget: {{max_files: {max_files}, "
            f"max_lines: {max_lines}}}\nrisk: low\nmodel: {{weight: {weight}}}\n").encode()


def _fresh(path: Path, env: Mapping[str, str]) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    git(path, env, "init", "-q", "-b", "main")


# -- a ~300-file repository with one staged file ------------------------------------------------
def build_small(path: Path, env: Mapping[str, str], sizes: Sizes) -> None:
    _fresh(path, env)
    files = {f"src/pkg{i % 10}/mod{i}.py": source_file(i) for i in range(sizes.small_files - 2)}
    files[".avorelo/policy.yaml"] = POLICY
    files[".avorelo/task.yaml"] = task_yaml("SMALL-1", ["src/**", "tests/**"], 20, 800,
                                            "standard")
    s = Stream()
    s.commit("refs/heads/main", "initial\n", files)
    s.run(path, env)
    # A real checkout: this is the repository a person commits in.
    git(path, env, "checkout", "-q", "-f", "main")
    target = path / "src/pkg3/mod3.py"
    target.write_bytes(target.read_bytes() + b"added_line = 1\n")
    git(path, env, "add", "--", "src/pkg3/mod3.py")


# -- 100,000 files, 10,000 of them staged, one out of scope -------------------------------------
def big_paths(n: int) -> list[str]:
    """``n`` paths: src/ (90%), tests/ and docs/, 100 files a directory."""
    out = []
    for i in range(n):
        top = "docs" if i % 20 == 19 else "tests" if i % 20 == 18 else "src"
        out.append(f"{top}/d{i // 1000}/s{(i // 100) % 10}/f{i}.txt")
    return out


def build_big(path: Path, env: Mapping[str, str], sizes: Sizes) -> None:
    _fresh(path, env)
    paths = big_paths(sizes.big_files)
    files = {p: source_file(i, 10) for i, p in enumerate(paths)}
    files[".avorelo/policy.yaml"] = POLICY
    files[".avorelo/task.yaml"] = task_yaml("BIG-1", ["src/**", "tests/**"],
                                            sizes.big_staged * 2, sizes.big_staged * 10,
                                            "heavy")
    s = Stream()
    s.commit("refs/heads/main", "initial\n", files)
    s.run(path, env)
    git(path, env, "read-tree", "main")
    # Staged blobs are loose objects, as `git add` leaves them: written by one hash-object.
    rng = random.Random(6)
    in_scope = [i for i, p in enumerate(paths) if not p.startswith("docs/")]
    chosen = sorted(rng.sample(in_scope, sizes.big_staged - 1))
    staged = {paths[i]: source_file(i, 10).replace(b" = ", b" = 1 + ", 1) for i in chosen}
    staged["docs/outside/added.txt"] = b"out of scope\n"
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        names = []
        for n, content in enumerate(staged.values()):
            name = os.path.join(tmp, str(n))
            with open(name, "wb") as f:
                f.write(content)
            names.append(name)
        oids = git(path, env, "hash-object", "-w", "--no-filters", "--stdin-paths",
                   input=("\n".join(names) + "\n").encode()).decode().split()
    info = "".join(f"100644 {oid}\t{p}\n" for p, oid in zip(staged, oids, strict=True))
    git(path, env, "update-index", "--index-info", input=info.encode())


# -- a pull request of ~4,000 commits touching ~400 files --------------------------------------
def build_range(path: Path, env: Mapping[str, str], sizes: Sizes) -> None:
    """main: a 2,000-file root and 200 commits; the PR branch forks there and makes
    ``range_commits`` one-file commits over ``range_files`` files; main moves on 50 more."""
    _fresh(path, env)
    base_files = {f"src/pkg{i // 50}/mod{i % 50}.py": source_file(i) for i in range(2000)}
    base_files[".avorelo/policy.yaml"] = POLICY
    base_files[".avorelo/tasks/PR-1.yaml"] = task_yaml("PR-1", ["src/**", "tests/**"],
                                                       sizes.range_files * 2, 1_000_000,
                                                       "standard")
    s = Stream()
    s.commit("refs/heads/main", "initial\n", base_files, mark=1)
    names = list(base_files)[:2000]
    for i in range(200):
        p = names[1999 - i]
        s.commit("refs/heads/main", f"main work {i}\n",
                 {p: base_files[p] + f"main_{i} = {i}\n".encode()})
    s.commit("refs/heads/main", "fork point\n", {"docs/fork.md": b"fork\n"}, mark=2)
    current = {p: bytearray(base_files[p]) for p in names[:sizes.range_files]}
    targets = list(current)
    for i in range(sizes.range_commits):
        p = targets[i % len(targets)]
        lines = bytes(current[p]).split(b"\n")
        lines[(i // len(targets)) % 30] = f"changed_{i} = {i}".encode()
        current[p] = bytearray(b"\n".join(lines))
        s.commit("refs/heads/feature",
                 f"change {i}\n\nTask: PR-1\nModel-Weight: standard\n",
                 {p: bytes(current[p])}, parent=":2" if i == 0 else None)
    for i in range(50):
        s.commit("refs/heads/main", f"main after fork {i}\n",
                 {f"docs/after{i}.md": f"{i}\n".encode()})
    s.run(path, env)
    git(path, env, "symbolic-ref", "HEAD", "refs/heads/feature")


# -- 10,000 receipts; the newest 1,000 are real ones, for `receipt verify` ----------------------
def build_receipts(path: Path, env: Mapping[str, str], sizes: Sizes) -> None:
    """Receipts as routing reads them (tests/receipt_history.py, synthetic predicates) for the
    older commits; the newest ``verify_commits`` are recorded by the gate itself (so that
    ``receipt verify`` recomputes real verdicts, and finds them valid)."""
    _fresh(path, env)
    synthetic = sizes.receipts - sizes.verify_commits
    generate(path, route_works(synthetic))
    s = Stream()
    tasks = {f".avorelo/tasks/T-{k}.yaml": task_yaml(f"T-{k}", [f"src/area{k}/**", "tests/**"],
                                                     10, 400, "light") for k in range(10)}
    head = git(path, env, "rev-parse", "main").decode().strip()
    s.commit("refs/heads/main", "policy and tasks\n\nTask: T-0\n",
             {".avorelo/policy.yaml": POLICY, **tasks}, parent=head)
    s.run(path, env)
    rng = random.Random(7)
    real = []
    for n in range(sizes.verify_commits - 1):
        k = n % 10
        area = k if rng.random() > 0.1 else (k + 1) % 10  # some out of scope: fail verdicts
        paths = tuple(sorted({f"src/area{area}/f{rng.randrange(60)}.py"
                              for _ in range(rng.randint(1, 4))}))
        real.append(Work(paths, task=f"T-{k}"))
    make_commits(path, real)
    commits = git(path, env, "rev-list", "--reverse", f"-n{sizes.verify_commits}",
                  "main").decode().split()
    _record_real(path, env, commits)
    # Routing's index lives in the git dir: drop it so the first (warm-up) run builds it.
    shutil.rmtree(path / ".git" / "avorelo", ignore_errors=True)


def _record_real(path: Path, env: Mapping[str, str], commits: Sequence[str]) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.receipts.build import encode_receipt
    from avorelo_gate.receipts.recording import record_statement

    repo = open_repo(str(path), env)
    add_receipts(path, {c: encode_receipt(record_statement(repo, c, env)) for c in commits})


# -- the small repository twice, for the pre-commit framework: the gate's stages, and `true` ---
def framework_config(entry: str) -> str:
    """``repo: local`` hooks for the gate's stages, as the manifest offers them; ``entry``
    "gate" runs the bench interpreter's gate, anything else runs that command instead."""
    import yaml

    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hooks = []
    for hook in manifest:
        if not set(hook["stages"]) <= set(COMMIT_STAGES):
            continue
        if entry != "gate":
            command = entry
        elif hook["language"] == "script":   # a file of the hook repository: this checkout
            command = str(ROOT / hook["entry"])
        else:
            command = hook["entry"].replace("avorelo-gate", f"{VENV / 'bin' / 'python'} -m "
                                            "avorelo_gate", 1)
        hooks.append({**hook, "entry": command, "language": "system"})
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]})


def build_framework(path: Path, env: Mapping[str, str], sizes: Sizes) -> None:
    if path.exists():
        shutil.rmtree(path)
    for name, entry in (("gate", "gate"), ("true", "true")):
        repo = path / name
        build_small(repo, env, sizes)
        (repo / ".pre-commit-config.yaml").write_text(framework_config(entry))
        # Committed (the framework refuses an unstaged config), leaving the one file staged.
        git(repo, env, "add", "--", ".pre-commit-config.yaml")
        git(repo, env, "commit", "-q", "--no-verify", "-m", "framework", "--",
            ".pre-commit-config.yaml")


# -- Flask's real history -----------------------------------------------------------------------
def build_flask(path: Path, env: Mapping[str, str], sizes: Sizes) -> None:
    bundle = flask_bundle()
    if bundle is None:
        raise RuntimeError("flask.bundle not found")
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git(path.parent, env, "clone", "-q", str(bundle), path.name)


BUILDERS = {"small": build_small, "big": build_big, "range": build_range,
            "receipts": build_receipts, "framework": build_framework, "flask": build_flask}


def fixture_key(name: str) -> str:
    """What a fixture's content depends on: its version; for receipts the gate that recorded
    them (a receipt from another version of the engine may no longer verify), and for the
    framework the manifest its config is written from."""
    if name == "framework":
        manifest = (ROOT / ".pre-commit-hooks.yaml").read_bytes()
        return f"{FIXTURE_VERSION}-{hashlib.sha256(manifest).hexdigest()[:12]}"
    if name != "receipts":
        return FIXTURE_VERSION
    h = hashlib.sha256()
    for module in sorted((ROOT / "avorelo_gate").rglob("*.py")):
        h.update(module.relative_to(ROOT).as_posix().encode() + b"\0" + module.read_bytes())
    return f"{FIXTURE_VERSION}-{h.hexdigest()[:12]}"


def fixture(name: str, quick: bool, log: bool = True) -> Path:
    """The fixture's repository, built now unless the cache has it for this key.

    Built in a child process: the receipts fixture records 1,000 receipts in-process, and a
    benchmark process grown by that would lend its size to every child it starts (Linux
    keeps the larger of the old and new memory's peak across exec), spoiling the RSS figures.
    """
    path, marker, key = _where(name, quick)
    if path.is_dir() and marker.exists() and marker.read_text().strip() == key:
        return path
    if log:
        print(f"building fixture {name} ({'quick' if quick else 'full'}) ...", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, name, *(["--quick"] if quick else [])],
                   check=True)
    if log:
        print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    return path


def _where(name: str, quick: bool) -> tuple[Path, Path, str]:
    base = FIXTURES / f"v{FIXTURE_VERSION}-{'quick' if quick else 'full'}"
    return base / name, base / f"{name}.built", fixture_key(name)


def build(name: str, quick: bool) -> None:
    path, marker, key = _where(name, quick)
    marker.unlink(missing_ok=True)
    home = FIXTURES / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = bench_env(home)
    # receipt_history's helpers read os.environ: give them the same hermetic one.
    os.environ.clear()
    os.environ.update(env)
    BUILDERS[name](path, env, QUICK if quick else FULL)
    marker.write_text(f"{key}\n")


if __name__ == "__main__":
    build(sys.argv[1], "--quick" in sys.argv[2:])
