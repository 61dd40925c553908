"""The bodies of the commands that run most often: ``check``, ``ci``, ``route`` and
``receipt verify``, as plain functions of their parsed options.

click (``cli.py``) parses the argv and hands plain values here, as towncrier's ``check.py``
does: the bodies stay plain functions of their options.
"""
from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Mapping, Sequence

from avorelo_gate.errors import BadInputError

# click.echo drops ANSI escape sequences when stdout is not a terminal (click._compat
# strip_ansi / should_strip_ansi); route prints what receipts say through it, and so do we.
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def echo(text: str) -> None:
    """``click.echo(text, nl=False)`` without importing click."""
    if not sys.stdout.isatty():
        text = _ANSI.sub("", text)
    sys.stdout.write(text)
    sys.stdout.flush()


def check(environ: Mapping[str, str], *, mode: str, spec: str | None, rev: str | None,
          task_id: str | None, task_file: str | None, message_file: str | None,
          allow_policy_change: bool, fmt: str | None, output: str | None) -> int:
    from avorelo_gate.files import memo
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.points.readahead import staged_read_ahead

    if spec and rev:
        raise BadInputError("use one of --range and --commit, not both")
    chosen = "range" if spec else "commit" if rev else mode
    repo = open_repo(environ=environ)
    # git computes the staged diff while the engine is imported (points/readahead.py). A
    # local command, like the hooks: parsed task and policy files come from the clone's memo.
    with memo.using(repo.state_dir()), \
            (staged_read_ahead(repo, environ, task_id) if chosen == "staged"
             else contextlib.nullcontext(repo)) as rr:
        from avorelo_gate.gate.assemble import CheckRequest, run_check
        from avorelo_gate.report.output import emit

        req = CheckRequest(mode=chosen, rev=rev, spec=spec, task_id=task_id,
                           task_file=task_file, message_file=message_file,
                           allow_policy_change=allow_policy_change)
        return emit(run_check(rr, req, environ), fmt, output, environ)


def ci(environ: Mapping[str, str], *, base: str, head: str, allow_policy_change: bool,
       fmt: str | None, output: str | None) -> int:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.points.ci import CiRequest, run_ci
    from avorelo_gate.report.output import emit

    req = CiRequest(base=base, head=head, allow_policy_change=allow_policy_change)
    return emit(run_ci(open_repo(environ=environ), req, environ), fmt, output, environ)


def route(environ: Mapping[str, str], *, task_id: str | None, scopes: Sequence[str],
          fmt: str, agent: str = "generic") -> int:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.router.route import render_route
    from avorelo_gate.router.route import route as run_route

    found = run_route(open_repo(environ=environ), task_id, tuple(scopes), environ)
    if fmt == "env":
        from avorelo_gate.router.env import render_env

        echo(render_env(found, agent))
    else:
        echo(render_route(found, fmt))
    return 0


def receipt_verify(environ: Mapping[str, str], *, spec: str | None, fmt: str) -> int:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.receipts.commands import verify

    return verify(open_repo(environ=environ), spec, fmt, environ).emit()


def task(environ: Mapping[str, str], *, action: str, task_id: str | None, fmt: str) -> int:
    """``task start ID`` / ``task show`` / ``task stop``."""
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.router.task_path import render_task_path, show_task, start_task, stop_task

    repo = open_repo(environ=environ)
    if action == "stop":
        echo(stop_task(repo))
        return 0
    path = start_task(repo, task_id or "", environ) if action == "start" else \
        show_task(repo, task_id, environ)
    echo(render_task_path(path, fmt))
    return 0


def check_paths(environ: Mapping[str, str], *, task_id: str | None,
                paths: Sequence[str]) -> int:
    import json

    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.router.check_paths import check_paths as run_check_paths

    found = run_check_paths(open_repo(environ=environ), task_id, paths, environ)
    echo(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    return 0 if found["allowed"] else 1
