"""A task's context: the files the work was planned against, optionally pinned.

Checked at the change's base (what the task was given to read), never at its head: a pin that
no longer matches means the task was planned against content that has since changed
(``context-stale``); a pattern that matches nothing is ``context-missing``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.files.digest import sha256
from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.git.snapshot import INDEX
from avorelo_gate.result import Violation
from avorelo_gate.task.scope import Matcher

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class ContextFile:
    path: str
    blob: str
    size: int
    pinned: str | None = None      # "blob:<id>" or "sha256:<hex>"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "blob": self.blob, "size": self.size}
        if self.pinned:
            d["pinned"] = self.pinned
        return d


@dataclass(frozen=True)
class ContextSet:
    where: str                           # the commit (or "index") it was read at
    files: tuple[ContextFile, ...]
    violations: tuple[Violation, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.where, "files": [f.to_dict() for f in self.files],
                "total_bytes": self.total_bytes}


def _entry(entry: Any) -> tuple[str, str | None, str | None]:
    """(pattern, blob pin, sha256 pin) of one ``context:`` entry."""
    if isinstance(entry, str):
        return entry, None, None
    return entry["path"], entry.get("blob"), entry.get("sha256")


def assemble(repo: Repo, rev: str | None, entries: Sequence[Any]) -> ContextSet:
    """The context set at ``rev`` (a commit; None: the index, before the first commit)."""
    where = rev or INDEX
    label = rev[:12] if rev else "the index"
    if not entries:
        return ContextSet(where, (), ())
    listing = repo.list_sized(where)                  # path -> (blob, size), one git process
    files: dict[str, ContextFile] = {}
    violations: list[Violation] = []
    sha_pins: list[tuple[str, str]] = []
    for entry in entries:
        pattern, blob_pin, sha_pin = _entry(entry)
        matched = _matching(pattern, listing)
        if not matched:
            violations.append(Violation(
                "context-missing", f"context {pattern!r} matches no file at {label}", pattern,
                "fix the task's context: list, or add the file it names"))
            continue
        for path in matched:
            blob, size = listing[path]
            pin = f"blob:{blob_pin}" if blob_pin else f"sha256:{sha_pin}" if sha_pin else None
            files[path] = ContextFile(path, blob, size, pin)
            if blob_pin and blob != blob_pin:
                violations.append(Violation(
                    "context-stale", f"context {display_path(path)} changed since the task was "
                    f"planned (pinned blob {blob_pin[:12]}, now {blob[:12]} at {label})", path,
                    "re-plan the task against the current file, then update its pin"))
            if sha_pin:
                sha_pins.append((path, sha_pin))
    if sha_pins:
        contents = repo.cat_objects([files[p].blob for p, _ in sha_pins])
        for path, pin in sha_pins:
            found = contents.get(files[path].blob)
            digest = sha256(found[1]).hexdigest() if found else ""
            if digest != pin:
                violations.append(Violation(
                    "context-stale", f"context {display_path(path)} changed since the task was "
                    f"planned (pinned sha256 {pin[:12]}, now {digest[:12]} at {label})", path,
                    "re-plan the task against the current file, then update its pin"))
    ordered = tuple(files[p] for p in sorted(files))
    return ContextSet(where, ordered, tuple(violations))


def _matching(pattern: str, listing: Mapping[str, object]) -> list[str]:
    """A plain path names that file (or the files below that directory), from the root;
    anything with glob characters matches gitignore-style."""
    if any(c in pattern for c in "*?[!"):
        matcher = Matcher.compile([pattern])
        return sorted(p for p in listing if matcher.match(p))
    if pattern in listing:
        return [pattern]
    prefix = pattern.rstrip("/") + "/"
    return sorted(p for p in listing if p.startswith(prefix))


def render_context_text(ctx: ContextSet) -> str:
    lines = [f"context at {ctx.where[:12] if ctx.where != INDEX else 'the index'}:"]
    for f in ctx.files:
        pin = f"  (pinned {f.pinned[:19]})" if f.pinned else ""
        lines.append(f"  {f.blob[:12]}  {f.size:>9}  {display_path(f.path)}{pin}")
    lines.append(f"{len(ctx.files)} file(s), {ctx.total_bytes} bytes")
    lines.extend(f"  {v.rule}: {v.message}" for v in ctx.violations)
    return "\n".join(lines) + "\n"
