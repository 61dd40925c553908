"""Running git: one argv, pinned config, the caller's environment, errors as our own.

Every call is an argv list with NUL-separated output, pinned config and no external diff
drivers, so that a user's git config can never change a verdict. Inside a hook git exports
GIT_DIR and GIT_INDEX_FILE (relative to the hook's cwd, and a temporary index for
``commit -- path``); they are honoured for the repository being checked because we keep the
environment and cwd we were given. Any other repository (the demo's, the tests') gets an
environment stripped of them (``no_git_env``).
"""
from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
from collections.abc import Callable, Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import EnvironmentFailure, GitError, NotARepositoryError

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


def first_line(stderr: bytes) -> str:
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
        msg = first_line(proc.stderr)
        if "not a git repository" in msg:
            return NotARepositoryError(f"not a git repository: {msg}")
        if "dubious ownership" in msg:
            return GitError(f"git refuses this repository ({msg}); "
                            "To fix: git config --global --add safe.directory <path>")
        cmd = " ".join(a for a in args if not a.startswith("-"))[:60]
        return GitError(f"git {cmd} failed (exit {proc.returncode}): {msg}")

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

