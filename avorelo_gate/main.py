"""The entry point: the one place that turns errors into one line and an exit code.

``hook`` and ``agent-hook`` subcommands, and the bare ``check``, skip click entirely (see
``_hook_main``, ``_click_main``): a hook runs on every commit and click's import is a
measurable share of its cost. Everything else goes to ``cli``.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

from avorelo_gate.errors import ExitCode, GateError


def _err(message: str) -> None:
    sys.stderr.write(f"avorelo-gate: {message}\n")


def _one_line(error: BaseException) -> str:
    """An error's message on one line, with any escape sequence it quotes (a path, a ref, a
    trailer) shown escaped rather than sent to the terminal (issue 7)."""
    from avorelo_gate.git.paths import display_path  # only on the error path: hooks start lean

    return display_path(" ".join(str(error).split()))


def _guard(fn: Callable[[], int], debug: bool) -> int:
    """Expected failures become one line and their exit code; bugs become exit 3."""
    try:
        return fn()
    except GateError as e:
        _err(f"error: {_one_line(e)}")
        return int(e.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return int(ExitCode.ENVIRONMENT)
    except Exception as e:
        if debug:
            import traceback

            traceback.print_exc()
        _err(f"internal error: {type(e).__name__}: {_one_line(e)[:300]} "
             "(run with --debug for the trace, and please report it)")
        return int(ExitCode.ENVIRONMENT)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    # Only our own options: after "--" the words belong to `prove`'s command.
    cut = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:cut] or env.get("AVORELO_DEBUG") == "1"
    args = [a for a in args[:cut] if a != "--debug"] + args[cut:]
    if args[:1] == ["hook"]:
        return _guard(lambda: _hook_main(args[1:], env), debug)
    if args[:1] == ["agent-hook"]:  # every agent tool call: no click either
        return _guard(lambda: _agent_hook_main(args[1:], env), debug)
    return _guard(lambda: _click_main(args, env), debug)


def _hook_main(args: list[str], environ: Mapping[str, str]) -> int:
    from avorelo_gate.points.dispatch import run_hook

    return run_hook(args, environ)


def _agent_hook_main(args: list[str], environ: Mapping[str, str]) -> int:
    from avorelo_gate.agents.hook import run_agent_hook

    return run_agent_hook(args, environ)


def _click_main(args: list[str], environ: Mapping[str, str]) -> int:
    early = args[:1] == ["check"]
    if early:  # git diffs the index while click and the engine are imported
        from avorelo_gate.points.readahead import cancel_early, start_early

        start_early(args[1:], environ)
    if args[:1] == ["ci"]:  # git finds the range while click and the engine are imported
        from avorelo_gate.points import ci_ahead

        ci_ahead.start(args[1:], environ)
    try:
        if args == ["check"]:
            # The bare command, what people and agents type most: click would only fill in
            # the defaults cli.check declares, and its import is a fifth of the command's
            # cost. Anything else, --help included, goes through click.
            from avorelo_gate import commands

            return commands.check(environ, mode="staged", spec=None, rev=None, task_id=None,
                                  task_file=None, message_file=None,
                                  allow_policy_change=False, fmt=None, output=None)
        from avorelo_gate.cli import run_cli

        return run_cli(args, environ)
    finally:
        if early:
            cancel_early()
        if args[:1] == ["ci"]:
            ci_ahead.finish()
