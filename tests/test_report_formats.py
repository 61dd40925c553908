"""The CI formats are pure functions of a GateReport, so these build reports by hand (no git).

Every untrusted string (path, message, hint, model name, commit label) gets hostile payloads:
the outputs are read back the way their consumers read them (the Actions runner's line parser,
a SARIF schema, an XML parser, a Markdown table) and must say exactly what the gate meant.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avorelo_gate.errors import EnvironmentFailure
from avorelo_gate.report import github, junit_out, sarif
from avorelo_gate.result import (
    RULES,
    CheckResult,
    DiffSummary,
    GateReport,
    ProofStatus,
    Violation,
)

# CI runs a fresh clone with shared/ beside it: the schema lives next to the repository root.
SHARED_SARIF_SCHEMA = (Path(__file__).resolve().parents[2] / "shared" / "schemas"
                       / "sarif-schema-2.1.0.json")

TOKEN = "0123456789abcdef0123456789abcdef"
SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40

PAYLOADS = [
    "a\n::error::pwned",
    "%0A::set-output name=x::y",
    "x\r\n::add-mask::y",
    "::stop-commands::abc",
    "::abc::",
    f"::{TOKEN}::",
    f"\n::{TOKEN}::\n::error::after-resume",
    "a,b:c=d,title=forged",
    "%25%%0D%0A%3A%2C",
    "\r",
    " ::error::leading-space",
    "##[add-mask]legacy",
    "\u2028::error::line-separator",
    "\x85::error::next-line",
    "tab\there",
]

# A path git gave as bytes that are not UTF-8, decoded with surrogateescape.
UNDECODABLE = Violation("protected", "m", path="bad\udcffname")

# A path may hold anything but NUL and must be non-empty; every other field may hold anything.
texts = st.text(max_size=40)
paths = st.text(min_size=1, max_size=40).filter(lambda s: "\0" not in s)


def make_result(label: str = "range", *, violations: tuple[Violation, ...] = (),
                warnings: tuple[str, ...] = (), notes: tuple[str, ...] = (),
                model_name: str = "claude-haiku-4-5", task_id: str = "AUTH-142",
                proof: tuple[ProofStatus, ...] = ()) -> CheckResult:
    return CheckResult(
        base=SHA_A, head=SHA_B, label=label,
        task={"id": task_id, "scope": ["src/auth/**"], "forbid": [], "sources": ["trailer"]},
        model={"weight": "light", "name": model_name, "claimed": True},
        diff=DiffSummary(files=2, added=10, removed=3),
        violations=violations, warnings=warnings, notes=notes, proof=proof)


def hostile_report(payload: str) -> GateReport:
    """The payload in every untrusted field: path, message, hint, model, label, task, notes."""
    v1 = Violation("out-of-scope", payload, path=payload, hint=payload, line=7, commit=payload)
    v2 = Violation("no-task", payload)
    v3 = Violation("forbidden", "plain", path="src/auth/keys/k.pem", hint=None)
    commit = make_result(payload, violations=(v1,), warnings=(payload,), model_name=payload,
                         task_id=payload)
    overall = make_result("range", violations=(v1, v2, v3), warnings=(payload, "second"),
                          notes=(payload,), model_name=payload, task_id=payload,
                          proof=(ProofStatus(payload, "failed", detail=payload),))
    return GateReport(overall=overall, commits=(commit,))


# --- GitHub: read the output as the Actions runner does -------------------------------------

@dataclass
class Command:
    name: str
    props: dict[str, str] = field(default_factory=dict)
    data: str = ""


def unescape_data(text: str) -> str:
    # The runner's order (actions/runner ActionCommand.cs): %25 last.
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_v2(line: str) -> Command:
    line = line.lstrip()
    end = line.index("::", 2)
    name, _, props_text = line[2:end].partition(" ")
    props: dict[str, str] = {}
    for pair in filter(None, props_text.split(",")):
        key, _, value = pair.partition("=")
        props[key] = unescape_property(value)
    return Command(name, props, unescape_data(line[end + 2:]))


def run_as_runner(output: str) -> tuple[list[Command], list[str]]:
    """Commands the runner would execute, and the echoed lines it would only print."""
    # The runner splits lines on CR too: an unescaped CR anywhere would start a new line.
    assert "\r" not in output
    commands: list[Command] = []
    echoed: list[str] = []
    stop_token: str | None = None
    for line in output.split("\n"):
        if stop_token is not None:
            if line.strip() == f"::{stop_token}::":
                stop_token = None
            else:
                # The gate's own echo lines: prefixed, so none is a command or a resume line.
                assert line.startswith(github.ECHO_PREFIX), line
                echoed.append(line)
            continue
        if not line:
            continue
        # Outside the block every line is a command the gate built (the v2 parse wins over the
        # legacy "##[" one, so a "##[" inside its data is inert).
        assert line.startswith("::"), line
        command = parse_v2(line)
        if command.name == "stop-commands":
            stop_token = command.data
        else:
            commands.append(command)
    assert stop_token is None, "stop-commands never resumed"
    return commands, echoed


def assert_github_faithful(report: GateReport, output: str) -> None:
    commands, echoed = run_as_runner(output)
    warnings = github.unique_texts(report, "warnings")
    notes = github.unique_texts(report, "notes")
    assert [c.name for c in commands] == (["error"] * len(report.violations)
                                          + ["warning"] * len(warnings) + ["notice"] * len(notes))
    errors = commands[:len(report.violations)]
    for command, violation in zip(errors, report.violations, strict=True):
        assert_error_matches(command, violation)
    assert [c.data for c in commands if c.name == "warning"] == list(warnings)
    assert [c.data for c in commands if c.name == "notice"] == list(notes)
    assert echoed, "the summary is echoed inside stop-commands"


def assert_error_matches(command: Command, violation: Violation) -> None:
    assert command.props.get("file") == (violation.path or None)
    expected_line = str(violation.line) if violation.path and violation.line else None
    assert command.props.get("line") == expected_line
    assert command.props["title"].startswith(violation.rule)
    assert set(command.props) <= {"file", "line", "title"}
    assert command.data.startswith(violation.message)
    if violation.hint:
        assert command.data.endswith(violation.hint)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_render_github_injection_payloads_stay_data(payload: str) -> None:
    report = hostile_report(payload)
    output = github.render_github(report, token=TOKEN)
    assert_github_faithful(report, output)


@settings(max_examples=200, deadline=None)
@given(path=paths, message=texts, hint=texts, model=texts, label=texts)
def test_render_github_random_text_round_trips(path: str, message: str, hint: str, model: str,
                                               label: str) -> None:
    violation = Violation("protected", message, path=path, hint=hint or None, line=3, commit=label)
    commit = make_result(label, violations=(violation,), model_name=model)
    overall = make_result(violations=(violation,), warnings=(message,), notes=(hint,),
                          model_name=model)
    report = GateReport(overall=overall, commits=(commit,))
    assert_github_faithful(report, github.render_github(report, token=TOKEN))


@given(text=texts)
def test_escape_data_round_trips(text: str) -> None:
    assert unescape_data(github.escape_data(text)) == text
    assert unescape_property(github.escape_property(text)) == text
    assert not set(github.escape_property(text)) & set(":,\r\n")


def test_render_github_echoes_model_inside_stop_commands() -> None:
    report = hostile_report("a\n::error::pwned")
    output = github.render_github(report, token=TOKEN)
    lines = output.split("\n")
    start, end = lines.index(f"::stop-commands::{TOKEN}"), lines.index(f"::{TOKEN}::")
    block = lines[start + 1:end]
    assert any("model: a%0A::error::pwned" in line for line in block)
    assert all(line.startswith(github.ECHO_PREFIX) for line in block)


def test_render_github_token_is_random_by_default() -> None:
    report = hostile_report("x")
    first = github.render_github(report).split("\n")[0]
    second = github.render_github(report).split("\n")[0]
    assert first.startswith("::stop-commands::") and first != second
    assert re.fullmatch(r"::stop-commands::[0-9a-f]{32}", first)


@pytest.mark.parametrize("token", ["", "short", "abc::def0123456789", "a b c d e f g h i j"])
def test_render_github_rejects_weak_token(token: str) -> None:
    with pytest.raises(ValueError):
        github.render_github(hostile_report("x"), token=token)


def test_render_github_annotation_properties() -> None:
    report = GateReport(make_result(violations=(
        Violation("out-of-scope", "outside", path="docs/guide.md", hint="narrow it", line=12),
        Violation("budget-lines", "too big", path="src/a.py"),
        Violation("no-task", "no task", line=5),
    )))
    commands, _ = run_as_runner(github.render_github(report, token=TOKEN))
    assert commands[0].props == {"file": "docs/guide.md", "line": "12", "title": "out-of-scope"}
    assert commands[0].data == "outside\nTo fix: narrow it"
    assert commands[1].props == {"file": "src/a.py", "title": "budget-lines"}
    # No file, so no line: the runner cannot place a line in no file.
    assert commands[2].props == {"title": "no-task"}


def test_render_github_undecodable_path_is_printable() -> None:
    report = GateReport(make_result(violations=(UNDECODABLE,)))
    output = github.render_github(report, token=TOKEN)
    output.encode("utf-8")   # a lone surrogate would make printing it crash
    commands, _ = run_as_runner(output)
    assert commands[0].props["file"] == "bad\\xffname"


def test_render_github_passing_report_has_no_annotations() -> None:
    report = GateReport(make_result())
    commands, echoed = run_as_runner(github.render_github(report, token=TOKEN))
    assert commands == []
    summary = f"pass: 0 violations, 0 warnings (range {SHA_A}..{SHA_B})"
    assert echoed == [github.ECHO_PREFIX + summary, github.ECHO_PREFIX + "task: AUTH-142",
                      github.ECHO_PREFIX + "model: claude-haiku-4-5 (light)"]


# --- the job summary ------------------------------------------------------------------------

# What GFM trims around a cell: spaces and tabs (Python's strip() would also eat U+2028).
MD_SPACE = " \t"


def split_cells(row: str) -> list[str]:
    """A GFM table row's cells: a pipe after a backslash is content, not a border."""
    cells: list[str] = []
    current = ""
    i = 0
    while i < len(row):
        if row[i] == "\\":
            current += row[i:i + 2]
            i += 2
            continue
        if row[i] == "|":
            cells.append(current)
            current = ""
        else:
            current += row[i]
        i += 1
    cells.append(current)
    assert cells[0] == "" and cells[-1] == "", row
    return [c.strip(MD_SPACE) for c in cells[1:-1]]


def unescape_markdown(text: str) -> str:
    text = text.replace("<br>", "\n")
    text = re.sub(r"\\(.)", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def table_rows(summary: str, heading: str) -> list[list[str]]:
    section = summary.split(f"### {heading}\n\n", 1)[1].split("\n\n", 1)[0]
    rows = [split_cells(line) for line in section.split("\n")]
    assert all(len(r) == len(rows[0]) for r in rows), section
    return rows[2:]   # past the header and the delimiter row


@pytest.mark.parametrize("payload", [*PAYLOADS, "a | b", "| x | y |\n| --- | --- |",
                                     "<script>alert(1)</script>", "`code` ``x``", "\\|", "&lt;",
                                     "[link](javascript:alert(1))", "**bold**"])
def test_render_step_summary_escapes_cells(payload: str) -> None:
    report = hostile_report(payload)
    summary = github.render_step_summary(report)
    rows = table_rows(summary, "Violations")
    assert len(rows) == len(report.violations)
    # Markdown trims a cell's outer spaces; everything else must come back as it was.
    expected = normalise_newlines(payload).strip(MD_SPACE)
    assert unescape_markdown(rows[0][3]) == expected   # message column
    assert unescape_markdown(rows[0][4]) == expected   # hint column
    assert len(table_rows(summary, "Commits")) == 1
    assert len(table_rows(summary, "Proof")) == 1
    # No raw HTML: the only tag the gate writes is its own line break.
    assert re.sub(r"<br>", "", summary).count("<") == 0
    assert re.search(r"(?<!\\)`", summary) is None


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@given(text=texts)
def test_escape_markdown_round_trips(text: str) -> None:
    escaped = github.escape_markdown(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert split_cells(f"| {escaped} |") == [escaped.strip(MD_SPACE)]
    assert unescape_markdown(escaped) == normalise_newlines(text)


def test_render_step_summary_verdict_and_sections() -> None:
    passing = github.render_step_summary(GateReport(make_result()))
    assert passing.startswith("## avorelo-gate: \u2705 pass")
    assert "### Violations" not in passing and "### Commits" not in passing
    failing = github.render_step_summary(hostile_report("x"))
    assert failing.startswith("## avorelo-gate: \u274c fail")
    for heading in ("Violations", "Commits", "Proof", "Warnings", "Notes"):
        assert f"### {heading}" in failing


def test_write_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("## from an earlier step\n", encoding="utf-8")
    report = hostile_report("x")
    github.write_step_summary(report, {"GITHUB_STEP_SUMMARY": str(target)})
    github.write_step_summary(report, {"GITHUB_STEP_SUMMARY": str(target)})
    text = target.read_text(encoding="utf-8")
    assert text == "## from an earlier step\n" + 2 * github.render_step_summary(report)


def test_write_step_summary_without_variable_does_nothing(tmp_path: Path) -> None:
    github.write_step_summary(hostile_report("x"), {})
    github.write_step_summary(hostile_report("x"), {"GITHUB_STEP_SUMMARY": ""})
    assert list(tmp_path.iterdir()) == []


def test_write_step_summary_io_error_is_environment_failure(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentFailure, match="job summary"):
        github.write_step_summary(hostile_report("x"), {"GITHUB_STEP_SUMMARY": str(tmp_path)})


def test_write_step_summary_undecodable_path(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    report = GateReport(make_result(violations=(UNDECODABLE,)))
    github.write_step_summary(report, {"GITHUB_STEP_SUMMARY": str(target)})
    assert "bad\\\\xffname" in target.read_text(encoding="utf-8")


# --- SARIF ----------------------------------------------------------------------------------

@functools.cache
def package_sarif_validator() -> jsonschema.Draft202012Validator:
    # pydantic-sarif's models are generated from the published OASIS schema (extra="forbid"),
    # so the JSON schema they yield is that schema, checked here by jsonschema.
    from pydantic_sarif.model import StaticAnalysisResultsFormatSarifVersion210JsonSchema as Log

    return jsonschema.Draft202012Validator(Log.model_json_schema(by_alias=True))


def validate_sarif(text: str) -> Any:
    from pydantic_sarif.model import StaticAnalysisResultsFormatSarifVersion210JsonSchema as Log

    log = json.loads(text)
    Log.model_validate_json(text)   # and the models themselves, as a second reading
    package_sarif_validator().validate(log)
    return log


def test_render_sarif_valid_against_package_schema() -> None:
    validate_sarif(sarif.render_sarif(hostile_report("a\n::error::x"), "0.1.0"))
    validate_sarif(sarif.render_sarif(GateReport(make_result()), "0.1.0"))


@pytest.mark.parametrize("breakage", ["unknown-key", "bad-level", "no-message"])
def test_sarif_validators_reject_a_broken_log(breakage: str) -> None:
    # The checks above mean something only if the schema they use is strict.
    log = json.loads(sarif.render_sarif(hostile_report("x"), "1"))
    result = log["runs"][0]["results"][0]
    if breakage == "unknown-key":
        result["severity"] = "high"
    elif breakage == "bad-level":
        result["level"] = "fatal"
    else:
        del result["message"]
    with pytest.raises(jsonschema.ValidationError):
        package_sarif_validator().validate(log)
    if SHARED_SARIF_SCHEMA.exists():
        schema = json.loads(SHARED_SARIF_SCHEMA.read_text(encoding="utf-8"))
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft4Validator(schema).validate(log)


@pytest.mark.skipif(not SHARED_SARIF_SCHEMA.exists(), reason="shared/schemas not beside the repo")
@pytest.mark.parametrize("payload", ["plain", "bad\udcffname", "a b#c?d:e%f", *PAYLOADS])
def test_render_sarif_valid_against_shared_schema(payload: str) -> None:
    schema = json.loads(SHARED_SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    log = json.loads(sarif.render_sarif(hostile_report(payload), "0.1.0"))
    validator = jsonschema.Draft4Validator(schema,
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [e.message for e in validator.iter_errors(log)]
    assert errors == []


def test_render_sarif_content() -> None:
    report = GateReport(make_result(
        violations=(
            Violation("out-of-scope", "outside", path="docs/a b#c:d.md", hint="narrow", line=4,
                      commit=SHA_C),
            Violation("no-task", "no task"),
            Violation("out-of-scope", "also outside", path="bad\udcffname"),
        ),
        warnings=("proof is old",), notes=("task from trailer",)))
    log = validate_sarif(sarif.render_sarif(report, "9.9"))
    run = log["runs"][0]
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("avorelo-gate", "9.9")
    assert [r["id"] for r in driver["rules"]] == ["out-of-scope", "no-task"]
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    results = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("out-of-scope", 0, "error"), ("no-task", 1, "error"), ("out-of-scope", 0, "error")]
    assert results[0]["message"]["text"] == "outside\nTo fix: narrow"
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "docs/a%20b%23c%3Ad.md"
    assert location["region"] == {"startLine": 4}
    assert "locations" not in results[1]
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad%FFname"
    assert "region" not in results[2]["locations"][0]["physicalLocation"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == [
        {"level": "warning", "message": {"text": "proof is old"}},
        {"level": "note", "message": {"text": "task from trailer"}}]


def test_render_sarif_fingerprints_stable_and_distinct() -> None:
    def fingerprints(report: GateReport) -> list[str]:
        results = json.loads(sarif.render_sarif(report, "1"))["runs"][0]["results"]
        return [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results]

    v = Violation("out-of-scope", "m", path="a/b", commit=SHA_C)
    first = fingerprints(GateReport(make_result(violations=(v,))))
    # The message may change between runs (wording, counts): the alert is the same one.
    again = fingerprints(GateReport(make_result(violations=(
        Violation("out-of-scope", "other words", path="a/b", commit=SHA_C),))))
    assert first == again
    other = [Violation("out-of-scope", "m", path="a/b", commit=SHA_A),
             Violation("forbidden", "m", path="a/b", commit=SHA_C),
             Violation("out-of-scope", "m", path="a/", commit="b" + SHA_C[1:])]
    assert len(set(fingerprints(GateReport(make_result(violations=(v, *other)))))) == 4


def test_rule_descriptions_cover_every_rule() -> None:
    assert set(sarif.RULE_DESCRIPTIONS) == set(RULES)


@settings(max_examples=50, deadline=None)
@given(path=paths, message=texts, rule=st.sampled_from(RULES))
def test_render_sarif_random_text_valid(path: str, message: str, rule: str) -> None:
    report = GateReport(make_result(violations=(Violation(rule, message, path=path, line=1),)))
    text = sarif.render_sarif(report, "0")
    text.encode("utf-8")
    validate_sarif(text)


# --- JUnit ----------------------------------------------------------------------------------

def parse_junit(text: str) -> Element:
    text.encode("utf-8")   # writable as the UTF-8 its declaration claims
    root: Element = SafeET.fromstring(text)
    return root


def find(element: Element, path: str) -> Element:
    found = element.find(path)
    assert found is not None, path
    return found


def assert_counts(root: Element) -> None:
    total = failures = 0
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        failed = [c for c in cases if c.find("failure") is not None]
        assert suite.get("tests") == str(len(cases))
        assert suite.get("failures") == str(len(failed))
        total, failures = total + len(cases), failures + len(failed)
    assert root.get("tests") == str(total)
    assert root.get("failures") == str(failures)


def test_render_junit_suites_and_cases() -> None:
    dirty = make_result(SHA_A, violations=(
        Violation("out-of-scope", "outside", path="docs/x.md", hint="narrow it"),
        Violation("out-of-scope", "also outside", path="docs/y.md"),
        Violation("budget-files", "too many files"),
    ))
    clean = make_result(SHA_B)
    overall = make_result("range", violations=dirty.violations, warnings=("old proof",))
    root = parse_junit(junit_out.render_junit(GateReport(overall, (dirty, clean))))
    assert_counts(root)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"avorelo-gate.{SHA_A}", f"avorelo-gate.{SHA_B}",
                                               "avorelo-gate.range"]
    first = suites[0].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in first] == [
        (f"avorelo-gate.{SHA_A}", "out-of-scope"), (f"avorelo-gate.{SHA_A}", "budget-files")]
    failure = find(first[0], "failure")
    assert failure.get("type") == "out-of-scope"
    assert failure.get("message") == "2 violations; first: outside"
    assert failure.text == ("docs/x.md: outside\n  To fix: narrow it\n"
                            "docs/y.md: also outside")
    assert [c.get("name") for c in suites[1].findall("testcase")] == ["gate"]
    assert suites[1].findall("testcase/failure") == []
    assert find(suites[2], "system-out").text == "warning: old proof"
    assert (root.get("tests"), root.get("failures")) == ("5", "4")


@pytest.mark.parametrize("payload", ["a\x00b\x1bc\x0bd\x7f", "bad\udcffname", "\ud800lone",
                                     "\ufffe\uffff", "]]><!-- x -->", "&amp;<a/>", *PAYLOADS])
def test_render_junit_survives_illegal_characters(payload: str) -> None:
    root = parse_junit(junit_out.render_junit(hostile_report(payload)))
    assert_counts(root)
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names[-1] == "avorelo-gate.range"


def test_render_junit_escapes_are_visible() -> None:
    report = GateReport(make_result(violations=(
        Violation("protected", "nul\x00here", path="bad\udcffname"),)))
    failure = find(parse_junit(junit_out.render_junit(report)), "testsuite/testcase/failure")
    assert failure.text == "bad\\xffname: nul\\x00here"
    assert failure.get("message") == "nul\\x00here"


@settings(max_examples=200, deadline=None)
@given(path=st.text(st.characters(exclude_categories=()), min_size=1, max_size=30),
       message=st.text(st.characters(exclude_categories=()), max_size=30),
       label=st.text(st.characters(exclude_categories=()), max_size=30))
def test_render_junit_random_text_parses(path: str, message: str, label: str) -> None:
    violation = Violation("forbidden", message, path=path, hint=message, commit=label)
    report = GateReport(make_result(violations=(violation,), warnings=(message,)),
                        (make_result(label, violations=(violation,)),))
    root = parse_junit(junit_out.render_junit(report))
    assert_counts(root)
    assert root.get("failures") == "2"
