"""A project with a bare remote and installed hooks, driven at the three points where the gate
runs: real ``git commit`` through the hooks, real ``git push`` (pre-push), and ``ci --base``.

Every commit the hooks refuse is then made with ``--no-verify`` (what an agent or a hurried
person does), so that push and ci judge the very same commits.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from conftest import ROOT, GitRepo

HOOK_ENV = {"AVORELO_GATE_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
POLICY = "version: 1\nrequire_task: true\n"


def text(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


@dataclass
class Verdicts:
    commits: list[int]                 # each commit's exit code through the hooks
    commit_output: list[str]
    push: int
    push_output: str
    ci: int
    ci_json: dict[str, Any] = field(default_factory=dict)
    ci_stderr: str = ""

    @property
    def committed_clean(self) -> bool:
        return all(code == 0 for code in self.commits)

    def ci_rules(self) -> set[tuple[str, str | None]]:
        found = {(v["rule"], v["path"]) for v in self.ci_json.get("violations", [])}
        for c in self.ci_json.get("commits", []):
            found.update((v["rule"], v["path"]) for v in c["violations"])
        return found

    def assert_same(self) -> None:
        """One verdict at the three points: pass everywhere, or refused everywhere."""
        expected = 0 if self.committed_clean else 1
        assert (self.push, self.ci) == (expected, expected), self.describe()

    def describe(self) -> str:
        return (f"commits={self.commits} push={self.push} ci={self.ci}\n"
                + "\n".join(self.commit_output) + "\n--push--\n" + self.push_output
                + "\n--ci--\n" + json.dumps(self.ci_json, indent=1)[:4000] + self.ci_stderr)


class Project:
    def __init__(self, repo: GitRepo, remote: GitRepo, policy: str | None = POLICY,
                 files: dict[str, str] | None = None) -> None:
        self.repo, self.remote = repo, remote
        if policy is not None:
            repo.write(".avorelo/policy.yaml", policy)
        for rel, content in (files or {"README.md": "hello\n"}).items():
            repo.write(rel, content)
        repo.add()
        repo.commit("base")
        proc = repo.gate("install", env=HOOK_ENV)
        assert proc.returncode == 0, proc.stderr
        repo.git("remote", "add", "origin", str(remote.path))
        repo.git("push", "-q", "--no-verify", "origin", "main")
        repo.git("checkout", "-q", "-b", "work")
        self.codes: list[int] = []
        self.outputs: list[str] = []

    def land(self, message: str, files: dict[str, str | None] | None = None) -> None:
        """Commit on main with --no-verify and push it there (history the branch starts
        from: the remote's tip, the merge base)."""
        self.repo.git("checkout", "-q", "main")
        self._stage(files or {})
        self.repo.commit(message)
        self.repo.git("push", "-q", "--no-verify", "origin", "main")
        self.repo.git("checkout", "-q", "work")
        self.repo.git("merge", "-q", "--ff-only", "main")

    def _stage(self, files: dict[str, str | None]) -> None:
        for rel, content in files.items():
            if content is None:
                self.repo.git("rm", "-q", "--", rel)
            else:
                self.repo.write(rel, content)
        self.repo.add()

    def commit(self, message: str, files: dict[str, str | None] | None = None,
               *args: str, env: dict[str, str] | None = None) -> int:
        """A real ``git commit -F`` through the installed hooks; if refused, the same commit
        with --no-verify."""
        self._stage(files or {})
        msg = self.repo.path.parent / "MSG"
        msg.write_text(message)
        proc = self.repo.git("commit", "-F", str(msg), *args, check=False,
                             env={**HOOK_ENV, **(env or {})})
        self.codes.append(proc.returncode)
        self.outputs.append(text(proc))
        if proc.returncode != 0:
            self.repo.git("commit", "-q", "--no-verify", "-F", str(msg), *args,
                          env=env or {})
        return proc.returncode

    def push(self) -> subprocess.CompletedProcess[bytes]:
        return self.repo.git("push", "origin", "work", check=False, env=HOOK_ENV)

    def ci(self) -> subprocess.CompletedProcess[str]:
        return self.repo.gate("ci", "--base", "main", "--head", "work", "--format", "json")

    def verdicts(self) -> Verdicts:
        ci = self.ci()
        assert ci.returncode in (0, 1), ci.stderr
        push = self.push()
        return Verdicts(self.codes, self.outputs, push.returncode, text(push), ci.returncode,
                        json.loads(ci.stdout), ci.stderr)
