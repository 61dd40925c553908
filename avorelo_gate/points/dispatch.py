"""``avorelo-gate hook NAME ...``: which module answers which git hook.

``main`` hands ``hook`` argv here before click is imported: a hook runs on every commit and
click's import is a measurable share of its cost.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from avorelo_gate.errors import BadInputError

if TYPE_CHECKING:
    from avorelo_gate.result import GateReport

HOOK_USAGE = ("usage: avorelo-gate hook pre-commit | prepare-commit-msg MSGFILE [SOURCE [SHA]] "
              "| commit-msg MSGFILE | post-commit | post-rewrite KIND | pre-push REMOTE URL")


# Each hook imports only its own module: pre-commit runs on every commit and needs none of the
# receipt or push machinery (json, hmac, sqlite) that the other hooks bring.
HOOK_HANDLERS = {
    "pre-commit": ("avorelo_gate.points.commit_hooks", "pre_commit"),
    "prepare-commit-msg": ("avorelo_gate.points.commit_hooks", "prepare_commit_msg"),
    "commit-msg": ("avorelo_gate.points.commit_hooks", "commit_msg"),
    "post-commit": ("avorelo_gate.receipts.recording", "post_commit"),
    "post-rewrite": ("avorelo_gate.receipts.recording", "post_rewrite"),
    "pre-push": ("avorelo_gate.points.prepush", "pre_push"),
}


def run_hook(args: Sequence[str], environ: Mapping[str, str]) -> int:
    if not args:
        raise BadInputError(HOOK_USAGE)
    if args[0] in ("-h", "--help"):  # click never sees hook's argv (see the module docstring)
        sys.stdout.write(HOOK_USAGE + "\n")
        return 0
    name, rest = args[0], list(args[1:])
    if name not in HOOK_HANDLERS:
        raise BadInputError(f"unknown hook {name!r}; {HOOK_USAGE}")
    module, function = HOOK_HANDLERS[name]
    handler: Callable[[list[str], Mapping[str, str]], GateReport | int] = getattr(
        importlib.import_module(module), function)
    outcome = handler(rest, environ)
    if isinstance(outcome, int):
        return outcome
    from avorelo_gate.report.output import emit
    return emit(outcome, None, None, environ)
