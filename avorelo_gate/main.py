"""The entry point: the one place that turns errors into one line and an exit code.

``hook`` subcommands skip click entirely (see ``_hook_main``): a hook runs on every commit
and click's import is a measurable share of its cost. Everything else goes to ``cli``.
"""
from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from avorelo_gate.errors import BadInputError, ExitCode, GateError

if TYPE_CHECKING:
    from avorelo_gate.result import GateReport


def _err(message: str) -> None:
    sys.stderr.write(f"avorelo-gate: {message}\n")


def _guard(fn: Callable[[], int], debug: bool) -> int:
    """Expected failures become one line and their exit code; bugs become exit 3."""
    try:
        return fn()
    except GateError as e:
        _err(f"error: {' '.join(str(e).split())}")
        return int(e.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return int(ExitCode.ENVIRONMENT)
    except Exception as e:
        if debug:
            traceback.print_exc()
        _err(f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:300]} "
             "(run with --debug for the trace, and please report it)")
        return int(ExitCode.ENVIRONMENT)


# -- hooks: no click on the hot path --------------------------------------------------------
HOOK_USAGE = ("usage: avorelo-gate hook pre-commit | prepare-commit-msg MSGFILE [SOURCE [SHA]] "
              "| commit-msg MSGFILE | post-commit | post-rewrite KIND | pre-push REMOTE URL")


def _pre_push(args: list[str], environ: Mapping[str, str]) -> GateReport | int:
    # Imported only when pushing: the commit hooks need none of the push machinery.
    from avorelo_gate.prepush import pre_push

    return pre_push(args, environ)


def _hook_main(args: Sequence[str], environ: Mapping[str, str]) -> int:
    from avorelo_gate import commit_hooks, recording

    if not args:
        raise BadInputError(HOOK_USAGE)
    if args[0] in ("-h", "--help"):  # click never sees hook's argv (see the module docstring)
        sys.stdout.write(HOOK_USAGE + "\n")
        return 0
    name, rest = args[0], list(args[1:])
    handlers: dict[str, Callable[[list[str], Mapping[str, str]], GateReport | int]] = {
        "pre-commit": commit_hooks.pre_commit,
        "prepare-commit-msg": commit_hooks.prepare_commit_msg,
        "commit-msg": commit_hooks.commit_msg,
        "post-commit": recording.post_commit,
        "post-rewrite": recording.post_rewrite,
        "pre-push": _pre_push,
    }
    handler = handlers.get(name)
    if handler is None:
        raise BadInputError(f"unknown hook {name!r}; {HOOK_USAGE}")
    outcome = handler(rest, environ)
    if isinstance(outcome, int):
        return outcome
    from avorelo_gate.output import emit
    return emit(outcome, None, None, environ)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    # Only our own options: after "--" the words belong to `prove`'s command.
    cut = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:cut] or env.get("AVORELO_DEBUG") == "1"
    args = [a for a in args[:cut] if a != "--debug"] + args[cut:]
    if args[:1] == ["hook"]:
        return _guard(lambda: _hook_main(args[1:], env), debug)
    return _guard(lambda: _click_main(args, env), debug)


def _click_main(args: list[str], environ: Mapping[str, str]) -> int:
    from avorelo_gate.cli import run_cli

    return run_cli(args, environ)
