"""Commit-message trailers, parsed by git itself, and what our trailers declare.

Git decides what a trailer is (git-interpret-trailers(1): the last paragraph, the 25% rule with
``Signed-off-by``/``(cherry picked from commit``, comment lines, the ``git commit -v`` scissors
line, continuation lines). Re-implementing that would drift, so we ask git and only take away
what the user's config could change:

- ``trailer.separators`` (``=`` would make ``Task=X`` a trailer) is pinned to ``:``;
- ``trailer.<token>.key`` rewrites keys (``trailer.tsk.key=Task`` turns ``tsk: x`` and even
  ``t: x`` into ``Task: x``) and any ``trailer.<token>.*`` makes ``<token>:`` count as a
  recognised prefix for the 25% rule (trailer.c: ``token_from_item``, ``find_trailer_start``).
  A ``-c`` cannot unset those, so a single message is parsed by a git that reads no config at
  all, and the bulk path falls back to that when such config is present.

Both paths use commit-message semantics (``--no-divider``): a line starting with ``---`` is text,
not the start of a patch. That is what ``git log``'s ``%(trailers)`` and ``git commit --trailer``
do; plain ``interpret-trailers --parse`` would stop at ``---`` as it does for an email.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, GitError
from avorelo_gate.git.paths import zsplit
from avorelo_gate.git.process import Git, no_git_env
from avorelo_gate.git.repo import Repo


@dataclass(frozen=True)
class Trailer:
    """One trailer of a commit message, as git parses it."""

    key: str  # as written (git trims the whitespace around it)
    value: str  # continuation lines unfolded into one line, trimmed


@dataclass(frozen=True)
class TrailerDeclaration:
    """What a commit message's trailers declare: task, scope, model, tools."""

    task_id: str | None
    scope: tuple[str, ...]
    model: str | None
    model_source: str | None  # "trailer:Model" or "trailer:Assisted-by"
    weight: str | None
    tools_used: tuple[str, ...]
    approved_by: tuple[str, ...]
    present: bool  # any of our keys was present


WEIGHTS = ("light", "standard", "heavy")

# Our keys, lowercased -> how we name them in messages. Keys are case-insensitive.
KEYS = {k.lower(): k for k in ("Task", "Task-Scope", "Model", "Model-Weight", "Tools-Used",
                               "Approved-by", "Assisted-by")}

# The separator we pin, as config. git-config(1) "trailer.separators".
_SEPARATORS = ("-c", "trailer.separators=:")

# git log: one NUL-terminated record per commit, "<id>\x1f" then "key\x1dvalue\n" per trailer.
# Values are unfolded, so they never hold a newline; keys are [A-Za-z0-9-]+ (trailer.c
# find_separator), so they never hold \x1d. Both splits are therefore unambiguous, whatever
# control characters a hostile message carries. (key_value_separator: git >= 2.31.)
_LOG_TRAILERS = "%(trailers:only,unfold,key_value_separator=%x1d)"

_GIT_SPACE = " \t\n\r"  # git's isspace() (ctype.c): not \v or \f
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_APPROVER = re.compile(r"[^<>\s][^<>]*\s<[^<>\s@]+@[^<>\s@]+>")


# -- one message ------------------------------------------------------------------------------
def parse_message(repo: Repo, message: str) -> tuple[Trailer, ...]:
    """The trailers of a message as git sees them in a commit, whatever the user's config."""
    return _parse_isolated(repo.git.env, comment_char(repo), message)


def comment_char(repo: Repo) -> str:
    """The repository's comment character, as ``git commit`` would strip it.

    git-config(1) core.commentChar; ``auto`` only means something to ``git commit`` itself
    (every other command, ``interpret-trailers`` included, keeps ``#``). Git 2.45 added
    core.commentString as a synonym: the last one set wins, so both are read in one call.
    """
    proc = repo.git.run("config", "--get-regexp", r"^core\.comment(char|string)$",
                        ok=(0, 1), pinned=False)
    lines = [ln for ln in proc.stdout.decode("utf-8", "replace").split("\n") if ln]
    value = lines[-1].partition(" ")[2] if lines else "#"
    return "#" if value == "auto" else value


def _parse_isolated(env: Mapping[str, str], comment: str, message: str) -> tuple[Trailer, ...]:
    # Only a line with a separator is printed (trailer.c print_all with --only-trailers), so a
    # message without ':' has no trailers: skip the process.
    if ":" not in message:
        return ()
    message = skip_blank_lines(message)
    git = Git(cwd=os.path.abspath(os.sep), env=_configless_env(env))
    proc = git.run(*_SEPARATORS, "-c", f"core.commentChar={comment}",
                   "interpret-trailers", "--parse", "--no-divider",
                   input=_encode(message), pinned=False)
    return tuple(_split_trailer(line, ":") for line in _lines(proc.stdout))


def skip_blank_lines(message: str) -> str:
    """The message without its leading blank lines, as a commit shows it.

    ``git commit`` strips them (unless --cleanup=verbatim) and ``git log`` skips them before the
    subject (pretty.c parse_commit_message -> skip_blank_lines), so for ``%(trailers)`` the
    first non-blank line is the title. ``interpret-trailers`` alone would take the title to be
    the empty first line, and ``\nTask: A`` would declare a task the commit never shows.
    """
    pos = 0
    while pos < len(message):
        end = message.find("\n", pos)
        end = len(message) if end < 0 else end + 1
        if message[pos:end].strip(_GIT_SPACE):
            break
        pos = end
    return message[pos:]


def _configless_env(env: Mapping[str, str]) -> dict[str, str]:
    """An environment in which git has no repository and reads no config file.

    ``GIT_DIR`` names something that is not a repository, so git does not look for one
    (setup.c setup_explicit_git_dir: a command that runs without one, as interpret-trailers
    does, goes on as outside any repository; no directory to create, no discovery to
    stop). Without a repository only system and global config remain (git-config(1) FILES);
    both are switched off. GIT_CONFIG_PARAMETERS (``git -c`` of a parent git, e.g. the one
    running our hook) goes with the other GIT_* variables.
    """
    clean = no_git_env(env)
    clean["GIT_DIR"] = os.devnull
    clean["GIT_CONFIG_NOSYSTEM"] = "1"
    clean["GIT_CONFIG_GLOBAL"] = os.devnull
    return clean


def _encode(message: str) -> bytes:
    # surrogateescape gives back the bytes a message was read as; a stray lone surrogate that
    # did not come from bytes cannot be encoded and becomes '?'.
    try:
        return message.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return message.encode("utf-8", "replace")


def _lines(out: bytes) -> list[str]:
    # split("\n"), not splitlines(): a value may hold \r, \x1c-\x1e or \x85.
    return [ln for ln in out.decode("utf-8", "replace").split("\n") if ln]


def _split_trailer(line: str, sep: str) -> Trailer:
    # Git trims keys and values with its own isspace(); Python's strip() would also eat \v,
    # \x1c-\x1f, \x85 and U+00A0, so only git's whitespace is stripped.
    key, found, value = line.partition(sep)
    if not found or not key.strip(_GIT_SPACE):
        raise GitError(f"unexpected trailer output from git: {line[:60]!r}")
    return Trailer(key=key.strip(_GIT_SPACE), value=value.strip(_GIT_SPACE))


# -- many commits -----------------------------------------------------------------------------
def commit_trailers(repo: Repo, commits: Sequence[str]) -> dict[str, tuple[Trailer, ...]]:
    """The trailers of many commits (full ids) with one git process, keyed by commit id."""
    ids = _checked_ids(commits)
    if not ids:
        return {}  # git log --stdin with no revision would show HEAD
    if _has_token_config(repo):
        comment = comment_char(repo)
        found = {c: _parse_isolated(repo.git.env, comment, msg)
                 for c, msg in _log(repo, ids, "%B").items()}
    else:
        # A branch's commits mostly carry the same few trailer blocks: each parsed once.
        parsed: dict[str, tuple[Trailer, ...]] = {}
        found = {}
        for c, body in _log(repo, ids, _LOG_TRAILERS).items():
            trailers = parsed.get(body)
            if trailers is None:
                trailers = parsed[body] = tuple(_split_trailer(ln, "\x1d")
                                                for ln in body.split("\n") if ln)
            found[c] = trailers
    missing = [c for c in ids if c not in found]
    if missing:
        raise BadInputError(f"{missing[0]} is not a commit (a tag or tree id?)")
    return found


def _checked_ids(commits: Sequence[str]) -> list[str]:
    # Full ids only: they are what the result is keyed by, and nothing read from --stdin can
    # then be an option ("--not") or a range.
    ids = list(dict.fromkeys(commits))
    for c in ids:
        if not _COMMIT_ID.fullmatch(c):
            raise BadInputError(f"not a full commit id: {c!r}; To fix: resolve it first")
    return ids


def _has_token_config(repo: Repo) -> bool:
    """Whether any ``trailer.<token>.<var>`` is set, in any scope, for this repository.

    Such config changes what ``git log``'s %(trailers) reports and a ``-c`` cannot unset it.
    ``trailer.separators``/``where``/``ifexists``/``ifmissing`` have no token and either are
    pinned or only matter when adding trailers.
    """
    proc = repo.git.run("config", "--name-only", "--get-regexp", r"^trailer\..+\.",
                        ok=(0, 1), pinned=False)
    return proc.returncode == 0


def _log(repo: Repo, ids: Sequence[str], fmt: str) -> dict[str, str]:
    # --no-walk=unsorted: exactly the commits given, none of their ancestors. --encoding pins
    # the output to UTF-8 whatever i18n.logOutputEncoding says (git-log(1)); a commit without
    # an encoding header is passed through as is, so non-UTF-8 bytes become U+FFFD here.
    out = repo.git.out(*_SEPARATORS, "log", "--no-walk=unsorted", "--stdin", "-z",
                       "--encoding=UTF-8", f"--format=%H%x1f{fmt}",
                       input=("\n".join(ids) + "\n").encode())
    records: dict[str, str] = {}
    for rec in zsplit(out):
        commit, _, body = rec.partition(b"\x1f")
        records[commit.decode()] = body.decode("utf-8", "replace")
    return records


# -- what our trailers declare ----------------------------------------------------------------
def declarations_of(trailers: Mapping[str, tuple[Trailer, ...]],
                    source: Callable[[str], str]) -> \
        dict[str, TrailerDeclaration | BadInputError]:
    """``declaration_from`` for each commit, ``source(commit)`` naming it in errors: commits
    with the same trailers share one declaration, which names no commit; an error is made
    for each commit that has it, so that it names that commit."""
    made: dict[tuple[Trailer, ...], TrailerDeclaration] = {}
    out: dict[str, TrailerDeclaration | BadInputError] = {}
    for commit, theirs in trailers.items():
        found = made.get(theirs)
        if found is None:
            try:
                found = made[theirs] = declaration_from(theirs, source=source(commit))
            except BadInputError as e:
                out[commit] = e
                continue
        out[commit] = found
    return out


def declaration_from(trailers: Sequence[Trailer],
                     source: str = "commit message") -> TrailerDeclaration:
    values = _our_values(trailers, source)
    model, model_source = _model(values, source)
    return TrailerDeclaration(
        task_id=_single(values, "Task", source),
        # Order is meaning in a pattern list (the last match decides): repeats are kept.
        scope=_listed(values, "Task-Scope", source, keep_repeats=True),
        model=model,
        model_source=model_source,
        weight=_weight(values, source),
        tools_used=_listed(values, "Tools-Used", source),
        approved_by=_approvers(values, source),
        present=bool(values),
    )


def _our_values(trailers: Sequence[Trailer], source: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for t in trailers:
        key = KEYS.get(t.key.strip().lower())
        if key is None:
            continue
        value = t.value.strip()
        if not value:
            raise BadInputError(f"{source}: empty {key} trailer; "
                                f"To fix: give it a value or remove the line")
        values.setdefault(key, []).append(value)
    return values


def _distinct(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _single(values: Mapping[str, Sequence[str]], key: str, source: str,
            fold: Callable[[str], str] = str) -> str | None:
    """A key that may repeat only with the same value (the contract: conflicts are bad input)."""
    distinct = _distinct([fold(v) for v in values.get(key, ())])
    if len(distinct) > 1:
        raise BadInputError(f"{source}: conflicting {key} trailers: "
                            + ", ".join(repr(v) for v in distinct))
    return distinct[0] if distinct else None


def _listed(values: Mapping[str, Sequence[str]], key: str, source: str,
            keep_repeats: bool = False) -> tuple[str, ...]:
    """Comma-separated items; repeated trailers accumulate, order kept, duplicates dropped
    unless ``keep_repeats``."""
    items: list[str] = []
    for value in values.get(key, ()):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts:
            raise BadInputError(f"{source}: {key} trailer {value!r} lists nothing; "
                                f"To fix: write {key}: a, b")
        items.extend(parts)
    return tuple(items) if keep_repeats else tuple(_distinct(items))


def _weight(values: Mapping[str, Sequence[str]], source: str) -> str | None:
    for value in values.get("Model-Weight", ()):
        if value.lower() not in WEIGHTS:
            raise BadInputError(f"{source}: Model-Weight {value!r} is not one of "
                                + ", ".join(WEIGHTS))
    return _single(values, "Model-Weight", source, fold=str.lower)


def _model(values: Mapping[str, Sequence[str]], source: str) -> tuple[str | None, str | None]:
    model = _single(values, "Model", source)
    if model is not None:
        return model, "trailer:Model"
    assisted = {"Assisted-by": [m for v in values.get("Assisted-by", ())
                                if (m := _assisted_model(v)) is not None]}
    model = _single(assisted, "Assisted-by", source)
    return (model, "trailer:Assisted-by") if model is not None else (None, None)


def _assisted_model(value: str) -> str | None:
    """MODEL from the kernel's ``Assisted-by: AGENT:MODEL [TOOL1] [TOOL2]``.

    Documentation/process/coding-assistants.rst: the optional tools follow after whitespace,
    so the model is the first word after the first ':' (its last ':'-part, if it has several).
    No ':' names the agent alone: no model.
    """
    _, colon, rest = value.partition(":")
    words = rest.split()
    if not colon or not words:
        return None
    return words[0].rsplit(":", 1)[-1] or None


def _approvers(values: Mapping[str, Sequence[str]], source: str) -> tuple[str, ...]:
    for value in values.get("Approved-by", ()):
        if not _APPROVER.fullmatch(value):
            raise BadInputError(f"{source}: Approved-by {value!r} is not 'Name <email>'; "
                                f"To fix: write Approved-by: Ada Lovelace <ada@example.org>")
    return tuple(_distinct(values.get("Approved-by", ())))
