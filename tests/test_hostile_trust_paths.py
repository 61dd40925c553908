"""Hostile scenarios, paths, patterns and hook arguments (issue 12): case and Unicode variants
of protected and forbidden names, patterns that would make a backtracking matcher hang,
repeated patterns, and ``git commit`` spellings of ``--amend``. Each through a real
``git commit`` with the hooks, a real ``git push`` and ``ci``, verdicts compared.
"""
from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest
from three_points import HOOK_ENV, Scene

POLICY = 'version: 1\nprotected: ["ci/**", "docs/é/**"]\n'
TASK = 'id: T-1\nscope: ["src/**", "docs/**", "ci/**", "CI/**"]\nforbid: ["src/auth/keys/**"]\n'


@pytest.fixture
def scene(make_repo, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    return Scene.build(make_repo, tmp_path, {".avorelo/policy.yaml": POLICY,
                                             ".avorelo/task.yaml": TASK,
                                             "src/a.py": "a\n"})


@pytest.mark.parametrize(("path", "rule"), [
    ("src/Auth/keys/signing.pem", "forbidden"),
    ("SRC/AUTH/KEYS/signing.pem", "forbidden"),
    ("src/auth/KEYS/x", "forbidden"),
    ("CI/run.sh", "protected"),
    ("Ci/Run.sh", "protected"),
    (unicodedata.normalize("NFD", "docs/é/guide.md"), "protected"),
    (unicodedata.normalize("NFD", "docs/É/guide.md"), "protected"),
    (".Avorelo/policy.yaml", "policy-changed"),
])
def test_case_and_unicode_variants_of_guarded_paths_fail_everywhere(
        scene: Scene, path: str, rule: str) -> None:
    made = scene.commit_hooks({path: "x\n"}, "change\n\nTask: T-1")
    assert made.code == 1, made.output
    scene.commit({path: "x\n"}, "change\n\nTask: T-1")      # the commit, hooks skipped
    points = scene.three("main", commit=made)
    points.all_fail_with(rule)


def test_exact_spelling_of_an_unguarded_path_passes_everywhere(scene: Scene) -> None:
    made = scene.commit_hooks({"src/auth/notkeys/x": "x\n"}, "change\n\nTask: T-1")
    scene.three("main", commit=made).all_pass()


def test_scope_stays_exact(scene: Scene) -> None:
    # Scope is not folded: "Src/" is not "src/" (and not in the task's scope).
    made = scene.commit_hooks({"Src/b.py": "b\n"}, "change\n\nTask: T-1")
    assert made.code == 1 and "out-of-scope" in made.rules, made.output


# -- patterns ---------------------------------------------------------------------------------
LONG = "a" * 200


@pytest.mark.parametrize("pattern", ["*a*a*a*a*a*a*a*a*b", "**/*a*a*a*a*a*a*a*a*a*a*a*b/**",
                                     "src/" + "?*" * 40 + "b"])
def test_pattern_written_by_the_change_cannot_hang_any_point(scene: Scene,
                                                              pattern: str) -> None:
    # The change writes the pattern itself (a Task-Scope trailer) and a long name: with a
    # backtracking matcher each point would run for hours.
    start = time.monotonic()
    made = scene.commit_hooks({f"src/{LONG}": "x\n"}, f"change\n\nTask-Scope: {pattern}")
    assert made.code == 1 and "out-of-scope" in made.rules, made.output
    scene.commit({f"src/{LONG}": "x\n"}, f"change\n\nTask-Scope: {pattern}")
    points = scene.three("main", commit=made)
    points.all_fail_with("out-of-scope")
    verified = scene.work.gate("receipt", "verify", "HEAD")
    assert verified.returncode in (0, 1), verified.stderr
    assert time.monotonic() - start < 120


@pytest.mark.parametrize(("trailer", "passes"), [
    ("src/a/**, !src/a/x, src/a/**", True),
    ("src/a/**, !src/a/x", False),
    ("src/a/**, !src/a/x, src/a/**, !src/a/x", False),
])
def test_repeated_patterns_keep_their_meaning_everywhere(scene: Scene, trailer: str,
                                                         passes: bool) -> None:
    made = scene.commit_hooks({"src/a/x": "x\n"}, f"change\n\nTask-Scope: {trailer}")
    assert made.code == (0 if passes else 1), made.output
    if made.code:
        scene.commit({"src/a/x": "x\n"}, f"change\n\nTask-Scope: {trailer}")
    points = scene.three("main", commit=made)
    if passes:
        points.all_pass()
    else:
        points.all_fail_with("out-of-scope")


# -- hook arguments: every spelling of --amend ------------------------------------------------
@pytest.mark.parametrize("spelling", [
    ["-u", "--amend"], ["-uno", "--amend"], ["--untracked-files", "--amend"],
    ["-qu", "--amend"], ["--amen"], ["-a", "-u", "--am"], ["--mess=x", "-u", "--amend"],
])
def test_amend_spellings_check_the_whole_amended_commit(scene: Scene,
                                                        spelling: list[str]) -> None:
    # HEAD slipped in an out-of-scope file without hooks; amending it with an in-scope change
    # must be judged against HEAD's parent, whatever the spelling of --amend.
    sneaky = scene.commit({"outside.md": "x\n"}, "sneaky")
    scene.work.write("src/a.py", "fix\n")
    scene.work.git("add", "src/a.py")
    edit = [] if any(a.startswith("--mess") for a in spelling) else ["--no-edit"]
    made = scene.work.git("commit", *spelling, *edit, check=False, env=HOOK_ENV)
    text = (made.stdout + made.stderr).decode()
    assert made.returncode == 1, text
    assert "outside.md: out-of-scope" in text
    assert scene.rev("HEAD") == sneaky


def test_untracked_files_value_is_not_an_amend(scene: Scene) -> None:
    # "-u" takes no separate value: "-u no" is -u plus a pathspec, never an amend.
    scene.commit({"outside.md": "x\n"}, "sneaky")
    scene.work.write("src/a.py", "fix\n")
    scene.work.git("add", "src/a.py")
    made = scene.work.git("commit", "-u", "-m", "fix\n\nTask: T-1", check=False, env=HOOK_ENV)
    assert made.returncode == 0, (made.stdout + made.stderr).decode()
