"""Whether the ``git commit`` running our hook amends HEAD, read from its argv.

Git tells commit hooks nothing about ``--amend``: the environment and the hook arguments are
the same as for a plain commit, and prepare-commit-msg's ``commit HEAD`` appears only without
``-m``/``-F`` (and also for ``-c HEAD``/``-C HEAD``, which are not amends). The one signal is
the argv of the nearest ``git`` process above us (overcommit reads it the same way). Linux
exposes it in /proc; elsewhere, or when the ancestor is not a plain ``git commit`` (an alias,
``git -C dir commit`` with unknown global options, a rebase), the answer is None: unknown, and
the caller falls back to what prepare-commit-msg saw.
"""
from __future__ import annotations

import os

MAX_DEPTH = 12

# git-commit(1) options that take the next argument as their value (when not given "=value").
_VALUE_OPTIONS = {
    "-m", "--message", "-F", "--file", "-c", "--reedit-message", "-C", "--reuse-message",
    "--fixup", "--squash", "--author", "--date", "--cleanup", "-t", "--template",
    "--pathspec-from-file", "--trailer", "-u", "--untracked-files",
}
# git(1) options before the subcommand that take the next argument as their value.
_GLOBAL_VALUE_OPTIONS = {"-c", "-C", "--git-dir", "--work-tree", "--namespace",
                         "--config-env", "--exec-path", "--super-prefix"}


def commit_amends(pid: int | None = None) -> bool | None:
    """True/False when the nearest ``git`` ancestor is a ``git commit`` we can read; None
    when we cannot tell."""
    argv = nearest_git_argv(os.getppid() if pid is None else pid)
    if argv is None:
        return None
    rest = _subcommand_args(argv[1:])
    if rest is None or not rest or rest[0] != "commit":
        return None
    return _amends(rest[1:])


def nearest_git_argv(pid: int) -> list[str] | None:
    for _ in range(MAX_DEPTH):
        if pid <= 1:
            return None
        argv = _read_argv(pid)
        if argv is None:
            return None
        if argv and os.path.basename(argv[0]) in ("git", "git.exe"):
            return argv
        parent = _parent_of(pid)
        if parent is None:
            return None
        pid = parent
    return None


def _read_argv(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0")[:-1]]


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the
    # last ')'.
    fields = stat[stat.rfind(b")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None


def _subcommand_args(args: list[str]) -> list[str] | None:
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _GLOBAL_VALUE_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            if arg == "--":
                return None
            i += 1
        else:
            return args[i:]
    return None


def _amends(args: list[str]) -> bool:
    amend = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        if arg in _VALUE_OPTIONS:
            i += 2   # its value may be anything, "--amend" included
            continue
        if len(arg) >= 4 and "--amend".startswith(arg):       # git accepts unique prefixes
            amend = True
        elif len(arg) >= 7 and "--no-amend".startswith(arg):
            amend = False
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            # bundled short options: "-am" is -a -m; a value-taking one ends the bundle
            for j, ch in enumerate(arg[1:], 1):
                if f"-{ch}" in _VALUE_OPTIONS:
                    if j == len(arg) - 1:
                        i += 1   # its value is the next argument
                    break
        i += 1
    return amend
