"""``ci``'s first questions to git, asked while click and the engine are imported.

Over a short range ``ci``'s cost is its start: before the first commit is judged it asks git,
one process after another, where the repository is, what ``--base`` and ``--head`` name,
their merge base and the commits between (about a tenth of `ci` over 101 Flask commits).
``start`` (from main.py, given the words after ``ci`` before click has parsed them) asks those
in a thread while Python imports; ``take`` hands the answers to ``run_ci`` only for the same
repository and the same two names click parsed, and ``run_ci`` asks git itself otherwise. A
guess that misses costs its git processes and nothing else; an error is left for ``run_ci``
to meet, and report in its own words, after click has parsed the command.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import GateError
from avorelo_gate.git.background import InBackground
from avorelo_gate.git.repo import Repo, open_repo

OPTIONS = ("--base", "--head")


@dataclass(frozen=True)
class AskedAhead:
    repo: Repo
    names: tuple[str, str]          # --base and --head as given
    base: str
    head: str
    merge_base: str
    commits: tuple[tuple[str, tuple[str, ...]], ...]   # commits_oldest_first's answer


_STARTED: list[InBackground] = []


def start(args: Sequence[str], environ: Mapping[str, str]) -> None:
    names = _names(args)
    if names is not None:
        _STARTED.append(InBackground(lambda: _ask(names, environ), "avorelo-ci-ahead"))


def _names(args: Sequence[str]) -> tuple[str, str] | None:
    """--base and --head as the words plainly give them (each at most once; --head defaults
    to HEAD), or None. Only a guess: ``take`` compares it with what click parsed."""
    found: dict[str, list[str]] = {option: [] for option in OPTIONS}
    for i, word in enumerate(args):
        for option in OPTIONS:
            if word == option and i + 1 < len(args):
                found[option].append(args[i + 1])
            elif word.startswith(option + "="):
                found[option].append(word[len(option) + 1:])
    if len(found["--base"]) != 1 or len(found["--head"]) > 1:
        return None
    return found["--base"][0], (found["--head"] or ["HEAD"])[0]


def _ask(names: tuple[str, str], environ: Mapping[str, str]) -> AskedAhead | None:
    try:
        repo = open_repo(environ=environ)
        ids = repo.resolve_each(names)
        if ids is None:
            return None
        base, head = ids
        merge_base = repo.merge_base(base, head)
        if merge_base is None:
            return None
        commits = repo.commits_oldest_first(head, "--not", merge_base)
    except GateError:
        return None
    return AskedAhead(repo, names, base, head, merge_base, tuple(commits))


def take(repo: Repo, base: str, head: str) -> AskedAhead | None:
    """What ``start`` asked for this repository (the same place, environment and HEAD) and
    these two names, once; None when it asked nothing, or something else."""
    found = None
    while _STARTED:
        asked: AskedAhead | None = _STARTED.pop().result()
        if found is None and asked is not None and asked.repo == repo \
                and asked.names == (base, head):
            found = asked
    return found


def finish() -> None:
    """Wait for whatever nothing took (its git processes end on their own)."""
    while _STARTED:
        _STARTED.pop().join()
