"""Refs, notes and config: where hooks live, the notes receipts are kept in, remotes."""
from __future__ import annotations

import os

from avorelo_gate.git.base import RepoBase


class Refs(RepoBase):
    def state_dir(self) -> str:
        """``$(git rev-parse --git-path avorelo)``: per-worktree local state."""
        return os.path.join(self.git_dir, "avorelo")

    def hooks_dir(self) -> str:
        """Where git runs hooks from: ``core.hooksPath`` when set, else ``$GIT_DIR/hooks``."""
        if self.hooks:
            return self.hooks
        out = self.git.out("rev-parse", "--path-format=absolute", "--git-path", "hooks")
        return out.decode("utf-8", "surrogateescape").rstrip("\n")

    def config_set(self, key: str, value: str) -> None:
        self.git.run("config", key, value, pinned=False)

    def common_state_dir(self) -> str:
        return os.path.join(self.common_dir, "avorelo")

    def remote_names(self) -> list[str]:
        return self.git.out("remote").decode("utf-8", "surrogateescape").split()

    def config_get_all(self, key: str) -> list[str]:
        proc = self.git.run("config", "--get-all", key, ok=(0, 1), pinned=False)
        return proc.stdout.decode("utf-8", "replace").splitlines()

    def config_add(self, key: str, value: str) -> None:
        self.git.run("config", "--add", key, value, pinned=False)

    def notes_list(self, ref: str) -> dict[str, str]:
        """Every note under ``ref``: annotated object -> note blob (empty without the ref)."""
        out = self.git.out("notes", f"--ref={ref}", "list").decode()
        pairs = (line.split() for line in out.splitlines())
        return {obj: blob for blob, obj in pairs}

    def add_note(self, ref: str, obj: str, data: bytes) -> bool:
        """Set (replace) the note of ``obj``. False when another writer held the ref's lock;
        note that ``git notes`` updates the ref without compare-and-swap, so callers must
        serialize their own writers (receipts.notes does)."""
        # -C with a blob we wrote keeps the bytes exactly (-F/-m would clean them up).
        blob = self.git.out("hash-object", "-w", "--stdin", input=data).decode().strip()
        proc = self.git.run("notes", f"--ref={ref}", "add", "-f", "-C", blob, obj,
                            ok=(0, 1, 128))
        if proc.returncode == 0:
            return True
        if b".lock" in proc.stderr or b"cannot lock" in proc.stderr:
            return False
        raise self.git._error(("notes", "add"), proc)
