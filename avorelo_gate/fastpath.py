"""Click-free parsing for the commands that run most often: ``check``, ``ci``, ``route`` and
``receipt verify``.

Importing click costs each run 20-70 ms, as much as everything else ``route`` does. This
parser takes only argv it understands completely: the command's own long options, each given
once, as ``--opt value`` or ``--opt=value``, with values click would accept unchanged. For
anything else (help, a short option, an unknown or repeated option, a stray argument, a value
click would refuse or that looks like an option) it returns None and click parses the argv
as it always has, with its own messages. Both parsers hand the same values to the same
functions in ``commands.py``; ``tests/test_fast_path.py`` checks that the values are the ones
click produces. ``AVORELO_NO_FAST_PATH=1`` sends everything to click.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMAT_CHOICES = ("text", "json", "sarif", "junit", "github")  # output.FORMATS
TEXT_JSON = ("text", "json")


@dataclass(frozen=True)
class Opt:
    dest: str
    kind: str                       # value | path | choice | flag | multiple
    const: Any = None               # what a flag sets
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    options: Mapping[str, Opt]
    defaults: Mapping[str, Any]
    positional: str | None = None   # the one optional argument's dest
    required: tuple[str, ...] = ()


SPECS: dict[tuple[str, ...], Spec] = {
    ("check",): Spec(
        options={
            "--staged": Opt("mode", "flag", "staged"),
            "--worktree": Opt("mode", "flag", "worktree"),
            "--range": Opt("spec", "value"),
            "--commit": Opt("rev", "value"),
            "--task": Opt("task_id", "value"),
            "--task-file": Opt("task_file", "path"),
            "--message-file": Opt("message_file", "path"),
            "--allow-policy-change": Opt("allow_policy_change", "flag", True),
            "--format": Opt("fmt", "choice", choices=FORMAT_CHOICES),
            "--output": Opt("output", "path"),
        },
        defaults={"mode": "staged", "spec": None, "rev": None, "task_id": None,
                  "task_file": None, "message_file": None, "allow_policy_change": False,
                  "fmt": None, "output": None}),
    ("ci",): Spec(
        options={
            "--base": Opt("base", "value"),
            "--head": Opt("head", "value"),
            "--allow-policy-change": Opt("allow_policy_change", "flag", True),
            "--format": Opt("fmt", "choice", choices=FORMAT_CHOICES),
            "--output": Opt("output", "path"),
        },
        defaults={"base": None, "head": "HEAD", "allow_policy_change": False, "fmt": None,
                  "output": None},
        required=("base",)),
    ("route",): Spec(
        options={
            "--task": Opt("task_id", "value"),
            "--scope": Opt("scopes", "multiple"),
            "--format": Opt("fmt", "choice", choices=TEXT_JSON),
        },
        defaults={"task_id": None, "scopes": (), "fmt": "text"}),
    ("receipt", "verify"): Spec(
        options={"--format": Opt("fmt", "choice", choices=TEXT_JSON)},
        defaults={"spec": None, "fmt": "text"},
        positional="spec"),
}


def parse(args: Sequence[str]) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """(command, the values click would pass its callback), or None: let click parse."""
    for name, spec in SPECS.items():
        if tuple(args[:len(name)]) == name:
            values = _parse_options(list(args[len(name):]), spec)
            return (name, values) if values is not None else None
    return None


def _parse_options(rest: list[str], spec: Spec) -> dict[str, Any] | None:
    values = dict(spec.defaults)
    seen: set[str] = set()
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if not arg.startswith("--") or arg == "--":
            if spec.positional is None or spec.positional in seen or arg.startswith("-"):
                return None
            seen.add(spec.positional)
            values[spec.positional] = arg
            continue
        name, eq, inline = arg.partition("=")
        opt = spec.options.get(name)
        if opt is None or (opt.dest in seen and opt.kind != "multiple"):
            return None
        seen.add(opt.dest)
        if opt.kind == "flag":
            if eq:
                return None
            values[opt.dest] = opt.const
            continue
        if eq:
            value = inline
        elif i < len(rest):
            value = rest[i]
            i += 1
        else:
            return None
        if value.startswith("-") or not _accepted(opt, value):
            return None
        if opt.kind == "multiple":
            values[opt.dest] = (*values[opt.dest], value)
        else:
            values[opt.dest] = value
    if any(values[r] is None for r in spec.required):
        return None
    return values


def _accepted(opt: Opt, value: str) -> bool:
    if opt.kind == "choice":
        return value in opt.choices
    if opt.kind == "path":
        # click.Path(dir_okay=False) refuses an existing directory or unreadable file.
        try:
            st = os.stat(value)
        except OSError:
            return True
        except ValueError:
            return False  # a NUL in the path: whatever click does with it, it does it
        import stat

        return not stat.S_ISDIR(st.st_mode) and os.access(value, os.R_OK)
    return True


def run_fast(args: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """The command's exit code, or None when click must parse ``args``."""
    if environ.get("AVORELO_NO_FAST_PATH") == "1":
        return None
    parsed = parse(args)
    if parsed is None:
        return None
    from avorelo_gate import commands

    name, values = parsed
    if name == ("check",):
        return commands.check(environ, **values)
    if name == ("ci",):
        return commands.ci(environ, **values)
    if name == ("route",):
        return commands.route(environ, **values)
    return commands.receipt_verify(environ, **values)
