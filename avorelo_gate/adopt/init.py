"""``init``: the gate's starting files, and what to do next to adopt it.

Adopting is one commit that brings the policy where the base has none. The engine reads that
from the base alone (``gate.engine.adopts``), so the commit needs no flag, no variable and no
``--no-verify``, and pre-push and ``ci`` accept it the same way. Everything the gate protects
once it governs (the pre-commit framework's config among it) goes in that same commit: the
adoption commit is judged by the defaults, which protect only the policy itself.
"""
from __future__ import annotations

import os
import shlex

from avorelo_gate.errors import BadInputError
from avorelo_gate.files.atomic import write_atomic
from avorelo_gate.git.repo import Repo
from avorelo_gate.task.policy import POLICY_PATH, STARTER_POLICY, STARTER_TASK, TASKS_DIR

# A named task, not ``.avorelo/task.yaml``: a current-task file would judge every commit
# (the adoption commit too, whose pre-commit config lies outside any code scope) against a
# placeholder scope. A named one applies only where a commit, `--task` or `task start` names it.
STARTER_TASK_PATH = f"{TASKS_DIR}/TASK-1.yaml"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
ADOPT_MESSAGE = "Adopt avorelo-gate"

# (id, stage, pass_filenames, verbose): the manifest's hooks, as `repo: local` ones. The
# framework hides a passing hook's output; the commit's verdict and the push's summary say
# what to do next, so those two always show it, as the plain hooks do.
_HOOKS = (
    ("avorelo-gate", "pre-commit", False, False),
    ("avorelo-gate-prepare-commit-msg", "prepare-commit-msg", False, False),
    ("avorelo-gate-commit-msg", "commit-msg", True, True),
    ("avorelo-gate-post-commit", "post-commit", False, False),
    ("avorelo-gate-pre-push", "pre-push", False, True),
)


def pre_commit_config() -> str:
    """A config whose hooks run the ``avorelo-gate`` on PATH: it resolves with nothing but an
    installed gate (no published repository, no ``rev:`` to fetch)."""
    lines = [
        "# avorelo-gate through the pre-commit framework (written by `avorelo-gate init "
        "--pre-commit`).",
        "# `repo: local` hooks run the avorelo-gate on PATH: pip install it first (README).",
        "minimum_pre_commit_version: '3.2.0'",
        "default_install_hook_types: [" + ", ".join(s for _, s, _, _ in _HOOKS) + "]",
        "repos:",
        "  - repo: local",
        "    hooks:",
    ]
    for hook_id, stage, filenames, verbose in _HOOKS:
        lines += [f"      - id: {hook_id}",
                  f"        name: {hook_id}",
                  f"        entry: avorelo-gate hook {stage}",
                  "        language: system",
                  f"        pass_filenames: {'true' if filenames else 'false'}",
                  "        always_run: true",
                  "        require_serial: true",
                  f"        stages: [{stage}]"]
        lines += ["        verbose: true"] if verbose else []
    return "\n".join(lines) + "\n"


def init_repo(repo: Repo, pre_commit: bool = False) -> list[tuple[str, str]]:
    """Write the starting policy and task (and the pre-commit config) where absent; never
    overwrite."""
    if not repo.toplevel:
        raise BadInputError("init needs a working tree (this is a bare repository)")
    files = [(POLICY_PATH, STARTER_POLICY), (STARTER_TASK_PATH, STARTER_TASK)]
    if pre_commit:
        files.append((PRE_COMMIT_CONFIG, pre_commit_config()))
    done = []
    for rel, content in files:
        path = os.path.join(repo.toplevel, rel)
        if os.path.exists(path):
            what = "exists, left alone"
            if rel == PRE_COMMIT_CONFIG and not _mentions_gate(path):
                what += ("; add the avorelo-gate hooks to it (README, \"With the pre-commit "
                         "framework\") before the adoption commit")
            done.append((rel, what))
            continue
        write_atomic(path, content.encode())
        done.append((rel, "written"))
    return done


def _mentions_gate(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return b"avorelo-gate" in f.read(1 << 20)
    except OSError:
        return False


def adoption_pending(repo: Repo) -> list[str] | None:
    """The gate's files to put in the adoption commit, or None once HEAD has a policy."""
    if not repo.toplevel or (repo.head and repo.blob_entry(repo.head, POLICY_PATH)):
        return None
    changed = {e.path for e in repo.diff_worktree()} | set(repo.untracked())
    candidates = [POLICY_PATH, PRE_COMMIT_CONFIG]
    candidates += sorted(p for p in changed if p.startswith(TASKS_DIR + "/"))
    return [p for p in candidates
            if p in changed and os.path.exists(os.path.join(repo.toplevel, p))]


def adoption_command(files: list[str], first_commit: bool = False) -> str:
    # A repository's first commit has no base to read a policy from: it is judged by the
    # policy it brings (engine.load_policy), whose require_task wants a task.
    task = f" -m {shlex.quote('Task: TASK-1')}" if first_commit and any(
        f == STARTER_TASK_PATH for f in files) else ""
    return (f"git add -- {' '.join(shlex.quote(f) for f in files)} && "
            f"git commit -m {shlex.quote(ADOPT_MESSAGE)}{task}")


def next_steps(repo: Repo, hooks_installed: bool) -> list[str]:
    """What to run after ``init`` / ``install``: each step names the command."""
    pending = adoption_pending(repo)
    if pending is None:
        return []
    if not pending:
        return ["next: write the policy first: avorelo-gate init"]
    steps = []
    if not hooks_installed:
        framework = PRE_COMMIT_CONFIG in pending
        steps.append("next: " + ("pre-commit install   (the hooks of "
                                 f"{PRE_COMMIT_CONFIG})" if framework else
                                 "avorelo-gate install   (plain git hooks)"))
    steps.append(f"{'then' if steps else 'next'}: commit the gate's files in one adoption "
                 f"commit (it adds the policy where HEAD has none, so the hooks, pre-push and "
                 f"ci accept it): {adoption_command(pending, repo.head is None)}")
    return steps
