"""One of the concurrent writers of tests/test_hardening_crash.py, run as its own process:

    python crash_writer.py pending|proof REPO WRITER COUNT

``pending``: COUNT pending receipts through ``recording.leave_pending`` (the commit-msg
writer), each for its own tree, plus the same shared tree every time (all writers race on
that one file). ``proof``: COUNT records of one shared name through
``proofrecord.write_record`` (the ``prove`` writer: history, latest.json, pruning). Prints
the keys it wrote, one a line, for the test to account for.
"""
from __future__ import annotations

import os
import sys

from avorelo_gate.dataclass_lite import dataclass, field, fields
from avorelo_gate.gate.assemble import CheckRequest, check_request
from avorelo_gate.git.repo import Repo, open_repo
from avorelo_gate.proof.records import ProofRecord, iso, new_run_id, utc_now, write_record
from avorelo_gate.receipts.recording import leave_pending

SHARED_TREE = "f" * 40


@dataclass(frozen=True)  # the package's own: Repo's fields are its records'
class TreeRepo(Repo):
    """The real repository, except that the index's tree is the one this write is for
    (``git write-tree`` would give every writer the same one)."""

    trees: list[str] = field(default_factory=list)

    def write_index_tree(self) -> str:
        return self.trees.pop()


def pending(path: str, writer: int, count: int) -> None:
    repo = open_repo(cwd=path, environ=os.environ)
    req = CheckRequest()
    checked = check_request(repo, req, os.environ)   # one real verdict, written many times
    assert checked.result.exit_code == 0, checked.result
    base = {f.name: getattr(repo, f.name) for f in fields(Repo)}
    for i in range(count):
        tree = f"{writer:02x}{i:06x}".ljust(40, "0")
        for key in (tree, SHARED_TREE):
            leave_pending(TreeRepo(**base, trees=[key]), req, checked, os.environ)
        print(tree, flush=True)


def proof(path: str, writer: int, count: int) -> None:
    repo = open_repo(cwd=path, environ=os.environ)
    for i in range(count):
        started = utc_now()
        run_id = new_run_id(started)
        write_record(repo, ProofRecord(
            # a few KB of argv, so a torn write would have room to show
            run_id=run_id, name="tests", argv=("writer", str(writer), str(i), "x" * 4096),
            exit_code=0,
            interrupted=False, started=iso(started), finished=iso(utc_now()),
            duration_s=0.0, tree="a" * 40, tree_after="a" * 40,
            log=f"logs/{run_id}.log"))
        print(run_id, flush=True)


if __name__ == "__main__":
    kind, where, who, how_many = sys.argv[1:5]
    {"pending": pending, "proof": proof}[kind](where, int(who), int(how_many))
