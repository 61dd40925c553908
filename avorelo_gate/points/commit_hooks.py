"""What the commit hooks do: pre-commit, prepare-commit-msg and commit-msg.

pre-commit runs before the message exists, and the message's ``Task:`` outranks every source
of the task but ``AVORELO_TASK``: unless that names the task, pre-commit checks only what no
task can change (protected paths, the policy) and leaves the rest to commit-msg, so the two
stages judge a commit by the same task and pre-commit never blocks what commit-msg passes.
commit-msg writes a task that came from ``AVORELO_TASK`` or the active task into the message
as a ``Task:`` trailer: pre-push and ``ci`` read the commit's own message, so all three points
then judge it by the same task. ``git commit --amend`` is read from the argv of the ``git commit``
above us (``invocation``); where that cannot be read, from prepare-commit-msg's ``commit HEAD``
(absent with ``-m``), left as a marker for commit-msg. An amend diffs the index against HEAD's
parent, as the amended commit will be.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from avorelo_gate.errors import BadInputError
from avorelo_gate.files import memo
from avorelo_gate.git.repo import Repo, open_repo
from avorelo_gate.points.invocation import commit_amends
from avorelo_gate.result import GateReport

# The engine (gate) is imported inside each hook: pre-commit first starts git on the staged
# diff, so that git computes it while Python imports the engine (points/readahead.py).

MARKER = "prepare-commit-msg.json"


def _marker_path(repo: Repo) -> str:
    return os.path.join(repo.state_dir(), MARKER)


def pre_commit(args: list[str], environ: Mapping[str, str]) -> GateReport:
    from avorelo_gate.points.readahead import staged_read_ahead

    repo = open_repo(environ=environ)
    amend = bool(commit_amends())
    # An amend diffs against HEAD's parent: the engine asks git for that itself.
    with memo.using(repo.state_dir()), \
            contextlib.nullcontext(repo) if amend else staged_read_ahead(repo, environ) as early:
        from avorelo_gate.gate.assemble import CheckRequest, run_check

        report = run_check(early, CheckRequest(message_known=False, amend=amend), environ)
        pending = getattr(early, "pending", None)
        if pending is not None and pending.entries is not None:
            # commit-msg judges the same index next: it takes these entries while the index,
            # base and attributes are unchanged (staged_cache.py).
            from avorelo_gate.points.staged_cache import save
            save(repo, pending.base, pending.entries)
        return report


def prepare_commit_msg(args: list[str], environ: Mapping[str, str]) -> int:
    # The pre-commit framework passes these through the environment instead of argv.
    source = args[1] if len(args) > 1 else environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE", "")
    sha = args[2] if len(args) > 2 else environ.get("PRE_COMMIT_COMMIT_OBJECT_NAME", "")
    repo = open_repo(environ=environ)
    amend = commit_amends()
    if amend is None:  # unknown: git's hint (also given for -c/-C HEAD, which do not amend)
        amend = source == "commit" and sha == "HEAD"
    marker = {"amend": amend, "head": repo.head}
    import json  # here and in take_amend_marker: pre-commit, on every commit, needs neither

    from avorelo_gate.files.atomic import write_atomic

    write_atomic(_marker_path(repo), json.dumps(marker).encode())
    # Runs even under --no-verify: a pending receipt from an abandoned commit must not be
    # attached to this one.
    from avorelo_gate.receipts.pending import clear_pending
    clear_pending(repo)
    return 0


def take_amend_marker(repo: Repo) -> bool:
    """True when prepare-commit-msg saw ``--amend`` for the commit being made now."""
    import json

    path = _marker_path(repo)
    try:
        with open(path, "rb") as f:
            marker = json.loads(f.read())
    except (OSError, ValueError):
        return False
    with contextlib.suppress(OSError):
        os.unlink(path)
    return bool(isinstance(marker, dict) and marker.get("amend")
                and marker.get("head") == repo.head)


def stamp_task(repo: Repo, msgfile: str, environ: Mapping[str, str]) -> str | None:
    """Add ``Task: ID`` to the message when the task comes from ``AVORELO_TASK`` or the active
    task and the message names none; a note saying so, or None."""
    task_id, where = environ.get("AVORELO_TASK", "").strip(), "AVORELO_TASK"
    if not task_id:
        from avorelo_gate.task.active import read_active

        active = read_active(repo)
        task_id, where = (active.id, "the active task") if active else ("", "")
    if not task_id:
        return None
    from avorelo_gate.gate.assemble import message_declaration
    from avorelo_gate.task.schema import TASK_ID

    if not TASK_ID.match(task_id) or message_declaration(repo, msgfile).task_id:
        return None   # a bad id is reported by the check; a named task is the message's own
    # git decides where a trailer goes (after the last paragraph, before comments and the
    # `commit -v` scissors), as it does when it parses one.
    repo.git.run("interpret-trailers", "--in-place", "--trailer", f"Task: {task_id}", msgfile)
    return (f"Task: {task_id} ({where}) added to the commit message, so that pre-push and ci "
            "judge the commit by the same task")


def commit_msg(args: list[str], environ: Mapping[str, str]) -> GateReport:
    msgfile = args[0] if args else environ.get("PRE_COMMIT_COMMIT_MSG_FILENAME")
    if not msgfile:
        raise BadInputError("hook commit-msg: expected the message file (MSGFILE)")
    from avorelo_gate.gate.assemble import CheckRequest, check_request, message_declaration
    from avorelo_gate.points.readahead import expected_objects
    from avorelo_gate.points.staged_cache import with_cache

    found = open_repo(environ=environ)
    marked = take_amend_marker(found)
    amend = commit_amends()
    req = CheckRequest(message_file=msgfile, amend=marked if amend is None else amend)
    stamped = stamp_task(found, msgfile, environ)
    # The task and policy files the check reads, asked of git in one process, not three
    # (an amend's base is not HEAD: no guess). stamp_task has written the active task's id
    # into the message; the message parsed once serves the guess and the check.
    declared = message_declaration(found, msgfile)
    reads = () if req.amend else expected_objects(found, environ, declared.task_id)
    repo = with_cache(found, reads)
    with memo.using(repo.state_dir()):
        checked = check_request(repo, req, environ, declared)
    if stamped:
        from avorelo_gate.dataclass_lite import replace

        checked = replace(checked, result=replace(
            checked.result, notes=(*checked.result.notes, stamped)))
    if checked.result.exit_code == 0:
        from avorelo_gate.receipts.recording import leave_pending
        leave_pending(repo, req, checked, environ)
    return GateReport(overall=checked.result)
