from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avorelo_gate.proof import junit
from avorelo_gate.proof.junit import JUnitCounts, JUnitInvalid, parse_junit


def run_pytest(tmp_path: Path, source: str) -> bytes:
    """A real pytest run in its own project dir; returns the JUnit report it wrote."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pytest.ini").write_text("[pytest]\n")  # rootdir here, not in the gate's repo
    (proj / "test_sample.py").write_text(source)
    report = tmp_path / "junit.xml"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", "test_sample.py"],
                   cwd=proj, env=env, capture_output=True, check=False)
    return report.read_bytes()


PYTEST_CASES = {
    "all-passing": ("def test_a():\n    pass\n\ndef test_b():\n    pass\n\n"
                    "def test_c():\n    assert 1 + 1 == 2\n",
                    JUnitCounts(tests=3, failures=0, errors=0, skipped=0)),
    "one-failing": ("def test_a():\n    pass\n\ndef test_b():\n    assert 1 == 2\n\n"
                    "def test_c():\n    pass\n",
                    JUnitCounts(tests=3, failures=1, errors=0, skipped=0)),
    "fixture-error": ("import pytest\n\n@pytest.fixture\ndef broken():\n"
                      "    raise RuntimeError('setup fails')\n\n"
                      "def test_a():\n    pass\n\ndef test_b(broken):\n    pass\n",
                      JUnitCounts(tests=2, failures=0, errors=1, skipped=0)),
    "all-skipped": ("import pytest\n\n@pytest.mark.skip(reason='later')\ndef test_a():\n"
                    "    pass\n\ndef test_b():\n    pytest.skip('not here')\n\n"
                    "@pytest.mark.xfail\ndef test_c():\n    assert False\n",
                    JUnitCounts(tests=0, failures=0, errors=0, skipped=3)),
    "none-collected": ("def helper():\n    pass\n",
                       JUnitCounts(tests=0, failures=0, errors=0, skipped=0)),
}


@pytest.mark.parametrize("case", list(PYTEST_CASES))
def test_parse_junit_real_pytest_reports(tmp_path: Path, case: str) -> None:
    source, expected = PYTEST_CASES[case]
    assert parse_junit(run_pytest(tmp_path, source)) == expected


JUNIT5 = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="JUnit Jupiter" tests="4" skipped="1" failures="1" errors="1" time="0.08"
           hostname="build-1" timestamp="2026-01-01T00:00:00">
<properties>
<property name="java.version" value="21.0.1"/>
</properties>
<testcase name="adds()" classname="com.example.CalculatorTest" time="0.011">
<system-out><![CDATA[
unique-id: [engine:junit-jupiter]/[class:com.example.CalculatorTest]/[method:adds()]
display-name: adds()
]]></system-out>
</testcase>
<testcase name="divides()" classname="com.example.CalculatorTest" time="0.004">
<failure message="expected: &lt;2&gt; but was: &lt;3&gt;"
         type="org.opentest4j.AssertionFailedError"><![CDATA[
org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
]]></failure>
</testcase>
<testcase name="parses()" classname="com.example.CalculatorTest" time="0.002">
<error message="boom" type="java.lang.IllegalStateException"><![CDATA[boom]]></error>
</testcase>
<testcase name="later()" classname="com.example.CalculatorTest" time="0">
<skipped><![CDATA[public void later() is @Disabled]]></skipped>
</testcase>
</testsuite>
"""

SUREFIRE = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd"
  version="3.0" name="com.example.FlakyTest" time="1.2" tests="5" errors="0" skipped="0"
  failures="1">
  <properties><property name="maven.version" value="3.9.6"/></properties>
  <testcase name="passes" classname="com.example.FlakyTest" time="0.001"/>
  <testcase name="flakyThenPasses" classname="com.example.FlakyTest" time="0.2">
    <flakyFailure message="first try" type="java.lang.AssertionError">
      <stackTrace>java.lang.AssertionError: first try</stackTrace>
      <system-out>retrying</system-out>
    </flakyFailure>
  </testcase>
  <testcase name="flakyErrorThenPasses" classname="com.example.FlakyTest" time="0.2">
    <flakyError message="npe" type="java.lang.NullPointerException">
      <stackTrace>java.lang.NullPointerException</stackTrace>
    </flakyError>
  </testcase>
  <testcase name="rerunThenPasses" classname="com.example.FlakyTest" time="0.3">
    <rerunFailure message="first run" type="java.lang.AssertionError"/>
  </testcase>
  <testcase name="alwaysFails" classname="com.example.FlakyTest" time="0.3">
    <failure message="boom" type="java.lang.AssertionError">boom</failure>
    <rerunFailure message="boom" type="java.lang.AssertionError">
      <stackTrace>java.lang.AssertionError: boom</stackTrace>
    </rerunFailure>
    <rerunFailure message="boom again" type="java.lang.AssertionError"/>
  </testcase>
</testsuite>
"""

GO_JUNIT_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1" errors="1" skipped="1">
\t<testsuite name="example.com/pkg" tests="3" failures="1" errors="0" id="0" hostname="h"
\t           skipped="1" time="0.004" timestamp="2026-01-01T00:00:00Z">
\t\t<properties>
\t\t\t<property name="go.version" value="go1.22.0 linux/amd64"></property>
\t\t</properties>
\t\t<testcase name="TestOK" classname="example.com/pkg" time="0.000"></testcase>
\t\t<testcase name="TestBad" classname="example.com/pkg" time="0.000">
\t\t\t<failure message="Failed"><![CDATA[    pkg_test.go:12: nope]]></failure>
\t\t</testcase>
\t\t<testcase name="TestLater" classname="example.com/pkg" time="0.000">
\t\t\t<skipped message="Skipped"><![CDATA[    pkg_test.go:20: later]]></skipped>
\t\t</testcase>
\t</testsuite>
\t<testsuite name="example.com/broken" tests="1" failures="0" errors="1" id="1">
\t\t<testcase name="[build failed]" classname="example.com/broken" time="0.000">
\t\t\t<error message="Build error"><![CDATA[broken.go:3:1: syntax error]]></error>
\t\t</testcase>
\t</testsuite>
</testsuites>
"""

NESTED = b"""<testsuites>
  <testsuite name="root">
    <testcase name="a"/>
    <testsuite name="root.child">
      <testcase name="b"/>
      <testsuite name="root.child.leaf">
        <testcase name="c"><failure/></testcase>
        <testcase name="d"><skipped/></testcase>
      </testsuite>
    </testsuite>
    <testcase name="e"/>
  </testsuite>
</testsuites>
"""


@pytest.mark.parametrize(("data", "expected"), [
    (JUNIT5, JUnitCounts(tests=3, failures=1, errors=1, skipped=1)),
    (b"<testsuites>" + JUNIT5.split(b"?>", 1)[1] + b"</testsuites>",
     JUnitCounts(tests=3, failures=1, errors=1, skipped=1)),
    (SUREFIRE, JUnitCounts(tests=5, failures=1, errors=0, skipped=0, flaky=3)),
    (GO_JUNIT_REPORT, JUnitCounts(tests=3, failures=1, errors=1, skipped=1)),
    (NESTED, JUnitCounts(tests=4, failures=1, errors=0, skipped=1)),
], ids=["junit5", "junit5-in-testsuites", "surefire-flaky", "go-junit-report", "nested"])
def test_parse_junit_producer_variants(data: bytes, expected: JUnitCounts) -> None:
    assert parse_junit(data) == expected


def test_parse_junit_ignores_summary_attributes() -> None:
    data = (b'<testsuite tests="9" failures="0" errors="0" skipped="0">'
            b'<testcase name="a"><failure message="x"/></testcase></testsuite>')
    assert parse_junit(data) == JUnitCounts(tests=1, failures=1, errors=0, skipped=0)


def test_parse_junit_skipped_and_failure_is_failure() -> None:
    data = b'<testsuite><testcase name="a"><skipped/><failure/></testcase></testsuite>'
    assert parse_junit(data) == JUnitCounts(tests=1, failures=1, errors=0, skipped=0)


def test_parse_junit_only_direct_children_decide() -> None:
    # A <failure> buried in a property or in system-out markup is not the test's verdict.
    data = (b'<testsuite><properties><failure/></properties>'
            b'<testcase name="a"><system-out><failure/></system-out></testcase></testsuite>')
    assert parse_junit(data) == JUnitCounts(tests=1, failures=0, errors=0, skipped=0)


def test_parse_junit_default_namespace() -> None:
    data = (b'<testsuites xmlns="urn:example:junit"><testsuite>'
            b'<testcase name="a"/><testcase name="b"><error/></testcase>'
            b'</testsuite></testsuites>')
    assert parse_junit(data) == JUnitCounts(tests=2, failures=0, errors=1, skipped=0)


def test_parse_junit_utf16_report() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><testsuite><testcase name="é"/></testsuite>'
    assert parse_junit(text.encode("utf-16")).tests == 1


def test_junit_counts_to_dict() -> None:
    counts = JUnitCounts(tests=3, failures=1, errors=0, skipped=2, flaky=1)
    assert counts.to_dict() == {"tests": 3, "failures": 1, "errors": 0, "skipped": 2,
                                "flaky": 1}


def assert_invalid(data: bytes, *needles: str) -> str:
    start = time.process_time()   # CPU time: a loaded machine cannot stretch it
    with pytest.raises(JUnitInvalid) as info:
        parse_junit(data)
    assert time.process_time() - start < 1.0
    reason = str(info.value)
    assert "\n" not in reason
    for needle in needles:
        assert needle in reason, reason
    return reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite><testcase name="&lol9;"/></testsuite>
"""


def test_parse_junit_refuses_billion_laughs() -> None:
    assert_invalid(BILLION_LAUGHS, "not allowed")


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a9c")
    return secret


def test_parse_junit_refuses_xxe(secret_file: Path) -> None:
    data = (f'<?xml version="1.0"?>\n<!DOCTYPE testsuite [\n'
            f'<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">\n]>\n'
            f'<testsuite><testcase name="&xxe;"><failure>&xxe;</failure></testcase>'
            f'</testsuite>').encode()
    reason = assert_invalid(data, "not allowed")
    assert "TOP-SECRET" not in reason
    assert str(secret_file) not in reason


def test_parse_junit_refuses_external_dtd(secret_file: Path) -> None:
    data = (f'<?xml version="1.0"?>\n<!DOCTYPE testsuite SYSTEM "{secret_file.as_uri()}">\n'
            f'<testsuite><testcase name="a"/></testsuite>').encode()
    reason = assert_invalid(data, "not allowed")
    assert "TOP-SECRET" not in reason
    assert str(secret_file) not in reason


def test_parse_junit_refuses_undeclared_entity() -> None:
    assert_invalid(b'<testsuite><testcase name="&xxe;"/></testsuite>', "not well-formed XML")


def test_parse_junit_refuses_html_page() -> None:
    page = (b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>502 Bad Gateway"
            b"</title></head><body><h1>502 Bad Gateway</h1></body></html>\n")
    reason = assert_invalid(page, "HTML")
    assert "Bad Gateway" not in reason


def test_parse_junit_refuses_wrong_root() -> None:
    assert_invalid(b"<html><body><p>token=abc123</p></body></html>",
                   "root element is <html>, expected <testsuites> or <testsuite>")


def test_parse_junit_truncates_long_root_name() -> None:
    name = "x" * 500
    reason = assert_invalid(f"<{name}/>".encode(), "root element is <" + "x" * 40 + "...>")
    assert "x" * 41 not in reason


def test_parse_junit_refuses_truncated_report() -> None:
    cut = GO_JUNIT_REPORT[: len(GO_JUNIT_REPORT) // 2]
    assert_invalid(cut, "not well-formed XML (line ")


@pytest.mark.parametrize("data", [b"", b"   \n\t\n"], ids=["empty", "whitespace"])
def test_parse_junit_refuses_empty(data: bytes) -> None:
    assert_invalid(data, "empty file")


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 4,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"<testsuite name='\xff\xfe\xfa'><testcase/></testsuite>",
], ids=["all-bytes", "png", "bad-utf8"])
def test_parse_junit_refuses_binary(data: bytes) -> None:
    assert_invalid(data, "not well-formed XML")


def test_parse_junit_refuses_unknown_encoding() -> None:
    assert_invalid(b'<?xml version="1.0" encoding="x-no-such"?><testsuite/>', "encoding")


def test_parse_junit_refuses_junk_after_root() -> None:
    assert_invalid(b"<testsuite/><testsuite/>", "junk after document element")


def test_parse_junit_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(junit, "MAX_JUNIT_BYTES", 1000)
    body = b"<testsuite>" + b"<testcase/>" * 80
    ok = body + b" " * (1000 - len(body) - 12) + b"</testsuite>"
    assert len(ok) == 1000
    assert parse_junit(ok).tests == 80
    big = ok + b"\n"
    assert_invalid(big, "larger than 1000 bytes")


def nested_suites(levels: int) -> bytes:
    return (b"<testsuite>" * levels + b"<testcase/>" + b"</testsuite>" * levels)


def test_parse_junit_suite_depth_limit() -> None:
    assert parse_junit(nested_suites(junit.MAX_SUITE_DEPTH)).tests == 1
    assert_invalid(nested_suites(junit.MAX_SUITE_DEPTH + 1), "nested deeper than 100")


def test_parse_junit_refuses_ten_thousand_levels() -> None:
    assert_invalid(nested_suites(10_000), "nested deeper")


def test_parse_junit_refuses_deep_elements_inside_testcase() -> None:
    data = (b"<testsuite><testcase>" + b"<x>" * 10_000 + b"</x>" * 10_000
            + b"</testcase></testsuite>")
    assert_invalid(data, "nested deeper")


XMLISH = st.sampled_from([
    b"<testsuites>", b"</testsuites>", b"<testsuite>", b"</testsuite>", b"<testcase>",
    b"</testcase>", b"<testcase/>", b"<failure/>", b"<skipped/>", b"<error>", b"</error>",
    b"<flakyFailure/>", b"<!DOCTYPE x>", b"<!ENTITY a 'b'>", b"&a;", b"<![CDATA[", b"]]>",
    b'<?xml version="1.0"?>', b"<html>", b"\xff", b"\x00", b" ", b"\n", b"x", b"'", b'"',
])


def check_only_invalid(data: bytes) -> None:
    start = time.process_time()   # CPU time: a loaded machine cannot stretch it
    try:
        counts = parse_junit(data)
    except JUnitInvalid as e:
        assert "\n" not in str(e)
    else:
        assert counts.tests >= counts.failures + counts.errors + counts.flaky
    assert time.process_time() - start < 1.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_parse_junit_random_bytes_only_raise_invalid(data: bytes) -> None:
    check_only_invalid(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(XMLISH, max_size=60).map(b"".join))
def test_parse_junit_xml_like_fragments_only_raise_invalid(data: bytes) -> None:
    check_only_invalid(data)


# -- failures wherever the report puts them (issue 12) -----------------------------------------
@pytest.mark.parametrize(("xml", "failures", "errors"), [
    # Ant/Maven: a class set-up failure is an <error> directly under <testsuite>.
    (b'<testsuite name="T" tests="1"><testcase name="a"/>'
     b'<error message="setUpClass" type="RuntimeError"/></testsuite>', 0, 1),
    (b'<testsuites><testsuite name="T" tests="1"><testcase name="a"/>'
     b'<failure message="tearDown"/></testsuite></testsuites>', 1, 0),
    # The suite says more than its testcases show: the difference counts.
    (b'<testsuite name="T" tests="1" errors="2"><testcase name="a"/></testsuite>', 0, 2),
    (b'<testsuites failures="3"><testsuite name="T" tests="1"><testcase name="a"/>'
     b'</testsuite></testsuites>', 3, 0),
    # Consistent attributes are not counted twice; lying low does not hide a failure.
    (b'<testsuites failures="1"><testsuite tests="1" failures="1"><testcase name="a">'
     b'<failure/></testcase></testsuite></testsuites>', 1, 0),
    (b'<testsuite tests="2" failures="0"><testcase name="a"><failure/></testcase>'
     b'<testcase name="b"/></testsuite>', 1, 0),
    (b'<testsuite tests="1" failures="many"><testcase name="a"/></testsuite>', 0, 0),
])
def test_parse_junit_counts_suite_level_failures(xml: bytes, failures: int,
                                                  errors: int) -> None:
    counts = junit.parse_junit(xml)
    assert (counts.failures, counts.errors) == (failures, errors)
    assert counts.tests in (1, 2)
