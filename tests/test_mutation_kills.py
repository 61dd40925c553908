"""Tests written to kill mutants that survived tools/mutation.py (mutation/REPORT.md), each
against behaviour the contract or the module's own promise specifies, so that it stays valid
when the code under it is rewritten."""
from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import GitRepo
from inproc import run_main
from scope_oracle import match_reference

from avorelo_gate.task.scope import Matcher


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
         "of its own (task files only) first (git commit -m 'Widen T-1' -- .avorelo/task.yaml),"
         " and push that commit before this work (pre-push and ci hold a task to its version "
         "on the target branch); otherwise unstage it: git restore --staged -- "
         "docs/a.md"),
        ("protected", "secret/s", "protected by the policy; no task may touch it",
         "unstage it: git restore --staged -- secret/s"),
        ("forbidden", "src/keys/k", "forbidden by task T-1 (.avorelo/task.yaml)",
         "unstage it: git restore --staged -- src/keys/k")]
    worktree = _judge(repo, "--worktree")
    assert worktree["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         "if task T-1 needs it, add 'docs/a.md' to scope in .avorelo/task.yaml, in a commit "
         "of its own (task files only) first (git commit -m 'Widen T-1' -- .avorelo/task.yaml),"
         " and push that commit before this work (pre-push and ci hold a task to its version "
         "on the target branch); otherwise undo the change to it: git restore "
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
         "commit of its own (task files only) first (git commit -m 'Widen the task' -- "
         ".avorelo/task.yaml), and push that commit before this work (pre-push and ci hold a "
         "task to its version on the target branch); otherwise unstage it: git restore "
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
    says so and names the commit to make first (the file on its own), not a Task-Scope:
    trailer the commit does not have, nor an edit the file already has."""
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\n')
    repo.write(TASK, 'id: T-1\nscope: ["src/**", "docs/**"]\n')
    _stage(repo, "docs/a.md")
    base = repo.head()[:12]
    assert _judge(repo)["violations"] == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         f".avorelo/task.yaml as staged allows it, but task T-1 is held to .avorelo/task.yaml "
         f"at {base}, where the change lands: commit that file on its own first (git commit -m "
         "'Widen T-1' -- .avorelo/task.yaml) and push it, then commit this work; otherwise "
         "unstage it: git restore --staged -- docs/a.md")]
    worktree = _judge(repo, "--worktree")["violations"]
    assert [v[3].split(" allows it")[0] for v in worktree] == [
        ".avorelo/task.yaml in the working tree"]
    repo.commit("work")
    ranged = _judge(repo, "--range", "HEAD~1..HEAD")["violations"]
    assert ranged == [
        ("out-of-scope", "docs/a.md", "outside the scope of task T-1",
         f".avorelo/task.yaml at the range's head allows it, but task T-1 is held to "
         f".avorelo/task.yaml at {base}, where the change lands: land the commit that widened "
         "it there on its own first (git log --oneline -- .avorelo/task.yaml finds it; push it "
         "alone, git push <remote> <commit>:<branch>, or merge it first), then this work; "
         "otherwise " + UNDO_RANGE)]
    committed = _judge(repo, "--commit", "HEAD")["violations"]
    assert [v[3].split(" allows it")[0] for v in committed] == [
        ".avorelo/task.yaml at this commit"]


def test_engine_scope_hint_names_each_version_that_holds_the_task(repo: GitRepo) -> None:
    """In ci a commit's task is held to its version at the merge base and at the commit's
    parent: the hint names each one that leaves the path out (once, when they are the same
    commit), and a path the commit's own version leaves out too gets the plain widening
    hint, not "allows it"."""
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\n')
    base = repo.head()
    repo.write(TASK, 'id: T-1\nscope: ["src/**", "docs/**"]\n')
    repo.add()
    repo.commit("Widen T-1")
    widened = repo.head()
    repo.write(TASK, 'id: T-1\nscope: ["src/**", "docs/**", "lib/**"]\n')
    _stage(repo, "lib/x.py", "other/y.py")
    repo.commit("Work")
    proc = run_main("ci", "--base", base, "--format", "json", cwd=repo.path)
    assert proc.returncode == 1, proc.stderr
    [work] = [c for c in json.loads(proc.stdout)["commits"] if c["commit"] == repo.head()]
    assert [(v["path"], v["hint"]) for v in work["violations"]] == [
        ("lib/x.py", f".avorelo/task.yaml at this commit allows it, but task T-1 is held to "
                     f".avorelo/task.yaml at {base[:12]} and .avorelo/task.yaml at "
                     f"{widened[:12]}, where the change lands: land the commit that widened it "
                     "there on its own first (git log --oneline -- .avorelo/task.yaml finds "
                     "it; push it alone, git push <remote> <commit>:<branch>, or merge it "
                     "first), then this work; otherwise " + UNDO_RANGE),
        ("other/y.py", "if task T-1 needs it, add 'other/y.py' to scope in .avorelo/task.yaml "
                       "on the target branch first; otherwise " + UNDO_RANGE)]
    first = run_main("ci", "--base", base, "--head", widened, "--format", "json",
                     cwd=repo.path)
    assert first.returncode == 0, first.stdout
    repo.git("reset", "-q", "--hard", base)
    repo.write(TASK, 'id: T-1\nscope: ["src/**", "lib/**"]\n')
    _stage(repo, "lib/x.py")
    repo.commit("Work, widening its own task")
    alone = json.loads(run_main("ci", "--base", base, "--format", "json",
                                cwd=repo.path).stdout)
    [hint] = [v["hint"] for v in alone["commits"][0]["violations"]]
    assert f"is held to .avorelo/task.yaml at {base[:12]}, where the change lands" in hint


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


def test_engine_a_deferred_path_does_not_end_the_check_of_the_paths_after_it(
        repo: GitRepo) -> None:
    """At pre-commit with no task known, scope and forbid wait path by path: a protected path
    staged after (sorted after) an ordinary one still fails there (a `break` for `continue`
    would let it through to commit-msg's verdict only)."""
    _base(repo, 'require_task: true\nprotected: ["secret/**"]\n')
    _stage(repo, "docs/a.md", "secret/s")
    proc = run_main("hook", "pre-commit", cwd=repo.path)
    assert proc.returncode == 1, proc.stdout
    assert "secret/s: protected: protected by the policy; no task may touch it" in \
        _lines(proc)


def test_engine_a_forbidden_path_does_not_end_the_check_of_the_paths_after_it(
        repo: GitRepo) -> None:
    """Every path is judged: one forbidden path sorted before an out-of-scope one leaves both
    violations, each with its own path."""
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\nforbid: ["src/keys/**"]\n')
    _stage(repo, "src/keys/k", "zz/out.md")
    assert [v[:2] for v in _judge(repo)["violations"]] == [("forbidden", "src/keys/k"),
                                                           ("out-of-scope", "zz/out.md")]


def test_engine_checked_paths_note_names_an_unnamed_task(repo: GitRepo) -> None:
    _base(repo, None, 'scope: ["src/**"]\n')
    _stage(repo, "src/a.py")
    result = _judge(repo)
    assert result["verdict"] == "pass"
    assert result["notes"] == ["1 path(s) checked against the scope of task (unnamed)"]


def test_engine_result_lists_the_task_files_the_change_touches(repo: GitRepo) -> None:
    """The JSON result (and the receipt built from it) names the task files a change touches,
    and has no such key for a change that touches none."""
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\n')
    _stage(repo, "src/a.py")
    assert "task_files_changed" not in _judge(repo)
    repo.write(".avorelo/tasks/T-2.yaml", 'id: T-2\nscope: ["docs/**"]\n')
    repo.write(TASK, 'id: T-1\nscope: ["src/a.py"]\n')
    repo.add()
    assert _judge(repo)["task_files_changed"] == [TASK, ".avorelo/tasks/T-2.yaml"]


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


# -- task/declare.py: where the task id, its file and its model come from ----------------------
# resolve_task called in-process on real repositories (snapshots of real commits and indexes),
# each case built so that the neighbouring rule (the other source, the other file, the other
# version) gives another answer; exact messages, since a person acts on them.
def _declaration(task_id: str | None = None, scope: tuple[str, ...] = (),
                 model: str | None = None, weight: str | None = None,
                 present: bool = True) -> Any:
    from avorelo_gate.task.trailers import TrailerDeclaration

    return TrailerDeclaration(task_id=task_id, scope=scope, model=model,
                              model_source="trailer:Model" if model else None, weight=weight,
                              tools_used=("pytest",), approved_by=("A <a@x>",), present=present)


def _snap(repo: GitRepo, rev: str = ":") -> Any:
    from avorelo_gate.git.repo import open_repo
    from avorelo_gate.git.snapshot import Snapshot

    return Snapshot(open_repo(str(repo.path)), rev)


def _resolve(repo: GitRepo, rev: str = ":", **kw: Any) -> Any:
    from avorelo_gate.task.declare import resolve_task

    kw.setdefault("environ", {})
    return resolve_task(_snap(repo, rev), **kw)


def _bad(repo: GitRepo, **kw: Any) -> str:
    from avorelo_gate.errors import BadInputError

    with pytest.raises(BadInputError) as e:
        _resolve(repo, **kw)
    return str(e.value)


def _two_commits(repo: GitRepo, files: dict[str, str],
                 changed: dict[str, str | None]) -> tuple[str, str]:
    """A base commit with ``files``, then the same files with ``changed`` (None: deleted)
    committed on top: (base, head)."""
    for rel, text in files.items():
        repo.write(rel, text)
    repo.write("README.md", "r\n")
    repo.add()
    base = repo.commit("base")
    for rel, value in changed.items():
        if value is None:
            repo.git("rm", "-q", "--", rel)
        else:
            repo.write(rel, value)
    repo.add()
    return base, repo.commit("change")


A_FILE = ".avorelo/tasks/A.yaml"


def test_declare_bad_task_ids_name_their_source(repo: GitRepo) -> None:
    _base(repo)
    tail = " is not a task id (letters, digits, . _ -, starting with a letter or digit)"
    assert _bad(repo, explicit_id="-x") == "--task: '-x'" + tail
    assert _bad(repo, environ={"AVORELO_TASK": " .x "}) == "AVORELO_TASK: '.x'" + tail
    assert _bad(repo, declaration=_declaration("a b")) == "Task trailer: 'a b'" + tail
    assert _bad(repo, active_id="_x") == "active task: '_x'" + tail


def test_declare_conflicting_ids_are_refused_and_equal_ones_are_one(repo: GitRepo) -> None:
    _base(repo)
    assert _bad(repo, explicit_id="A", environ={"AVORELO_TASK": "B"},
                declaration=_declaration("C")) == (
        "conflicting task ids: --task says 'A', AVORELO_TASK says 'B', Task trailer says 'C'")
    assert _bad(repo, explicit_id="A", declaration=_declaration("B")) == (
        "conflicting task ids: --task says 'A', Task trailer says 'B'")
    same = _resolve(repo, explicit_id="A", environ={"AVORELO_TASK": "A"},
                    declaration=_declaration("A"))
    assert (same.id, same.id_source, same.sources) == ("A", "--task", ("explicit", "trailer"))


@pytest.mark.parametrize(("kw", "task_id", "id_source", "sources"), [
    ({"explicit_id": "A", "active_id": "B"}, "A", "--task", ("explicit",)),
    ({"environ": {"AVORELO_TASK": "  E  "}, "active_id": "B"}, "E", "env:AVORELO_TASK",
     ("env",)),
    ({"environ": {"AVORELO_TASK": "   "}, "active_id": "B"}, "B", "active-task",
     ("active-task",)),
    ({"declaration": _declaration("D"), "active_id": "B"}, "D", "trailer:Task", ("trailer",)),
    ({"declaration": _declaration(present=False), "active_id": "B"}, "B", "active-task",
     ("active-task",)),
    ({"active_id": "B"}, "B", "active-task", ("active-task",)),
    ({}, None, None, ()),
])
def test_declare_id_sources_first_match_and_active_task_last(repo: GitRepo, kw: dict[str, Any],
                                                             task_id: str | None,
                                                             id_source: str | None,
                                                             sources: tuple[str, ...]) -> None:
    _base(repo)
    task = _resolve(repo, **kw)
    assert (task.id, task.id_source, task.sources) == (task_id, id_source, sources)
    assert task.file is None and task.self_declared is False
    assert task.missing_file == (f".avorelo/tasks/{task_id}.yaml" if task_id else None)


@pytest.mark.parametrize(("path", "is_task"), [
    (".avorelo/task.yaml", True),
    (".avorelo/tasks/A.yaml", True),
    (".avorelo/tasks/a.b-c_9.yaml", True),
    (".avorelo/tasks/x" + "a" * 100 + ".yaml", False),   # 101 characters: not a task id
    (".avorelo/tasks/x" + "a" * 99 + ".yaml", True),     # 100
    (".avorelo/tasksA.yaml", False),
    (".avorelo/tasks.yaml", False),
    (".avorelo/tasks/A.yml", False),
    (".avorelo/tasks/A.yamlx", False),
    (".avorelo/tasks/.yaml", False),
    (".avorelo/tasks/-A.yaml", False),
    (".avorelo/tasks/sub/A.yaml", False),
    (".avorelo/tasks/A", False),
    (".avorelo/task.yml", False),
    ("x/.avorelo/task.yaml", False),
    ("x/.avorelo/tasks/A.yaml", False),
    (".AVORELO/tasks/A.yaml", False),
])
def test_declare_is_task_file_exactly(path: str, is_task: bool) -> None:
    from avorelo_gate.task.declare import is_task_file

    assert is_task_file(path) is is_task


def test_declare_find_task_file_prefers_the_named_file_and_checks_its_id(repo: GitRepo) -> None:
    from avorelo_gate.task.declare import find_task_file

    _base(repo, task="id: A\nscope: ['t/**']\n")
    repo.write(A_FILE, "scope: ['a/**']\n")
    repo.add()
    both = find_task_file(_snap(repo), "A")
    assert both is not None and (both.path, dict(both.data)) == (A_FILE, {"scope": ["a/**"]})
    assert both.blob == repo.git("rev-parse", ":" + A_FILE).stdout.decode().strip()
    only = find_task_file(_snap(repo), None)      # no id: task.yaml only
    assert only is not None and only.path == TASK and only.data["id"] == "A"
    assert find_task_file(_snap(repo), "B") is None   # task.yaml is A's
    repo.write(TASK, "scope: ['t/**']\n")            # no id: any named task's
    repo.add()
    b = find_task_file(_snap(repo), "B")
    assert b is not None and b.path == TASK
    repo.write(A_FILE, "id: B\nscope: ['a/**']\n")
    repo.add()
    from avorelo_gate.errors import BadInputError

    with pytest.raises(BadInputError) as e:
        find_task_file(_snap(repo), "A")
    assert str(e.value) == f"{A_FILE}: id 'B' does not match the file's name (A)"
    with pytest.raises(BadInputError) as e:
        find_task_file(_snap(repo), "A", where="at base")
    assert str(e.value) == f"{A_FILE} (at base): id 'B' does not match the file's name (A)"
    repo.write(A_FILE, "id: A\nscope: [")
    repo.add()
    with pytest.raises(BadInputError) as e:
        find_task_file(_snap(repo), "A", where="at base")
    assert str(e.value).startswith(f"{A_FILE} (at base)")


def test_declare_named_task_with_another_tasks_task_yaml_has_no_file(repo: GitRepo) -> None:
    _base(repo, task="id: OTHER\nscope: ['**']\n")
    task = _resolve(repo, explicit_id="A")
    assert (task.file, task.scope, task.file_scopes, task.missing_file) == (
        None, (), (), A_FILE)
    assert task.to_dict() == {"id": "A", "scope": [], "forbid": [], "sources": ["explicit"],
                              "missing_file": A_FILE}
    assert not task.meets_require_task and task.declared


def test_declare_explicit_task_file_is_read_from_disk_and_never_narrowed(repo: GitRepo,
                                                                        tmp_path: Any) -> None:
    base, _ = _two_commits(repo, {TASK: "id: A\nscope: ['a/**']\n"},
                           {TASK: "id: A\nscope: ['**']\n"})
    own = tmp_path / "own.yaml"
    own.write_text("id: A\nscope: ['own/**']\nforbid: ['own/x']\n")
    task = _resolve(repo, "HEAD", explicit_file=str(own), bases=[_snap(repo, base)],
                    parent=_snap(repo, base))
    assert (task.file, task.scope, task.file_scopes, task.narrowed_by, task.self_declared) == (
        str(own), ("own/**",), (("own/**",),), (), False)
    assert (task.id, task.id_source, task.sources, task.missing_file) == (
        "A", "task-file", ("explicit", "task-file"), None)
    assert _bad(repo, explicit_id="B", explicit_file=str(own)) == (
        f"{own}: id 'A' does not match the declared task 'B' (--task)")
    assert _bad(repo, environ={"AVORELO_TASK": "B"}, explicit_file=str(own)) == (
        f"{own}: id 'A' does not match the declared task 'B' (AVORELO_TASK)")
    own.write_text("scope: ['own/**']\n")   # no id in the file: the declared one stands
    named = _resolve(repo, explicit_id="B", explicit_file=str(own))
    assert (named.id, named.id_source, named.file) == ("B", "--task", str(own))
    assert named.self_declared is False           # no base, but the operator's own file
    blob = repo.git("hash-object", "--", str(own)).stdout.decode().strip()
    assert named.file_blob == blob               # git's id for the bytes, as for a commit's
    assert _bad(repo, explicit_file=str(tmp_path / "none.yaml")) == (
        f"{tmp_path / 'none.yaml'}: no such task file")
    from avorelo_gate.task.yamlio import MAX_YAML_BYTES

    own.write_bytes(b"#" * (MAX_YAML_BYTES + 1))
    assert _bad(repo, explicit_file=str(own)) == (
        f"{own}: task file is over the {MAX_YAML_BYTES}-byte limit")
    own.write_bytes(b"scope: []\n" + b"#" * (MAX_YAML_BYTES - 10))   # at the limit: read
    assert _resolve(repo, explicit_id="B", explicit_file=str(own)).file == str(own)
    own.write_text("id: [\n")
    assert _bad(repo, explicit_file=str(own)).startswith(f"{own}:")


def test_declare_earlier_versions_narrow_and_name_themselves(repo: GitRepo) -> None:
    base, head = _two_commits(
        repo, {A_FILE: "id: A\nscope: ['a/**', 'b/**']\nforbid: ['a/k']\n"},
        {A_FILE: "id: A\nscope: ['a/**', 'c/**']\nforbid: ['a/j']\n"})
    parent = repo.git("rev-parse", "HEAD~1").stdout.decode().strip()
    task = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, base)])
    assert task.file_scopes == (("a/**", "c/**"), ("a/**", "b/**"))
    assert task.forbid == ("a/j", "a/k")
    assert task.narrowed_by == (f"{A_FILE} at {base[:12]}",)
    assert task.to_dict()["narrowed_by"] == [f"{A_FILE} at {base[:12]}"]
    assert task.self_declared is False and task.scope == ("a/**", "c/**")
    assert task.scopes() == [("a/**", "c/**"), ("a/**", "b/**")]
    # the parent narrows too, named once per version that differs
    both = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, head)],
                    parent=_snap(repo, parent))
    assert both.narrowed_by == (f"{A_FILE} at {parent[:12]}",)
    assert both.file_scopes == (("a/**", "c/**"), ("a/**", "b/**"))
    # the same version at the base and at the parent is one constraint, named at each
    twice = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, base)],
                     parent=_snap(repo, base))
    assert twice.file_scopes == (("a/**", "c/**"), ("a/**", "b/**"))
    assert twice.narrowed_by == (f"{A_FILE} at {base[:12]}",) * 2
    # no earlier version differs: nothing narrowed, not self-declared
    same = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, head)])
    assert (same.narrowed_by, same.file_scopes, same.self_declared) == (
        (), (("a/**", "c/**"),), False)
    # a version at a base is read as strictly as the changed one, and named by where it is
    repo.write(A_FILE, "id: B\n")
    repo.add()
    broken = repo.commit("another task's id")
    assert _bad(repo, rev=head, explicit_id="A", bases=[_snap(repo, broken)]) == (
        f"{A_FILE} (at {broken[:12]}): id 'B' does not match the file's name (A)")
    assert _bad(repo, rev=head, explicit_id="A", parent=_snap(repo, broken)) == (
        f"{A_FILE} (at {broken[:12]}): id 'B' does not match the file's name (A)")


def test_declare_self_declared_only_where_a_base_lacks_the_file(repo: GitRepo) -> None:
    base, head = _two_commits(repo, {}, {A_FILE: "id: A\nscope: ['a/**']\n"})
    new = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, base)])
    assert new.self_declared is True and new.to_dict()["self_declared"] is True
    assert _resolve(repo, head, explicit_id="A").self_declared is True      # no base at all
    assert _resolve(repo, head, explicit_id="A", bases=[None]).self_declared is True
    kept = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, head)])
    assert kept.self_declared is False and "self_declared" not in kept.to_dict()
    # one base of two lacks it (a second ref): self-declared
    two = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, head), _snap(repo, base)])
    assert two.self_declared is True
    # the parent lacking it does not make it self-declared when every base has it
    parent = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, head)],
                      parent=_snap(repo, base))
    assert (parent.self_declared, parent.narrowed_by) == (False, ())


def test_declare_trailer_only_task_is_self_declared_only_with_a_scope(repo: GitRepo) -> None:
    _base(repo)
    head = repo.head()
    scoped = _resolve(repo, head, declaration=_declaration("A", scope=("a/**",)),
                      bases=[_snap(repo, head)])
    assert (scoped.self_declared, scoped.trailer_scope, scoped.scopes()) == (
        True, ("a/**",), [("a/**",)])
    assert scoped.meets_require_task and scoped.declared
    assert scoped.to_dict() == {"id": "A", "scope": ["a/**"], "forbid": [],
                                "sources": ["trailer"], "self_declared": True,
                                "missing_file": A_FILE}
    bare = _resolve(repo, head, declaration=_declaration("A"), bases=[_snap(repo, head)])
    assert (bare.self_declared, bare.scopes()) == (False, [])
    assert not bare.meets_require_task and bare.declared
    no_id = _resolve(repo, head, declaration=_declaration(None, scope=("a/**",)),
                     bases=[_snap(repo, head)])
    assert (no_id.self_declared, no_id.id, no_id.missing_file) == (False, None, None)
    assert no_id.declared and not no_id.meets_require_task
    nothing = _resolve(repo, head, declaration=_declaration(present=False))
    assert not nothing.declared and not nothing.meets_require_task


def test_declare_deleting_the_task_file_keeps_its_earlier_version(repo: GitRepo) -> None:
    base, head = _two_commits(repo, {A_FILE: "id: A\nscope: ['a/**']\ntitle: Old\n"},
                              {A_FILE: None})
    task = _resolve(repo, head, explicit_id="A", bases=[_snap(repo, base)])
    assert (task.file, task.scope, task.file_scopes, task.title, task.missing_file) == (
        A_FILE, ("a/**",), (("a/**",),), "Old", None)
    assert task.narrowed_by == () and task.self_declared is False
    assert task.sources == ("explicit", "task-file")
    blob = repo.git("rev-parse", f"{base}:{A_FILE}").stdout.decode().strip()
    assert task.file_blob == blob


def test_declare_to_dict_exactly(repo: GitRepo) -> None:
    _base(repo, task=("id: A\ntitle: The title\nscope: ['a/**']\nforbid: ['a/k']\n"
                      "risk: high\nbudget: {max_files: 3}\n"))
    blob = repo.git("rev-parse", ":" + TASK).stdout.decode().strip()
    task = _resolve(repo, declaration=_declaration(None, scope=("a/b/**",)),
                    bases=[_snap(repo, repo.head())])
    assert task.to_dict() == {"id": "A", "scope": ["a/**"], "forbid": ["a/k"],
                              "sources": ["trailer", "task-file"],
                              "trailer_scope": ["a/b/**"], "title": "The title",
                              "file": TASK, "file_blob": blob, "budget": {"max_files": 3},
                              "risk": "high"}
    assert task.scopes() == [("a/**",), ("a/b/**",)]
    assert task.id_source == "task-file" and task.declared and task.meets_require_task
    assert (task.tools_used, task.approved_by) == (("pytest",), ("A <a@x>",))
    plain = _resolve(repo, bases=[_snap(repo, repo.head())])
    assert plain.to_dict() == {"id": "A", "scope": ["a/**"], "forbid": ["a/k"],
                               "sources": ["task-file"], "title": "The title", "file": TASK,
                               "file_blob": blob, "budget": {"max_files": 3}, "risk": "high"}
    assert (plain.tools_used, plain.approved_by, plain.trailer_scope) == ((), (), ())


def test_declare_model_from_file_env_and_trailer_in_that_order(repo: GitRepo) -> None:
    _base(repo, task="id: A\nmodel: {weight: light, name: file-model}\n")
    file_only = _resolve(repo)
    assert file_only.model_dict() == {"weight": "light", "name": "file-model", "claimed": True,
                                      "source": {"weight": "task-file", "name": "task-file"}}
    env = {"AVORELO_MODEL_WEIGHT": " HEAVY ", "AVORELO_MODEL": " env-model "}
    from_env = _resolve(repo, environ=env)
    assert from_env.model_dict() == {
        "weight": "heavy", "name": "env-model", "claimed": True,
        "source": {"weight": "env:AVORELO_MODEL_WEIGHT", "name": "env:AVORELO_MODEL"}}
    trailer = _resolve(repo, environ=env,
                       declaration=_declaration(model="t-model", weight="standard"))
    assert trailer.model_dict() == {
        "weight": "standard", "name": "t-model", "claimed": True,
        "source": {"weight": "trailer:Model-Weight", "name": "trailer:Model"}}
    blank = _resolve(repo, environ={"AVORELO_MODEL_WEIGHT": " ", "AVORELO_MODEL": " "},
                     declaration=_declaration())
    assert blank.model_dict() == file_only.model_dict()
    assert _bad(repo, environ={"AVORELO_MODEL_WEIGHT": "huge"}) == (
        "AVORELO_MODEL_WEIGHT: 'huge' is not one of light, standard, heavy")


def test_declare_model_dict_with_one_half_or_none(repo: GitRepo) -> None:
    _base(repo, task="id: A\nmodel: {weight: heavy}\n")
    assert _resolve(repo).model_dict() == {"weight": "heavy", "name": None, "claimed": True,
                                           "source": {"weight": "task-file", "name": None}}
    repo.write(TASK, "id: A\nmodel: {name: m}\n")
    repo.add()
    assert _resolve(repo).model_dict() == {"weight": None, "name": "m", "claimed": True,
                                           "source": {"weight": None, "name": "task-file"}}
    repo.write(TASK, "id: A\n")
    repo.add()
    assert _resolve(repo).model_dict() is None
    assert _resolve(repo, environ={"AVORELO_MODEL": "e"}).model_dict() == {
        "weight": None, "name": "e", "claimed": True,
        "source": {"weight": None, "name": "env:AVORELO_MODEL"}}


def test_declare_task_scope_trailer_pattern_is_checked(repo: GitRepo) -> None:
    _base(repo)
    assert _bad(repo, declaration=_declaration("A", scope=("a/**", "/abs"))) == (
        "Task-Scope trailer: invalid pattern '/abs': absolute pattern; patterns are relative "
        "to the repository root (drop the '/')")


def test_declare_a_task_file_name_ending_in_a_newline_is_an_ordinary_path(repo: GitRepo) -> None:
    """Found writing the task/declare.py tests: schema.TASK_ID ended in '$', which also
    matches before a final newline, so '.avorelo/tasks/A\\n.yaml' was a task file although
    no task can be named 'A\\n', and the engine skipped scope and forbid for it (check
    passed with only that file staged). The package's regexes end at \\Z now
    (tests/test_architecture.py::test_no_regex_ends_at_a_dollar)."""
    from avorelo_gate.task.declare import is_task_file

    _base(repo, task="id: T-1\nscope: ['src/**']\n")
    repo.write(".avorelo/tasks/A\n.yaml", "any content, out of scope\n")
    repo.add()
    result = _judge(repo)
    assert [v[:2] for v in result["violations"]] == [("out-of-scope", ".avorelo/tasks/A\n.yaml")]
    assert is_task_file(".avorelo/tasks/A\n.yaml") is False


# -- proof/check.py: each requirement's status, detail and hint, exactly ----------------------
# Real `prove` runs (a subprocess, as users run it) of small Python commands that write the
# artifacts, then `check` in-process. Each case pins the whole proof entry and the violation,
# so a mutant that swaps a status, garbles a detail or hint, or judges the wrong run is caught.
J2 = '<testsuite><testcase name="a"/><testcase name="b"/></testsuite>'


def _write_code(rel: str, text: str, edit: bool = False) -> str:
    """Python for prove to run: write ``text`` to ``rel`` (and, with ``edit``, change a
    tracked file while it runs)."""
    code = (f"import os; os.makedirs(os.path.dirname({rel!r}) or '.', exist_ok=True); "
            f"open({rel!r}, 'w').write({text!r})")
    return code + ("; open('src/a.py', 'a').write('# late\\n')" if edit else "")


def _proof_repo(repo: GitRepo, *reqs: str) -> None:
    repo.write(TASK, "id: P-1\nscope: ['**']\nproof:\n" + "".join(f"  - {r}\n" for r in reqs))
    repo.write(".gitignore", "reports/\n")
    repo.write("src/a.py", "a = 1\n")
    repo.add()
    repo.commit("base")
    repo.write("src/a.py", "a = 2\n")
    repo.add()


def _prove(repo: GitRepo, code: str, expect: int = 0, name: str = "tests") -> dict[str, Any]:
    """Run ``code`` through prove; the record it left."""
    import sys

    from conftest import run_gate

    proc = run_gate("prove", "--name", name, "--", sys.executable, "-c", code, cwd=repo.path)
    assert proc.returncode == expect, (proc.stdout, proc.stderr)
    where = repo.git("rev-parse", "--git-path", "avorelo").stdout.decode().strip()
    latest = repo.path / where / "proof" / name / "latest.json"
    record: dict[str, Any] = json.loads(latest.read_text())
    return record


def _rerun_hint(record: dict[str, Any]) -> str:
    import shlex

    command = shlex.join(record["argv"])
    if len(command) > 160:   # the hint is one line: the record keeps the argv
        command = (f"<the command in $(git rev-parse --git-path avorelo)/proof/"
                   f"{record['name']}/latest.json>")
    return f"avorelo-gate prove --name {record['name']} -- {command}"


def _proofs(repo: GitRepo, *args: str) -> tuple[dict[str, Any], list[Any]]:
    """check's proof entries (by requirement, without the spec) and violations."""
    proc = run_main("check", "--format", "json", *args, cwd=repo.path)
    result = json.loads(proc.stdout)
    assert proc.returncode == (0 if result["verdict"] == "pass" else 1), proc.stderr
    entries = {p["requirement"]: {k: v for k, v in p.items() if k != "spec"}
               for p in result["proof"]}
    return entries, [(v["rule"], v["path"], v["message"], v["hint"])
                     for v in result["violations"]]


def _tree(repo: GitRepo, rev: str | None = None) -> str:
    args = ("rev-parse", f"{rev}^{{tree}}") if rev else ("write-tree",)
    return repo.git(*args).stdout.decode().strip()


def _sha(repo: GitRepo, rel: str) -> str:
    import hashlib

    return hashlib.sha256((repo.path / rel).read_bytes()).hexdigest()


def test_check_command_missing_in_a_clone_and_on_a_machine(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    hint = "run: avorelo-gate prove --name tests -- <the test command>"
    entries, violations = _proofs(repo)
    detail = "no `avorelo-gate prove --name tests` record in this clone"
    assert entries == {"command:tests": {"requirement": "command:tests", "status": "missing",
                                         "detail": detail}}
    assert violations == [("proof-missing", None, f"command:tests: {detail}", hint)]
    repo.commit("work")
    entries, violations = _proofs(repo, "--commit", "HEAD")
    detail = ("no `avorelo-gate prove --name tests` record on this machine (a check of "
              "commits needs a prove run here, e.g. in the CI job)")
    assert entries["command:tests"]["detail"] == detail
    assert violations == [("proof-missing", None, f"command:tests: {detail}", hint)]


def test_check_command_ok_failed_and_interrupted(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    ok = _prove(repo, "pass")
    entries, violations = _proofs(repo)
    assert entries == {"command:tests": {"requirement": "command:tests", "status": "ok",
                                         "detail": f"exit 0 at {ok['finished']}",
                                         "tree": _tree(repo)}}
    assert violations == []
    failed = _prove(repo, "raise SystemExit(3)", expect=3)
    entries, violations = _proofs(repo)
    detail = "the last run on this content exited 3"
    assert entries["command:tests"] == {"requirement": "command:tests", "status": "failed",
                                        "detail": detail, "tree": _tree(repo)}
    assert violations == [("proof-failed", None, f"command:tests: {detail}",
                           f"fix what fails, then run it again: {_rerun_hint(failed)}")]
    # A run stopped by a signal: recorded as interrupted (exit code 0 or not).
    where = repo.git("rev-parse", "--git-path", "avorelo").stdout.decode().strip()
    latest = repo.path / where / "proof" / "tests" / "latest.json"
    history = repo.path / where / "proof" / "tests" / "history" / f"{failed['run_id']}.json"
    for path in (latest, history):
        path.write_text(json.dumps(dict(failed, exit_code=0, interrupted=True)))
    entries, violations = _proofs(repo)
    assert entries["command:tests"]["detail"] == "the last run on this content was interrupted"
    assert violations[0][:3] == ("proof-failed", None,
                                 "command:tests: the last run on this content was interrupted")


def test_check_command_changed_during_its_run_proves_nothing(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    moved = _prove(repo, "open('src/a.py', 'a').write('# late\\n')")
    entries, violations = _proofs(repo)
    detail = "content changed while tests ran (src/a.py): that run proves nothing"
    assert entries["command:tests"] == {"requirement": "command:tests", "status": "stale",
                                        "detail": detail, "tree": moved["tree"]}
    assert violations == [("proof-stale", None, f"command:tests: {detail}",
                           "run it again without editing meanwhile: " + _rerun_hint(moved))]


@pytest.mark.parametrize("extra", [0, 1])
def test_check_rerun_hint_names_a_command_of_160_characters_and_no_longer(repo: GitRepo,
                                                                        extra: int) -> None:
    import shlex
    import sys

    _proof_repo(repo, "command: tests")
    stem = "raise SystemExit(3)#"
    pad = 160 - len(shlex.join([sys.executable, "-c", stem]))
    assert pad > 0
    failed = _prove(repo, stem + "x" * (pad + extra), expect=3)
    assert len(shlex.join(failed["argv"])) == 160 + extra
    _, violations = _proofs(repo)
    shown = (_rerun_hint(failed) if not extra else
             "avorelo-gate prove --name tests -- <the command in $(git rev-parse --git-path "
             "avorelo)/proof/tests/latest.json>")
    assert violations[0][3] == f"fix what fails, then run it again: {shown}"


def test_check_stale_command_in_each_mode_and_the_exact_older_run(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    first = _prove(repo, "pass")
    repo.write("src/a.py", "a = 3\n")
    repo.add()
    entries, violations = _proofs(repo)
    again = _rerun_hint(first)
    assert entries["command:tests"] == {
        "requirement": "command:tests", "status": "stale",
        "detail": "tests ran before src/a.py was edited", "tree": first["tree"],
        "stale_paths": ["src/a.py"]}
    assert violations == [("proof-stale", None, "command:tests: tests ran before src/a.py "
                           "was edited", f"run it again on this content: {again} (prove runs "
                           "on the working tree: stage what you commit first)")]
    worktree = _proofs(repo, "--worktree")[1]
    assert worktree[0][3] == f"run it again on this content: {again}"
    second = _prove(repo, "pass")              # a newer run on a = 3
    repo.write("src/a.py", "a = 2\n")          # back to what the first run saw
    repo.add()
    entries, violations = _proofs(repo)
    assert violations == []
    assert entries["command:tests"]["detail"] == f"exit 0 at {first['finished']}"
    assert first["finished"] != second["finished"] and first["tree"] == _tree(repo)
    repo.commit("work")
    entries, violations = _proofs(repo, "--commit", "HEAD")
    assert entries["command:tests"]["status"] == "ok"
    repo.write("src/a.py", "a = 4\n")
    repo.add()
    repo.commit("more work")                  # no run saw a = 4; checked as a commit
    entries, violations = _proofs(repo, "--commit", "HEAD")
    assert violations == [("proof-stale", None, "command:tests: tests ran before src/a.py was "
                           "edited", f"run it again on this content: {_rerun_hint(second)}")]
    # an unstaged edit the run saw: the fix is to stage it
    repo.write("src/a.py", "a = 5\n")
    repo.write("src/b.py", "b\n")
    repo.git("add", "src/b.py")
    _prove(repo, "pass")
    entries, violations = _proofs(repo)
    assert violations == [("proof-stale", None, "command:tests: tests ran on the working "
                           "tree, where src/a.py differs from what is staged",
                           "stage what it ran on: git add -- src/a.py")]


def test_check_stale_command_reverted_since_names_the_revert(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    repo.write("src/b.py", "b\n")
    repo.add()
    run = _prove(repo, "pass")
    repo.write("src/a.py", "a = 1\n")     # the base's content again
    repo.add()
    _, violations = _proofs(repo)
    assert violations == [("proof-stale", None, "command:tests: tests ran on an edit of "
                           "src/a.py that this change no longer has (reverted since)",
                           f"run it again on this content: {_rerun_hint(run)} (prove runs on "
                           "the working tree: stage what you commit first)")]


def test_check_a_run_whose_tree_was_collected_is_stale(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    run = _prove(repo, "pass")
    where = repo.git("rev-parse", "--git-path", "avorelo").stdout.decode().strip()
    gone = dict(run, tree="1" * 40)
    for path in (repo.path / where / "proof" / "tests" / "latest.json",
                 repo.path / where / "proof" / "tests" / "history" / f"{run['run_id']}.json"):
        path.write_text(json.dumps(gone))
    entries, violations = _proofs(repo)
    detail = ("tests ran on other content: its content left the object database (git gc), "
              "so it cannot be compared")
    assert entries["command:tests"] == {"requirement": "command:tests", "status": "stale",
                                        "detail": detail, "tree": "1" * 40}
    assert violations[0][:3] == ("proof-stale", None, f"command:tests: {detail}")


def test_check_artifact_written_by_a_run_is_ok_and_outputs_stay_out_of_trees(
        repo: GitRepo) -> None:
    _proof_repo(repo, "junit: out/j.xml")      # not ignored: in the run's tree, not staged
    run = _prove(repo, _write_code("out/j.xml", J2))
    entries, violations = _proofs(repo)
    assert violations == []
    assert entries == {"junit:out/j.xml": {
        "requirement": "junit:out/j.xml", "status": "ok",
        "detail": f"written by tests at {run['finished']}",
        "counts": {"tests": 2, "failures": 0, "errors": 0, "skipped": 0},
        "sha256": _sha(repo, "out/j.xml"), "tree": run["tree"]}}


def test_check_a_staged_report_does_not_make_the_runs_before_it_stale(repo: GitRepo) -> None:
    """A report a requirement names is an output: staging it (a report meant to be committed
    with the work) changes no run's freshness, neither the run that wrote it nor one made before it
    (target_of's outputs; issue 17)."""
    _proof_repo(repo, "command: lint", "junit: out/j.xml\n    committed: true")
    _prove(repo, "pass", name="lint")                   # before the report exists
    _prove(repo, _write_code("out/j.xml", J2))
    repo.git("add", "out/j.xml")
    entries, violations = _proofs(repo)
    assert violations == []
    assert {k: e["status"] for k, e in entries.items()} == {"command:lint": "ok",
                                                            "junit:out/j.xml": "ok"}


@pytest.mark.parametrize("mode", [(), ("--worktree",)])
def test_check_a_missing_run_is_missing_in_this_clone_for_local_content(
        repo: GitRepo, mode: tuple[str, ...]) -> None:
    """Staged and working-tree content is this clone's: a missing run is asked of it, not of
    "this machine" as for a commit checked in CI (issue 17)."""
    _proof_repo(repo, "command: lint")
    entries, _ = _proofs(repo, *mode)
    assert entries["command:lint"]["detail"] == (
        "no `avorelo-gate prove --name lint` record in this clone")


def test_check_artifact_provenance_unknown_moved_and_stale(repo: GitRepo) -> None:
    from avorelo_gate.proof.check import UNKNOWN_PROVENANCE

    _proof_repo(repo, "junit: reports/j.xml")
    repo.write("reports/j.xml", J2)            # written by hand: no run vouches for it
    counts = {"tests": 2, "failures": 0, "errors": 0, "skipped": 0}
    entries, violations = _proofs(repo)
    sha = _sha(repo, "reports/j.xml")
    hint = ("produce it through the gate: avorelo-gate prove --name tests -- <the command "
            "that writes reports/j.xml>")
    assert entries["junit:reports/j.xml"] == {"requirement": "junit:reports/j.xml",
                                              "status": "stale", "detail": UNKNOWN_PROVENANCE,
                                              "counts": counts, "sha256": sha}
    assert violations == [("proof-stale", "reports/j.xml",
                           f"junit:reports/j.xml: {UNKNOWN_PROVENANCE}", hint)]
    repo.commit("work")
    entries, violations = _proofs(repo, "--commit", "HEAD")
    detail = (f"{UNKNOWN_PROVENANCE} on this machine (a check of commits needs a prove run "
              "here, e.g. in the CI job, or committed: true)")
    assert entries["junit:reports/j.xml"]["status"] == "missing"
    assert violations == [("proof-missing", "reports/j.xml", f"junit:reports/j.xml: {detail}",
                           hint)]
    repo.git("reset", "-q", "--soft", "HEAD~1")
    moved = _prove(repo, _write_code("reports/j.xml", J2 + " ", edit=True))
    entries, violations = _proofs(repo)
    detail = "content changed while tests ran (src/a.py): that run proves nothing"
    assert entries["junit:reports/j.xml"] == {
        "requirement": "junit:reports/j.xml", "status": "stale", "detail": detail,
        "counts": counts, "sha256": _sha(repo, "reports/j.xml"), "tree": moved["tree"]}
    assert violations == [("proof-stale", "reports/j.xml", f"junit:reports/j.xml: {detail}",
                           "run it again without editing meanwhile: " + _rerun_hint(moved))]
    repo.write("src/a.py", "a = 2\n")
    run = _prove(repo, _write_code("reports/j.xml", J2 + "  "))
    repo.write("src/a.py", "a = 5\n")
    repo.add()
    entries, violations = _proofs(repo)
    assert entries["junit:reports/j.xml"] == {
        "requirement": "junit:reports/j.xml", "status": "stale",
        "detail": "tests ran before src/a.py was edited",
        "sha256": _sha(repo, "reports/j.xml"), "tree": run["tree"],
        "stale_paths": ["src/a.py"]}
    assert violations == [("proof-stale", "reports/j.xml", "junit:reports/j.xml: tests ran "
                           "before src/a.py was edited", f"run it again on this content: "
                           f"{_rerun_hint(run)} (prove runs on the working tree: stage what "
                           "you commit first)")]


def test_check_self_supplied_artifact_hint_where_it_can_be_fixed(repo: GitRepo) -> None:
    _proof_repo(repo, "junit: 'out/my j.xml'")
    repo.write("out/my j.xml", J2)
    repo.add()
    detail = ("self-supplied: the artifact is part of the change being checked, so it cannot "
              "be its own proof")
    tail = (" and produce it with avorelo-gate prove, or declare committed: true if it is "
            "meant to be committed")
    entries, violations = _proofs(repo)
    assert entries == {"junit:out/my j.xml": {"requirement": "junit:out/my j.xml",
                                              "status": "invalid", "detail": detail}}
    assert violations == [("proof-invalid", "out/my j.xml", f"junit:out/my j.xml: {detail}",
                           "leave it out of the change (git rm --cached -- 'out/my j.xml')"
                           + tail)]
    repo.commit("work")
    _, violations = _proofs(repo, "--commit", "HEAD")
    assert violations == [("proof-invalid", "out/my j.xml", f"junit:out/my j.xml: {detail}",
                           "take it out of the commit that added it (git rebase -i, then git "
                           "rm --cached -- 'out/my j.xml' in that commit)" + tail)]


def test_check_committed_artifact_read_from_the_checked_content(repo: GitRepo) -> None:
    import os

    _proof_repo(repo, "{junit: out/j.xml, committed: true}")
    hint = "add out/j.xml to the change, or drop committed: true"
    detail = "not in the content being checked (committed: true reads it from there)"
    for args in ((), ("--worktree",)):
        entries, violations = _proofs(repo, *args)
        assert entries == {"junit:out/j.xml": {"requirement": "junit:out/j.xml",
                                               "status": "missing", "detail": detail}}
        assert violations == [("proof-missing", "out/j.xml", f"junit:out/j.xml: {detail}",
                               hint)]
    repo.write("out/j.xml", J2)
    assert _proofs(repo)[0]["junit:out/j.xml"]["status"] == "missing"   # not staged
    ok = {"requirement": "junit:out/j.xml", "status": "ok",
          "detail": "committed; judged by its content",
          "counts": {"tests": 2, "failures": 0, "errors": 0, "skipped": 0},
          "sha256": _sha(repo, "out/j.xml")}
    entries, violations = _proofs(repo, "--worktree")
    assert violations == [] and entries["junit:out/j.xml"].pop("tree")
    assert entries["junit:out/j.xml"] == ok       # the working tree's own tree, read from disk
    repo.add()
    entries, violations = _proofs(repo)
    assert violations == [] and entries["junit:out/j.xml"] == dict(ok, tree=_tree(repo))
    repo.write("out/j.xml", '<testsuite><testcase name="a"><failure/></testcase></testsuite>')
    repo.add()
    entries, violations = _proofs(repo)
    assert entries["junit:out/j.xml"]["detail"] == "1 failed, 0 errored"
    assert violations == [("proof-failed", "out/j.xml", "junit:out/j.xml: 1 failed, 0 errored",
                           "make the tests pass, then run them again through avorelo-gate "
                           "prove")]
    repo.git("rm", "-q", "--cached", "out/j.xml")
    os.remove(repo.path / "out/j.xml")
    os.symlink("../src/a.py", repo.path / "out/j.xml")
    repo.add()
    entries, violations = _proofs(repo)
    reason = "a symlink in the checked content; a committed artifact must be a regular file"
    assert violations == [("proof-invalid", "out/j.xml", f"junit:out/j.xml: {reason}",
                           "artifacts must be regular files inside the repository")]


@pytest.mark.parametrize(("min_tests", "tests", "detail"), [
    (None, 1, None),
    (0, 1, None),                       # min_tests: 0 behaves as 1
    (0, 0, "no test was executed (1 skipped): zero tests is not proof"),
    (2, 2, None),
    (3, 2, "2 test(s) executed, min_tests is 3"),
    (2, 1, "1 test(s) executed, min_tests is 2"),
])
def test_check_junit_min_tests_on_both_sides(repo: GitRepo, min_tests: int | None, tests: int,
                                             detail: str | None) -> None:
    spec = "{junit: reports/j.xml" + (f", min_tests: {min_tests}" if min_tests is not None
                                      else "") + "}"
    _proof_repo(repo, spec)
    cases = "".join(f'<testcase name="t{i}"/>' for i in range(tests))
    skipped = '<testcase name="s"><skipped/></testcase>'
    run = _prove(repo, _write_code("reports/j.xml", f"<testsuite>{cases}{skipped}</testsuite>"))
    entries, violations = _proofs(repo)
    counts = {"tests": tests, "failures": 0, "errors": 0, "skipped": 1}
    entry = {"requirement": "junit:reports/j.xml", "counts": counts,
             "sha256": _sha(repo, "reports/j.xml")}
    if detail is None:
        assert entries["junit:reports/j.xml"] == dict(
            entry, status="ok", detail=f"written by tests at {run['finished']}",
            tree=run["tree"])
        assert violations == []
    else:
        assert entries["junit:reports/j.xml"] == dict(entry, status="failed", detail=detail)
        assert violations == [("proof-failed", "reports/j.xml",
                               f"junit:reports/j.xml: {detail}",
                               "make the tests pass, then run them again through "
                               "avorelo-gate prove")]


@pytest.mark.parametrize(("case", "detail", "counts"), [
    ("<failure/>", "1 failed, 0 errored", {"failures": 1, "errors": 0}),
    ("<error/>", "0 failed, 1 errored", {"failures": 0, "errors": 1}),
])
def test_check_junit_failures_and_errors(repo: GitRepo, case: str, detail: str,
                                         counts: dict[str, int]) -> None:
    _proof_repo(repo, "junit: reports/j.xml")
    _prove(repo, _write_code("reports/j.xml", '<testsuite><testcase name="a"/>'
                             f'<testcase name="b">{case}</testcase></testsuite>'))
    entries, _ = _proofs(repo)
    assert entries["junit:reports/j.xml"]["detail"] == detail
    assert entries["junit:reports/j.xml"]["counts"] == {"tests": 2, **counts, "skipped": 0}


def test_check_junit_flaky_shown_only_when_there_is_one(repo: GitRepo) -> None:
    _proof_repo(repo, "junit: reports/j.xml")
    _prove(repo, _write_code("reports/j.xml", '<testsuite><testcase name="a"><flakyFailure/>'
                             '</testcase><testcase name="b"/></testsuite>'))
    entries, violations = _proofs(repo)
    assert entries["junit:reports/j.xml"]["counts"] == {
        "tests": 2, "failures": 0, "errors": 0, "skipped": 0, "flaky": 1}
    assert violations == []


def test_check_junit_unusable_report(repo: GitRepo) -> None:
    _proof_repo(repo, "junit: reports/j.xml")
    _prove(repo, _write_code("reports/j.xml", "<html/>"))
    entries, violations = _proofs(repo)
    entry = entries["junit:reports/j.xml"]
    assert entry["status"] == "invalid"
    assert entry["detail"].startswith("not a usable JUnit report: ")
    assert len(entry["detail"]) > len("not a usable JUnit report: ")
    assert violations == [("proof-invalid", "reports/j.xml",
                           f"junit:reports/j.xml: {entry['detail']}",
                           "regenerate it with the test runner (e.g. pytest --junitxml=PATH)")]


def test_check_log_and_file_requirements_exactly(repo: GitRepo) -> None:
    _proof_repo(repo, "{log: reports/l.log, must_contain: [OK, DONE], must_not_contain: [FAIL]}",
                "file: reports/f.bin")
    code = _write_code("reports/l.log", "DONE\nFAIL\n") + "; " + _write_code("reports/f.bin", "")
    _prove(repo, code)
    entries, violations = _proofs(repo)
    detail = "does not contain 'OK'; contains 'FAIL'"
    assert entries["log:reports/l.log"] == {"requirement": "log:reports/l.log",
                                            "status": "failed", "detail": detail,
                                            "sha256": _sha(repo, "reports/l.log")}
    assert entries["file:reports/f.bin"] == {"requirement": "file:reports/f.bin",
                                             "status": "failed",
                                             "detail": "the file is empty",
                                             "sha256": _sha(repo, "reports/f.bin")}
    assert violations == [
        ("proof-failed", "reports/l.log", f"log:reports/l.log: {detail}",
         "fix what the log reports and run the command again"),
        ("proof-failed", "reports/f.bin", "file:reports/f.bin: the file is empty",
         "run the command that writes it again")]
    run = _prove(repo, _write_code("reports/l.log", "OK\nDONE\n") + "; "
                 + _write_code("reports/f.bin", "x"))
    entries, violations = _proofs(repo)
    assert violations == []
    assert entries["file:reports/f.bin"] == {"requirement": "file:reports/f.bin",
                                             "status": "ok",
                                             "detail": f"written by tests at {run['finished']}",
                                             "sha256": _sha(repo, "reports/f.bin"),
                                             "tree": run["tree"]}


def test_check_unreadable_artifacts_missing_and_not_a_file(repo: GitRepo) -> None:
    _proof_repo(repo, "junit: reports/j.xml")
    entries, violations = _proofs(repo)
    entry = entries["junit:reports/j.xml"]
    assert entry["status"] == "missing" and entry["detail"]
    assert violations == [("proof-missing", "reports/j.xml",
                           f"junit:reports/j.xml: {entry['detail']}",
                           "produce it: avorelo-gate prove --name tests -- <the command that "
                           "writes reports/j.xml>")]
    (repo.path / "reports" / "j.xml").mkdir(parents=True)
    entries, violations = _proofs(repo)
    entry = entries["junit:reports/j.xml"]
    assert entry["status"] == "invalid" and entry["detail"]
    assert violations == [("proof-invalid", "reports/j.xml",
                           f"junit:reports/j.xml: {entry['detail']}",
                           "artifacts must be regular files inside the repository")]


def test_check_proof_owed_only_by_a_change_and_once_per_requirement(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests", "command: lint")
    repo.git("reset", "-q", "--hard")
    entries, violations = _proofs(repo)
    assert (entries, violations) == ({}, [])
    repo.write("src/a.py", "a = 9\n")
    repo.add()
    entries, violations = _proofs(repo)
    assert list(entries) == ["command:tests", "command:lint"]
    assert [v[2].split(":")[1] for v in violations] == ["tests", "lint"]


def test_check_is_violation_for_exactly_its_requirement() -> None:
    from avorelo_gate.proof.check import is_violation_for
    from avorelo_gate.result import Violation

    for rule in ("proof-missing", "proof-failed", "proof-stale", "proof-invalid"):
        assert is_violation_for(Violation(rule, "command:tests: x"), "command:tests")
        assert not is_violation_for(Violation(rule, "command:tests2: x"), "command:tests")
        assert not is_violation_for(Violation(rule, "command:tests x"), "command:tests")
    assert not is_violation_for(Violation("out-of-scope", "command:tests: x"), "command:tests")


def test_engine_editing_a_policy_the_branch_added_is_a_policy_change_at_commit_and_in_ci(
        repo: GitRepo) -> None:
    """Adoption is adding the policy where the policy in force has none: a later commit that
    edits the policy it added is a policy change, at the commit hooks (the policy in force is
    the one just added) and in ci (the merge base's: none; the commit's status is M, not A)."""
    from avorelo_gate.gate.engine import ADOPTION_NOTE

    hint = ("change the policy in a change of its own, with --allow-policy-change (or "
            "AVORELO_ALLOW_POLICY_CHANGE=1) set by a maintainer")
    _base(repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(POLICY, "require_task: false\n")
    repo.add()
    assert ADOPTION_NOTE in _judge(repo)["notes"]
    repo.commit("adopt")
    repo.write(POLICY, "require_task: false\nprotected: []\n")
    repo.add()
    changed = [("policy-changed", POLICY, "the policy is not part of any task", hint)]
    assert _judge(repo)["violations"] == changed
    edit = repo.commit("edit the new policy")
    proc = run_main("ci", "--base", "main", "--format", "json", cwd=repo.path)
    result = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert [(v["rule"], v["path"], v["message"], v["hint"], v["commit"])
            for v in result["violations"]] == [(*changed[0], edit)]
    assert ADOPTION_NOTE in result["notes"]      # the range as a whole adds the policy


def test_check_moved_detail_names_three_paths_at_most(repo: GitRepo) -> None:
    _proof_repo(repo, "command: tests")
    for name in ("b", "c", "d"):
        repo.write(f"src/{name}.py", f"{name}\n")
    repo.add()
    two = _prove(repo, "[open(f'src/{n}.py', 'a').write('#') for n in 'ab']")
    entries, _ = _proofs(repo)
    assert entries["command:tests"]["detail"] == (
        "content changed while tests ran (src/a.py, src/b.py): that run proves nothing")
    assert entries["command:tests"]["tree"] == two["tree"]
    _prove(repo, "[open(f'src/{n}.py', 'a').write('#') for n in 'abcd']")
    entries, _ = _proofs(repo)
    assert entries["command:tests"]["detail"] == ("content changed while tests ran (src/a.py, "
                                                  "src/b.py, src/c.py): that run proves nothing")


def test_check_proof_entries_carry_their_requirement_as_declared(repo: GitRepo) -> None:
    _proof_repo(repo, "{junit: reports/j.xml, min_tests: 2}", "command: tests")
    proc = run_main("check", "--format", "json", cwd=repo.path)
    specs = [p["spec"] for p in json.loads(proc.stdout)["proof"]]
    assert specs == [{"junit": "reports/j.xml", "min_tests": 2}, {"command": "tests"}]


def test_check_junit_over_its_size_limit_is_invalid(repo: GitRepo) -> None:
    from avorelo_gate.proof.junit import MAX_JUNIT_BYTES

    _proof_repo(repo, "junit: reports/j.xml")
    (repo.path / "reports").mkdir()
    with open(repo.path / "reports" / "j.xml", "wb") as f:
        f.truncate(MAX_JUNIT_BYTES + 1)
    entries, violations = _proofs(repo)
    detail = f"larger than {MAX_JUNIT_BYTES} bytes"
    assert entries["junit:reports/j.xml"] == {"requirement": "junit:reports/j.xml",
                                              "status": "invalid", "detail": detail,
                                              "sha256": _sha(repo, "reports/j.xml")}
    assert violations == [("proof-invalid", "reports/j.xml", f"junit:reports/j.xml: {detail}",
                           None)]


def test_check_artifact_in_a_repository_without_a_working_tree_is_missing(
        repo: GitRepo, tmp_path: Any) -> None:
    _proof_repo(repo, "junit: reports/j.xml")
    repo.commit("work")
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))
    entries, violations = _proofs(GitRepo(bare), "--commit", "HEAD")
    detail = "no working tree to read it from"
    assert entries["junit:reports/j.xml"] == {"requirement": "junit:reports/j.xml",
                                              "status": "missing", "detail": detail}
    assert violations == [("proof-missing", "reports/j.xml", f"junit:reports/j.xml: {detail}",
                           "produce it: avorelo-gate prove --name tests -- <the command that "
                           "writes reports/j.xml>")]


def test_declare_without_an_id_only_task_yaml_is_the_task_file(repo: GitRepo) -> None:
    """No id known: task.yaml, never a file under tasks/ (not even one named 'None')."""
    from avorelo_gate.errors import BadInputError
    from avorelo_gate.task.declare import find_task_file

    _base(repo, task="scope: ['t/**']\n")
    repo.write(".avorelo/tasks/None.yaml", "scope: ['n/**']\n")
    repo.add()
    found = find_task_file(_snap(repo), None)
    assert found is not None and (found.path, dict(found.data)) == (TASK, {"scope": ["t/**"]})
    task = _resolve(repo)
    assert (task.id, task.file, task.scope) == (None, TASK, ("t/**",))
    repo.write(TASK, "scope: [\n")      # unreadable: named by its path alone (no "where")
    repo.add()
    with pytest.raises(BadInputError) as e:
        find_task_file(_snap(repo), None)
    assert str(e.value).startswith(f"{TASK}:") and "(" not in str(e.value).split(":")[0]


def test_engine_task_file_with_neither_id_nor_scope_warns_as_unnamed(repo: GitRepo) -> None:
    _base(repo, None, "title: no id, no scope\n")
    _stage(repo, "docs/a.md")
    result = _judge(repo)
    assert result["verdict"] == "pass"
    assert result["warnings"] == [
        "task (unnamed) declares no scope (.avorelo/task.yaml has no scope: key): every path "
        "is in scope"]


@pytest.mark.parametrize(("files", "lines", "rules"), [
    (2, 1, []),                         # max_files: 2 allows 2 (2 lines of 3)
    (3, 1, ["budget-files"]),           # and refuses 3
    (1, 3, []),                         # max_lines: 3 allows 3
    (1, 4, ["budget-lines"]),           # and refuses 4
])
def test_engine_task_budgets_on_both_sides(repo: GitRepo, files: int, lines: int,
                                          rules: list[str]) -> None:
    _base(repo, None, 'id: T-1\nscope: ["src/**"]\nbudget: {max_files: 2, max_lines: 3}\n')
    _stage(repo, *[f"src/{i}.py" for i in range(files)], lines=lines)
    assert [v[0] for v in _judge(repo)["violations"]] == rules


def test_engine_self_declared_task_without_an_id_is_named_unnamed(repo: GitRepo) -> None:
    _base(repo, "require_task: false\n")
    repo.write(TASK, 'scope: ["src/**"]\n')
    _stage(repo, "src/a.py")
    assert ("task (unnamed) is self-declared: .avorelo/task.yaml is not in the base, so the "
            "change wrote its own rules") in _judge(repo)["notes"]


def test_declare_context_and_tools_come_from_the_task_file(repo: GitRepo) -> None:
    _base(repo, task="id: A\nscope: ['a/**']\ncontext: ['docs/a.md']\ntools: [pytest, ruff]\n")
    task = _resolve(repo)
    assert (task.context, task.tools) == (("docs/a.md",), ("pytest", "ruff"))
    assert _resolve(repo, explicit_id="B").tools is None    # no file: no tool list
