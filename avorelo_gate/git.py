"""The one place that talks to git.

Every call is an argv list with NUL-separated output, pinned config and no external diff
drivers, so that a user's git config can never change a verdict. Inside a hook git exports
GIT_DIR and GIT_INDEX_FILE (relative to the hook's cwd, and a temporary index for
``commit -- path``); they are honoured for the repository being checked because we keep the
environment and cwd we were given. Any other repository (the demo's, the tests') gets an
environment stripped of them (``no_git_env``).
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from avorelo_gate.errors import BadInputError, EnvironmentFailure, GitError, NotARepositoryError

# Config that changes porcelain or diff output, pinned on every call. Plumbing ignores most of
# it already; pinning costs nothing and covers the porcelain we do use (log, config).
PINNED_CONFIG: tuple[str, ...] = (
    "-c", "core.quotepath=false",
    "-c", "diff.relative=false",
    "-c", "diff.noprefix=false",
    "-c", "diff.renames=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "color.ui=never",
    "-c", "log.showSignature=false",
    "-c", "trailer.separators=:",
)

# Variables that would redirect or reshape git's answers for *this* process tree.
_ALWAYS_STRIPPED = ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER", "PAGER", "GIT_TRACE")

EMPTY_TREE = {
    "sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}


def zsplit(data: bytes) -> list[bytes]:
    """Split NUL-terminated git output; the trailing empty field is not a record."""
    if not data:
        return []
    parts = data.split(b"\0")
    if parts[-1] == b"":
        parts.pop()
    return parts


def fsdecode(raw: bytes) -> str:
    """Git's path bytes as str; non-UTF-8 bytes survive as surrogates (round-trip safe)."""
    return raw.decode("utf-8", "surrogateescape")


def fsencode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def display_path(path: str) -> str:
    """A path as a person should see it: control characters and undecodable bytes escaped."""
    raw = fsencode(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
    out = []
    for ch in text:
        if ch == "\\" or ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def no_git_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for a repository other than the one the hook runs for."""
    return {
        k: v for k, v in environ.items()
        if not k.startswith("GIT_") or k in {"GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
                                              "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                                              "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
                                              "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE",
                                              "GIT_TEMPLATE_DIR", "GIT_EXEC_PATH",
                                              "GIT_SSH_COMMAND", "GIT_TERMINAL_PROMPT"}
    }


def _first_line(stderr: bytes) -> str:
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip()
    return "no message"


@dataclass(frozen=True)
class Git:
    """A git invocation context: the cwd and environment the repository is reached through."""

    cwd: str
    env: Mapping[str, str]

    @classmethod
    def from_environ(cls, cwd: str | None = None,
                     environ: Mapping[str, str] | None = None) -> Git:
        env = dict(os.environ if environ is None else environ)
        for key in _ALWAYS_STRIPPED:
            env.pop(key, None)
        env["GIT_OPTIONAL_LOCKS"] = "0"  # never take index.lock for a read (status refresh)
        # refs/replace could swap a commit's tree or message under the gate.
        env["GIT_NO_REPLACE_OBJECTS"] = "1"
        env.setdefault("LC_ALL", "C")
        return cls(cwd=cwd or os.getcwd(), env=env)

    def run(self, *args: str, input: bytes | None = None, ok: Sequence[int] = (0,),
            pinned: bool = True) -> subprocess.CompletedProcess[bytes]:
        argv = ["git", *(PINNED_CONFIG if pinned else ()), *args]
        try:
            proc = subprocess.run(argv, cwd=self.cwd, env=dict(self.env), input=input,
                                  capture_output=True, check=False)
        except FileNotFoundError as e:
            raise EnvironmentFailure("git is not installed or not on PATH") from e
        except OSError as e:
            raise EnvironmentFailure(f"cannot run git: {e}") from e
        if proc.returncode not in ok:
            raise self._error(args, proc)
        return proc

    def out(self, *args: str, input: bytes | None = None) -> bytes:
        return self.run(*args, input=input).stdout

    @staticmethod
    def _error(args: Sequence[str], proc: subprocess.CompletedProcess[bytes]) -> Exception:
        msg = _first_line(proc.stderr)
        if "not a git repository" in msg:
            return NotARepositoryError(f"not a git repository: {msg}")
        if "dubious ownership" in msg:
            return GitError(f"git refuses this repository ({msg}); "
                            "To fix: git config --global --add safe.directory <path>")
        cmd = " ".join(a for a in args if not a.startswith("-"))[:60]
        return GitError(f"git {cmd} failed (exit {proc.returncode}): {msg}")

    # -- discovery ----------------------------------------------------------------------
    def repo(self) -> Repo:
        base = ("rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir",
                "--is-bare-repository", "--is-shallow-repository", "--show-object-format")
        proc = self.run(*base, "--show-toplevel", "--verify", "-q", "HEAD", ok=(0, 1, 128))
        if proc.returncode == 128 and b"must be run in a work tree" in proc.stderr:
            proc = self.run(*base, "--verify", "-q", "HEAD", ok=(0, 1))
            lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
            lines.insert(5, "")
        elif proc.returncode == 128:
            raise self._error(("rev-parse",), proc)
        else:
            lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        git_dir, common_dir, bare, shallow, fmt, toplevel = lines[:6]
        head = lines[6] if proc.returncode == 0 and len(lines) > 6 else None
        return Repo(git=self, git_dir=git_dir, common_dir=common_dir, bare=bare == "true",
                    shallow=shallow == "true", object_format=fmt, toplevel=toplevel or None,
                    head=head)


@dataclass(frozen=True)
class RawEntry:
    """One record of ``git diff --raw --numstat -z --no-renames``."""

    status: str
    path: str
    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    added: int
    removed: int
    binary: bool


@dataclass(frozen=True)
class Repo:
    git: Git
    git_dir: str
    common_dir: str
    bare: bool
    shallow: bool
    object_format: str
    toplevel: str | None
    head: str | None

    @property
    def empty_tree(self) -> str:
        return EMPTY_TREE.get(self.object_format, EMPTY_TREE["sha1"])

    @property
    def zero_id(self) -> str:
        return "0" * len(self.empty_tree)

    def state_dir(self) -> str:
        """``$(git rev-parse --git-path avorelo)``: per-worktree local state."""
        return os.path.join(self.git_dir, "avorelo")

    def hooks_dir(self) -> str:
        """Where git runs hooks from: ``core.hooksPath`` when set, else ``$GIT_DIR/hooks``."""
        out = self.git.out("rev-parse", "--path-format=absolute", "--git-path", "hooks")
        return out.decode("utf-8", "surrogateescape").rstrip("\n")

    def config_set(self, key: str, value: str) -> None:
        self.git.run("config", key, value, pinned=False)

    def common_state_dir(self) -> str:
        return os.path.join(self.common_dir, "avorelo")

    # -- revisions ----------------------------------------------------------------------
    def resolve(self, rev: str, kind: str = "commit") -> str:
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options",
                            f"{rev}^{{{kind}}}", ok=(0, 1, 128))
        if proc.returncode != 0:
            raise BadInputError(f"unknown revision {rev!r}: not a {kind} in this repository")
        return proc.stdout.decode().strip()

    def parents(self, commit: str) -> list[str]:
        out = self.git.out("rev-list", "--parents", "-n", "1", commit).decode().split()
        return out[1:]

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.git.run("merge-base", a, b, ok=(0, 1))
        return proc.stdout.decode().strip() or None

    def rev_list(self, *args: str) -> list[str]:
        return self.git.out("rev-list", *args).decode().split()

    def tree_of(self, commit: str) -> str:
        return self.resolve(commit, "tree")

    def write_index_tree(self) -> str:
        """The tree the index would commit (``git write-tree``); fails on unmerged entries."""
        proc = self.git.run("write-tree", ok=(0, 128))
        if proc.returncode != 0:
            raise self.git._error(("write-tree",), proc)
        return proc.stdout.decode().strip()

    def unmerged_paths(self) -> list[str]:
        out = self.git.out("ls-files", "-u", "-z")
        return sorted({fsdecode(rec.split(b"\t", 1)[1]) for rec in zsplit(out)})

    # -- diffs --------------------------------------------------------------------------
    def diff_staged(self, base: str | None = None) -> list[RawEntry]:
        """The index against ``base`` (HEAD, the empty tree before the first commit, or
        HEAD's parent when the commit being made amends HEAD)."""
        return self._diff("diff-index", "--cached", base or self.head or self.empty_tree)

    def diff_worktree(self) -> list[RawEntry]:
        base = self.head or self.empty_tree
        return self._diff("diff-index", "--ignore-submodules=dirty", base)

    def diff_trees(self, a: str, b: str) -> list[RawEntry]:
        return self._diff("diff-tree", "-r", a, b)

    def _diff(self, cmd: str, *args: str) -> list[RawEntry]:
        out = self.git.out(cmd, "-z", "--raw", "--numstat", "--no-renames", "--no-ext-diff",
                           "--no-textconv", "--full-index", *args, "--")
        return parse_raw_numstat(out)

    def untracked(self) -> list[str]:
        out = self.git.out("ls-files", "-o", "--exclude-standard", "-z")
        return [fsdecode(p) for p in zsplit(out)]

    # -- reading files ------------------------------------------------------------------
    def list_blobs(self, where: str, *pathspecs: str) -> dict[str, str]:
        """Every file (blob) under ``pathspecs`` in the index (``where=":"``) or a tree-ish:
        path -> blob id. Submodule entries (commits) and unmerged stages are left out."""
        if where == ":":
            out = self.git.out("ls-files", "-s", "-z", "--", *pathspecs)
        else:
            out = self.git.out("ls-tree", "-r", "-z", "--full-tree", where, "--", *pathspecs)
        entries = {}
        for rec in zsplit(out):
            meta, name = rec.split(b"\t", 1)
            mode, second, third = meta.decode().split()
            # ls-files: mode blob stage; ls-tree: mode type blob
            blob, ok = (second, third == "0") if where == ":" else (third, second == "blob")
            if ok and not mode.startswith("160"):
                entries[fsdecode(name)] = blob
        return entries

    def list_sized(self, where: str) -> dict[str, tuple[str, int]]:
        """Every file in a commit (or the index, ``where=":"``): path -> (blob id, size)."""
        if where != ":":
            out = self.git.out("ls-tree", "-r", "-l", "-z", "--full-tree", where)
            entries = {}
            for rec in zsplit(out):
                meta, name = rec.split(b"\t", 1)
                _mode, kind, blob, size = meta.decode().split()
                if kind == "blob":
                    entries[fsdecode(name)] = (blob, int(size))
            return entries
        blobs = self.list_blobs(":")
        ids = list(dict.fromkeys(blobs.values()))
        sizes: dict[str, int] = {}
        if ids:
            out = self.git.out("cat-file", "--batch-check", input=("\n".join(ids) + "\n").encode())
            for line in out.decode().splitlines():
                oid, _kind, size = line.split()
                sizes[oid] = int(size)
        return {p: (b, sizes.get(b, 0)) for p, b in blobs.items()}

    def cat_objects(self, names: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
        """Read several objects (``HEAD:path``, ``:path``, blob ids) through one
        ``cat-file --batch``: name -> (object id, content), or None when it does not exist."""
        if not names:
            return {}
        for name in names:
            if "\n" in name:
                raise BadInputError(f"object name contains a newline: {name!r}")
        out = self.git.out("cat-file", "--batch",
                           input=("\n".join(names) + "\n").encode("utf-8", "surrogateescape"))
        result: dict[str, tuple[str, bytes] | None] = {}
        pos = 0
        for name in names:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].decode("utf-8", "surrogateescape").rsplit(" ", 2)
            pos = nl + 1
            if len(header) < 3 or header[-1] in ("missing", "ambiguous"):
                result[name] = None
                continue
            size = int(header[2])
            result[name] = (header[0], out[pos:pos + size])
            pos += size + 1
        return result

    def read_blob(self, blob: str) -> bytes:
        found = self.cat_objects([blob])[blob]
        if found is None:
            raise GitError(f"object {blob} is missing from the repository")
        return found[1]

    def config_get(self, key: str) -> str | None:
        proc = self.git.run("config", "--get", key, ok=(0, 1), pinned=False)
        return proc.stdout.decode("utf-8", "replace").rstrip("\n") if proc.returncode == 0 else None



def parse_raw_numstat(out: bytes) -> list[RawEntry]:
    """Parse ``--raw --numstat -z --no-renames``: raw records first, then numstat records."""
    fields = zsplit(out)
    raw: list[tuple[str, str, str, str, str, str]] = []
    counts: dict[str, tuple[int, int, bool]] = {}
    i = 0
    while i < len(fields):
        rec = fields[i]
        if rec.startswith(b":"):
            old_mode, new_mode, old_blob, new_blob, status = rec[1:].decode().split(" ")
            raw.append((status[:1], fsdecode(fields[i + 1]), old_mode, new_mode,
                        old_blob, new_blob))
            i += 2
            continue
        plus, minus, name = rec.split(b"\t", 2)
        binary = plus == b"-"
        counts[fsdecode(name)] = (0 if binary else int(plus), 0 if binary else int(minus),
                                  binary)
        i += 1
    entries = []
    for status, path, old_mode, new_mode, old_blob, new_blob in raw:
        added, removed, is_binary = counts.get(path, (0, 0, False))
        entries.append(RawEntry(status=status, path=path, old_mode=old_mode, new_mode=new_mode,
                                old_blob=old_blob, new_blob=new_blob, added=added,
                                removed=removed, binary=is_binary))
    return entries
