"""Shell commands that would get round the gate, found by parsing (``shlex``), not by regex.

A command line is split into simple commands on ``;``, ``&&``, ``||``, ``|``, ``&``, newlines,
parentheses and backticks; ``VAR=value`` prefixes and wrappers (``env``, ``sudo``, ``xargs``…)
are looked through by finding ``git`` wherever it stands in a command's words; ``bash -c``,
``sh -c``, ``eval`` and ``$(...)`` are parsed once more (to a bounded depth). What is denied:

- ``--no-verify`` (or an abbreviation git accepts) anywhere in a git command; ``-n`` in
  ``git commit``'s short options (it is ``--no-verify`` there; on push it is ``--dry-run``);
- ``core.hooksPath`` overridden: ``git -c``, ``--config-env``, ``git config`` writing it,
  ``GIT_CONFIG_PARAMETERS`` / ``GIT_CONFIG_KEY_n`` naming it;
- writes to ``refs/notes/avorelo``: ``git notes --ref avorelo`` (anything but reading),
  ``git update-ref``, a push that deletes or forces it, any other command naming the ref;
- ``AVORELO_ALLOW_POLICY_CHANGE`` set or exported, ``--allow-policy-change``,
  ``SKIP=`` naming the gate's pre-commit hooks.

A command that cannot be parsed (unbalanced quotes) is denied: what we cannot read, we cannot
vouch for. Work is linear in the command's length (shlex is; nesting is bounded).
"""
from __future__ import annotations

import posixpath
import shlex

MAX_DEPTH = 3
SEPARATORS = frozenset(";&|()`\n")
REDIRECTS = frozenset("<>")
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "busybox"})
NOTES_REF = "refs/notes/avorelo"
POLICY_ENV = "AVORELO_ALLOW_POLICY_CHANGE"
# git's global options that take the next word as their value (git.c handle_options).
GIT_OPTS_WITH_VALUE = frozenset({"-c", "-C", "--git-dir", "--work-tree", "--namespace",
                                 "--config-env", "--super-prefix", "--attr-source",
                                 "--exec-path"})
# git commit's short options whose value follows (in the same word or the next).
COMMIT_VALUE_SHORTS = frozenset("mFcCt")
COMMIT_ATTACHED_SHORTS = frozenset("Su")   # optional value, attached only
READ_ONLY_NOTES = frozenset({"list", "show", "get-ref"})


def bypass_reason(command: str, depth: int = 0) -> str | None:
    """Why ``command`` would get round the gate, or None when it would not."""
    if depth > MAX_DEPTH:
        return "the command nests shells too deeply to check; run the inner command directly"
    try:
        commands = split_commands(command)
    except ValueError as e:
        return f"the command cannot be parsed ({e}); check its quoting"
    for words in commands:
        why = _judge(words, depth)
        if why:
            return why
    return None


def split_commands(command: str) -> list[list[str]]:
    """Simple commands' words; operators and redirections' targets dropped."""
    lex = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>`\n")
    lex.whitespace = " \t\r"          # a newline ends a command: it is an operator here
    lex.whitespace_split = True
    lex.commenters = ""               # '#' inside a word is not a comment: read everything
    commands: list[list[str]] = [[]]
    skip_next = False
    for token in lex:
        if token and all(c in SEPARATORS or c in REDIRECTS for c in token):
            if any(c in SEPARATORS for c in token):
                commands.append([])
            skip_next = any(c in REDIRECTS for c in token) and not token.endswith("&")
            continue
        if skip_next:
            skip_next = False
            continue
        commands[-1].append(token)
    return [c for c in commands if c]


def _judge(words: list[str], depth: int) -> str | None:
    for i, word in enumerate(words):
        why = _word_reason(word, words[:i])
        if why:
            return why
        # $(...) and `...` are run by the shell even inside double quotes: read them too.
        if "$(" in word or "`" in word:
            inner = word.split("$(", 1)[1] if "$(" in word else word.split("`", 1)[1]
            why = bypass_reason(inner.rstrip(")`"), depth + 1)
            if why:
                return why
        name = posixpath.basename(word)
        if name == "eval":
            why = bypass_reason(" ".join(words[i + 1:]), depth + 1)
            if why:
                return why
        if name in SHELLS:
            script = _shell_script(words[i + 1:])
            if script is not None:
                why = bypass_reason(script, depth + 1)
                if why:
                    return why
        if name in ("git", "git.exe"):
            why = _git_reason(words[i + 1:], depth)
            if why:
                return why
    return None


def _word_reason(word: str, before: list[str]) -> str | None:
    if word == POLICY_ENV or word.startswith(POLICY_ENV + "="):
        return (f"{POLICY_ENV} lets a change edit the policy; only a maintainer sets it, "
                "never an agent")
    if word == "--allow-policy-change":
        return "--allow-policy-change is a maintainer's decision, never an agent's"
    key, eq, value = word.partition("=")
    if eq and key == "SKIP" and "avorelo" in value.lower():
        return "SKIP= would skip the gate's pre-commit hook"
    if eq and (key == "GIT_CONFIG_PARAMETERS" or key.startswith("GIT_CONFIG_KEY_")) \
            and "hookspath" in value.lower():
        return "overriding core.hooksPath would turn the gate's hooks off"
    if eq and key == "GIT_NOTES_REF" and "avorelo" in value:
        return f"GIT_NOTES_REF pointing at {NOTES_REF} would let git notes rewrite receipts"
    if NOTES_REF in word and not any(posixpath.basename(w) == "git" for w in before):
        return f"{NOTES_REF} holds the gate's receipts; only the gate writes it"
    return None


def _shell_script(args: list[str]) -> str | None:
    """The script of ``sh -c SCRIPT`` (``-c`` may sit in a cluster: ``-lc``, ``-ec``)."""
    for i, arg in enumerate(args):
        if not arg.startswith("-") or arg == "--":
            return None
        if not arg.startswith("--") and "c" in arg[1:]:
            return args[i + 1] if i + 1 < len(args) else None
    return None


def _git_reason(args: list[str], depth: int = 0) -> str | None:
    if depth > MAX_DEPTH:
        return "the command nests aliases too deeply to check; run the inner command directly"
    for a in args:
        if _is_no_verify(a):
            return "--no-verify skips the gate's hooks"
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "--config-env"):
            why = _config_reason(args[i + 1] if i + 1 < len(args) else "", depth)
            if why:
                return why
            i += 2
            continue
        if a.startswith("--config-env="):
            why = _config_reason(a.split("=", 1)[1], depth)
            if why:
                return why
        elif a.split("=", 1)[0] in GIT_OPTS_WITH_VALUE:
            i += 1 if "=" in a or a == "--exec-path" else 2
            continue
        elif not a.startswith("-"):
            return _subcommand_reason(a, args[i + 1:], depth)
        i += 1
    return None


def _config_reason(setting: str, depth: int) -> str | None:
    """``key=value`` as ``git -c`` (or ``git config key value``) would set it."""
    key, _, value = setting.partition("=")
    key = key.strip().lower()
    if key == "core.hookspath":
        return "overriding core.hooksPath would turn the gate's hooks off"
    if key == "include.path" or (key.startswith("includeif.") and key.endswith(".path")):
        return "including another config file could turn the gate's hooks off"
    if key == "core.notesref" and "avorelo" in value:
        return f"core.notesRef pointing at {NOTES_REF} would let git notes rewrite receipts"
    if key.startswith("alias.") and value:
        # An alias runs as git arguments, or with '!' as a shell command: judge what it runs.
        if value.startswith("!"):
            return bypass_reason(value[1:], depth + 1)
        try:
            return _git_reason(shlex.split(value), depth + 1)
        except ValueError as e:
            return f"the alias cannot be parsed ({e}); check its quoting"
    return None


def _is_no_verify(word: str) -> bool:
    # git's parse-options accepts any unambiguous prefix of a long option.
    option = word.split("=", 1)[0]
    return len(option) >= len("--no-v") and "--no-verify".startswith(option)


def _subcommand_reason(sub: str, args: list[str], depth: int) -> str | None:
    if sub == "commit" and _commit_has_short_n(args):
        return "git commit -n is --no-verify: it skips the gate's hooks"
    if sub == "config":
        return _git_config_reason(args, depth)
    if sub == "notes" and _notes_writes_receipts(args):
        return f"git notes on {NOTES_REF} would rewrite the gate's receipts"
    if sub == "update-ref" and (any(NOTES_REF in a for a in args) or "--stdin" in args):
        return f"git update-ref could rewrite {NOTES_REF}, the gate's receipts"
    if sub == "push" and _push_rewrites_notes(args):
        return f"this push would delete or overwrite {NOTES_REF} on the remote"
    return None


def _git_config_reason(args: list[str], depth: int) -> str | None:
    if any(a in ("--get", "--get-all", "--get-regexp", "get", "--list", "-l") for a in args):
        return None
    words = [a for a in args if not a.startswith("-") and a not in ("set", "unset")]
    for i, word in enumerate(words):
        value = words[i + 1] if i + 1 < len(words) else ""
        why = _config_reason(f"{word}={value}" if "=" not in word else word, depth)
        if why:
            return why
    return None


def _commit_has_short_n(args: list[str]) -> bool:
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return False
        if a.startswith("-") and not a.startswith("--") and len(a) > 1:
            for j, c in enumerate(a[1:], start=1):
                if c == "n":
                    return True
                if c in COMMIT_ATTACHED_SHORTS:
                    break
                if c in COMMIT_VALUE_SHORTS:
                    if j == len(a) - 1:
                        i += 1    # the value is the next word
                    break
        elif a in ("--message", "--file", "--reuse-message", "--reedit-message",
                   "--template", "--author", "--date", "--fixup", "--squash", "--trailer",
                   "--cleanup", "--pathspec-from-file"):
            i += 1
        i += 1
    return False


def _notes_writes_receipts(args: list[str]) -> bool:
    ref = None
    sub = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--ref" and i + 1 < len(args):
            ref, i = args[i + 1], i + 2
            continue
        if a.startswith("--ref="):
            ref = a.split("=", 1)[1]
        elif not a.startswith("-") and sub is None:
            sub = a
        i += 1
    if ref is None or ref not in ("avorelo", "notes/avorelo", NOTES_REF):
        return False
    return sub not in READ_ONLY_NOTES


def _push_rewrites_notes(args: list[str]) -> bool:
    named = [a for a in args if "notes/avorelo" in a]
    if not named:
        return False
    forcing = any(a in ("-f", "--force", "-d", "--delete", "--mirror", "--prune")
                  or a.startswith(("--force-with-lease", "--force-if-includes"))
                  for a in args)
    return forcing or any(a.startswith(("+", ":")) for a in named)
