"""The one place that talks to git.

Every call is an argv list with NUL-separated output, pinned config and no external diff
drivers, so that a user's git config can never change a verdict. Inside a hook git exports
GIT_DIR and GIT_INDEX_FILE (relative to the hook's cwd, and a temporary index for
``commit -- path``); they are honoured for the repository being checked because we keep the
environment and cwd we were given. Any other repository (the demo's, the tests') gets an
environment stripped of them (``no_git_env``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import selectors
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from avorelo_gate.errors import BadInputError, EnvironmentFailure, GitError, NotARepositoryError
from avorelo_gate.result import TouchedFile

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
    # A user's global attributes (``* -diff``) would mark every file binary and zero every line
    # count, so every budget; the repository's own .gitattributes still apply.
    "-c", f"core.attributesFile={os.devnull}",
)

# Variables that would redirect or reshape git's answers for *this* process tree.
_ALWAYS_STRIPPED = ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER", "PAGER", "GIT_TRACE")

STREAM_CHUNK = 1 << 16
SPAWN_INPUT_MAX = 16 * 1024  # well under a pipe's 64 KiB
# git's buffer_is_binary() looks for a NUL in the first 8000 bytes (xdiff-interface.c).
BINARY_SNIFF_BYTES = 8000
BINARY_CHECK_MAX_BYTES = 8 * 1024 * 1024
_FULL_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", re.MULTILINE)

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


def top_literal(path: str) -> str:
    """A pathspec for exactly ``path`` from the repository root, whatever the cwd (a hook or
    a user may run us from a subdirectory; plain pathspecs are relative to it)."""
    return f":(top,literal){path}"


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
        env["GIT_ATTR_NOSYSTEM"] = "1"  # the machine's attributes are not the repository's
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

    def stream(self, *args: str, consume: Callable[[bytes], None]) -> None:
        """Like ``out``, but hand stdout to ``consume`` chunk by chunk while git runs, so that
        parsing overlaps git's own work and the output never sits in memory twice."""
        self.drain(self.spawn(*args), args, consume)

    def spawn(self, *args: str, input: bytes | None = None) -> subprocess.Popen[bytes]:
        """Start git now; ``drain`` reads it (a caller may do other work in between).

        ``input`` is written at once, before anything is read: it must fit in a pipe
        (SPAWN_INPUT_MAX), or git, its output unread, could stop reading it.
        """
        if input is not None and len(input) > SPAWN_INPUT_MAX:
            raise ValueError(f"spawn input of {len(input)} bytes: use run()")
        argv = ["git", *PINNED_CONFIG, *args]
        try:
            proc = subprocess.Popen(argv, cwd=self.cwd, env=dict(self.env),
                                    stdin=subprocess.DEVNULL if input is None
                                    else subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError as e:
            raise EnvironmentFailure("git is not installed or not on PATH") from e
        except OSError as e:
            raise EnvironmentFailure(f"cannot run git: {e}") from e
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # git died: drain reports why
                proc.stdin.write(input or b"")
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        return proc

    def drain(self, proc: subprocess.Popen[bytes], args: Sequence[str],
              consume: Callable[[bytes], None]) -> None:
        """Hand ``proc``'s stdout to ``consume`` as it comes; raise as ``run`` would."""
        err = bytearray()
        with proc:
            try:
                if os.name == "nt":  # select() takes no pipes there: read it all at once
                    out, stderr = proc.communicate()
                    err += stderr
                    consume(out)
                else:
                    _pump(proc, consume, err)
            except BaseException:
                proc.kill()
                raise
        if proc.returncode != 0:
            raise self._error(args, subprocess.CompletedProcess(proc.args, proc.returncode,
                                                                b"", bytes(err)))

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
        if head is None:
            self._refuse_broken_head(common_dir)
        return Repo(git=self, git_dir=git_dir, common_dir=common_dir, bare=bare == "true",
                    shallow=shallow == "true", object_format=fmt, toplevel=toplevel or None,
                    head=head)


    def _refuse_broken_head(self, common_dir: str) -> None:
        """An unborn branch diffs against the empty tree; a HEAD that names a missing commit,
        or a branch ref that exists but does not resolve, is a broken repository, which must
        never read as a first commit (everything added, the policy from the index)."""
        proc = self.run("symbolic-ref", "-q", "--no-recurse", "HEAD", ok=(0, 1, 128))
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


# One record of ``git diff --raw --numstat -z --no-renames``. It is the engine's TouchedFile
# itself (same fields): 10,000 staged files would otherwise be built twice, ~20 ms each time.
RawEntry = TouchedFile


@dataclass(frozen=True)
class BlobEntry:
    mode: str   # 100644, 100755, 120000 (a symlink)
    oid: str
    size: int


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
            # A name that resolves to an object the database has lost is a broken repository
            # (exit 3, issue 7), not a typo: HEAD itself would otherwise read as bad input.
            broken = self._broken_object(rev, kind)
            if broken:
                raise GitError(f"{rev!r}: {broken}: the repository is broken (git fsck tells "
                               "more)")
            raise BadInputError(f"unknown revision {rev!r}: not a {kind} in this repository")
        return proc.stdout.decode().strip()

    def _broken_object(self, rev: str, kind: str) -> str | None:
        """What is lost behind a ``rev`` that does name something: a missing or unreadable
        object, or one in the history ``~``/``^`` walk through. Only asked after a failed
        resolve, never on the happy path."""
        if _FULL_ID.fullmatch(rev):
            # A full id "resolves" whether or not its object is here: an absent one is not
            # (yet) fetched, e.g. past a shallow clone's edge; a present commit can still
            # have lost its tree.
            if self.git.run("cat-file", "-e", rev, ok=(0, 1, 128)).returncode != 0:
                return None
            return self._lost_object(rev, kind)
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options", rev,
                            ok=(0, 1, 128))
        oid = proc.stdout.decode().strip()
        if proc.returncode == 0 and oid:
            return self._lost_object(oid, kind)
        # ``HEAD~1`` does not resolve when HEAD's own commit is lost: look at the name it
        # starts from, and at the first-parent history just below it.
        start = re.split(r"[~^]", rev, maxsplit=1)[0]
        if start == rev or not start or _FULL_ID.fullmatch(start):
            return None
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options", start,
                            ok=(0, 1, 128))
        oid = proc.stdout.decode().strip()
        if proc.returncode != 0 or not oid:
            return None
        lost = self._lost_object(oid, "commit")
        if lost:
            return lost
        walk = self.git.run("rev-list", "-n", "64", "--end-of-options", oid, "--",
                            ok=(0, 1, 128))
        if walk.returncode == 0:
            return None
        return f"a commit below {oid} is missing or corrupt ({_first_line(walk.stderr)})"

    def _lost_object(self, oid: str, kind: str) -> str | None:
        lost = f"object {oid} is missing or corrupt"
        typed = self.git.run("cat-file", "-t", oid, ok=(0, 1, 128))
        if typed.returncode != 0:
            return lost
        if kind == "tree" and typed.stdout.strip() == b"commit":
            # ``<commit>^{tree}`` fails the same way when only the commit's tree is lost.
            body = self.git.run("cat-file", "commit", oid, ok=(0, 128))
            header = body.stdout.split(b"\n", 1)[0].split()
            if body.returncode != 0:
                return lost
            if len(header) == 2 and header[0] == b"tree":
                tree = header[1].decode()
                if self.git.run("cat-file", "-t", tree, ok=(0, 1, 128)).returncode != 0:
                    return f"its tree {tree} is missing or corrupt"
        return None

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

    def trees_of(self, commits: Sequence[str]) -> dict[str, str]:
        """Several commits' trees with one ``rev-parse``."""
        if not commits:
            return {}
        out = self.git.out("rev-parse", *(f"{c}^{{tree}}" for c in commits))
        return dict(zip(commits, out.decode().split(), strict=True))

    def write_index_tree(self) -> str:
        """The tree the index would commit (``git write-tree``); fails on unmerged entries."""
        proc = self.git.run("write-tree", ok=(0, 128))
        if proc.returncode != 0:
            raise self.git._error(("write-tree",), proc)
        return proc.stdout.decode().strip()

    def unmerged_paths(self) -> list[str]:
        # ls-files lists only the cwd's subtree, relative to it: ask for all, by full name.
        out = self.git.out("ls-files", "-u", "-z", "--full-name", "--", ":/")
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
        return DiffJob(self, cmd, *args).entries()

    def _recount_forced_binary(self, cmd: str, args: Sequence[str],
                               entries: list[RawEntry]) -> list[RawEntry]:
        """Attributes (``-diff``, ``binary``) can make git call a text file binary and count
        0 lines, and an untracked .gitattributes or ``$GIT_DIR/info/attributes`` is local
        state no other machine sees. A file is binary only when its content is (git's own
        test: a NUL in the first 8000 bytes); a text file gets its lines counted."""
        binary = [e for e in entries if e.binary]
        if not binary:
            return entries
        blobs = self._blob_heads([b for e in binary for b in (e.old_blob, e.new_blob)
                                  if b.strip("0")])
        suspects = [e for e in binary if not self._content_is_binary(e, blobs)]
        if not suspects:
            return entries
        counts = {e.path: self._text_counts(cmd, args, e.path) for e in suspects}
        return [dataclasses.replace(e, added=counts[e.path][0], removed=counts[e.path][1],
                                    binary=False) if e in suspects else e for e in entries]

    def _text_counts(self, cmd: str, args: Sequence[str], path: str) -> tuple[int, int]:
        # --numstat ignores --text when an attribute says -diff (git 2.39), a patch does not;
        # its hunk headers carry the counts, and only they start with "@@" in a -U0 patch.
        out = self.git.out(cmd, "-p", "--text", "-U0", "--no-renames", "--no-ext-diff",
                           "--no-textconv", *args, "--", top_literal(path))
        added = removed = 0
        for m in _HUNK.finditer(out):
            removed += int(m.group(1) or b"1")
            added += int(m.group(2) or b"1")
        return added, removed

    def _content_is_binary(self, entry: RawEntry, blobs: Mapping[str, bytes | None]) -> bool:
        heads = [blobs.get(b) for b in (entry.old_blob, entry.new_blob) if b.strip("0")]
        if not entry.new_blob.strip("0") and entry.new_mode.startswith("100") and self.toplevel:
            heads.append(_file_head(os.path.join(self.toplevel, entry.path)))
        # Unknown (None: too big to read, unreadable): git's answer stands.
        return any(h is None or b"\0" in h for h in heads)

    def _blob_heads(self, oids: Sequence[str]) -> dict[str, bytes | None]:
        """The first bytes of each blob small enough to read (one batch-check, one batch)."""
        unique = list(dict.fromkeys(oids))
        out = self.git.out("cat-file", "--batch-check", input="".join(
            f"{o}\n" for o in unique).encode()).decode().splitlines()
        small = [f[0] for f in (line.split() for line in out)
                 if len(f) == 3 and int(f[2]) <= BINARY_CHECK_MAX_BYTES]
        found = self.cat_objects(small)
        return {o: (v[1][:BINARY_SNIFF_BYTES] if (v := found.get(o)) else None) for o in unique}

    def untracked(self) -> list[str]:
        out = self.git.out("ls-files", "-o", "--exclude-standard", "-z", "--full-name", "--",
                           ":/")
        return [fsdecode(p) for p in zsplit(out)]

    # -- content trees (proof freshness) -------------------------------------------------
    def worktree_tree(self) -> str:
        """The tree of the tracked files as they stand in the working tree.

        Built in a throwaway copy of the index (``GIT_INDEX_FILE``, as ``git stash`` does) so
        the user's index and its lock are never touched; only objects get written. Untracked
        files are left out on purpose (README, "Proof"): a file counts once it is added, even
        as ``git add -N``, so build output and caches never change the recorded content.
        """
        # Only proof freshness in --worktree mode gets here: the hooks need neither module.
        import shutil
        import tempfile

        index = fsdecode(self.git.out("rev-parse", "--path-format=absolute", "--git-path",
                                      "index")).rstrip("\n")
        try:
            # Beside the real index: a split index finds its shared part relative to it.
            fd, tmp = tempfile.mkstemp(prefix="avorelo-index-", dir=os.path.dirname(index))
            os.close(fd)
        except OSError as e:
            raise EnvironmentFailure(f"cannot create a temporary index: {e.strerror}") from e
        try:
            try:
                # copy2 keeps the index's mtime: git's racy-git check compares file mtimes
                # with it, and a fresh mtime would make a same-second edit look clean.
                shutil.copy2(index, tmp)
            except FileNotFoundError:
                os.unlink(tmp)  # no index yet: git reads a missing index file as empty
            git = dataclasses.replace(self.git, env={**self.git.env, "GIT_INDEX_FILE": tmp})
            git.run("add", "-u", "--", ":/")
            return git.out("write-tree").decode().strip()
        except OSError as e:
            raise EnvironmentFailure(f"cannot copy the index: {e.strerror}") from e
        finally:
            for leftover in (tmp, tmp + ".lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)

    def changed_paths(self, a: str, b: str) -> list[tuple[str, str]]:
        """(status letter, path) for every path whose content differs between trees a, b."""
        out = self.git.out("diff-tree", "-r", "--no-renames", "--name-status", "-z", a, b, "--")
        fields = zsplit(out)
        return [(fields[i].decode()[:1], fsdecode(fields[i + 1]))
                for i in range(0, len(fields) - 1, 2)]

    def has_tree(self, oid: str) -> bool:
        return self.git.run("cat-file", "-e", f"{oid}^{{tree}}", ok=(0, 1, 128)).returncode == 0

    def blob_entry(self, where: str, path: str) -> BlobEntry | None:
        """The entry at exactly ``path`` in the index (``where=":"``) or a tree-ish, when it
        is a blob (a file or a symlink): its mode, id and size."""
        if where == ":":
            out = self.git.out("ls-files", "-s", "-z", "--full-name", "--", top_literal(path))
        else:
            out = self.git.out("--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree",
                               where, "--", path)
        for rec in zsplit(out):
            meta, name = rec.split(b"\t", 1)
            mode, second, third = meta.decode().split()
            oid, ok = (second, third == "0") if where == ":" else (third, second == "blob")
            if ok and fsdecode(name) == path and not mode.startswith("160"):
                size = int(self.git.out("cat-file", "-s", oid).decode().strip())
                return BlobEntry(mode=mode, oid=oid, size=size)
        return None

    def copy_blob(self, oid: str, dest: BinaryIO) -> None:
        """Stream a blob into ``dest``: a committed 1 GB log must not sit in memory."""
        argv = ["git", *PINNED_CONFIG, "cat-file", "blob", oid]
        try:
            proc = subprocess.run(argv, cwd=self.git.cwd, env=dict(self.git.env), stdout=dest,
                                  stderr=subprocess.PIPE, check=False)
        except OSError as e:
            raise EnvironmentFailure(f"cannot run git: {e}") from e
        if proc.returncode != 0:
            raise self.git._error(("cat-file", "blob"), proc)

    # -- reading files ------------------------------------------------------------------
    def list_blobs(self, where: str, *pathspecs: str) -> dict[str, str]:
        """Every file (blob) under ``pathspecs`` in the index (``where=":"``) or a tree-ish:
        path -> blob id. Submodule entries (commits) and unmerged stages are left out."""
        if where == ":":
            out = self.git.out("ls-files", "-s", "-z", "--full-name", "--",
                               *(pathspecs or (":/",)))
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
        out = self.git.out("cat-file", "--batch", input=batch_input(names))
        return parse_batch(out, names)

    # -- many commits at once (pre-push, ci) ---------------------------------------------
    def object_types(self, names: Sequence[str]) -> dict[str, tuple[str, str] | None]:
        """name -> (object id, type) through one ``cat-file --batch-check``; None when there
        is no such object. A name may be an expression: ``<id>^{commit}`` peels tags."""
        if not names:
            return {}
        if any("\n" in n for n in names):
            raise BadInputError("object name contains a newline")
        proc = self.git.run("cat-file", "--batch-check",
                            input=("\n".join(names) + "\n").encode("utf-8", "surrogateescape"))
        lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
        result: dict[str, tuple[str, str] | None] = {}
        for name, line in zip(names, lines[:len(names)], strict=True):
            # "<name> missing" / "<name> ambiguous", else "<id> <type> <size>"
            fields = line.split(" ")
            found = len(fields) == 3 and not line.endswith((" missing", " ambiguous"))
            result[name] = (fields[0], fields[1]) if found else None
        return result

    def rev_list_parents(self, *args: str) -> list[tuple[str, tuple[str, ...]]]:
        """``rev-list --parents ARGS``: (commit, its parents) in rev-list's order."""
        out = self.git.out("rev-list", "--parents", *args).decode()
        return [(ids[0], tuple(ids[1:])) for line in out.split("\n") if (ids := line.split())]

    def diff_commits(self, pairs: Sequence[tuple[str, str | None]]) -> dict[str, list[RawEntry]]:
        """Each commit against the one parent given (None: the empty tree) through one
        ``diff-tree --stdin``: commit -> what ``diff_trees(parent, commit)`` would give."""
        if not pairs:
            return {}
        lines = "".join(f"{c} {p}\n" if p else f"{c}\n" for c, p in pairs)
        out = self.git.out("diff-tree", "--stdin", "--always", "--root", "-z", "-r", "--raw",
                           "--numstat", "--no-renames", "--no-ext-diff", "--no-textconv",
                           "--full-index", input=lines.encode())
        return {c: parse_raw_numstat(b"\0".join(f) + b"\0" if f else b"")
                for c, f in _commit_blocks(out, [c for c, _ in pairs]).items()}

    def merge_own_paths(self, merges: Sequence[str]) -> dict[str, list[str]]:
        """The paths each merge changed on its own, differing from every parent (git-diff-tree
        ``-c``): what a resolution added. ``git log`` shows none of them (no ``-m``)."""
        if not merges:
            return {}
        out = self.git.out("diff-tree", "--stdin", "--always", "-c", "--name-only", "-z", "-r",
                           "--no-ext-diff", input="".join(f"{m}\n" for m in merges).encode())
        return {c: [fsdecode(p) for p in f] for c, f in _commit_blocks(out, merges).items()}

    def patch_text(self, base: str, head: str, paths: Sequence[str]) -> str:
        """The ``-U0`` patch of ``paths`` between two commits (plumbing: no diff config)."""
        out = self.git.out("diff-tree", "-p", "-r", "-U0", "--no-renames", "--no-ext-diff",
                           "--no-textconv", "--full-index", base, head, "--",
                           *(top_literal(p) for p in paths))
        return fsdecode(out)

    def remote_names(self) -> list[str]:
        return self.git.out("remote").decode("utf-8", "surrogateescape").split()

    def shallow_boundary(self) -> set[str]:
        """Commits whose parents a shallow clone does not have (``$GIT_DIR/shallow``)."""
        out = self.git.out("rev-parse", "--path-format=absolute", "--git-path", "shallow")
        try:
            with open(fsdecode(out).rstrip("\n"), encoding="ascii") as f:
                return set(f.read().split())
        except FileNotFoundError:
            return set()
        except OSError as e:
            raise EnvironmentFailure(f"cannot read the shallow file: {e.strerror}") from e

    # -- notes (receipts) ---------------------------------------------------------------
    def config_get_all(self, key: str) -> list[str]:
        proc = self.git.run("config", "--get-all", key, ok=(0, 1), pinned=False)
        return proc.stdout.decode("utf-8", "replace").splitlines()

    def config_add(self, key: str, value: str) -> None:
        self.git.run("config", "--add", key, value, pinned=False)

    def ref_commit(self, ref: str) -> str | None:
        """The commit a ref points at, or None when the ref does not exist."""
        proc = self.git.run("rev-parse", "--verify", "-q", "--end-of-options",
                            f"{ref}^{{commit}}", ok=(0, 1, 128))
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

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

    def diff_tree_entries(self, old: str | None,
                          new: str) -> list[tuple[str, str, str, str]]:
        """(status, path, old blob, new blob) of every file that differs between two trees (or
        commits); ``old`` None diffs against the empty tree."""
        out = self.git.out("diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index",
                           old or self.empty_tree, new, "--")
        fields = zsplit(out)
        entries = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=True):
            _, _, old_blob, new_blob, status = meta.decode().split(" ")
            entries.append((status[:1], fsdecode(path), old_blob, new_blob))
        return entries


def _pump(proc: subprocess.Popen[bytes], consume: Callable[[bytes], None],
          err: bytearray) -> None:
    """Both pipes at once, as communicate reads them: a chatty stderr must not block git."""
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            for key, _ in sel.select():
                chunk = os.read(key.fd, STREAM_CHUNK)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.fileobj is proc.stdout:
                    consume(chunk)
                else:
                    err += chunk


def batch_input(names: Sequence[str]) -> bytes:
    """``cat-file --batch``'s input: one name a line."""
    for name in names:
        if "\n" in name:
            raise BadInputError(f"object name contains a newline: {name!r}")
    return ("\n".join(names) + "\n").encode("utf-8", "surrogateescape")


def parse_batch(out: bytes, names: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
    """``cat-file --batch`` output: name -> (object id, content), None when missing."""
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


def _file_head(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(BINARY_SNIFF_BYTES)
    except OSError:
        return None


def parse_raw_numstat(out: bytes) -> list[RawEntry]:
    """Parse ``--raw --numstat -z --no-renames``: raw records first, then numstat records."""
    parser = RawNumstatParser()
    parser.feed(out)
    return parser.finish()


class DiffJob:
    """One ``--raw --numstat -z --no-renames`` diff, started now and read by ``entries``.

    A caller may start it before other work (``readahead``) so that git compares and counts
    while Python imports the engine; ``entries`` then streams the output. Never read, it is
    stopped by ``cancel``.
    """

    def __init__(self, repo: Repo, cmd: str, *args: str) -> None:
        self.repo, self.cmd, self.args = repo, cmd, args
        self._argv = (cmd, "-z", "--raw", "--numstat", "--no-renames", "--no-ext-diff",
                      "--no-textconv", "--full-index", *args, "--")
        self._proc: subprocess.Popen[bytes] | None = repo.git.spawn(*self._argv)

    def entries(self) -> list[RawEntry]:
        proc, self._proc = self._proc, None
        if proc is None:
            raise GitError("a diff was read twice")
        parser = RawNumstatParser()
        self.repo.git.drain(proc, self._argv, parser.feed)
        return self.repo._recount_forced_binary(self.cmd, self.args, parser.finish())

    def cancel(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with proc:
                proc.kill()


class RawNumstatParser:
    """``--raw --numstat -z --no-renames`` output, parsed chunk by chunk as git writes it.

    Git writes every raw record first, as soon as it has compared the trees (10,000 staged
    files: after ~0.1 s), and the line counts only once it has counted them all (~0.4 s
    later): the raw records are parsed while git counts. The fields seen are exactly
    ``zsplit`` of the whole output, in order, and ``finish`` gives what parsing the whole
    output at once gives. Counts are keyed by the path's bytes (decoding is one-to-one).
    """

    def __init__(self) -> None:
        self._tail = b""                 # a field not yet ended by its NUL
        self._meta: str | None = None    # a raw record, waiting for its path (the next field)
        self._raw: list[tuple[str, bytes, str, str, str, str, str]] = []
        self._counts: dict[bytes, tuple[int, int, bool]] = {}

    def feed(self, chunk: bytes) -> None:
        fields = (self._tail + chunk if self._tail else chunk).split(b"\0")
        self._tail = fields.pop()
        self._take(fields)

    def _take(self, fields: list[bytes]) -> None:
        meta, raw, counts = self._meta, self._raw, self._counts
        for rec in fields:
            if meta is not None:
                old_mode, new_mode, old_blob, new_blob, status = meta.split(" ")
                raw.append((status[:1], rec, fsdecode(rec), old_mode, new_mode, old_blob,
                            new_blob))
                meta = None
            elif rec.startswith(b":"):
                meta = rec[1:].decode()
            else:
                plus, minus, name = rec.split(b"\t", 2)
                binary = plus == b"-"
                counts[name] = (0 if binary else int(plus), 0 if binary else int(minus),
                                binary)
        self._meta = meta

    def finish(self) -> list[RawEntry]:
        if self._tail:
            self._take([self._tail])
            self._tail = b""
        if self._meta is not None:
            raise GitError("git diff output ended inside a record (truncated)")
        entries = []
        counts = self._counts
        for status, raw_path, path, old_mode, new_mode, old_blob, new_blob in self._raw:
            added, removed, is_binary = counts.get(raw_path, (0, 0, False))
            entries.append(RawEntry(status=status, path=path, old_mode=old_mode,
                                    new_mode=new_mode, old_blob=old_blob, new_blob=new_blob,
                                    added=added, removed=removed, binary=is_binary))
        return entries


def _commit_blocks(out: bytes, commits: Sequence[str]) -> dict[str, list[bytes]]:
    """Split ``diff-tree --stdin -z`` output into commit -> its records.

    Blocks come in the order the commits were asked for, each starting with the bare commit
    id. A raw record (``:``...) is followed by its path, which may look like anything, so it
    is taken with its record; only the next expected id starts the next block.
    """
    blocks: dict[str, list[bytes]] = {c: [] for c in commits}
    pending = iter(commits)
    expected = next(pending, None)
    current: list[bytes] = []
    fields = zsplit(out)
    i = 0
    while i < len(fields):
        rec = fields[i]
        if rec.startswith(b":"):
            current.extend(fields[i:i + 2])
            i += 2
            continue
        if expected is not None and rec == expected.encode():
            current = blocks[expected]
            expected = next(pending, None)
        else:
            current.append(rec)
        i += 1
    return blocks


def open_repo(cwd: str | None = None, environ: Mapping[str, str] | None = None) -> Repo:
    """The repository a command runs in (the hook's GIT_DIR / GIT_INDEX_FILE honoured)."""
    return Git.from_environ(cwd, environ).repo()
