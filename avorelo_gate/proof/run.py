"""``avorelo-gate prove [--name NAME] -- CMD [ARGS...]``: run a command and record what it proved.

The command runs as given (argv, no shell), with our stdin, its stdout and stderr streamed live
to ours and into a log. Around it we take the tree of the tracked content in the working tree
(``Repo.worktree_tree``) before and after: the record is bound to that tree, and a tree that
moved while the command ran makes the record unusable. The artifacts that proof requirements
name (in the policy and in every task file on disk: the task may be declared later, by a
trailer) are hashed before and after, so a report the run wrote is vouched for by the run.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.proof.artifacts import ArtifactError, resolve_artifact, sha256_file
from avorelo_gate.proof.records import (
    ArtifactRecord,
    ProofRecord,
    iso,
    log_path,
    new_run_id,
    utc_now,
    write_record,
)
from avorelo_gate.proof.requirements import requirement_artifact, requirements_on_disk
from avorelo_gate.task import schema

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import IO, BinaryIO

USAGE = "usage: avorelo-gate prove [--name NAME] -- CMD [ARGS...]"
# After the command exits, how long a grandchild that kept its stdout open may delay us.
PIPE_DRAIN_SECONDS = 2.0
FORWARDED = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP")
                  if hasattr(signal, s))

Say = Callable[[str], None]


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    interrupted: bool


def choose_name(name: str | None, program: str) -> str:
    chosen = name if name is not None else os.path.basename(program)
    if not schema.PROVE_NAME.match(chosen):
        where = "--name" if name is not None else f"the default name (from {program!r})"
        raise BadInputError(f"prove: {where}: {chosen!r} is not a proof name (letters, digits, "
                            ". _ -, up to 64); pass --name NAME")
    return chosen


def find_program(program: str, environ: Mapping[str, str]) -> str:
    found = shutil.which(program, path=environ.get("PATH", os.defpath))
    if found is None:
        raise BadInputError(f"prove: {program}: command not found (127); nothing was run")
    return found


def run_prove(repo: Repo, name: str | None, argv: Sequence[str],
              environ: Mapping[str, str], say: Say | None = None) -> int:
    if not argv:
        raise BadInputError(f"prove: no command given; {USAGE}")
    say = say or _say
    if repo.bare or not repo.toplevel:
        raise BadInputError("prove: this is a bare repository: there is no working tree to "
                            "run a command against")
    name = choose_name(name, argv[0])
    program = find_program(argv[0], environ)
    artifacts = declared_artifacts(repo, say)
    before = hash_artifacts(repo.toplevel, artifacts)
    tree = repo.worktree_tree()
    started = utc_now()
    run_id = new_run_id(started)
    log = log_path(repo, name, run_id)
    clock = time.monotonic()
    outcome = run_streaming([program, *argv[1:]], argv[0], log, environ)
    duration = round(time.monotonic() - clock, 3)
    finished = utc_now()
    tree_after = repo.worktree_tree()
    after = hash_artifacts(repo.toplevel, artifacts)
    changed = [p for _, p in repo.changed_paths(tree, tree_after) if p not in artifacts]
    record = ProofRecord(
        run_id=run_id, name=name, argv=tuple(argv), exit_code=outcome.exit_code,
        interrupted=outcome.interrupted, started=iso(started), finished=iso(finished),
        duration_s=duration, tree=tree, tree_after=tree_after,
        changed_during_run=tuple(changed),
        artifacts=tuple(ArtifactRecord(path=p, sha256=sha, produced=before.get(p) != sha)
                        for p, sha in after.items() if sha is not None),
        log=os.path.relpath(log, os.path.dirname(os.path.dirname(log))),
        cwd=os.path.relpath(repo.git.cwd, repo.toplevel).replace(os.sep, "/"))
    write_record(repo, record)
    report_run(repo, record, log, say)
    return outcome.exit_code


def _say(text: str) -> None:
    sys.stderr.write(f"avorelo-gate: {text}\n")
    sys.stderr.flush()


def report_run(repo: Repo, record: ProofRecord, log: str, say: Say) -> None:
    how = "interrupted" if record.interrupted else f"exit {record.exit_code}"
    say(f"prove {record.name}: {how} in {record.duration_s:.2f}s; recorded against tree "
        f"{record.tree[:12]} (log: {log})")
    if not record.usable:
        shown = ", ".join(display_path(p) for p in record.changed_during_run[:5])
        say(f"prove {record.name}: the content changed while the command ran ({shown}); this "
            "run is not proof for any content: run it again without editing meanwhile")
    # The reports a requirement names are the run's outputs: adding one would make it part of
    # the change, and so self-supplied (proof-invalid). Only inputs are worth a hint.
    outputs = {a.path for a in record.artifacts}
    untracked = [p for p in repo.untracked() if p not in outputs]
    if untracked:
        say(f"prove {record.name}: {len(untracked)} untracked file(s) (e.g. "
            f"{display_path(untracked[0])}) are not part of the recorded content: "
            "git add the ones the tests read (git add -N is enough); leave test reports out")


# -- the artifacts the requirements name ------------------------------------------------------
def declared_artifacts(repo: Repo, say: Say) -> frozenset[str]:
    paths = set()
    for req in requirements_on_disk(repo, say):
        path = requirement_artifact(req)
        if path is not None:
            paths.add(path)
    return frozenset(paths)


def hash_artifacts(toplevel: str, paths: frozenset[str]) -> dict[str, str | None]:
    shas: dict[str, str | None] = {}
    for rel in sorted(paths):
        try:
            shas[rel] = sha256_file(resolve_artifact(toplevel, rel))
        except ArtifactError:
            shas[rel] = None  # absent or unsafe: nothing the run could vouch for
    return shas


# -- running the command ----------------------------------------------------------------------
def run_streaming(argv: list[str], shown: str, log: str,
                  environ: Mapping[str, str]) -> RunOutcome:
    with _forwarding_signals() as forwarder:
        forwarder.proc = proc = _spawn(argv, shown, environ)
        try:
            os.makedirs(os.path.dirname(log), exist_ok=True)
            log_file = open(log, "wb")  # noqa: SIM115 (closed below, after the pumps)
        except OSError as e:
            proc.kill()
            raise EnvironmentFailure(f"prove: cannot write the log {log}: {e.strerror}") from e
        with log_file:
            return _stream(proc, log_file, forwarder)


def _spawn(argv: list[str], shown: str, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(argv, env=dict(environ), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except FileNotFoundError as e:
        raise BadInputError(f"prove: {shown}: command not found (127)") from e
    except PermissionError as e:
        raise BadInputError(f"prove: {shown}: not executable (126)") from e
    except OSError as e:
        raise EnvironmentFailure(f"prove: cannot run {shown}: {e.strerror}") from e


def _stream(proc: subprocess.Popen[bytes], log_file: BinaryIO,
            forwarder: _Forwarder) -> RunOutcome:
    lock = threading.Lock()
    pumps = [_start_pump(proc.stdout, _binary(sys.stdout), log_file, lock),
             _start_pump(proc.stderr, _binary(sys.stderr), log_file, lock)]
    returncode = proc.wait()
    for pump in pumps:
        pump.join(PIPE_DRAIN_SECONDS)
    with lock:
        log_file.flush()
        received = list(forwarder.received)
    return _outcome(returncode, received)


def _outcome(returncode: int, received: list[int]) -> RunOutcome:
    if received:
        # Whatever the command made of it, a run someone stopped proves nothing.
        signum = signal.SIGINT if signal.SIGINT in received else received[0]
        return RunOutcome(128 + int(signum), interrupted=True)
    if returncode < 0:  # killed by a signal nobody sent through us (OOM killer, kill -9)
        return RunOutcome(128 - returncode, interrupted=-returncode in FORWARDED)
    return RunOutcome(returncode, interrupted=False)


def _binary(stream: IO[str]) -> BinaryIO | None:
    return getattr(stream, "buffer", None)


def _start_pump(src: IO[bytes] | None, terminal: BinaryIO | None, log_file: BinaryIO,
                lock: threading.Lock) -> threading.Thread:
    thread = threading.Thread(target=_pump, args=(src, terminal, log_file, lock), daemon=True)
    thread.start()
    return thread


def _pump(src: IO[bytes] | None, terminal: BinaryIO | None, log_file: BinaryIO,
          lock: threading.Lock) -> None:
    if src is None:
        return
    sinks = [s for s in (terminal, log_file) if s is not None]
    with src:
        while chunk := os.read(src.fileno(), 65536):
            with lock:
                for sink in list(sinks):
                    try:
                        sink.write(chunk)
                        sink.flush()
                    except (OSError, ValueError):
                        sinks.remove(sink)  # a closed terminal must not stop the log


class _Forwarder:
    """Passes the signals meant for the run on to the command, and remembers them."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.received: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.proc is None:
            return
        # Ctrl-C at a terminal goes to the whole foreground process group, the command
        # included: sending it a second SIGINT would cut its own clean-up short (pytest's
        # summary). A SIGINT from anywhere else (kill -INT, a CI runner) reaches only us.
        if signum == signal.SIGINT and _in_terminal_foreground():
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signum)


def _in_terminal_foreground() -> bool:
    tcgetpgrp = getattr(os, "tcgetpgrp", None)
    if tcgetpgrp is None:
        return False
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
            if os.isatty(fd):
                return bool(tcgetpgrp(fd) == os.getpgrp())
        except (AttributeError, OSError, ValueError):
            continue
    return False


@contextlib.contextmanager
def _forwarding_signals() -> Iterator[_Forwarder]:
    forwarder = _Forwarder()
    if threading.current_thread() is not threading.main_thread():
        yield forwarder  # signal handlers can only be set from the main thread
        return
    previous = {s: signal.signal(s, forwarder) for s in FORWARDED}
    try:
        yield forwarder
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
