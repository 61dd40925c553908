"""After a rebase the receipts follow the new commits; where a proof went stale the messages
say what to run, and following them literally ends in a passing receipt, push and ``ci``."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import GitRepo
from test_adoption import sh

POLICY = "version: 1\nrequire_task: true\nreceipts: {required: true}\n"
TASK = "id: T-1\nscope: ['src/**']\nproof:\n  - command: tests\n"
TESTS = f"{sys.executable} -c 'print(1)'"


def test_rebase_then_prove_then_receipt_record_as_told(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work: GitRepo = make_repo("work")
    work.write(".avorelo/policy.yaml", POLICY)
    work.write(".avorelo/tasks/T-1.yaml", TASK)
    work.write("src/a.py", "a = 1\n")
    work.add()
    work.commit("base")
    work.git("remote", "add", "origin", str(remote))
    work.git("push", "-q", "origin", "main")
    assert sh(work.path, "avorelo-gate install").returncode == 0
    work.git("switch", "-q", "-c", "feature")
    work.write("src/a.py", "a = 2\n")
    work.git("add", "src/a.py")
    assert sh(work.path, f"avorelo-gate prove --name tests -- {TESTS}").returncode == 0
    made = sh(work.path, "git commit -q -m 'Two\n\nTask: T-1'")
    assert made.returncode == 0, made.stdout
    work.git("switch", "-q", "main")       # meanwhile, main moves on (already reviewed work)
    work.write("src/b.py", "b = 1\n")
    work.add()
    work.commit("elsewhere")
    work.git("push", "-q", "--no-verify", "origin", "main")
    work.git("switch", "-q", "feature")

    rebased = sh(work.path, "git rebase -q main")
    assert rebased.returncode == 0, rebased.stdout
    told = re.search(r"proof-stale: .*To fix: run it again on this content: "
                     r"(avorelo-gate prove .*?), then record it again: "
                     r"(avorelo-gate receipt record [0-9a-f]+)$", rebased.stdout, re.M)
    assert told, rebased.stdout
    proved = sh(work.path, told.group(1))
    assert proved.returncode == 0, proved.stdout
    assert "record it again: avorelo-gate receipt record" in proved.stdout
    recorded = sh(work.path, told.group(2))
    assert recorded.returncode == 0, recorded.stdout
    assert " pass (T-1)" in recorded.stdout
    verified = sh(work.path, "avorelo-gate receipt verify")
    assert verified.returncode == 0
    assert "consistent, verdict pass" in verified.stdout
    pushed = sh(work.path, "git push origin feature refs/notes/avorelo")
    assert pushed.returncode == 0, pushed.stdout
    ci = sh(work.path, "avorelo-gate ci --base main --head feature")
    assert ci.returncode == 0, ci.stdout


def test_receipt_verify_names_consistency_and_the_recorded_verdict(repo: GitRepo) -> None:
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: ['src/**']\n")
    repo.write("src/a.py")
    repo.add()
    repo.commit("base\n\nTask: T-1")
    repo.write("docs/x.md")
    repo.add()
    repo.commit("out of scope\n\nTask: T-1")            # --no-verify: a failing commit
    assert repo.gate("receipt", "record", "HEAD~1").returncode == 0
    assert repo.gate("receipt", "record", "HEAD").returncode == 0
    proc = repo.gate("receipt", "verify", "HEAD~1..HEAD")
    assert proc.returncode == 0                         # consistent: what verify judges
    assert re.search(r"^[0-9a-f]{12}: consistent, verdict fail \(", proc.stdout, re.M)
    assert "1 valid (consistent with the commit: 1 verdict fail)" in proc.stdout
    verdicts = [json.loads(repo.gate("receipt", "verify", rev, "--format", "json").stdout)
                ["commits"][0]["recorded_verdict"] for rev in ("HEAD~1", "HEAD")]
    assert verdicts == ["pass", "fail"]
