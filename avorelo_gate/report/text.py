"""The text a person reads: ``path: rule: message``, a "To fix:" hint, a summary line."""
from __future__ import annotations

from collections.abc import Mapping

from avorelo_gate.git.paths import display_path
from avorelo_gate.result import CheckResult, GateReport, ProofStatus, Violation

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "dim": "2", "bold": "1"}


def use_colour(isatty: bool, environ: Mapping[str, str]) -> bool:
    # https://no-color.org: any non-empty NO_COLOR disables colour.
    return isatty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, colour: str, text: str) -> str:
        return f"\033[{_COLOURS[colour]}m{text}\033[0m" if self.enabled else text


def _shown(text: str) -> str:
    """Messages, hints and notes quote repository data (trailer values, ref names, paths):
    escaped like paths, so a terminal shows an escape sequence instead of obeying it (and a
    newline cannot fake a line of output). Our own colours are added after (issue 7)."""
    return display_path(text)


def _violation_lines(v: Violation, paint: _Paint) -> list[str]:
    head = f"{display_path(v.path)}: " if v.path else ""
    where = f" [{v.commit[:12]}]" if v.commit else ""
    lines = [f"  {head}{paint('red', v.rule)}: {_shown(v.message)}{where}"]
    if v.hint:
        lines.append(f"    To fix: {_shown(v.hint)}")
    return lines


def _proof_line(p: ProofStatus, paint: _Paint) -> str:
    colour = "green" if p.status == "ok" else "red"
    bits = [f"  proof {_shown(p.requirement)}: {paint(colour, p.status)}"]
    if p.counts:
        bits.append("(" + ", ".join(f"{k} {v}" for k, v in p.counts.items()) + ")")
    if p.sha256:
        bits.append(f"[sha256 {p.sha256[:12]}]")  # enough to tell two reports apart
    if p.detail:
        bits.append(f"- {_shown(p.detail)}")
    return " ".join(bits)


def _describe(r: CheckResult) -> str:
    task = (r.task or {}).get("id") if r.task else None
    what = {"staged": "staged change", "worktree": "working tree", "range": "range"}.get(
        r.label, f"commit {r.label[:12]}")
    return f"{what}" + (f" (task {task})" if task else " (no task)")


def render_result(r: CheckResult, paint: _Paint, heading: bool = True) -> list[str]:
    lines = []
    if heading:
        verdict = paint("green", "PASS") if r.verdict == "pass" else paint("red", "FAIL")
        lines.append(f"avorelo-gate: {verdict} {_describe(r)}")
    for v in r.violations:
        lines.extend(_violation_lines(v, paint))
    lines.extend(_proof_line(p, paint) for p in r.proof)
    lines.extend(f"  {paint('yellow', 'warning')}: {_shown(w)}" for w in r.warnings)
    lines.extend(f"  {paint('dim', 'note')}: {_shown(n)}" for n in r.notes)
    return lines


def render_text(report: GateReport, colour: bool = False) -> str:
    paint = _Paint(colour)
    lines: list[str] = []
    push = report.overall.label == "push"   # a push has no diff of its own: its commits decide
    for c in report.commits:
        # A push may carry a whole history: its summary has a line per ref, and only the
        # commits that failed are shown in full.
        if not push or c.verdict != "pass":
            lines.extend(render_result(c, paint))
    if push:
        verdict = paint("green", "PASS") if report.verdict == "pass" else paint("red", "FAIL")
        lines.append(f"avorelo-gate: {verdict} push")
    lines.extend(render_result(report.overall, paint, heading=not push))
    d = report.overall.diff
    n = len(report.violations)
    checked = f"{len(report.commits)} commit(s), " if report.commits else ""
    size = f"{d.files} file(s)" + (f" (+{d.added} -{d.removed})" if d.counted else "")
    summary = (f"{n} violation{'s' if n != 1 else ''} in {checked}{size}; "
               f"exit {report.exit_code}")
    lines.append(paint("bold", summary))
    return "\n".join(lines) + "\n"
