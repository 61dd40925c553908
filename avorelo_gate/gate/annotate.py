"""Where a violation points: the first changed line of its file, from the diff's hunks.

Only the few paths that have violations are diffed (one ``diff-tree -p -U0``), and unidiff
reads the hunks: the first added line's number in the new file, else line 1 (a deletion, a
binary or mode-only change). CI annotations and SARIF regions use it.
"""
from __future__ import annotations

from collections.abc import Iterable

from avorelo_gate.dataclass_lite import replace
from avorelo_gate.git.paths import fsdecode, fsencode
from avorelo_gate.git.repo import Repo
from avorelo_gate.result import CheckResult, GateReport, Violation

# git's C-style quoting of unusual path bytes (quote.c quote_c_style).
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_c(name: str) -> str:
    """A path as git wrote it in a patch header, back to git's own bytes."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            out += fsencode(ch)
            i += 1
        elif body[i + 1] in _C_ESCAPES:
            out.append(_C_ESCAPES[body[i + 1]])
            i += 2
        else:   # \ooo: one byte in octal
            out.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
    return fsdecode(bytes(out))


def _strip_prefix(name: str, prefix: str) -> str | None:
    name = unquote_c(name)
    return name[len(prefix):] if name.startswith(prefix) else None


def first_changed_lines(repo: Repo, base: str, head: str, paths: Iterable[str]) -> \
        dict[str, int]:
    wanted = sorted(set(paths))
    if not wanted:
        return {}
    # unidiff only when some violation names a path: a passing run never imports it.
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    lines = dict.fromkeys(wanted, 1)
    try:
        patch = PatchSet(repo.patch_text(base, head, wanted))
    except UnidiffParseError:
        return lines   # a line number is a nicety; the violation stands without one
    for patched in patch:
        path = (_strip_prefix(patched.target_file, "b/")
                or _strip_prefix(patched.source_file, "a/"))
        added = [line.target_line_no for hunk in patched for line in hunk
                 if line.is_added and line.target_line_no]
        if path in lines and added:
            lines[path] = added[0]
    return lines


def add_first_lines(repo: Repo, report: GateReport, base: str, head: str) -> GateReport:
    """The report with ``line`` set on every violation that names a path and has none."""
    paths = {v.path for v in report.violations if v.path and v.line is None}
    if not paths:
        return report
    lines = first_changed_lines(repo, base, head, [p for p in paths if p])

    def fill(result: CheckResult) -> CheckResult:
        return replace(result, violations=tuple(_with_line(v, lines) for v in result.violations))

    return GateReport(overall=fill(report.overall), commits=tuple(fill(c) for c in report.commits))


def _with_line(violation: Violation, lines: dict[str, int]) -> Violation:
    if violation.path is None or violation.line is not None or violation.path not in lines:
        return violation
    return replace(violation, line=lines[violation.path])
