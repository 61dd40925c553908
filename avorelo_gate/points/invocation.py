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

# git-commit(1)'s options, read as git's parse-options reads them (builtin/commit.c): a
# required value is the next argument unless attached (``-mMSG``, ``--message=MSG``); an
# optional value (``-u[MODE]``, ``-S[KEY]``, ``--untracked-files[=MODE]``) is only ever
# attached, so ``git commit -u --amend`` amends. Long options may be abbreviated to any
# unambiguous prefix.
_SHORT_REQUIRED = frozenset("mFcCt")
_SHORT_OPTIONAL = frozenset("uS")
_LONG_REQUIRED = frozenset({
    "--message", "--file", "--reedit-message", "--reuse-message", "--fixup", "--squash",
    "--author", "--date", "--cleanup", "--template", "--pathspec-from-file", "--trailer"})
_LONG_FLAGS = frozenset({
    "--all", "--patch", "--reset-author", "--short", "--branch", "--porcelain", "--long",
    "--null", "--signoff", "--no-signoff", "--no-verify", "--verify", "--allow-empty",
    "--allow-empty-message", "--edit", "--no-edit", "--amend", "--no-amend",
    "--no-post-rewrite", "--include", "--only", "--pathspec-file-nul", "--untracked-files",
    "--verbose", "--quiet", "--dry-run", "--status", "--no-status", "--gpg-sign",
    "--no-gpg-sign", "--interactive", "--ahead-behind", "--no-ahead-behind",
    "--post-rewrite", "--no-all", "--no-include", "--no-only", "--no-patch",
    "--no-interactive", "--no-quiet", "--no-verbose"})
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


def _long_option(arg: str) -> str | None:
    """The long option ``arg`` names (itself, or the one it is a unique prefix of)."""
    name = arg.split("=", 1)[0]
    if name in _LONG_REQUIRED or name in _LONG_FLAGS:
        return name
    found = [o for o in (*_LONG_REQUIRED, *_LONG_FLAGS) if o.startswith(name)]
    return found[0] if len(found) == 1 else None


def _amends(args: list[str]) -> bool:
    amend = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if arg.startswith("--"):
            option = _long_option(arg)
            if option in _LONG_REQUIRED and "=" not in arg:
                i += 1   # its value is the next argument, "--amend" included
            elif option == "--amend":
                amend = True
            elif option == "--no-amend":
                amend = False
        elif arg.startswith("-") and len(arg) > 1:
            # A cluster: "-am" is -a -m; an option with a value ends it, the rest of the
            # cluster being that value ("-mx", "-uno"), or the next argument when nothing
            # of the cluster is left and the value is required.
            for j, ch in enumerate(arg[1:], 1):
                if ch in _SHORT_REQUIRED:
                    if j == len(arg) - 1:
                        i += 1
                    break
                if ch in _SHORT_OPTIONAL:
                    break
    return amend
