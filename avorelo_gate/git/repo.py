"""The repository: where it lives, its state folders, and how it is found from a hook."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass, field
from avorelo_gate.errors import GitError
from avorelo_gate.git.diff import Diffs
from avorelo_gate.git.paths import fsdecode, fsencode
from avorelo_gate.git.process import Git
from avorelo_gate.git.refs import Refs
from avorelo_gate.git.revisions import Revisions


class Repo(Revisions, Diffs, Refs):
    """A repository, reached through ``git``: every question asked of it is a method. Its
    fields (``base.RepoBase``, a frozen dataclass) are what ``discover`` found."""


@dataclass(frozen=True)
class ObjectsReadAhead(Repo):
    """A Repo that answers a read of objects it was handed in bulk before asking git.

    A command that knows what it will read asks one ``cat-file --batch`` for all of it, not
    one per read; a read of anything else goes to git as before, so a wrong guess costs
    only the process it would have cost anyway. The answers are git's, read from the same
    repository state, and live as long as the command."""

    objects: Mapping[str, tuple[str, bytes] | None] = field(default_factory=dict)

    def cat_objects(self, names: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
        if names and all(n in self.objects for n in names):
            return {n: self.objects[n] for n in names}
        return super().cat_objects(names)


def discover(git: Git) -> Repo:
    """The repository ``git`` reaches, in one ``rev-parse``."""
    # Where git runs hooks from (``core.hooksPath`` honoured) comes in the same answer: the
    # agents' hooks check every write against it.
    base = ("rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir",
            "--is-bare-repository", "--is-shallow-repository", "--show-object-format",
            "--git-path", "hooks")
    proc = git.run(*base, "--show-toplevel", "--verify", "-q", "HEAD", ok=(0, 1, 128))
    if proc.returncode == 128 and b"must be run in a work tree" in proc.stderr:
        proc = git.run(*base, "--verify", "-q", "HEAD", ok=(0, 1))
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        lines.insert(6, "")
    elif proc.returncode == 128:
        raise git._error(("rev-parse",), proc)
    else:
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    git_dir, common_dir, bare, shallow, fmt, hooks, toplevel = lines[:7]
    head = lines[7] if proc.returncode == 0 and len(lines) > 7 else None
    if head is None:
        _refuse_broken_head(git, common_dir)
    return Repo(git=git, git_dir=git_dir, common_dir=common_dir, bare=bare == "true",
                shallow=shallow == "true", object_format=fmt, toplevel=toplevel or None,
                head=head, hooks=hooks)


def _refuse_broken_head(git: Git, common_dir: str) -> None:
    """An unborn branch diffs against the empty tree; a HEAD that names a missing commit,
    or a branch ref that exists but does not resolve, is a broken repository, which must
    never read as a first commit (everything added, the policy from the index)."""
    proc = git.run("symbolic-ref", "-q", "--no-recurse", "HEAD", ok=(0, 1, 128))
    ref = fsdecode(proc.stdout).strip()
    if proc.returncode != 0 or not ref:
        raise GitError("HEAD names no commit and no branch: the repository is broken")
    try:
        with open(os.path.join(common_dir, "packed-refs"), "rb") as f:
            packed = any(line.rstrip(b"\n").endswith(b" " + fsencode(ref)) for line in f)
    except OSError:
        packed = False
    if packed or os.path.lexists(os.path.join(common_dir, *ref.split("/"))):
        raise GitError(f"{ref} exists but does not point at a commit: the repository is "
                       "broken (git fsck tells more)")


def open_repo(cwd: str | None = None, environ: Mapping[str, str] | None = None) -> Repo:
    """The repository a command runs in (the hook's GIT_DIR / GIT_INDEX_FILE honoured)."""
    return discover(Git.from_environ(cwd, environ))
