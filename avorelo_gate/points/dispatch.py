"""``avorelo-gate hook NAME ...``: which module answers which git hook.

``main`` hands ``hook`` argv here before click is imported: a hook runs on every commit and
click's import is a measurable share of its cost.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence

from avorelo_gate.errors import BadInputError

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from avorelo_gate.result import GateReport

HOOK_USAGE = ("usage: avorelo-gate hook pre-commit | prepare-commit-msg MSGFILE [SOURCE [SHA]] "
              "| commit-msg MSGFILE | post-commit | post-rewrite KIND | pre-push REMOTE URL")


HOOK_HELP = {
    "pre-commit": "avorelo-gate hook pre-commit: the staged change against the task and policy "
                  "(what the message cannot change; no-task waits for commit-msg)",
    "prepare-commit-msg": "avorelo-gate hook prepare-commit-msg MSGFILE [SOURCE [SHA]]: notes "
                          "an amend for commit-msg",
    "commit-msg": "avorelo-gate hook commit-msg MSGFILE: the full check with the message's "
                  "trailers; leaves the receipt for post-commit",
    "post-commit": "avorelo-gate hook post-commit: attaches the new commit's receipt under "
                   "refs/notes/avorelo",
    "post-rewrite": "avorelo-gate hook post-rewrite KIND: re-records receipts after amend and "
                    "rebase (old/new pairs on stdin)",
    "pre-push": "avorelo-gate hook pre-push REMOTE URL: every commit the push adds (refs on "
                "stdin as git gives them)",
}


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
    if rest[:1] in (["-h"], ["--help"]):  # help, never a run of the hook (git passes neither)
        sys.stdout.write(f"{HOOK_HELP[name]}\n{HOOK_USAGE}\n")
        return 0
    module, function = HOOK_HANDLERS[name]
    handler: Callable[[list[str], Mapping[str, str]], GateReport | int] = getattr(
        importlib.import_module(module), function)
    outcome = handler(rest, environ)
    if isinstance(outcome, int):
        return outcome
    from avorelo_gate.report.output import emit
    return emit(outcome, None, None, environ)
