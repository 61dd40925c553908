"""The demo's throwaway repository: a hermetic git, a narrator, and a check of every step."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.git.process import no_git_env

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import TextIO

# The folder that holds the package: the demo's hooks import this very copy of it.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class DemoRepo:
    path: str
    env: dict[str, str]
    out: TextIO
    failures: int = 0

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def run(self, argv: Sequence[str],
            input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(list(argv), cwd=self.path, env=self.env, input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        return subprocess.CompletedProcess(proc.args, proc.returncode,
                                           proc.stdout.decode("utf-8", "replace"), "")

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["git", *args])

    def gate(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "avorelo_gate", *args])

    def write(self, rel: str, text: str) -> None:
        full = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)

    def expect(self, what: str, proc: subprocess.CompletedProcess[str], code: int,
               show: bool = True) -> bool:
        ok = proc.returncode == code
        if show and proc.stdout.strip():
            for line in proc.stdout.rstrip().splitlines():
                self.say(f"    | {line}")
        self.say(f"  {'ok' if ok else 'UNEXPECTED'}: {what} (exit {proc.returncode}"
                 f"{'' if ok else f', expected {code}'})")
        if not ok:
            self.failures += 1
        return ok

    def step(self, title: str) -> None:
        self.say(f"\n== {title}")


def demo_env(environ: Mapping[str, str], home: str) -> dict[str, str]:
    """A hermetic git for the throwaway repo: none of the user's config (signing, hooksPath,
    templates) and none of the hook environment of whatever repo we were started from."""
    env = no_git_env(environ)
    env.update({
        "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TEMPLATE_DIR": "", "GIT_AUTHOR_NAME": "Demo Agent",
        "GIT_AUTHOR_EMAIL": "agent@example.org", "GIT_COMMITTER_NAME": "Demo Agent",
        "GIT_COMMITTER_EMAIL": "agent@example.org", "NO_COLOR": "1",
        "AVORELO_GATE_PYTHON": sys.executable,
        "PYTHONPATH": PACKAGE_PARENT + os.pathsep + environ.get("PYTHONPATH", ""),
    })
    for key in ("AVORELO_TASK", "AVORELO_MODEL", "AVORELO_MODEL_WEIGHT",
                "AVORELO_ALLOW_POLICY_CHANGE", "GITHUB_ACTIONS"):
        env.pop(key, None)
    return env
