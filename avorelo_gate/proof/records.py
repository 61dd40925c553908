"""Proof records: what one ``avorelo-gate prove`` run did, kept as local state.

Layout, under ``$(git rev-parse --git-path avorelo)/proof/<name>/``::

    latest.json              the last run of <name> to finish
    history/<run_id>.json    the last HISTORY_LIMIT runs, oldest pruned first
    logs/<run_id>.log        their output, pruned the same way

Every file is written with ``write_atomic`` (unique temporary file, fsync, rename), so a reader
sees a whole record or the previous one, concurrent runs of one name never tear a file, and a
run killed mid-way leaves the previous record as it was. Records are local evidence, not a
signature: they bind a result to a git tree id, and anyone who can write to .git can forge
one, which is why CI runs its own ``prove`` (README, "Proof").
"""
from __future__ import annotations

import contextlib
import json
import os
import posixpath
import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.files.atomic import write_atomic
from avorelo_gate.git.repo import Repo

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

RECORD_SCHEMA = "avorelo.proof/v1"
HISTORY_LIMIT = 20
MAX_RECORD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ArtifactRecord:
    """An artifact a prove run left: its path and sha256, and whether the run made it."""

    path: str            # normalised, relative to the repository root
    sha256: str          # after the run
    produced: bool       # the run changed its bytes (or created it): the run vouches for it

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "produced": self.produced}


@dataclass(frozen=True)
class ProofRecord:
    """One prove run: the command, its exit code, times, the content it ran against."""

    run_id: str
    name: str
    argv: tuple[str, ...]
    exit_code: int
    interrupted: bool
    started: str                 # ISO 8601 UTC; run ids and these sort by time
    finished: str
    duration_s: float
    tree: str                    # tracked content in the working tree before the run
    tree_after: str
    changed_during_run: tuple[str, ...] = ()
    artifacts: tuple[ArtifactRecord, ...] = ()
    log: str = ""                # relative to the record's directory
    cwd: str = ""                # relative to the repository root

    @property
    def usable(self) -> bool:
        """A run whose content moved under it proves nothing about any content."""
        return not self.changed_during_run

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.interrupted

    def produced(self, path: str, sha256: str) -> bool:
        return any(a.produced and a.path == path and a.sha256 == sha256
                   for a in self.artifacts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RECORD_SCHEMA, "run_id": self.run_id, "name": self.name,
            "argv": list(self.argv), "exit_code": self.exit_code,
            "interrupted": self.interrupted, "started": self.started,
            "finished": self.finished, "duration_s": self.duration_s, "tree": self.tree,
            "tree_after": self.tree_after, "usable": self.usable,
            "changed_during_run": list(self.changed_during_run),
            "artifacts": [a.to_dict() for a in self.artifacts], "log": self.log,
            "cwd": self.cwd,
        }


def normalize_artifact(rel: str) -> str:
    """One spelling per path ("./reports//junit.xml" is "reports/junit.xml")."""
    return posixpath.normpath(rel)


def new_run_id(now: datetime) -> str:
    # Sortable by start time; pid and randomness keep concurrent runs apart.
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{os.getpid()}-{secrets.token_hex(3)}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def proof_dir(repo: Repo) -> str:
    return os.path.join(repo.state_dir(), "proof")


def name_dir(repo: Repo, name: str) -> str:
    return os.path.join(proof_dir(repo), name)


def log_path(repo: Repo, name: str, run_id: str) -> str:
    return os.path.join(name_dir(repo, name), "logs", f"{run_id}.log")


def write_record(repo: Repo, record: ProofRecord) -> str:
    """History first, then latest.json: a crash between the two loses nothing recorded."""
    base = name_dir(repo, record.name)
    data = (json.dumps(record.to_dict(), indent=2, ensure_ascii=True) + "\n").encode()
    write_atomic(os.path.join(base, "history", f"{record.run_id}.json"), data)
    latest = os.path.join(base, "latest.json")
    write_atomic(latest, data)
    prune(os.path.join(base, "history"), ".json")
    prune(os.path.join(base, "logs"), ".log")
    return latest


def prune(directory: str, suffix: str, keep: int = HISTORY_LIMIT) -> None:
    try:
        names = sorted(n for n in os.listdir(directory)
                       if n.endswith(suffix) and not n.startswith("."))
    except FileNotFoundError:
        return
    for old in names[:-keep] if len(names) > keep else []:
        # A concurrent run may be pruning the same file: whoever comes second finds it gone.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, old))


def read_record(path: str) -> ProofRecord | None:
    """A record, or None when it is absent, torn by a foreign writer, or not one of ours."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_RECORD_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_RECORD_BYTES:
        return None
    try:
        return parse_record(json.loads(data))
    except (ValueError, TypeError, KeyError):
        return None


def parse_record(d: Mapping[str, Any]) -> ProofRecord | None:
    if not isinstance(d, dict) or d.get("schema") != RECORD_SCHEMA:
        return None
    artifacts = tuple(
        ArtifactRecord(path=_str(a["path"]), sha256=_str(a["sha256"]),
                       produced=a["produced"] is True)
        for a in d.get("artifacts", ()))
    return ProofRecord(
        run_id=_str(d["run_id"]), name=_str(d["name"]),
        argv=tuple(_str(a) for a in d["argv"]), exit_code=_int(d["exit_code"]),
        interrupted=d["interrupted"] is True, started=_str(d["started"]),
        finished=_str(d["finished"]), duration_s=float(d["duration_s"]),
        tree=_str(d["tree"]), tree_after=_str(d["tree_after"]),
        changed_during_run=tuple(_str(p) for p in d.get("changed_during_run", ())),
        artifacts=artifacts, log=_str(d.get("log", "")), cwd=_str(d.get("cwd", "")))


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value


@dataclass(frozen=True)
class RecordStore:
    """Every record on this machine for one repository, newest first within each name."""

    by_name: Mapping[str, tuple[ProofRecord, ...]] = field(default_factory=dict)

    def runs_of(self, name: str) -> tuple[ProofRecord, ...]:
        return self.by_name.get(name, ())

    def all_runs(self) -> Iterator[ProofRecord]:
        for runs in self.by_name.values():
            yield from runs

    def producer(self, path: str, sha256: str) -> ProofRecord | None:
        """The most recent run that wrote exactly these bytes at this path."""
        found = [r for r in self.all_runs() if r.produced(path, sha256)]
        return max(found, key=lambda r: r.finished, default=None)


def load_store(repo: Repo) -> RecordStore:
    root = proof_dir(repo)
    try:
        names = sorted(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        return RecordStore()
    return RecordStore({name: _runs_of(os.path.join(root, name)) for name in names})


def _runs_of(directory: str) -> tuple[ProofRecord, ...]:
    paths = [os.path.join(directory, "latest.json")]
    with contextlib.suppress(OSError):
        history = os.path.join(directory, "history")
        paths += [os.path.join(history, n) for n in os.listdir(history)
                  if n.endswith(".json") and not n.startswith(".")]
    runs: dict[str, ProofRecord] = {}
    for path in paths:
        record = read_record(path)
        if record is not None:
            runs[record.run_id] = record  # latest.json repeats a history entry
    return tuple(sorted(runs.values(), key=lambda r: r.finished, reverse=True))
