"""An embedded SQLite index of the receipts on ``refs/notes/avorelo``, for ``route``.

A cache, never a source of truth: it remembers the notes commit it is current to and, when the
ref moves, reads only the notes that changed (``git diff-tree`` between the two notes commits,
then one ``cat-file --batch`` for their blobs). Deleting the file loses nothing; a file that is
damaged or from another schema version is rebuilt.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import EnvironmentFailure, GitError
from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.store import NOTES_REF

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

INDEX_NAME = "receipts.sqlite"
SCHEMA_VERSION = "2"  # 2: the weight routed at `task start`
SCOPE_RULES = ("out-of-scope", "forbidden", "protected")
PROOF_RULES = ("proof-missing", "proof-failed", "proof-stale", "proof-invalid")
BUDGET_RULES = ("budget-files", "budget-lines", "weight-budget")
# Above every UTF-8 continuation of a prefix: [prefix, prefix + TOP) is "starts with prefix".
TOP = "\U0010ffff"

DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipt(
    id INTEGER PRIMARY KEY, commit_sha TEXT NOT NULL UNIQUE, task TEXT, verdict TEXT NOT NULL,
    weight TEXT, model TEXT, files INTEGER NOT NULL, lines INTEGER NOT NULL,
    scope_failed INTEGER NOT NULL, proof_failed INTEGER NOT NULL,
    budget_failed INTEGER NOT NULL, time TEXT NOT NULL, routed TEXT);
CREATE TABLE IF NOT EXISTS path(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS touch(path_id INTEGER NOT NULL, receipt_id INTEGER NOT NULL,
    PRIMARY KEY(path_id, receipt_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS touch_by_receipt ON touch(receipt_id);
"""


@dataclass(frozen=True)
class IndexState:
    path: str
    notes_commit: str | None
    receipts: int
    read: int            # notes read in this refresh (0 when it was already current)


def index_path(repo: Repo) -> str:
    # Beside the shared notes ref: every worktree reads the same receipts.
    return os.path.join(repo.common_state_dir(), INDEX_NAME)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(DDL)
    row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if row is None:
        conn.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
    elif row[0] != SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema {row[0]}, expected {SCHEMA_VERSION}")
    return conn


def _discard(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


def open_index(repo: Repo) -> sqlite3.Connection:
    path = index_path(repo)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            return _connect(path)
        except sqlite3.DatabaseError:
            _discard(path)  # damaged or another version: it is only a cache
            return _connect(path)
    except (OSError, sqlite3.Error) as e:
        raise EnvironmentFailure(f"{path}: cannot open the receipts index: {e}") from e


@contextlib.contextmanager
def _writing(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _stored_commit(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key='notes_commit'").fetchone()
    return (str(row[0]) or None) if row else None  # "" records "no notes ref"


def refresh(repo: Repo, conn: sqlite3.Connection) -> IndexState:
    """Bring the index up to date with the notes ref; a no-op costs one ``rev-parse``."""
    current = repo.ref_commit(NOTES_REF)
    read = 0
    if current != _stored_commit(conn):
        with _writing(conn):
            stored = _stored_commit(conn)  # another process may have done it meanwhile
            if current != stored:
                read = _apply(repo, conn, stored, current)
                conn.execute("INSERT OR REPLACE INTO meta VALUES('notes_commit', ?)",
                             (current or "",))
    count = conn.execute("SELECT COUNT(*) FROM receipt").fetchone()[0]
    return IndexState(index_path(repo), current, int(count), read)


def _apply(repo: Repo, conn: sqlite3.Connection, stored: str | None,
           current: str | None) -> int:
    if current is None:
        _clear(conn)
        return 0
    try:
        entries = repo.diff_tree_entries(stored, current)
    except GitError:
        # The commit we were current to is gone (the ref was replaced, then gc'd): start over.
        _clear(conn)
        entries = repo.diff_tree_entries(None, current)
    deleted: dict[str, str] = {}
    changed: dict[str, str] = {}
    for status, path, old_blob, new_blob in entries:
        obj = path.replace("/", "")
        if status == "D":
            deleted[obj] = old_blob
        else:
            changed[obj] = new_blob
    for obj in set(deleted) - set(changed):
        _delete(conn, obj)
    # Notes trees fan out (ab/cdef...) as they grow: a note that only moved is unchanged.
    changed = {o: b for o, b in changed.items() if deleted.get(o) != b}
    blobs = repo.cat_objects(sorted(set(changed.values())))
    for obj, blob in changed.items():
        found = blobs.get(blob)
        _store(conn, obj, found[1] if found else None)
    return len(changed)


def _clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM touch")
    conn.execute("DELETE FROM receipt")
    conn.execute("DELETE FROM path")


def _delete(conn: sqlite3.Connection, commit: str) -> None:
    row = conn.execute("SELECT id FROM receipt WHERE commit_sha=?", (commit,)).fetchone()
    if row is not None:
        conn.execute("DELETE FROM touch WHERE receipt_id=?", row)
        conn.execute("DELETE FROM receipt WHERE id=?", row)


def _store(conn: sqlite3.Connection, commit: str, note: bytes | None) -> None:
    _delete(conn, commit)
    row = receipt_row(commit, note)
    if row is None:
        return  # not a receipt of this commit (damaged, or copied from another): not evidence
    values, paths = row
    cur = conn.execute("INSERT INTO receipt(commit_sha, task, verdict, weight, model, files, "
                       "lines, scope_failed, proof_failed, budget_failed, time, routed) "
                       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", values)
    receipt_id = cur.lastrowid
    conn.executemany("INSERT OR IGNORE INTO path(path) VALUES(?)", [(p,) for p in paths])
    conn.executemany("INSERT OR IGNORE INTO touch(path_id, receipt_id) "
                     "SELECT id, ? FROM path WHERE path=?", [(receipt_id, p) for p in paths])


def receipt_row(commit: str, note: bytes | None) -> tuple[tuple[Any, ...], list[str]] | None:
    # Imported here: a warm index (the common case) never parses a receipt.
    from avorelo_gate.receipts.build import subject_of
    from avorelo_gate.receipts.parse import ReceiptInvalid, parse_receipt

    if note is None:
        return None
    try:
        statement = parse_receipt(note)
    except ReceiptInvalid:
        return None
    if subject_of(statement)[0] != commit:
        return None
    p = statement["predicate"]
    rules = {v["rule"] for v in p["violations"]}
    model: Mapping[str, Any] = p.get("model") or {}
    diff = p["diff"]
    values = (commit, (p.get("task") or {}).get("id"), p["verdict"], model.get("weight"),
              model.get("name"), diff["files"], diff["added"] + diff["removed"],
              int(bool(rules & set(SCOPE_RULES))), int(bool(rules & set(PROOF_RULES))),
              int(bool(rules & set(BUDGET_RULES))), p["time"],
              (model.get("routed") or {}).get("weight"))
    return values, list(dict.fromkeys(diff["paths"]))


# -- queries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeightStats:
    weight: str                # "light", "standard", "heavy" or "undeclared"
    receipts: int
    passed: int
    scope_failed: int
    proof_failed: int
    budget_failed: int
    scope_or_proof_failed: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.receipts if self.receipts else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"receipts": self.receipts, "passed": self.passed,
                "scope_failed": self.scope_failed, "proof_failed": self.proof_failed,
                "budget_failed": self.budget_failed,
                "scope_or_proof_failed": self.scope_or_proof_failed,
                "pass_rate": round(self.pass_rate, 3)}


def candidate_paths(conn: sqlite3.Connection, prefixes: Sequence[str]) -> list[tuple[int, str]]:
    """Indexed paths under any of the literal prefixes (range scans on the unique index)."""
    if "" in prefixes:
        return [(int(i), str(p)) for i, p in conn.execute("SELECT id, path FROM path")]
    rows: dict[int, str] = {}
    for prefix in sorted(set(prefixes)):
        for i, p in conn.execute("SELECT id, path FROM path WHERE path >= ? AND path < ?",
                                 (prefix, prefix + TOP)):
            rows[int(i)] = str(p)
    return sorted(rows.items())


def stats_for_paths(conn: sqlite3.Connection, path_ids: Sequence[int]) -> list[WeightStats]:
    """Per weight: the receipts that touched any of these paths, in one query."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted(path_id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM wanted")
    conn.executemany("INSERT OR IGNORE INTO wanted VALUES(?)", [(i,) for i in path_ids])
    rows = conn.execute(
        "SELECT COALESCE(weight, 'undeclared'), COUNT(*), SUM(verdict = 'pass'), "
        "SUM(scope_failed), SUM(proof_failed), SUM(budget_failed), "
        "SUM(scope_failed OR proof_failed) FROM receipt "
        "WHERE id IN (SELECT DISTINCT t.receipt_id FROM wanted w "
        "JOIN touch t ON t.path_id = w.path_id) GROUP BY 1").fetchall()
    return [WeightStats(str(w), *(int(x) for x in counts)) for w, *counts in rows]


@dataclass(frozen=True)
class RouteOutcome:
    """Receipts routed to one weight at ``task start``, split by whether the work was then
    claimed at that weight (followed) or at another one (not followed), and how it went."""

    routed: str
    followed: bool
    receipts: int
    passed: int
    scope_failed: int
    proof_failed: int
    used: Mapping[str, int]     # the weights the work was claimed at

    def to_dict(self) -> dict[str, Any]:
        return {"receipts": self.receipts, "passed": self.passed,
                "scope_failed": self.scope_failed, "proof_failed": self.proof_failed,
                "used": dict(self.used)}


def routing_for_paths(conn: sqlite3.Connection) -> tuple[list[RouteOutcome], int]:
    """Among the receipts ``stats_for_paths`` last selected: per routed weight, the work that
    followed the route and the work that did not; and how many had no route at all."""
    rows = conn.execute(
        "SELECT routed, COALESCE(weight, 'undeclared'), COUNT(*), SUM(verdict = 'pass'), "
        "SUM(scope_failed), SUM(proof_failed) FROM receipt "
        "WHERE id IN (SELECT DISTINCT t.receipt_id FROM wanted w "
        "JOIN touch t ON t.path_id = w.path_id) GROUP BY 1, 2").fetchall()
    groups: dict[tuple[str, bool], list[int]] = {}
    used: dict[tuple[str, bool], dict[str, int]] = {}
    unrouted = 0
    for routed, weight, count, passed, scope_failed, proof_failed in rows:
        if routed is None:
            unrouted += int(count)
            continue
        key = (str(routed), routed == weight)
        totals = groups.setdefault(key, [0, 0, 0, 0])
        for i, n in enumerate((count, passed, scope_failed, proof_failed)):
            totals[i] += int(n)
        used.setdefault(key, {})[str(weight)] = int(count)
    outcomes = []
    for r, f in sorted(groups, key=lambda k: (k[0], not k[1])):
        count, passed, scope_failed, proof_failed = groups[(r, f)]
        outcomes.append(RouteOutcome(r, f, count, passed, scope_failed, proof_failed,
                                     used[(r, f)]))
    return outcomes, unrouted


def recent_receipts(conn: sqlite3.Connection, limit: int = 5) -> list[dict[str, Any]]:
    """The latest receipts among those ``stats_for_paths`` last selected."""
    rows = conn.execute(
        "SELECT commit_sha, task, verdict, weight, model, time, routed FROM receipt "
        "WHERE id IN (SELECT DISTINCT t.receipt_id FROM wanted w "
        "JOIN touch t ON t.path_id = w.path_id) ORDER BY time DESC, commit_sha LIMIT ?",
        (limit,)).fetchall()
    keys = ("commit", "task", "verdict", "weight", "model", "time", "routed")
    return [dict(zip(keys, r, strict=True)) for r in rows]
