"""Count the outcomes in a JUnit XML report, refusing anything that is not one.

Reports come from the user's own tools and from CI artifacts, so they are untrusted input:
parsed with defusedxml (no DTDs, no entities, no external references: billion laughs and XXE
are refused before they expand), streamed with a depth cap, and size-capped. Counts are taken
from the <testcase> elements themselves, never *lowered* by summary attributes, which
producers get wrong and which a hand-edited report can simply lie in. Failures and errors
count wherever the report puts them: an ``<error>``/``<failure>`` directly under a
``<testsuite>`` (class set-up and tear-down failures, as Ant and Maven write them) is one,
and a suite whose ``failures=``/``errors=`` attribute says more than its testcases show
counts the difference (a report that says it failed has failed).
"""
from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import ParseError, XMLPullParser
from xml.parsers.expat import ErrorString

import defusedxml.ElementTree as DefusedET  # type: ignore[import-untyped, unused-ignore]
from defusedxml import (  # type: ignore[import-untyped, unused-ignore]
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from avorelo_gate.dataclass_lite import dataclass, fields

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

MAX_JUNIT_BYTES = 50 * 1024 * 1024
# Real reports nest suites a handful of levels (Jest, Surefire); more is hostile or broken.
MAX_SUITE_DEPTH = 100
# Any element: bounds the parser's stack and memory on "<a><a><a>..." bombs.
MAX_ELEMENT_DEPTH = 1000
MAX_NAME_CHARS = 40
# How much of a report expat is handed at once (see _events).
MIN_FEED_BYTES = 64 * 1024
MAX_FEED_BYTES = 16 * 1024 * 1024

_ROOTS = ("testsuites", "testsuite")
_FAILURE = "failure"
_ERROR = "error"
_SKIPPED = "skipped"
# Surefire reruns (-Dsurefire.rerunFailingTestsCount): flaky* marks a run that failed before
# a later one passed; rerun* marks failed reruns. Either without a <failure>/<error> of the
# testcase's own means the test finally passed.
_FLAKY = frozenset({"flakyFailure", "flakyError", "rerunFailure", "rerunError"})


class JUnitInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class JUnitCounts:
    tests: int  # executed: every testcase that was not skipped
    failures: int
    errors: int
    skipped: int
    flaky: int = 0  # passed, but only after failing at least once (counted in tests)

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Tally:
    total: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0

    def add_case(self, children: set[str]) -> None:
        # One outcome per testcase; a failure outranks everything (skipped + failure is a
        # failure), so the gate never reads a broken test as fine.
        self.total += 1
        if _FAILURE in children:
            self.failures += 1
        elif _ERROR in children:
            self.errors += 1
        elif _SKIPPED in children:
            self.skipped += 1
        elif children & _FLAKY:
            self.flaky += 1

    def counts(self) -> JUnitCounts:
        return JUnitCounts(tests=self.total - self.skipped, failures=self.failures,
                           errors=self.errors, skipped=self.skipped, flaky=self.flaky)


@dataclass
class _Suite:
    level: int                 # len(stack) of the suite element
    failures_before: int       # the tally when it opened
    errors_before: int
    says_failures: int         # what its attributes claim (0 when absent or unreadable)
    says_errors: int


def _count_attribute(attrib: Any, name: str) -> int:
    try:
        value = int(str(attrib.get(name, "0")).strip() or "0")
    except ValueError:
        return 0
    return max(value, 0)


def parse_junit(data: bytes) -> JUnitCounts:
    if len(data) > MAX_JUNIT_BYTES:
        raise JUnitInvalid(f"larger than {MAX_JUNIT_BYTES} bytes")
    if not data.strip():
        raise JUnitInvalid("empty file")
    try:
        return _count(_events(data))
    except ParseError as e:
        raise JUnitInvalid(_parse_error_reason(e)) from None
    except DTDForbidden as e:
        raise JUnitInvalid(_dtd_reason(e)) from None
    except EntitiesForbidden:
        raise JUnitInvalid("entity declarations are not allowed in a JUnit report") from None
    except ExternalReferenceForbidden:
        raise JUnitInvalid("external references are not allowed in a JUnit report") from None
    except LookupError:
        raise JUnitInvalid("declares an encoding Python does not know") from None
    except ValueError as e:
        # Never echo the message: it may quote the document.
        raise JUnitInvalid(f"unreadable XML ({type(e).__name__})") from None


def _events(data: bytes) -> Iterator[tuple[str, Any]]:
    # defusedxml's iterparse feeds expat 16 KiB at a time, and expat before 2.6 rescans a
    # token that spans feeds from its start on every feed (CVE-2023-52425): a 10 MB
    # attribute value took 3 s, 20 MB 11 s, the 50 MB cap over a minute (issue 7). So the
    # feed doubles while a feed yields no event (a token longer than the feed) and drops
    # back once events flow: linear either way, and elements are still cleared as read.
    parser = DefusedET.DefusedXMLParser(
        target=DefusedET._TreeBuilder(), forbid_dtd=True, forbid_entities=True,
        forbid_external=True)
    pull = XMLPullParser(events=("start", "end"), _parser=parser)
    at, size = 0, MIN_FEED_BYTES
    while at < len(data):
        pull.feed(data[at:at + size])
        at += size
        produced = False
        for event in pull.read_events():
            produced = True
            yield event  # type: ignore[misc]  # ("start" | "end", Element) for these events
        size = MIN_FEED_BYTES if produced else min(size * 2, MAX_FEED_BYTES)
    pull.close()
    yield from pull.read_events()  # type: ignore[misc]


def _count(events: Iterator[tuple[str, Any]]) -> JUnitCounts:
    walker = _Walker()
    for event, elem in events:
        if event == "start":
            walker.start(_local_name(elem.tag), elem.attrib)
        else:
            walker.end()
            elem.clear()  # streaming: a 50 MB report must not stay in memory as a tree
    return walker.tally.counts()


class _Walker:
    def __init__(self) -> None:
        self.tally = _Tally()
        self.stack: list[str] = []  # local names of the open elements
        self.suite_depth = 0
        self.case_level: int | None = None  # len(stack) of the open <testcase>, if any
        self.case_children: set[str] = set()
        self.suites: list[_Suite] = []

    def start(self, name: str, attrib: Any = None) -> None:
        if not self.stack and name not in _ROOTS:
            raise JUnitInvalid(f"root element is <{_shorten(name)}>, "
                               "expected <testsuites> or <testsuite>")
        parent = self.stack[-1] if self.stack else None
        self.stack.append(name)
        if len(self.stack) > MAX_ELEMENT_DEPTH:
            raise JUnitInvalid(f"elements nested deeper than {MAX_ELEMENT_DEPTH} levels")
        if self.case_level is not None:
            # Only the testcase's direct children decide its outcome.
            if len(self.stack) == self.case_level + 1:
                self.case_children.add(name)
        elif name in _ROOTS and parent in (None, *_ROOTS):
            if name == "testsuite":
                self.suite_depth += 1
                if self.suite_depth > MAX_SUITE_DEPTH:
                    raise JUnitInvalid(f"testsuites nested deeper than {MAX_SUITE_DEPTH} levels")
            attrib = attrib if attrib is not None else {}
            self.suites.append(_Suite(len(self.stack), self.tally.failures, self.tally.errors,
                                      _count_attribute(attrib, "failures"),
                                      _count_attribute(attrib, "errors")))
        elif name == "testcase" and parent in _ROOTS:
            self.case_level = len(self.stack)
            self.case_children = set()
        elif parent in _ROOTS and name == _FAILURE:
            self.tally.failures += 1       # a suite's own failure (set-up, tear-down)
        elif parent in _ROOTS and name == _ERROR:
            self.tally.errors += 1

    def end(self) -> None:
        if self.case_level == len(self.stack):
            self.tally.add_case(self.case_children)
            self.case_level = None
        elif self.suites and self.suites[-1].level == len(self.stack):
            suite = self.suites.pop()
            if self.stack[-1] == "testsuite":
                self.suite_depth -= 1
            # What the suite says beyond what its elements showed counts too.
            self.tally.failures += max(
                0, suite.says_failures - (self.tally.failures - suite.failures_before))
            self.tally.errors += max(
                0, suite.says_errors - (self.tally.errors - suite.errors_before))
        self.stack.pop()


def _local_name(tag: object) -> str:
    # "{namespace}name" -> "name": some producers declare a default namespace. The namespace
    # is an attribute value (file content), so it never reaches a message.
    return str(tag).rpartition("}")[2]


def _shorten(name: str) -> str:
    return name if len(name) <= MAX_NAME_CHARS else name[:MAX_NAME_CHARS] + "..."


def _parse_error_reason(e: ParseError) -> str:
    line, column = e.position
    what = ErrorString(e.code) if isinstance(e.code, int) else None
    # expat's messages are fixed strings ("mismatched tag"), never document content.
    return f"not well-formed XML (line {line}, column {column})" + (f": {what}" if what else "")


def _dtd_reason(e: DTDForbidden) -> str:
    # A DOCTYPE's system id may name a local file; only its (short) root name is safe to show.
    if str(e.name).lower() == "html":
        return "an HTML page (<!DOCTYPE html>), not a JUnit XML report"
    return "document type declarations (<!DOCTYPE>) are not allowed in a JUnit report"
