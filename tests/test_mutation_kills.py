"""Tests written to kill mutants that survived tools/mutation.py (mutation/REPORT.md), each
against behaviour the contract or the module's own promise specifies, so that it stays valid
when the code under it is rewritten."""
from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import GitRepo
from inproc import run_main

from avorelo_gate.task.scope import Matcher, match_reference


@pytest.mark.parametrize("patterns", [
    ["src/**", "# a comment line, as in a .gitignore"],
    ["# first", "src/**", "!src/keys/**", "# last"],
])
def test_matcher_skips_comment_patterns_exactly_as_pathspec(patterns: list[str]) -> None:
    """Matcher answers as pathspec's match_file (scope.py's promise); a comment pattern before
    or after the others must not end the compilation early."""
    for path in ("src/a.py", "src/keys/k.pem", "docs/a.md"):
        assert Matcher.compile(patterns).match(path) == match_reference(patterns, path), path
    assert Matcher.compile(patterns).match("src/a.py")


def test_literal_bracket_in_a_class_compiles_and_matches_as_pathspec() -> None:
    """'[[]' is a class holding '[': Python's re warns about a "possible nested set" when the
    matcher compiles its alternation; the matcher silences exactly that warning (pathspec's
    own compile may still show it) and must not fail on it."""
    import warnings

    patterns = ["docs/[[]draft]-mutation-kill.md"]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        matcher = Matcher.compile(patterns)
    assert not [w for w in shown if w.filename.endswith("scope.py")], shown
    for path in ("docs/[draft]-mutation-kill.md", "docs/d-mutation-kill.md"):
        assert matcher.match(path) == match_reference(patterns, path), path
    assert matcher.match("docs/[draft]-mutation-kill.md")


@pytest.mark.parametrize(("pattern", "problem"), [
    ("src/[x].py", None),                 # a one-character class
    ("src/[X].py", None),
    ("src/[[]x", None),                   # a class holding '['
    ("src/[]]x", None),                   # ']' first in a class is literal
    ("src/[!]]x", None),
    ("src/[^a]x", None),
    ("src/[x", "unbalanced '[' in the pattern"),
    ("src/[]", "unbalanced '[' in the pattern"),
    ("src/[!]", "unbalanced '[' in the pattern"),
    ("src/[a][]", "unbalanced '[' in the pattern"),   # the second class never closes
    ("src/[a][", "unbalanced '[' in the pattern"),    # an unclosed '[' right after a class
])
def test_bracket_classes_accepted_and_refused_on_both_sides(pattern: str,
                                                             problem: str | None) -> None:
    from avorelo_gate.task.scope import pattern_problem

    assert pattern_problem(pattern) == problem
    if problem is None:   # what is accepted means what pathspec means
        for path in ("src/x.py", "src/]x", "src/ax", "src/bx"):
            assert Matcher.compile([pattern]).match(path) == match_reference([pattern], path)


@pytest.mark.parametrize(("pattern", "problem"), [
    ("", "empty pattern"),
    ("!", "empty pattern"),
    (3, "a pattern must be a string, not int"),
    ("x" * 4097, "pattern longer than 4096 characters"),
    ("a\x1bb", "pattern contains a control character"),
    ("src\\a", "backslashes are not allowed; use '/' between directories"),
    ("C:/x", "a drive letter makes the pattern absolute; patterns are relative to the repo "
             "root"),
    ("/src", "absolute pattern; patterns are relative to the repository root (drop the '/')"),
    ("src/../x", "'..' is not allowed; patterns cannot leave the repository"),
    ("./src", "'.' components never match; write the path without './'"),
    ("src/[x", "unbalanced '[' in the pattern"),
])
def test_pattern_problem_says_exactly_what_is_wrong(pattern: object, problem: str) -> None:
    """The reason is the one line a person reads to fix a task file (exit 2): pinned word for
    word, each kind on its own."""
    from avorelo_gate.task.scope import pattern_problem

    assert pattern_problem(pattern) == problem



def _task_scope_check(repo: GitRepo, pattern: str) -> Any:
    repo.write("README.md", "hello\n")
    repo.add()
    repo.commit("base")
    repo.write(".avorelo/task.yaml", f"id: T-1\nscope: [{json.dumps(pattern)}]\n")
    repo.write("src/a.py")
    repo.add()
    return run_main("check", cwd=repo.path)


def test_a_pattern_re2_cannot_take_is_bad_input_naming_it(repo: GitRepo) -> None:
    """'[[:foo:]]' is a class to pathspec and Python's re, an unknown POSIX class to RE2: the
    gate cannot match it the way pathspec would, so it refuses the pattern by name (exit 2)."""
    from conftest import assert_clean_error

    assert_clean_error(_task_scope_check(repo, "[[:foo:]]"), 2,
                       "pattern '[[:foo:]]' cannot be matched: ")


# Found by the mutation run: a reversed range passed pattern_problem and crashed pathspec's
# re.compile (internal error, exit 3); pattern_problem now refuses it.
def test_a_reversed_range_in_a_class_is_bad_input(repo: GitRepo) -> None:
    from conftest import assert_clean_error

    proc = _task_scope_check(repo, "src/[z-a].py")
    assert_clean_error(proc, 2, "src/[z-a].py")


# Found by the mutation run: validate read patterns with pattern_problem only and said ok
# for what check refuses; it now compiles them with check's matchers.
@pytest.mark.parametrize("pattern", ["[[:foo:]]", "src/[z-a].py"])
def test_validate_refuses_what_check_refuses(repo: GitRepo, pattern: str) -> None:
    repo.write(".avorelo/task.yaml", f"id: T-1\nscope: [{json.dumps(pattern)}]\n")
    proc = run_main("validate", ".avorelo/task.yaml", cwd=repo.path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)



def test_a_list_of_comments_matches_nothing_and_writes_nothing(
        capfd: pytest.CaptureFixture[str]) -> None:
    """A scope of comments only has no pattern to add to the RE2 set: matching must not touch
    an uncompiled set (RE2 logs "Match() called before compiling" on the hook's stderr, at the
    C++ level, for every path)."""
    matcher = Matcher.compile(["# nothing in scope yet (test_mutation_kills)", ""])
    assert not matcher.match("src/a.py") and not matcher.match("")
    assert capfd.readouterr().err == ""



def test_a_pattern_re2_refuses_is_reported_once_and_quietly(
        capfd: pytest.CaptureFixture[str]) -> None:
    """RE2 must not log its own parse error to the process's stderr (C++ level, past Python's
    redirection): the gate reports the pattern once, as one line (BadInputError, exit 2)."""
    from avorelo_gate.errors import BadInputError

    with pytest.raises(BadInputError, match=r"pattern '\[\[:bar:\]\]' cannot be matched"):
        Matcher.compile(["[[:bar:]]", "# test_mutation_kills"])
    assert capfd.readouterr().err == ""


# -- gate/engine.py: every rule's exact message, hint, warning and note --------------------------
# A person (or an agent) acts on these words literally (the brief: follow every message and
# hint); each scenario pins one branch of the engine's wording, so a mutant that drops, swaps or
# garbles a message, picks the wrong hint for where the change is judged, or moves a boundary
# is caught. Exact texts, exact exit codes.
POLICY = ".avorelo/policy.yaml"
TASK = ".avorelo/task.yaml"
UNDO_RANGE = ("take it out of the commit that changed it (git rebase -i, then edit that "
              "commit) and land it under a task whose scope allows it")


def _base(repo: GitRepo, policy: str | None = None, task: str | None = None) -> None:
    if policy is not None:
        repo.write(POLICY, policy)
    if task is not None:
        repo.write(TASK, task)
    repo.write("README.md", "hello\n")
    repo.add()
    repo.commit("base")


def _stage(repo: GitRepo, *files: str, lines: int = 1) -> None:
    for rel in files:
        repo.write(rel, "".join(f"{rel} {i}\n" for i in range(lines)))
    repo.add()


def _judge(repo: GitRepo, *args: str, msg: str | None = None,
           env: dict[str, str] | None = None) -> dict[str, Any]:
    if msg is not None:
        path = repo.path.parent / "COMMIT_MSG"
        path.write_text(msg)
        args = (*args, "--message-file", str(path))
    proc = run_main("check", "--format", "json", *args, cwd=repo.path, env=env)
    result: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == (0 if result["verdict"] == "pass" else 1), proc.stderr
    result["violations"] = [(v["rule"], v["path"], v["message"], v["hint"])
                            for v in result["violations"]]
    result.setdefault("notes", [])
    return result


def test_engine_policy_changed_exact_and_under_a_case_variant(repo: GitRepo) -> None:
    _base(repo, "require_task: false\n")
    repo.write(POLICY, "require_task: true\n")
    repo.write(".AVORELO/Policy.yaml", "require_task: false\n")   # lands on it elsewhere
    repo.add()
    hint = ("change the policy in a change of its own, with --allow-policy-change (or "
            "AVORELO_ALLOW_POLICY_CHANGE=1) set by a maintainer")
    result = _judge(repo)
    assert sorted(result["violations"]) == [
        ("policy-changed", ".AVORELO/Policy.yaml", "the policy is not part of any task", hint),
        ("policy-changed", POLICY, "the policy is not part of any task", hint)]
    allowed = _judge(repo, "--allow-policy-change")
    assert allowed["verdict"] == "pass" and allowed["violations"] == []
    # not adoption: the base has a policy
    assert not [n for n in allowed["notes"] if n.startswith("adopting")]


def test_engine_adoption_note_only_for_the_exact_policy_path_added(repo: GitRepo) -> None:
    from avorelo_gate.gate.engine import ADOPTION_NOTE

    _base(repo)
    repo.write(POLICY, "require_task: false\n")
    repo.add()
    result = _judge(repo)
    assert result["verdict"] == "pass" and result["violations"] == []
    assert ADOPTION_NOTE in result["notes"]
    assert ADOPTION_NOTE.startswith("adopting avorelo-gate: this change adds "
                                    ".avorelo/policy.yaml where its base has none")
    repo.git("reset", "-q")
    repo.git("clean", "-qfdx")
    repo.write(".AVORELO/policy.yaml", "require_task: false\n")   # a case variant is no adoption
    repo.add()
    variant = _judge(repo)
    assert variant["violations"] == [
        ("policy-changed", ".AVORELO/policy.yaml", "the policy is not part of any task",
         "change the policy in a change of its own, with --allow-policy-change (or "
         "AVORELO_ALLOW_POLICY_CHANGE=1) set by a maintainer")]
    assert ADOPTION_NOTE not in variant["notes"]


def test_engine_scope_forbid_protected_exact_in_each_mode(repo: GitRepo) -> None:
    _base(repo, 'require_task: true\nprotected: ["secret/**"]\n',
          'id: T-1\nscope: ["src/**"]\nforbid: ["src/keys/**"]\n')
    _stage(repo, "src/a.py", "src/keys/k", "docs/a.md", "secret/s")
    staged = _judge(repo)
    assert staged["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         "if task T-1 needs it, add 'docs/a.md' to scope in .avorelo/task.yaml, in a commit "
         "of its own (task files only) first; otherwise unstage it: git restore --staged -- "
         "docs/a.md"),
        ("protected", "secret/s", "protected by the policy; no task may touch it",
         "unstage it: git restore --staged -- secret/s"),
        ("forbidden", "src/keys/k", "forbidden by task T-1 (.avorelo/task.yaml)",
         "unstage it: git restore --staged -- src/keys/k")]
    worktree = _judge(repo, "--worktree")
    assert worktree["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         "if task T-1 needs it, add 'docs/a.md' to scope in .avorelo/task.yaml, in a commit "
         "of its own (task files only) first; otherwise undo the change to it: git restore "
         "--staged --worktree -- docs/a.md (delete it if it is new)"),
        ("protected", "secret/s", "protected by the policy; no task may touch it",
         "undo the change to it: git restore --staged --worktree -- secret/s (delete it if it "
         "is new)"),
        ("forbidden", "src/keys/k", "forbidden by task T-1 (.avorelo/task.yaml)",
         "undo the change to it: git restore --staged --worktree -- src/keys/k (delete it if "
         "it is new)")]
    repo.commit("work")
    ranged = _judge(repo, "--range", "HEAD~1..HEAD")
    assert ranged["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         "if task T-1 needs it, add 'docs/a.md' to scope in .avorelo/task.yaml on the target "
         "branch first; otherwise " + UNDO_RANGE),
        ("protected", "secret/s", "protected by the policy; no task may touch it", UNDO_RANGE),
        ("forbidden", "src/keys/k", "forbidden by task T-1 (.avorelo/task.yaml)", UNDO_RANGE)]


def test_engine_unnamed_task_and_trailer_scope_hints(repo: GitRepo) -> None:
    _base(repo, None, 'scope: ["src/**"]\nforbid: ["src/keys/**"]\n')
    _stage(repo, "src/a.py", "src/keys/k", "docs/a.md")
    unnamed = _judge(repo)
    assert unnamed["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task (unnamed)",
         "if task (unnamed) needs it, add 'docs/a.md' to scope in .avorelo/task.yaml, in a "
         "commit of its own (task files only) first; otherwise unstage it: git restore "
         "--staged -- docs/a.md"),
        ("forbidden", "src/keys/k", "forbidden by task (unnamed) (.avorelo/task.yaml)",
         "unstage it: git restore --staged -- src/keys/k")]
    # the task file allows src/b.py, the commit's own Task-Scope: leaves it out
    _stage(repo, "src/b.py")
    narrowed = _judge(repo, msg="S\n\nTask-Scope: src/a.py, docs/**\n")
    assert ("out-of-scope", "src/b.py", "outside the scope of task (unnamed)",
            "the commit's Task-Scope: trailer leaves it out of this commit: unstage it: git "
            "restore --staged -- src/b.py") in narrowed["violations"]


def test_engine_trailer_only_task_hints_and_missing_file(repo: GitRepo) -> None:
    _base(repo)
    _stage(repo, "src/a.py", "docs/a.md")
    trailer = _judge(repo, msg="S\n\nTask: NEW-9\nTask-Scope: src/**\n")
    assert trailer["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task NEW-9",
         "add 'docs/a.md' to the commit's Task-Scope: trailer if the task needs it, or "
         "unstage it: git restore --staged -- docs/a.md")]
    assert trailer["warnings"] == []
    missing = _judge(repo, msg="S\n\nTask: NEW-9\n")
    assert missing["verdict"] == "pass"
    assert missing["warnings"] == [
        "task NEW-9: .avorelo/tasks/NEW-9.yaml does not exist, so the task declares no scope: "
        "no path is checked against it"]


def test_engine_no_task_variants_exact(repo: GitRepo) -> None:
    _base(repo, "require_task: true\n")
    _stage(repo, "src/a.py")
    plain = _judge(repo)
    assert plain["violations"] == [
        ("no-task", None, "no task declared, and the policy requires one",
         "add a 'Task: <ID>' trailer to the commit message, naming .avorelo/tasks/<ID>.yaml "
         "(avorelo-gate init writes .avorelo/tasks/TASK-1.yaml), or declare a current task in "
         ".avorelo/task.yaml")]
    scope_only = _judge(repo, msg="S\n\nTask-Scope: src/**\n")
    assert scope_only["violations"] == [
        ("no-task", None, "Task-Scope: trailers narrow a task but do not name one, and the "
         "policy requires a task", "add a 'Task: <ID>' trailer naming the task")]
    missing = _judge(repo, msg="S\n\nTask: NEW-9\n")
    assert missing["violations"] == [
        ("no-task", None, "task NEW-9: .avorelo/tasks/NEW-9.yaml does not exist, so the task "
         "declares no scope, and the policy requires a task",
         "create .avorelo/tasks/NEW-9.yaml (its id, scope and proof) in a planning commit, or "
         "name an existing task")]
    assert missing["warnings"] == []   # the violation says it; no second warning
    repo.write(TASK, 'scope: ["src/**"]\n')
    repo.add()
    repo.commit("an unnamed task")
    _stage(repo, "src/b.py")
    no_id = _judge(repo)
    assert no_id["violations"] == [
        ("no-task", TASK, ".avorelo/task.yaml has no id, and the policy requires a task with "
         "an id", "add 'id: <ID>' to .avorelo/task.yaml")]


def test_engine_task_with_no_scope_key_warns_every_path_in_scope(repo: GitRepo) -> None:
    _base(repo, None, "id: T-1\n")
    _stage(repo, "docs/a.md")
    result = _judge(repo)
    assert result["verdict"] == "pass"
    assert result["warnings"] == [
        "task T-1 declares no scope (.avorelo/task.yaml has no scope: key): every path is in "
        "scope"]
    assert result["notes"] == []


def test_engine_notes_checked_paths_empty_change_and_planning(repo: GitRepo) -> None:
    _base(repo, "require_task: true\n", 'id: T-1\nscope: ["src/**"]\n')
    assert _judge(repo)["notes"] == ["nothing to check: the change touches no path"]
    _stage(repo, "src/a.py", "src/b.py")
    assert _judge(repo)["notes"] == ["2 path(s) checked against the scope of task T-1"]
    repo.git("reset", "-q")
    repo.write(TASK, 'id: T-1\nscope: ["src/a.py"]\n')   # planning: task files only
    repo.git("add", TASK)
    planning = _judge(repo)
    assert planning["verdict"] == "pass" and planning["violations"] == []
    assert planning["notes"] == [
        "planning: the change touches task files only, so it needs no task of its own",
        "1 path(s) checked against the scope of task T-1"]


@pytest.mark.parametrize("refuse", [False, True])
def test_engine_self_declared_task_note_or_violation(repo: GitRepo, refuse: bool) -> None:
    _base(repo, "self_declared_tasks: refuse\n" if refuse else "require_task: false\n")
    repo.write(".avorelo/tasks/T-2.yaml", 'id: T-2\nscope: ["src/**"]\n')
    text = ("task T-2 is self-declared: .avorelo/tasks/T-2.yaml is not in the base, so the "
            "change wrote its own rules")
    repo.add()
    planning = _judge(repo, msg="S\n\nTask: T-2\n")   # the task file alone: planning, a note
    assert planning["violations"] == [] and text in planning["notes"]
    _stage(repo, "src/a.py")
    work = _judge(repo, msg="S\n\nTask: T-2\n")
    if refuse:
        assert work["violations"] == [
            ("task-self-declared", ".avorelo/tasks/T-2.yaml",
             text + " (the policy says self_declared_tasks: refuse)",
             "land the task file on its own first (a planning commit merged before the work), "
             "then do the work under it")]
        assert text not in work["notes"]
    else:
        assert work["violations"] == [] and text in work["notes"]


def test_engine_budget_messages_exact(repo: GitRepo) -> None:
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\nbudget: {max_files: 1, max_lines: 2}\n')
    _stage(repo, "src/a.py", "src/b.py", lines=2)
    result = _judge(repo)
    assert result["violations"] == [
        ("budget-files", None, "2 files changed; the task's budget is 1",
         "split the change into smaller commits"),
        ("budget-lines", None, "4 lines changed (+4 -0); the task's budget is 2",
         "split the change into smaller commits")]


@pytest.mark.parametrize(("files", "lines", "over"), [
    (6, 1, "6 files > 5"),
    (1, 201, "201 lines > 200"),
    (6, 40, "6 files > 5, 240 lines > 200"),
])
def test_engine_weight_budget_message_exact(repo: GitRepo, files: int, lines: int,
                                            over: str) -> None:
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\nmodel: {weight: light}\n')
    _stage(repo, *[f"src/f{i}.py" for i in range(files)], lines=lines)
    result = _judge(repo)
    assert [v for v in result["violations"] if v[0] == "weight-budget"] == [
        ("weight-budget", None, f"a light model may not land this change: {over} (declared by "
         "task-file)", "split the change, or declare a heavier weight (Model-Weight: trailer) "
         "if a heavier model did the work")]


HEAVY = ("a heavy model was declared for a change that fits the light budget: consider a "
         "lighter weight for work like this")


@pytest.mark.parametrize(("light", "files", "lines", "warns"), [
    ("{max_files: 2, max_lines: 6}", 2, 3, True),     # both limits exactly met
    ("{max_files: 2, max_lines: 6}", 3, 1, False),    # one file over
    ("{max_files: 2, max_lines: 6}", 2, 4, False),    # two lines over
    ("{max_files: 2}", 2, 50, True),                  # no line limit
    ("{max_lines: 6}", 6, 1, True),                   # no file limit
])
def test_engine_heavy_on_a_light_sized_change_warns_on_both_sides(
        repo: GitRepo, light: str, files: int, lines: int, warns: bool) -> None:
    _base(repo, f"weights:\n  light: {light}\n  heavy: {{}}\n",
          'id: T-1\nscope: ["src/**"]\nmodel: {weight: heavy}\n')
    _stage(repo, *[f"src/f{i}.py" for i in range(files)], lines=lines)
    result = _judge(repo)
    assert result["verdict"] == "pass"
    assert result["warnings"] == ([HEAVY] if warns else [])


def test_engine_heavy_warning_needs_a_change(repo: GitRepo) -> None:
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\nmodel: {weight: heavy}\n')
    assert _judge(repo)["warnings"] == []


def _lines(proc: Any) -> list[str]:
    return [line.strip() for line in proc.stdout.splitlines()]


def test_engine_pre_commit_defers_and_says_what_it_checked(repo: GitRepo) -> None:
    """At pre-commit the message does not exist yet: with no task known the engine defers
    scope, forbid, budgets and proof (protected paths still fail); with a task named by the
    environment but no file, no-task waits for commit-msg, where the message may still give
    the task its scope."""
    _base(repo, 'require_task: true\nprotected: ["secret/**"]\n')
    _stage(repo, "src/a.py")
    deferred = run_main("hook", "pre-commit", cwd=repo.path)
    assert deferred.returncode == 0, deferred.stdout
    assert ("note: the task is not known yet: the commit message may still declare one (its "
            "Task: trailer picks the task), so protected paths and the policy are checked now "
            "and scope, forbid, budgets and proof at commit-msg") in _lines(deferred)
    env = {"AVORELO_TASK": "NEW-9"}
    named = run_main("hook", "pre-commit", cwd=repo.path, env=env)
    assert named.returncode == 0, named.stdout
    assert "note: no task declared yet: the commit message may still declare one" in \
        _lines(named)
    assert not [ln for ln in _lines(named) if ln.startswith(("warning:", "no-task"))]
    msg = repo.path.parent / "MSG"
    msg.write_text("S\n\nTask-Scope: src/a.py\n")
    scoped = run_main("hook", "commit-msg", str(msg), cwd=repo.path, env=env)
    assert scoped.returncode == 0, scoped.stdout
    assert ("note: task NEW-9 is self-declared: the Task-Scope: trailers of task NEW-9 is not "
            "in the base, so the change wrote its own rules") in _lines(scoped)
    msg.write_text("S\n")
    unscoped = run_main("hook", "commit-msg", str(msg), cwd=repo.path, env=env)
    assert unscoped.returncode == 1, unscoped.stdout
    assert ("no-task: task NEW-9: .avorelo/tasks/NEW-9.yaml does not exist, so the task "
            "declares no scope, and the policy requires a task") in _lines(unscoped)
    _stage(repo, "secret/s")
    protected = run_main("hook", "pre-commit", cwd=repo.path)
    assert protected.returncode == 1, protected.stdout
    assert "secret/s: protected: protected by the policy; no task may touch it" in \
        _lines(protected)


def test_engine_bad_policy_is_named_with_the_commit_it_was_read_at(repo: GitRepo) -> None:
    """The policy in force comes from the base commit, so a bad one is named with that commit
    (12 hex digits); before the first commit it comes from the change itself, named plainly."""
    repo.write(POLICY, "require_task: maybe\n")
    repo.add()
    first = run_main("check", cwd=repo.path)
    assert first.returncode == 2
    assert first.stderr.strip().splitlines() == [
        "avorelo-gate: error: .avorelo/policy.yaml: require_task: expected true or false, got "
        "a string"]
    base = repo.commit("base")
    _stage(repo, "src/a.py")
    later = run_main("check", cwd=repo.path)
    assert later.returncode == 2
    assert later.stderr.strip().splitlines() == [
        f"avorelo-gate: error: .avorelo/policy.yaml (at {base[:12]}): require_task: expected "
        "true or false, got a string"]



@pytest.mark.parametrize("staged", ["SECRET/s", "Src/Keys/k", "src/KEYS/k"])
def test_engine_protected_and_forbid_fail_closed_on_case_variants(repo: GitRepo,
                                                                  staged: str) -> None:
    """CONTRACT "Paths": protected and forbid compare case folded too (a name that lands on a
    protected file on some checkout is protected); scope stays exact."""
    _base(repo, 'protected: ["secret/**"]\n',
          'id: T-1\nscope: ["src/**", "SECRET/**", "Src/**"]\nforbid: ["src/keys/**"]\n')
    _stage(repo, staged)
    [violation] = _judge(repo)["violations"]
    assert violation[:2] == ("protected" if staged.startswith("SECRET") else "forbidden", staged)


def test_engine_widening_the_task_file_in_the_same_change_gets_the_task_file_hint(
        repo: GitRepo) -> None:
    """A task file at the base can only be narrowed by the change (CONTRACT "Who decides"): a
    path the edited file allows but the base version does not is out of scope, and the hint
    sends the person to widen the file in a commit of its own, not to a Task-Scope: trailer
    the commit does not have."""
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\n')
    repo.write(TASK, 'id: T-1\nscope: ["src/**", "docs/**"]\n')
    _stage(repo, "docs/a.md")
    assert _judge(repo)["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         "if task T-1 needs it, add 'docs/a.md' to scope in .avorelo/task.yaml, in a commit "
         "of its own (task files only) first; otherwise unstage it: git restore --staged -- "
         "docs/a.md")]


@pytest.mark.parametrize(("raw", "word"), [
    (b"docs/a b.md", "'docs/a b.md'"),
    (b"X y\x7f'\\\xff.txt", "$'X y\\x7f\\x27\\x5c\\xff.txt'"),
    (b"new\nline", "$'new\\x0aline'"),
])
def test_engine_shell_path_names_exactly_the_bytes(raw: bytes, word: str) -> None:
    """The hint's path is a shell word a person pastes: printable ASCII (space included) as it
    is, every other byte, DEL, quote and backslash as \\xHH inside $'...' (engine.shell_path)."""
    import os
    import subprocess

    from avorelo_gate.gate.engine import shell_path

    assert shell_path(os.fsdecode(raw)) == word
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True,
                            check=True).stdout
    assert echoed == raw


# -- proof/requirements.py: what `prove` looks for, and each requirement's name ---------------
# requirements_on_disk is reached by `prove`, which the tests run as a subprocess (its output is
# the command's own); these call it in-process, from a subdirectory as `prove` may be run.
def test_requirements_on_disk_reads_worktree_files_and_the_policy_at_head(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.proof.requirements import requirements_on_disk

    repo.write(POLICY, "proof:\n  - junit: head.xml\n")
    repo.write(".avorelo/tasks/BAD.yaml", "proof: 3\n")    # committed bad: read from disk only
    repo.write("sub/x", "x\n")
    repo.add()
    repo.commit("base")
    repo.write(POLICY, "proof:\n  - log: work.log\n")        # the working tree's differs
    repo.write(TASK, "id: T-1\nscope: [src/**]\n")           # a task with no proof key
    repo.write(".avorelo/tasks/T-2.yaml", "id: T-2\nscope: [src/**]\nproof:\n  - file: b.txt\n")
    repo.write(".avorelo/tasks/T-3.yaml", "id: T-3\nscope: [src/**]\nproof:\n  - file: a.txt\n")
    repo.write(".avorelo/tasks/T-4.YAML", "proof:\n  - file: upper.txt\n")   # not a task file
    repo.write(".avorelo/tasks/notes.txt", "proof:\n  - file: notes.txt\n")
    monkeypatch.chdir(repo.path / "sub")
    said: list[str] = []
    found = requirements_on_disk(open_repo(str(repo.path / "sub")), said.append)
    assert [dict(r) for r in found] == [
        {"log": "work.log"}, {"file": "b.txt"}, {"file": "a.txt"}, {"junit": "head.xml"}]
    assert said == ["prove: warning: .avorelo/tasks/BAD.yaml: proof: expected a list, got an "
                    "integer (its proof artifacts are not recorded)"]


def test_requirements_on_disk_names_a_bad_policy_and_where_it_was_read(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.proof.requirements import requirements_on_disk

    repo.write(POLICY, "proof: 3\n")
    repo.add()
    repo.commit("base")
    monkeypatch.chdir(repo.path)
    said: list[str] = []
    assert requirements_on_disk(open_repo(str(repo.path)), said.append) == []
    assert said == [f"prove: warning: {POLICY}{where}: proof: expected a list, got an integer "
                    "(its proof artifacts are not recorded)" for where in ("", " (at HEAD)")]


def test_requirement_kind_label_and_artifact() -> None:
    from avorelo_gate.errors import BadInputError
    from avorelo_gate.proof.requirements import kind_of, label_of, requirement_artifact

    for req, kind, artifact in (({"junit": "./reports//r.xml", "min_tests": 2}, "junit",
                                 "reports/r.xml"),
                                ({"command": "tests"}, "command", None),
                                ({"log": "out/./l.txt", "must_contain": "ok"}, "log",
                                 "out/l.txt"),
                                ({"file": "a/b/../c.bin"}, "file", "a/c.bin")):
        assert kind_of(req) == kind
        assert label_of(req) == f"{kind}:{req[kind]}"
        assert requirement_artifact(req) == artifact
    # What the schema lets through always names a kind; asked anyway, the answer is bad input.
    with pytest.raises(BadInputError) as e:
        kind_of({"min_tests": 2})
    assert str(e.value) == ("proof requirement {'min_tests': 2}: names none of junit, command, "
                            "log, file")


def test_requirements_of_the_task_then_the_policy_each_once() -> None:
    from avorelo_gate.proof.requirements import requirements_of
    from avorelo_gate.task.declare import ResolvedTask
    from avorelo_gate.task.policy import Policy

    shared = {"junit": "r.xml", "min_tests": 1}
    task = ResolvedTask(proof=({"command": "lint"}, {"min_tests": 1, "junit": "r.xml"}))
    policy = Policy(proof=(dict(shared), {"junit": "r.xml", "min_tests": 2}, {"log": "l"}))
    assert requirements_of(task, policy) == (
        {"command": "lint"}, {"min_tests": 1, "junit": "r.xml"},
        {"junit": "r.xml", "min_tests": 2}, {"log": "l"})
    assert requirements_of(ResolvedTask(), Policy()) == ()


# -- receipts/credit.py: what a receipt's proof may stand for ----------------------------------
# The module's promise (its docstring, CONTRACT "Receipts as evidence"): a receipt's entry is
# admitted only when its signature stands up to what is demanded, credited only to a requirement
# equal in every field that it recorded ok (never a recorded failure), and a violation is cleared
# only when every requirement under its label is ok.
HMAC = {"alg": "hmac-sha256", "keyid": "k1", "value": "00"}
GOOD = {"spec": {"junit": "r.xml", "min_tests": 2}, "status": "ok", "requirement": "junit:r.xml",
        "counts": {"tests": 3}, "sha256": "a" * 64, "tree": "t" * 40}
ENTRIES = ["not a dict", {"status": "ok"}, {"spec": "junit:r.xml", "status": "ok"}, GOOD]


def _statement(signature: dict[str, str], proof: object = ENTRIES) -> dict[str, Any]:
    return {"predicate": {"signature": signature, "proof": proof}}


@pytest.mark.parametrize(("signature", "signed", "key", "admitted"), [
    ({"alg": "none"}, False, None, True),        # nothing demanded: an unsigned note counts
    ({"alg": "none"}, True, None, False),        # the policy demands a signature
    ({"alg": "none"}, False, "s3cret", False),   # a key is set: unsigned is anyone's writing
    ({"alg": "none"}, True, "s3cret", False),
    (HMAC, False, None, True),
    (HMAC, True, None, False),                   # demanded, and no key here to check it with
    (HMAC, False, "s3cret", True),
    (HMAC, True, "s3cret", True),
])
def test_admitted_proof_only_under_the_signature_demanded(
        signature: dict[str, str], signed: bool, key: str | None, admitted: bool) -> None:
    from avorelo_gate.receipts.credit import admitted_proof

    assert admitted_proof(_statement(signature), signed, key) == ([GOOD] if admitted else [])


def test_admitted_proof_of_no_receipt_or_no_proof_is_nothing() -> None:
    from avorelo_gate.receipts.credit import admitted_proof

    assert admitted_proof(None, False, None) == []
    assert admitted_proof(_statement({"alg": "none"}, None), False, None) == []
    assert admitted_proof({"predicate": {"signature": {"alg": "none"}}}, False, None) == []


def _wanting(*proof: Any, violations: tuple[Any, ...] = ()) -> Any:
    from avorelo_gate.result import CheckResult, DiffSummary

    return CheckResult(base="b" * 40, head="h" * 40, label="h" * 40, task=None, model=None,
                       diff=DiffSummary(1, 1, 0), violations=violations, proof=proof)


def test_credit_counts_ok_only_what_the_receipt_recorded_ok_in_every_field() -> None:
    from avorelo_gate.receipts.credit import credit
    from avorelo_gate.result import ProofStatus, Violation

    spec = GOOD["spec"]
    done = ProofStatus("command:lint", "ok", "ran", spec={"command": "lint"})
    junit = ProofStatus("junit:r.xml", "missing", "no run", spec=spec)
    weaker = ProofStatus("junit:r.xml", "missing", "no run", spec={"junit": "r.xml"})
    log = ProofStatus("log:l.txt", "stale", "changed", spec={"log": "l.txt"})
    scope = Violation("scope", "src/x.py: outside the task's scope", "src/x.py")
    missing = Violation("proof-missing", "junit:r.xml: no run")
    stale = Violation("proof-stale", "log:l.txt: changed")
    later = dict(GOOD, counts={"tests": 9})          # an equal entry recorded later: not used
    result = _wanting(done, junit, weaker, log, violations=(scope, missing, stale))
    credited = credit(result, [GOOD, later], "c" * 40)
    assert credited.proof == (done, ProofStatus(
        "junit:r.xml", "ok", f"recorded ok in the receipt of {'c' * 12} (verified; no local "
        "record here)", {"tests": 3}, "a" * 64, "t" * 40, spec=spec), weaker, log)
    # junit:r.xml still has an unmet requirement (min_tests not recorded): its violation stays.
    assert credited.violations == (scope, missing, stale)
    # Once every requirement under the label is recorded ok, its violation goes, only that one.
    recorded_weaker = dict(GOOD, spec={"junit": "r.xml"})
    both = credit(result, [GOOD, recorded_weaker], "c" * 40)
    assert [p.status for p in both.proof] == ["ok", "ok", "ok", "stale"]
    assert both.violations == (scope, stale)
    assert both.label == result.label and both.diff == result.diff


@pytest.mark.parametrize("recorded", [
    [],
    [dict(GOOD, status="failed")],                         # a recorded failure stays one
    [GOOD, dict(GOOD, status="failed")],                   # any equal entry not ok: no credit
    [dict(GOOD, status="failed"), GOOD],
    [dict(GOOD, status="OK")],
    [{k: v for k, v in GOOD.items() if k != "status"}],
    [dict(GOOD, spec={"junit": "r.xml", "min_tests": 1})],  # a weaker requirement met
])
def test_credit_refuses_what_was_not_recorded_ok_for_exactly_this(recorded: list[Any]) -> None:
    from avorelo_gate.receipts.credit import credit
    from avorelo_gate.result import ProofStatus, Violation

    missing = Violation("proof-missing", "junit:r.xml: no run")
    result = _wanting(ProofStatus("junit:r.xml", "missing", "no run", spec=GOOD["spec"]),
                      violations=(missing,))
    assert credit(result, recorded, "c" * 40) is result


def test_credit_leaves_an_ok_requirement_as_it_was() -> None:
    """An ok requirement is not replaced by the receipt's record (it keeps its own counts)."""
    from avorelo_gate.receipts.credit import credit
    from avorelo_gate.result import ProofStatus

    own = ProofStatus("junit:r.xml", "ok", "3 tests", {"tests": 5}, spec=GOOD["spec"])
    result = _wanting(own)
    assert credit(result, [GOOD], "c" * 40) is result


# -- task/approvals.py: whose approval counts, how many, and what the person is told -----------
# CONTRACT "Approvals": an `Approved-by:` trailer from someone on the policy's list (matched by
# email, case aside), `count` of them (count - 1 is not enough), or in `ci` only the signal the
# rule names; a rule applies where all its conditions (paths, risk, weights) hold.
ALICE, BOB, CAROL = "Alice <alice@example.org>", "Bob <bob@example.org>", "Carol <carol@x.org>"
HINT = "add an 'Approved-by: Name <email>' trailer from one of: "


def _approvals(rules: tuple[Any, ...], approved_by: tuple[str, ...] = (),
               touched: tuple[str, ...] = ("src/a.py",), environ: dict[str, str] | None = None,
               signals: bool = False, risk: str | None = None,
               weight: str | None = None) -> tuple[Any, Any]:
    from avorelo_gate.result import TouchedFile
    from avorelo_gate.task.approvals import evaluate_approvals
    from avorelo_gate.task.declare import ResolvedTask
    from avorelo_gate.task.policy import Policy

    task = ResolvedTask(id="T-1", approved_by=approved_by, risk=risk, weight=weight)
    files = tuple(TouchedFile(p, "M", 1, 0, False) for p in touched)
    return evaluate_approvals(Policy(approvals=rules), task, files, environ or {}, signals)


@pytest.mark.parametrize("count", [1, 2, 3])
def test_approval_count_allows_count_and_refuses_one_fewer(count: int) -> None:
    from avorelo_gate.result import Violation
    from avorelo_gate.task.approvals import ApprovalOutcome
    from avorelo_gate.task.policy import Approval

    rule = Approval(paths=(), approvers=(ALICE, BOB, CAROL), count=count)
    people = (ALICE, BOB, CAROL)
    enough = _approvals((rule,), approved_by=people[:count])
    assert enough == ((ApprovalOutcome(0, count, people, people[:count], "trailer", ()),), ())
    fewer = _approvals((rule,), approved_by=people[:count - 1])
    assert fewer == ((ApprovalOutcome(0, count, people, people[:count - 1], None, ()),), (
        Violation("approval-missing", f"this change needs {count} approval(s) from the "
                  f"policy's list; {count - 1} given", None, HINT + ", ".join(people)),))
    assert not fewer[0][0].satisfied and enough[0][0].satisfied


def test_approval_matches_the_listed_email_only() -> None:
    """By the address in <...>, case aside, whatever the display name; an address that only
    upper-cases to a listed one (a long s, U+017F) is somebody else."""
    from avorelo_gate.task.approvals import ApprovalOutcome
    from avorelo_gate.task.policy import Approval

    rule = Approval(paths=(), approvers=("Sam <sam@x.org>", "ops@x.org"), count=2)
    (outcome,), violations = _approvals((rule,), approved_by=(
        "S. Am  <SAM@X.org> ", "OPS@x.org"))
    assert outcome == ApprovalOutcome(0, 2, rule.approvers, ("S. Am  <SAM@X.org> ",
                                                             "OPS@x.org"), "trailer", ())
    assert violations == ()
    (spoof,), refused = _approvals((rule,), approved_by=("Mallory <\u017fam@x.org>",
                                                          "ops@x.org"))
    assert spoof.approved_by == ("ops@x.org",) and spoof.via is None
    assert [v.message for v in refused] == [
        "this change needs 2 approval(s) from the policy's list; 1 given (Mallory "
        "<\u017fam@x.org> is not on the list)"]


def test_approval_on_paths_names_them_and_the_signal() -> None:
    from avorelo_gate.result import Violation
    from avorelo_gate.task.approvals import ApprovalOutcome
    from avorelo_gate.task.policy import Approval

    docs = Approval(paths=("docs/**",), approvers=(CAROL,))          # does not apply here
    auth = Approval(paths=("src/auth/**",), approvers=(ALICE, BOB), count=2,
                    signal="AUTH_APPROVED")
    touched = ("src/auth/a.py", "README.md", "src/auth/b.py", "src/auth/c.py", "src/auth/d.py")
    hit = ("src/auth/a.py", "src/auth/b.py", "src/auth/c.py", "src/auth/d.py")
    dave = "Dave <dave@x.org>"
    outcomes, violations = _approvals((docs, auth), approved_by=(BOB, CAROL, dave),
                                      touched=touched, environ={"AUTH_APPROVED": "yes"})
    assert outcomes == (ApprovalOutcome(1, 2, (ALICE, BOB), (BOB,), None, hit),)
    assert violations == (Violation(
        "approval-missing", "changes to src/auth/a.py, src/auth/b.py, src/auth/c.py need 2 "
        f"approval(s) from the policy's list; 1 given ({CAROL}, {dave} is not on the list)",
        "src/auth/a.py", HINT + f"{ALICE}, {BOB} (or, in CI, the AUTH_APPROVED signal)"),)
    assert outcomes[0].to_dict() == {"rule": 1, "required": 2, "approved_by": [BOB],
                                     "claimed": True, "via": None, "satisfied": False}
    # In ci (signals), the rule's own signal, set and not blank, is the approval.
    (by_signal,), none = _approvals((docs, auth), touched=touched, signals=True,
                                    environ={"AUTH_APPROVED": "yes"})
    assert (by_signal.via, none) == ("signal:AUTH_APPROVED", ())
    assert by_signal.to_dict() == {"rule": 1, "required": 2, "approved_by": [],
                                   "claimed": False, "via": "signal:AUTH_APPROVED",
                                   "satisfied": True}
    for environ, signals in (({"AUTH_APPROVED": " \t"}, True), ({}, True),
                             ({"AUTH_APPROVED": "yes"}, False), ({"OTHER": "yes"}, True)):
        (outcome,), _ = _approvals((auth,), touched=touched, signals=signals, environ=environ)
        assert outcome.via is None, (environ, signals)
    # A rule with no signal is never met by one, in ci either.
    (plain,), _ = _approvals((Approval(paths=(), approvers=(ALICE,)),), signals=True,
                             environ={"None": "yes", "": "yes"})
    assert plain.via is None


@pytest.mark.parametrize(("risk", "weights", "task_risk", "task_weight", "applies"), [
    (None, (), None, None, True),             # no condition: applies to every change
    (None, (), "high", "heavy", True),
    ("high", (), "high", None, True),
    ("high", (), "low", None, False),
    ("high", (), None, None, False),
    (None, ("heavy",), None, "heavy", True),
    (None, ("heavy",), None, "light", False),
    (None, ("heavy",), None, None, False),
    ("high", ("heavy",), "high", "light", False),   # every condition must hold
    ("high", ("heavy",), "low", "heavy", False),
])
def test_approval_rule_applies_only_where_its_conditions_hold(
        risk: str | None, weights: tuple[str, ...], task_risk: str | None,
        task_weight: str | None, applies: bool) -> None:
    from avorelo_gate.task.approvals import conditions_hold
    from avorelo_gate.task.policy import Approval

    rule = Approval(paths=(), approvers=(ALICE,), risk=risk, weights=weights)
    assert conditions_hold(rule, task_risk, task_weight) is applies
    outcomes, violations = _approvals((rule,), risk=task_risk, weight=task_weight)
    assert (len(outcomes), len(violations)) == ((1, 1) if applies else (0, 0))
    # A change that touches nothing needs no approval.
    assert _approvals((rule,), touched=(), risk=task_risk, weight=task_weight) == ((), ())


def test_tools_used_must_be_declared_exact_messages() -> None:
    from avorelo_gate.result import Violation
    from avorelo_gate.task.approvals import evaluate_tools, tools_record
    from avorelo_gate.task.declare import ResolvedTask

    free = ResolvedTask(id="T-1", tools_used=("curl",))
    assert evaluate_tools(free) == ()
    assert tools_record(free) == {"declared": None, "used": ["curl"]}
    named = ResolvedTask(id="T-1", tools=("pytest", "ruff"), tools_used=("pytest", "curl"),
                         file=".avorelo/tasks/T-1.yaml")
    assert evaluate_tools(named) == (Violation(
        "tool-not-allowed", "Tools-Used names 'curl', which task T-1 does not allow (tools: "
        "pytest, ruff)", None, "add 'curl' to tools: in .avorelo/tasks/T-1.yaml, or do the "
        "work with an allowed tool"),)
    assert tools_record(named) == {"declared": ["pytest", "ruff"], "used": ["pytest", "curl"]}
    bare = ResolvedTask(tools=(), tools_used=("make",))
    assert evaluate_tools(bare) == (Violation(
        "tool-not-allowed", "Tools-Used names 'make', which task (unnamed) does not allow "
        "(tools: none)", None, "add 'make' to tools: in the task file, or do the work with an "
        "allowed tool"),)


@pytest.mark.parametrize(("argv", "names"), [
    (["pytest"], ("pytest",)),
    (["/usr/local/bin/pytest", "-q"], ("pytest",)),
    (["C:\\Tools\\bin\\ruff", "check"], ("ruff",)),
    (["python", "-m", "pytest"], ("python", "pytest")),
    (["python3", "-m", "pkg.sub.mod", "x"], ("python3", "pkg")),
    (["/usr/bin/python3.11", "-m", "pytest", "-m", "slow"], ("python3.11", "pytest")),
    (["python", "-X", "dev", "-m", "mypy"], ("python", "mypy")),
    (["python", "-m"], ("python",)),                    # no module named after it
    (["python", "script.py", "-m"], ("python",)),
    (["pythonista", "-m", "pytest"], ("pythonista",)),  # not a python interpreter
])
def test_program_names_of_a_command_line(argv: list[str], names: tuple[str, ...]) -> None:
    from avorelo_gate.task.approvals import program_names

    assert program_names(argv) == names


def test_prove_refuses_an_unlisted_tool_with_an_exact_message() -> None:
    from avorelo_gate.errors import BadInputError
    from avorelo_gate.task.approvals import refuse_unlisted_tool
    from avorelo_gate.task.declare import ResolvedTask

    free = ResolvedTask(id="T-1")
    refuse_unlisted_tool(free, ["anything"])            # no tool list: anything runs
    refuse_unlisted_tool(free, [])
    listed = ResolvedTask(id="T-1", tools=("pytest", "ruff"), file=".avorelo/task.yaml")
    refuse_unlisted_tool(listed, [])                    # nothing to run, nothing refused
    refuse_unlisted_tool(listed, ["pytest", "-q"])
    refuse_unlisted_tool(listed, ["python3", "-m", "pytest"])
    with pytest.raises(BadInputError) as e:
        refuse_unlisted_tool(listed, ["python3", "-m", "black"])
    assert str(e.value) == ("prove: 'black' is not among the tools task T-1 allows (pytest, "
                            "ruff); add it to tools: in .avorelo/task.yaml or use an allowed "
                            "tool")
    with pytest.raises(BadInputError) as e:
        refuse_unlisted_tool(ResolvedTask(tools=()), ["make"])
    assert str(e.value) == ("prove: 'make' is not among the tools task (unnamed) allows "
                            "(none); add it to tools: in the task file or use an allowed tool")


def test_credit_from_receipts_credits_each_result_by_its_own_commits_receipt(
        make_repo: Any, tmp_path: Any) -> None:
    """A real receipt recorded by the hooks (unsigned), read in a clone with no proof records:
    credited to the results of its commit only, only while no signature is demanded."""
    from test_ci_credit_edges import KEY, proven_clone

    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.receipts.credit import credit_from_receipts
    from avorelo_gate.result import ProofStatus, Violation

    ci = proven_clone(make_repo, tmp_path, None)
    repo = open_repo(str(ci.path))
    head, base = (ci.git("rev-parse", ref).stdout.decode().strip()
                  for ref in ("origin/feature", "origin/main"))
    spec = {"command": "tests"}
    wanting = _wanting(ProofStatus("command:tests", "missing", "no run", spec=spec),
                       violations=(Violation("proof-missing", "command:tests: no run"),))
    done = _wanting(ProofStatus("command:tests", "ok", "ran here", spec=spec))
    first, kept, again = credit_from_receipts(repo, [wanting, done, wanting],
                                              [head, head, head], {})
    assert kept is done
    assert first == again and first.violations == ()
    (credited,) = first.proof
    assert (credited.status, credited.detail, credited.spec) == (
        "ok", f"recorded ok in the receipt of {head[:12]} (verified; no local record here)",
        spec)
    assert credit_from_receipts(repo, [wanting], [head], {}, [False])[0].violations == ()
    for environ, signed, commit in (({}, [True], head),            # demanded, unsigned
                                    ({KEY: "s3cret"}, None, head),  # a key set: demanded
                                    ({}, None, base)):              # no receipt for it
        assert credit_from_receipts(repo, [wanting], [commit], environ, signed) == (wanting,)
    assert credit_from_receipts(repo, [done], [base], {}) == (done,)


# -- task/trailers.py ---------------------------------------------------------------------------
def test_configless_env_gives_git_no_repository_and_no_config(repo: GitRepo,
                                                              tmp_path: Any) -> None:
    """_configless_env's promise: git run with it sees no repository and no config file, even
    from inside a repository, with a user config, and with a system config. The system config
    is simulated by a ``git`` first on PATH that names its own system file (the real one,
    /etc/gitconfig, is the machine's); and the caller's environment does not switch system
    config off, as the test fixtures' does. Every config sets ``trailer.tsk.key``, which would
    make ``tsk: x`` a Task trailer."""
    import os
    import shutil
    import subprocess

    from avorelo_gate.task.trailers import _configless_env

    real_git = shutil.which("git")
    assert real_git
    system = tmp_path / "system-gitconfig"
    system.write_text("[trailer \"tsk\"]\n\tkey = Task\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nGIT_CONFIG_SYSTEM={system} exec {real_git} "$@"\n')
    wrapper.chmod(0o755)
    repo.git("config", "trailer.tsk.key", "Task")
    (repo.path.parent / "home").mkdir(exist_ok=True)
    (repo.path.parent / "home" / ".gitconfig").write_text("[trailer \"tsk\"]\n\tkey = Task\n")
    caller = {k: v for k, v in os.environ.items() if k != "GIT_CONFIG_NOSYSTEM"}
    caller.update(HOME=str(repo.path.parent / "home"),
                  PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    # The simulated system config and the user config are real for git without the helper:
    for scope in ("--system", "--global"):
        plain = subprocess.run(["git", "config", scope, "--get", "trailer.tsk.key"],
                               cwd=tmp_path, env=caller, capture_output=True, check=False)
        assert plain.stdout == b"Task\n", scope
    env = _configless_env(caller)
    seen = subprocess.run(["git", "config", "--list"], cwd=repo.path, env=env,
                          capture_output=True, check=False)
    assert (seen.returncode, seen.stdout) == (0, b"")
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=repo.path,
                            env=env, capture_output=True, check=False)
    assert inside.returncode != 0 and inside.stdout == b""


@pytest.mark.parametrize(("value", "model"), [
    ("Claude:claude-opus-4 [mcp:github] sparse", "claude-opus-4"),   # a tool with a ':'
    ("Claude:claude-opus-4 tool:x", "claude-opus-4"),
    ("Agent:a:b:model-x", "model-x"),          # the model word's last ':'-part, of several
    ("Agent:vendor:model-x", "model-x"),
])
def test_assisted_by_model_is_the_first_word_after_the_first_colon(value: str,
                                                                   model: str) -> None:
    """The kernel's ``Assisted-by: AGENT:MODEL [TOOL1] [TOOL2]``: tools may hold ':' too."""
    from avorelo_gate.task.trailers import Trailer, declaration_from

    d = declaration_from([Trailer("Assisted-by", value)])
    assert (d.model, d.model_source) == (model, "trailer:Assisted-by")


def test_parse_message_with_a_lone_surrogate_reads_it_as_a_question_mark(repo: GitRepo) -> None:
    """A lone surrogate that did not come from bytes (surrogateescape cannot give it back)
    becomes '?', as _encode promises; the rest of the message is still parsed. A surrogate that
    did come from bytes gives back those bytes."""
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.trailers import Trailer, parse_message

    r = open_repo(str(repo.path))
    assert parse_message(r, "Subject\n\nTask: A-\ud8001\nModel: m\n") == (
        Trailer("Task", "A-?1"), Trailer("Model", "m"))
    assert parse_message(r, "Subject\n\nTask: A-\udcff1\n") == (Trailer("Task", "A-\ufffd1"),)


@pytest.mark.parametrize(("items", "message"), [
    ((("Task", " \t"),), "msg: empty Task trailer; To fix: give it a value or remove the line"),
    ((("tools-used", ", ,"),), "msg: Tools-Used trailer ', ,' lists nothing; To fix: write "
                               "Tools-Used: a, b"),
    ((("Task-Scope", ","),), "msg: Task-Scope trailer ',' lists nothing; To fix: write "
                             "Task-Scope: a, b"),
    ((("Model-Weight", "lite"),), "msg: Model-Weight 'lite' is not one of light, standard, "
                                  "heavy"),
    ((("Approved-by", "Ada <ada>"),), "msg: Approved-by 'Ada <ada>' is not 'Name <email>'; "
                                      "To fix: write Approved-by: Ada Lovelace "
                                      "<ada@example.org>"),
    ((("Task", "A"), ("Task", "B"), ("Task", "C")), "msg: conflicting Task trailers: 'A', 'B', "
                                                   "'C'"),
])
def test_declaration_errors_are_exact(items: tuple[tuple[str, str], ...], message: str) -> None:
    from avorelo_gate.errors import BadInputError
    from avorelo_gate.task.trailers import Trailer, declaration_from

    with pytest.raises(BadInputError) as e:
        declaration_from([Trailer(k, v) for k, v in items], "msg")
    assert str(e.value) == message
    assert e.value.exit_code == 2


def test_declaration_lists_keep_order_and_drop_repeats_except_scope() -> None:
    """Tools-Used and Approved-by drop repeats, keeping first-seen order; Task-Scope keeps
    every item in order (the last matching pattern decides); a key is matched whatever its
    case; a trailer that is not ours is ignored, and makes no declaration present."""
    from avorelo_gate.task.trailers import Trailer, declaration_from

    ada, bob = "Ada Lovelace <ada@example.org>", "Bob B <bob@example.org>"
    d = declaration_from([Trailer("TOOLS-USED", "ruff, pytest ,ruff"),
                          Trailer("Tools-Used", "mypy,pytest"),
                          Trailer("Task-Scope", "src/**, !src/x, src/**"),
                          Trailer("approved-BY", bob), Trailer("Approved-by", ada),
                          Trailer("Approved-by", bob), Trailer("Reviewed-by", ada)])
    assert d.tools_used == ("ruff", "pytest", "mypy")
    assert d.scope == ("src/**", "!src/x", "src/**")
    assert d.approved_by == (bob, ada)
    assert d.present and d.task_id is None and d.weight is None
    assert not declaration_from([Trailer("Reviewed-by", ada)]).present
    assert declaration_from([Trailer("Model-Weight", "HEAVY")]).weight == "heavy"


@pytest.mark.parametrize(("settings", "expected"), [
    ((("core.commentChar", ";"), ("core.commentString", "%")), "%"),   # the last set wins
    ((("core.commentString", "%"), ("core.commentChar", ";")), ";"),
    ((("core.commentString", "//"),), "//"),
    ((("core.commentString", "- -"),), "- -"),          # a comment string holding a space
    ((("core.commentChar", ";"), ("core.commentChar", "auto")), "#"),
])
def test_comment_char_is_the_last_one_set(repo: GitRepo,
                                          settings: tuple[tuple[str, str], ...],
                                          expected: str) -> None:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.trailers import comment_char

    for key, value in settings:
        repo.git("config", "--add", key, value)
    assert comment_char(open_repo(str(repo.path))) == expected


def test_commit_trailers_errors_are_exact(repo: GitRepo) -> None:
    from avorelo_gate.errors import BadInputError, GitError
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.trailers import _split_trailer, commit_trailers

    repo.commit("x", "--allow-empty")
    repo.git("tag", "-a", "-m", "t", "v1")
    tag = repo.git("rev-parse", "v1").stdout.decode().strip()
    head = repo.git("rev-parse", "HEAD").stdout.decode().strip()
    r = open_repo(str(repo.path))
    with pytest.raises(BadInputError) as e:
        commit_trailers(r, [head, "HEAD"])
    assert str(e.value) == "not a full commit id: 'HEAD'; To fix: resolve it first"
    with pytest.raises(BadInputError) as e:
        commit_trailers(r, [head, tag])
    assert str(e.value) == f"{tag} is not a commit (a tag or tree id?)"
    line = "no separator here " * 5
    with pytest.raises(GitError) as g:
        _split_trailer(line, ":")
    assert str(g.value) == f"unexpected trailer output from git: {line[:60]!r}"
    with pytest.raises(GitError):
        _split_trailer(" \t: value", ":")


@pytest.mark.parametrize(("message", "rest"), [
    ("", ""),
    ("\n \t\r\n", ""),                       # only blank lines: nothing is left
    ("\n\nTitle\n\nTask: A\n", "Title\n\nTask: A\n"),
    (" \n\v\nTitle\n", "\v\nTitle\n"),       # \v is not git's whitespace: a line of it counts
    ("\n\x85\xa0\f\nT", "\x85\xa0\f\nT"),     # nor are \x85, U+00A0, \f
    ("\n \t", ""),                          # a blank last line without its newline
    ("\n\nA\n\nB", "A\n\nB"),
    ("Title", "Title"),
])
def test_skip_blank_lines_exactly(message: str, rest: str) -> None:
    from avorelo_gate.task.trailers import skip_blank_lines

    assert skip_blank_lines(message) == rest


def test_parse_message_does_not_depend_on_the_current_directory(
        repo: GitRepo, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The isolated git runs from '/', so the caller's working directory does not matter, even
    one that no longer exists (git refuses to start in a removed directory)."""
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.trailers import Trailer, parse_message

    r = open_repo(str(repo.path))
    gone = tmp_path / "removed"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert parse_message(r, "Subject\n\nTask: A-1\n") == (Trailer("Task", "A-1"),)


def test_comment_char_that_is_not_utf8_is_read_without_failing(repo: GitRepo) -> None:
    """A config file may hold any bytes; a comment string that is not UTF-8 is read (as
    U+FFFD), not a crash."""
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.task.trailers import comment_char

    with open(repo.path / ".git" / "config", "ab") as config:
        config.write(b"[core]\n\tcommentString = \xff\n")
    assert comment_char(open_repo(str(repo.path))) == "\ufffd"
