"""``prove`` looks through every task file and the policy for artifacts to record; one that
does not validate is skipped with a warning naming it, the command still runs and its run is
recorded (the check refuses the file itself). Before this test only a fuzzed input reached
that path, so the coverage line moved from run to run (issue 17)."""
from __future__ import annotations

import sys

from conftest import GitRepo

PROVE = ("prove", "--name", "tests", "--", sys.executable, "-c", "print('ran')")


def test_prove_skips_an_unreadable_task_file_with_a_warning(repo: GitRepo) -> None:
    repo.write(".avorelo/tasks/T-1.yaml", "id: T-1\nscope: ['src/**']\n")
    repo.write("src/a.py", "a = 1\n")
    repo.add()
    repo.commit("init")
    clean = repo.gate(*PROVE)
    assert clean.returncode == 0, clean.stderr
    assert "warning" not in clean.stderr
    repo.write(".avorelo/tasks/BROKEN.yaml", "id: [unclosed\n")
    proc = repo.gate(*PROVE)
    assert proc.returncode == 0, proc.stderr
    assert "ran" in proc.stdout
    warnings = [ln for ln in proc.stderr.splitlines()
                if ln.startswith("avorelo-gate: prove: warning:")]
    assert len(warnings) == 1, proc.stderr
    assert "BROKEN.yaml" in warnings[0]
    assert warnings[0].endswith("(its proof artifacts are not recorded)")
    assert "Traceback" not in proc.stderr
