"""``avorelo-gate demo``: the whole flow on a throwaway repository, through real hooks.

Every step says what it does and what should happen, runs real git (the installed hooks run
this same interpreter), and checks the outcome: the demo exits non-zero if anything did not
behave, so it doubles as a smoke test of an installation.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from avorelo_gate.git import no_git_env

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


POLICY = """\
version: 1
require_task: true
protected: [".github/workflows/**"]
weights:
  light:    {max_files: 5,  max_lines: 200}
  standard: {max_files: 50, max_lines: 2000}
  heavy:    {}
"""

TASK = """\
id: DEMO-1
title: Make the greeting friendlier
scope: ["src/**", "tests/**"]
forbid: ["src/secrets/**"]
budget: {max_files: 5, max_lines: 100}
risk: low
model: {weight: light, name: claude-haiku-4-5}
"""


def run_demo(keep: bool, environ: Mapping[str, str], out: TextIO) -> int:
    tmp = tempfile.mkdtemp(prefix="avorelo-demo-")
    try:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        path = os.path.join(tmp, "repo")
        os.makedirs(path)
        d = DemoRepo(path=path, env=demo_env(environ, home), out=out)
        d.say(f"avorelo-gate demo in {path}")
        for step in STEPS:
            step(d)
        d.say("")
        if d.failures:
            d.say(f"demo: {d.failures} step(s) did not behave as expected")
            return 1
        d.say("demo: every step behaved as expected")
        return 0
    finally:
        if keep:
            out.write(f"(kept {tmp})\n")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def step_setup(d: DemoRepo) -> None:
    d.step("1. A repository with a policy, a task file and the gate's git hooks")
    d.git("init", "-q", "-b", "main")
    d.git("config", "commit.gpgSign", "false")
    d.write(".avorelo/policy.yaml", POLICY)
    d.write("src/greet.py", "def greet(name):\n    return 'hi ' + name\n")
    d.write("docs/guide.md", "# Guide\n")
    d.git("add", "-A")
    d.env["AVORELO_ALLOW_POLICY_CHANGE"] = "1"
    d.expect("the first commit, carrying the policy (allowed explicitly)",
             d.git("commit", "-q", "--no-verify", "-m", "Initial commit"), 0, show=False)
    del d.env["AVORELO_ALLOW_POLICY_CHANGE"]
    d.expect("avorelo-gate install writes the hooks", d.gate("install"), 0)
    d.write(".avorelo/tasks/DEMO-1.yaml", TASK)
    d.expect("avorelo-gate validate accepts the task file",
             d.gate("validate", ".avorelo/tasks/DEMO-1.yaml"), 0)


def step_in_scope(d: DemoRepo) -> None:
    d.step("2. An agent edits a file inside the task's scope and commits: the gate passes")
    d.write("src/greet.py", "def greet(name):\n    return f'Hello, {name}!'\n")
    d.git("add", "-A")
    d.expect("git commit (hooks run)", d.git(
        "commit", "-q", "-m", "Friendlier greeting\n\nTask: DEMO-1\n"), 0)
    d.expect("the post-commit hook attached a receipt: avorelo-gate receipt show",
             d.gate("receipt", "show"), 0)


def step_out_of_scope(d: DemoRepo) -> None:
    d.step("3. The agent also edits docs/, outside the scope: the commit is blocked")
    before = d.git("rev-parse", "HEAD").stdout.strip()
    d.write("docs/guide.md", "# Guide\n\nNow with greetings.\n")
    d.write("src/greet.py", "def greet(name):\n    return f'Hello there, {name}!'\n")
    d.git("add", "-A")
    d.expect("git commit is refused by the hook",
             d.git("commit", "-q", "-m", "Greet and document\n\nTask: DEMO-1\n"), 1)
    after = d.git("rev-parse", "HEAD").stdout.strip()
    d.expect("no commit was made", subprocess.CompletedProcess([], 0 if before == after else 1,
                                                               "", ""), 0, show=False)
    d.git("restore", "--staged", "docs/guide.md")
    d.git("checkout", "--", "docs/guide.md")
    d.expect("after unstaging docs/guide.md the commit passes",
             d.git("commit", "-q", "-m", "Greet\n\nTask: DEMO-1\n"), 0)


PROOF_TASK = """\
id: DEMO-2
title: A louder greeting, with the tests run through the gate
scope: ["src/**", "tests/**"]
budget: {max_files: 5, max_lines: 100}
model: {weight: light, name: claude-haiku-4-5}
proof:
  - command: tests        # a fresh, passing `avorelo-gate prove --name tests` run
"""

# The demo's "test suite": one assertion, so the step needs nothing but this interpreter.
DEMO_TEST = ("import sys; sys.path.insert(0, 'src'); import greet; "
             "assert greet.greet('Ada').startswith('Hello'); print('1 test passed')")


def step_proof(d: DemoRepo) -> None:
    d.step("Proof: the task owes a passing `tests` run on exactly the committed content")
    prove = [sys.executable, "-m", "avorelo_gate", "prove", "--name", "tests", "--",
             sys.executable, "-c", DEMO_TEST]
    message = "Louder greeting\n\nTask: DEMO-2\n"
    d.write(".avorelo/tasks/DEMO-2.yaml", PROOF_TASK)
    d.write("src/greet.py", "def greet(name):\n    return f'Hello, {name}!!'\n")
    d.git("add", "-A")
    d.expect("avorelo-gate prove --name tests -- python -c '<the tests>'", d.run(prove), 0)
    d.expect("git commit passes: the tests ran on exactly this content",
             d.git("commit", "-q", "-m", message), 0)
    d.write("src/greet.py", "def greet(name):\n    return f'Hello, {name}!!!'\n")
    d.git("add", "-A")
    refused = d.git("commit", "-q", "-m", message)
    d.expect("an edit after the tests: the commit is refused", refused, 1)
    named = "proof-stale" in refused.stdout and "src/greet.py was edited" in refused.stdout
    d.expect("the verdict is proof-stale and names src/greet.py",
             subprocess.CompletedProcess([], 0 if named else 1, "", ""), 0, show=False)
    d.expect("prove again on the edited content", d.run(prove), 0)
    d.expect("now the commit passes", d.git("commit", "-q", "-m", message), 0)


NEXT_TASK = """\
id: DEMO-3
title: Greet in French too
scope: ["src/**"]
budget: {max_files: 2, max_lines: 40}
risk: low
"""


def step_route(d: DemoRepo) -> None:
    d.step("Routing: which model weight for the next task, from the receipts so far")
    d.write(".avorelo/tasks/DEMO-3.yaml", NEXT_TASK)
    root = d.git("rev-list", "--max-parents=0", "HEAD").stdout.strip()
    d.expect("every commit since the hooks went in has a valid receipt: receipt verify",
             d.gate("receipt", "verify", f"{root}..HEAD"), 0)
    d.expect("avorelo-gate route --task DEMO-3", d.gate("route", "--task", "DEMO-3"), 0)


STEPS = [step_setup, step_in_scope, step_out_of_scope, step_proof, step_route]
