"""JUnit XML, for CI test reporters that know no other format.

One ``<testsuite>`` per checked unit (each commit, then the whole range or change); in it one
failing ``<testcase>`` per rule that unit broke, or one passing ``gate`` testcase when it broke
none. The module is named ``junit_out`` so it never shadows a ``junit`` library.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from avorelo_gate.result import CheckResult, GateReport, Violation

SUITE_PREFIX = "avorelo-gate"
PASS_CASE = "gate"

# Everything XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets): C0 controls but tab, LF,
# CR; surrogates (from non-UTF-8 git paths); U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Spell each character XML cannot hold as a visible escape, so the file always parses."""
    return _XML_ILLEGAL.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:    # surrogateescape: the path's own byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def render_junit(report: GateReport) -> str:
    root = ET.Element("testsuites", _attrs(name=SUITE_PREFIX))
    units = (*report.commits, report.overall)
    suites = [_suite(root, unit) for unit in units]
    _set_counts(root, suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(root: ET.Element, unit: CheckResult) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", _attrs(name=f"{SUITE_PREFIX}.{unit.label}"))
    classname = f"{SUITE_PREFIX}.{unit.label}"
    properties = ET.SubElement(suite, "properties")
    for key, value in (("base", unit.base), ("head", unit.head), ("verdict", unit.verdict)):
        ET.SubElement(properties, "property", _attrs(name=key, value=value))
    by_rule = _group_by_rule(unit.violations)
    for rule, violations in by_rule.items():
        _failing_case(suite, classname, rule, violations)
    if not by_rule:
        ET.SubElement(suite, "testcase", _attrs(classname=classname, name=PASS_CASE))
    _system_out(suite, unit)
    _set_counts(suite, [suite])
    return suite


def _group_by_rule(violations: tuple[Violation, ...]) -> dict[str, list[Violation]]:
    groups: dict[str, list[Violation]] = {}
    for v in violations:
        groups.setdefault(v.rule, []).append(v)
    return groups


def _failing_case(suite: ET.Element, classname: str, rule: str,
                  violations: list[Violation]) -> None:
    case = ET.SubElement(suite, "testcase", _attrs(classname=classname, name=rule))
    first = violations[0]
    message = first.message if len(violations) == 1 else (
        f"{len(violations)} violations; first: {first.message}")
    failure = ET.SubElement(case, "failure", _attrs(message=message, type=rule))
    failure.text = xml_safe("\n".join(_details(v) for v in violations))


def _details(v: Violation) -> str:
    # "path:line: message", as compilers print it, so reporters and people can jump to it.
    text = v.message
    if v.path:
        text = f"{v.path}{f':{v.line}' if v.line else ''}: {text}"
    if v.hint:
        text += f"\n  To fix: {v.hint}"
    return text


def _system_out(suite: ET.Element, unit: CheckResult) -> None:
    # Reporters show system-out beside the suite: the place for what is not a failure.
    lines = [f"warning: {w}" for w in unit.warnings] + [f"note: {n}" for n in unit.notes]
    if lines:
        ET.SubElement(suite, "system-out").text = xml_safe("\n".join(lines))


def _set_counts(element: ET.Element, suites: list[ET.Element]) -> None:
    cases = [case for suite in suites for case in suite.iter("testcase")]
    failures = sum(1 for case in cases if case.find("failure") is not None)
    element.set("tests", str(len(cases)))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", "0")


def _attrs(**values: str) -> dict[str, str]:
    return {key: xml_safe(value) for key, value in values.items()}
