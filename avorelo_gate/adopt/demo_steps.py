"""The demo's steps, in order: each narrates, runs real git through the installed hooks and
checks the outcome (see ``demo_repo.DemoRepo.expect``)."""
from __future__ import annotations

import subprocess
import sys

from avorelo_gate.adopt.demo_repo import DemoRepo

POLICY = """\
version: 1
require_task: true
protected: [".github/workflows/**"]
weights:
  light:    {max_files: 5,  max_lines: 200}
  standard: {max_files: 50, max_lines: 2000}
  heavy:    {}
approvals:                  # payments code needs a named person's sign-off
  - {paths: ["src/payments/**"], approvers: ["Ada Lovelace <ada@example.org>"], count: 1}
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


PAYMENTS_TASK = """\
id: DEMO-4
title: Round payment amounts to cents
scope: ["src/payments/**"]
context:                    # what the agent was given to read, pinned to what it saw
  - {{path: docs/guide.md, blob: {guide_blob}}}
  - src/greet.py
tools: [python, pytest]     # the commands the task may use
model: {{weight: standard, name: claude-sonnet-4-5}}
"""


def step_approval(d: DemoRepo) -> None:
    d.step("Approvals: payments code needs a sign-off from someone on the policy's list")
    guide = d.git("rev-parse", "HEAD:docs/guide.md").stdout.strip()
    d.write(".avorelo/tasks/DEMO-4.yaml", PAYMENTS_TASK.format(guide_blob=guide))
    d.write("src/payments/pay.py", "def cents(x):\n    return round(x, 2)\n")
    d.git("add", "-A")
    d.expect("avorelo-gate context --task DEMO-4: what the agent was handed",
             d.gate("context", "--task", "DEMO-4"), 0)
    message = "Round payments\n\nTask: DEMO-4\nTools-Used: python\n"
    d.expect("git commit without an approval is refused (approval-missing)",
             d.git("commit", "-q", "-m", message), 1)
    d.expect("git commit with 'Approved-by: Ada Lovelace <ada@example.org>' passes",
             d.git("commit", "-q", "-m",
                   message + "Approved-by: Ada Lovelace <ada@example.org>\n"), 0)
    d.expect("its receipt lists the context, the tools and the approval",
             d.gate("receipt", "show", "HEAD"), 0)


STEPS = [step_setup, step_in_scope, step_out_of_scope, step_proof, step_approval, step_route]
