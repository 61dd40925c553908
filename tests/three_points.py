"""One scenario through the gate's three points, verdicts compared (issue 12).

A ``Scene`` is a working repository with the hooks ``avorelo-gate install`` writes and a
bare remote ``origin`` that already holds ``main``. A test builds its history with ordinary
git (``commit --no-verify`` for what a skipped hook lets in, ``commit-tree`` where the
issue's attacker uses it), then asks each point for its verdict:

- ``commit_hooks``: a real ``git commit`` through the installed hooks;
- ``push``: a real ``git push`` to the bare remote (the installed pre-push hook);
- ``ci``: ``avorelo-gate ci --base origin/main --format json``.

Each answer is a ``Verdict``: the exit code and the rule ids reported. ``three`` runs all
that apply and returns them together, so a test can say "the same verdict everywhere".
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT, GitRepo

from avorelo_gate.result import RULES

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
# Text reports print "path: rule: message" (report/text.py).
_RULE = re.compile(r"(?<![\w-])(" + "|".join(sorted(RULES, key=len, reverse=True)) + r"): ")


@dataclass(frozen=True)
class Verdict:
    code: int
    rules: frozenset[str]
    output: str = ""

    def __repr__(self) -> str:
        return f"Verdict({self.code}, {sorted(self.rules)})"


@dataclass(frozen=True)
class Points:
    commit: Verdict | None
    push: Verdict
    ci: Verdict

    @property
    def codes(self) -> tuple[int | None, int, int]:
        return (self.commit.code if self.commit else None, self.push.code, self.ci.code)

    def all_fail_with(self, *rules: str) -> None:
        """Every point that applies refuses (exit 1) and names each of ``rules``."""
        for name, v in (("commit", self.commit), ("push", self.push), ("ci", self.ci)):
            if v is None:
                continue
            assert v.code == 1, (name, v, v.output[-2000:])
            assert set(rules) <= v.rules, (name, v, v.output[-2000:])

    def all_pass(self) -> None:
        for name, v in (("commit", self.commit), ("push", self.push), ("ci", self.ci)):
            if v is not None:
                assert v.code == 0, (name, v, v.output[-2000:])


def rules_in(text: str) -> frozenset[str]:
    return frozenset(_RULE.findall(text))


class Scene:
    def __init__(self, work: GitRepo, remote: Path) -> None:
        self.work = work
        self.remote = remote

    @classmethod
    def build(cls, make_repo, tmp_path: Path,  # type: ignore[no-untyped-def]
              files: dict[str, str]) -> Scene:
        """``files`` committed as ``main``'s first commit and pushed before the hooks."""
        remote = tmp_path / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
        work = make_repo("work")
        work.git("checkout", "-q", "-b", "main")
        for path, content in files.items():
            work.write(path, content)
        work.add()
        work.commit("init")
        work.git("remote", "add", "origin", str(remote))
        work.git("push", "-q", "origin", "main")
        installed = work.gate("install", env=HOOK_ENV)
        assert installed.returncode == 0, installed.stderr
        return cls(work, remote)

    # -- building history ------------------------------------------------------------------
    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """A commit that skipped the hooks (``--no-verify``); None deletes a file."""
        for path, content in files.items():
            if content is None:
                self.work.git("rm", "-q", "--", path)
            else:
                self.work.write(path, content)
        self.work.add()
        return self.work.commit(message)

    def publish(self, *refspecs: str) -> None:
        """History the remote already has, pushed without our hook (it predates the test)."""
        self.work.git("push", "-q", "--no-verify", "origin", *refspecs)

    def rev(self, name: str) -> str:
        return self.work.git("rev-parse", name).stdout.decode().strip()

    # -- the three points ------------------------------------------------------------------
    def commit_hooks(self, files: dict[str, str], message: str, *args: str) -> Verdict:
        for path, content in files.items():
            self.work.write(path, content)
        if files:
            self.work.add(*files)
        proc = self.work.git("commit", "-m", message, *args, check=False, env=HOOK_ENV)
        text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        return Verdict(proc.returncode, rules_in(text), text)

    def push(self, *refspecs: str, env: dict[str, str] | None = None) -> Verdict:
        proc = self.work.git("push", "origin", *refspecs, check=False,
                             env={**HOOK_ENV, **(env or {})})
        text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        # git says "failed to push" when the hook refused: the hook's own code is not
        # passed on, so a refusal reads as 1 (the gate's "no") and a crash shows in text.
        return Verdict(0 if proc.returncode == 0 else 1, rules_in(text), text)

    def pre_push_hook(self, *refspecs: str) -> Verdict:
        """The hook's own exit code: ``git push --dry-run`` runs the hook and shows it."""
        proc = self.work.git("push", "--dry-run", "origin", *refspecs, check=False,
                             env=HOOK_ENV)
        text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        return Verdict(0 if proc.returncode == 0 else 1, rules_in(text), text)

    def ci(self, head: str = "HEAD", base: str = "origin/main",
           env: dict[str, str] | None = None) -> Verdict:
        proc = self.work.gate("ci", "--base", base, "--head", head, "--format", "json",
                              env=env)
        rules: frozenset[str] = frozenset()
        if proc.returncode in (0, 1):
            report = json.loads(proc.stdout)
            rules = frozenset(v["rule"] for v in report["violations"])
        return Verdict(proc.returncode, rules, proc.stdout + proc.stderr)

    def three(self, *refspecs: str, head: str = "HEAD",
              commit: Verdict | None = None) -> Points:
        """Push ``refspecs`` and run ``ci`` on ``head``; ``commit`` is the commit hooks'
        verdict when the scenario was a commit made through them."""
        ci = self.ci(head)
        return Points(commit, self.push(*refspecs), ci)
