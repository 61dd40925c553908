"""What every part of the repository shares: its git, where it lives, its object format.

The repository's operations live in mixins by what they do (``revisions``, ``objects``,
``diff``, ``refs``); each reads only these fields, and ``repo.Repo`` combines them.
"""
from __future__ import annotations

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.git.process import Git

EMPTY_TREE = {
    "sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}


@dataclass(frozen=True)
class RepoBase:
    """The repository's identity: how to reach git, where it lives, its HEAD."""

    git: Git
    git_dir: str
    common_dir: str
    bare: bool
    shallow: bool
    object_format: str
    toplevel: str | None
    head: str | None
    hooks: str = ""          # where git runs hooks from, when discover asked (refs.hooks_dir)

    @property
    def empty_tree(self) -> str:
        return EMPTY_TREE.get(self.object_format, EMPTY_TREE["sha1"])

    @property
    def zero_id(self) -> str:
        return "0" * len(self.empty_tree)
