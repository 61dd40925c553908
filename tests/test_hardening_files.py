"""Issue 7, part 4: hostile task, policy and JUnit files are refused within a second, with a
clear message, through the commands that read them.

tests/test_files.py covers every schema and syntax error on small files and
tests/test_junit.py the parser on small reports; these are the adversarial sizes and shapes
(bombs, depth, megabytes, tags, encodings). The parse itself is timed in CPU time
(time.process_time: the work this process did, not the wall clock, which on a loaded 2-core
machine also counts the time spent waiting for a core; issue 17): a bound, not a benchmark,
generous yet far below what the quadratic and exponential cases cost when a defence is missing
(seconds to hours).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import GitRepo, assert_clean_error
from inproc import run_main

from avorelo_gate.errors import BadInputError
from avorelo_gate.proof.junit import JUnitCounts, JUnitInvalid, parse_junit
from avorelo_gate.task.yamlio import load_yaml

T = TypeVar("T")
PARSE_SECONDS = 1.0
MB = 1024 * 1024

# -- YAML -------------------------------------------------------------------------------------
ALIAS_BOMB = b"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + b"".join(
    b"%s: &%s [%s]\n" % (bytes([98 + i]), bytes([98 + i]),
                        b", ".join([b"*" + bytes([97 + i])] * 9)) for i in range(9))

HOSTILE_YAML: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("alias-bomb", ALIAS_BOMB, ("alias",)),
    ("alias-bomb-in-scope", b"id: T-1\nscope: &s ['a/**']\nforbid: *s\n", ("alias",)),
    ("deep-flow-100k", b"scope: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", ("nested",)),
    ("deep-flow-maps", b"model: " + b"{a: " * 20_000 + b"1" + b"}" * 20_000 + b"\n",
     ("nested",)),
    ("deep-block-maps", b"".join(b"  " * i + b"k:\n" for i in range(300)), ("nested",)),
    ("deep-65", b"scope: " + b"[" * 65 + b"]" * 65 + b"\n", ("nested deeper than 64",)),
    ("ten-megabytes", b"id: T-1\ntitle: '" + b"x" * (10 * MB) + b"'\n", ("limit",)),
    ("ten-megabytes-of-comment", b"# " * (5 * MB) + b"\nid: T-1\n", ("limit",)),
    ("python-object-apply", b"id: !!python/object/apply:os.system ['touch pwned']\n",
     ("tag", "not allowed")),
    ("python-name", b"id: !!python/name:os.system\n", ("tag", "not allowed")),
    ("python-object-new", b"scope: !!python/object/new:list [[a]]\n", ("tag", "not allowed")),
    ("verbatim-python-tag", b"id: !<tag:yaml.org,2002:python/object:os.system> {}\n",
     ("tag", "not allowed")),
    ("binary-tag", b"id: !!binary aGVsbG8=\n", ("tag", "not allowed")),
    ("set-tag", b"scope: !!set {a, b}\n", ("tag", "not allowed")),
    ("duplicate-top", b"id: T-1\nscope: [a]\nid: T-2\n", ("duplicate key 'id'",)),
    ("duplicate-nested", b"budget: {max_files: 1, max_files: 999}\n",
     ("duplicate key 'max_files'",)),
    ("duplicate-quoted", b"id: T-1\n\"id\": T-2\n", ("duplicate key 'id'",)),
    ("tab-indent", b"budget:\n\tmax_files: 1\n", ("tab",)),
    ("tab-after-spaces", b"scope:\n  \t- a\n", ("tab",)),
    ("bom-then-tab", b"\xef\xbb\xbfbudget:\n\tmax_files: 1\n", (":2", "tab")),
    ("utf16-le-bom", "id: T-1\n".encode("utf-16"), ("not UTF-8",)),
    ("utf16-be-bom", b"\xfe\xff" + "id: T-1\n".encode("utf-16-be"), ("not UTF-8",)),
    ("utf32-bom", "id: T-1\n".encode("utf-32"), ("not UTF-8",)),
    ("latin1", b"id: T-1\ntitle: caf\xe9\n", ("not UTF-8",)),
    ("lone-continuation", b"id: T-1\ntitle: \x80\x80\n", ("not UTF-8",)),
    ("overlong-encoding", b"id: T-1\ntitle: \xc0\xaf\n", ("not UTF-8",)),
    ("surrogate-encoded", b"id: T-1\ntitle: \xed\xa0\x80\n", ("not UTF-8",)),
    ("two-documents", b"id: T-1\n---\nid: T-2\n", ("single document",)),
]


def timed(fn: Callable[..., T], *args: Any) -> tuple[T | Exception, float]:
    """What ``fn`` returned or raised, and the CPU time it took (not wall-clock: see above)."""
    start = time.process_time()
    try:
        return fn(*args), time.process_time() - start
    except Exception as e:   # the caller asserts on the type
        return e, time.process_time() - start


@pytest.mark.parametrize(("data", "needles"), [c[1:] for c in HOSTILE_YAML],
                         ids=[c[0] for c in HOSTILE_YAML])
def test_hostile_yaml_is_refused_within_a_second(data: bytes,
                                                 needles: tuple[str, ...]) -> None:
    error, seconds = timed(load_yaml, data, "t.yaml")
    assert isinstance(error, BadInputError), error
    assert seconds < PARSE_SECONDS, seconds
    message = str(error)
    assert message.startswith("t.yaml"), message
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message and len(message) < 400, message


@pytest.mark.parametrize(("data", "needles"), [c[1:] for c in HOSTILE_YAML],
                         ids=[c[0] for c in HOSTILE_YAML])
def test_hostile_task_file_through_validate_and_check(repo: GitRepo, data: bytes,
                                                      needles: tuple[str, ...]) -> None:
    repo.write("src/a.py")
    repo.write(".avorelo/task.yaml", data)
    repo.add()
    for args in (("validate", ".avorelo/task.yaml"), ("check",)):
        proc = run_main(*args, cwd=repo.path)
        assert_clean_error(proc, 2, ".avorelo/task.yaml", *needles)
        assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1, proc.stderr


@pytest.mark.parametrize("case", ["alias-bomb", "deep-flow-100k", "ten-megabytes",
                                  "python-object-apply", "duplicate-top", "latin1"])
def test_hostile_committed_policy_through_check_and_ci(repo: GitRepo, case: str) -> None:
    data, needles = {c[0]: c[1:] for c in HOSTILE_YAML}[case]
    repo.write(".avorelo/policy.yaml", data)
    repo.add()
    repo.commit("a broken policy, committed without hooks")
    repo.write("src/a.py")
    repo.add()
    repo.commit("work")
    for args in (("check", "--commit", "HEAD"), ("ci", "--base", "HEAD~1")):
        proc = run_main(*args, cwd=repo.path)
        assert_clean_error(proc, 2, ".avorelo/policy.yaml", *needles)


def test_a_bom_alone_is_accepted(repo: GitRepo) -> None:
    repo.write(".avorelo/task.yaml", b"\xef\xbb\xbfid: T-1\nscope: ['src/**']\n")
    assert run_main("validate", ".avorelo/task.yaml", cwd=repo.path).returncode == 0


# -- JUnit ------------------------------------------------------------------------------------
def billion_laughs() -> bytes:
    entities = b"".join(b' <!ENTITY lol%d "%s">\n' % (i, b"&lol%d;" % (i - 1) * 10)
                        for i in range(1, 10))
    return (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 "lol">\n' + entities
            + b"]>\n<testsuite><testcase name='&lol9;'/></testsuite>\n")


HOSTILE_JUNIT: list[tuple[str, bytes, str]] = [
    ("billion-laughs", billion_laughs(), "(<!DOCTYPE>) are not allowed"),
    ("quadratic-blowup", b'<!DOCTYPE t [<!ENTITY a "' + b"x" * 100_000 + b'">]><testsuite>'
     + b"&a;" * 20_000 + b"</testsuite>", "(<!DOCTYPE>) are not allowed"),
    ("xxe", b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b"<testsuite><testcase name='&x;'/></testsuite>", "not allowed"),
    ("external-dtd", b'<!DOCTYPE testsuite SYSTEM "http://example.invalid/x.dtd">'
     b"<testsuite/>", "not allowed"),
    ("undeclared-entity", b"<testsuite><testcase name='&x;'/></testsuite>", "not well-formed"),
    ("deep-100k", b"<testsuite>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</testsuite>",
     "nested deeper"),
    ("deep-suites", b"<testsuites>" + b"<testsuite>" * 5000 + b"</testsuite>" * 5000
     + b"</testsuites>", "nested deeper"),
    ("ten-megabytes-junk-after-root", b"<testsuite><testcase name='t'/></testsuite>"
     + b"<x/>" * (10 * MB // 4), "junk after document element"),
    ("ten-megabyte-unclosed-attribute", b"<testsuite><testcase name='" + b"x" * (10 * MB),
     "not well-formed"),
    ("ten-megabyte-unclosed-comment", b"<testsuite><!--" + b"x" * (10 * MB), "not well-formed"),
    ("ten-megabyte-element-name", b"<" + b"t" * (10 * MB) + b"/>", "root element is <ttt"),
    ("over-the-cap", b"<testsuite>" + b" " * (51 * MB) + b"</testsuite>", "larger than"),
    ("duplicate-attribute", b"<testsuite><testcase name='a' name='b'/></testsuite>",
     "duplicate attribute"),
    ("latin1-in-utf8", b"<?xml version='1.0' encoding='UTF-8'?><testsuite name='caf\xe9'>"
     b"<testcase/></testsuite>", "not well-formed"),
    ("utf8-bom-utf16-declared", b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-16'?>"
     b"<testsuite><testcase/></testsuite>", "encoding"),
    ("unknown-encoding", b"<?xml version='1.0' encoding='x-no-such'?><testsuite/>",
     "encoding"),
    ("nul-byte", b"<testsuite><testcase name='a\0'/></testsuite>", "not well-formed"),
    ("html-page", b"<!DOCTYPE html><html><body>502</body></html>", "HTML page"),
    ("binary", bytes(range(256)) * 64, "not well-formed"),
    ("empty", b"  \n", "empty"),
]
# Well-formed, so read as reports: nothing in them is obeyed.
INERT_JUNIT: list[tuple[str, bytes, JUnitCounts]] = [
    ("tabs", b"<testsuite>\n\t<testcase name='t'/>\n\t<testcase name='u'/>\n</testsuite>",
     JUnitCounts(2, 0, 0, 0)),
    ("utf8-bom", b"\xef\xbb\xbf<testsuite><testcase name='t'/></testsuite>",
     JUnitCounts(1, 0, 0, 0)),
    ("utf16-bom", "<testsuite><testcase name='t'/></testsuite>".encode("utf-16"),
     JUnitCounts(1, 0, 0, 0)),
    ("python-processing-instruction", b"<?python import os; os.system('touch pwned')?>"
     b"<testsuite><testcase name='t'/></testsuite>", JUnitCounts(1, 0, 0, 0)),
    ("xinclude", b"<testsuite xmlns:xi='http://www.w3.org/2001/XInclude'>"
     b"<xi:include href='/etc/passwd' parse='text'/><testcase name='t'/></testsuite>",
     JUnitCounts(1, 0, 0, 0)),
    ("ten-megabyte-attribute", b"<testsuite><testcase name='" + b"x" * (10 * MB)
     + b"'/></testsuite>", JUnitCounts(1, 0, 0, 0)),
]


@pytest.mark.parametrize(("data", "needle"), [c[1:] for c in HOSTILE_JUNIT],
                         ids=[c[0] for c in HOSTILE_JUNIT])
def test_hostile_junit_is_refused_within_a_second(data: bytes, needle: str) -> None:
    error, seconds = timed(parse_junit, data)
    assert isinstance(error, JUnitInvalid), error
    assert seconds < PARSE_SECONDS, seconds
    assert needle in error.reason, error.reason
    assert "\n" not in error.reason and len(error.reason) < 200, error.reason
    assert b"passwd" not in error.reason.encode()   # a reason never quotes the document


@pytest.mark.parametrize(("data", "counts"), [c[1:] for c in INERT_JUNIT],
                         ids=[c[0] for c in INERT_JUNIT])
def test_inert_junit_is_read_within_a_second(data: bytes, counts: JUnitCounts,
                                             tmp_path: Path) -> None:
    result, seconds = timed(parse_junit, data)
    assert result == counts
    assert seconds < PARSE_SECONDS, seconds


@pytest.fixture
def junit_project(repo: GitRepo) -> GitRepo:
    repo.write(".gitignore", "reports/\n")
    repo.write(".avorelo/task.yaml", "id: T-1\nscope: ['src/**']\n"
                                     "proof: [{junit: reports/junit.xml}]\n")
    repo.write("src/a.py")
    repo.add()
    repo.commit("base")
    repo.write("src/a.py", "changed\n")
    repo.add()
    return repo


def junit_proof(repo: GitRepo, data: bytes) -> tuple[int, dict[str, Any], dict[str, Any]]:
    repo.write("reports/junit.xml", data)
    proc = run_main("check", "--format", "json", cwd=repo.path)
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    [proof] = result["proof"]
    # the change is in scope: the verdict is exactly the proof's
    assert proc.returncode == (0 if proof["status"] == "ok" else 1), (proof, proc.stderr)
    return proc.returncode, proof, result


def test_hostile_junit_through_check_is_proof_invalid(junit_project: GitRepo) -> None:
    # One repository, every report in turn: what a user sees is one violation naming it.
    for name, data, needle in HOSTILE_JUNIT:
        code, proof, result = junit_proof(junit_project, data)
        assert code == 1, name
        assert proof["status"] == "invalid", (name, proof)
        assert needle in str(proof["detail"]), (name, proof["detail"])
        [violation] = result["violations"]
        assert violation["rule"] == "proof-invalid" and violation["path"] == \
            "reports/junit.xml", (name, violation)
        # over the cap the bytes are never read, so there is nothing to regenerate from
        assert "larger" in str(proof["detail"]) or "regenerate it" in violation["hint"], \
            violation


def test_inert_junit_through_check_is_judged_by_provenance(junit_project: GitRepo) -> None:
    for name, data, _ in INERT_JUNIT:
        _, proof, _ = junit_proof(junit_project, data)
        # well-formed and passing, but written by no recorded run: stale, never invalid
        assert proof["status"] == "stale", (name, proof)
