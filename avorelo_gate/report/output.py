"""Turning a GateReport into the chosen format, on stdout or in an --output file."""
from __future__ import annotations

import sys
from collections.abc import Mapping

from avorelo_gate import __version__
from avorelo_gate.result import GateReport

FORMATS = ("text", "json", "sarif", "junit", "github")


def render(report: GateReport, fmt: str, environ: Mapping[str, str],
           isatty: bool) -> str:
    if fmt == "json":
        from avorelo_gate.report.json_ import render_json
        return render_json(report)
    if fmt == "sarif":
        from avorelo_gate.report.sarif import render_sarif
        return render_sarif(report, __version__)
    if fmt == "junit":
        from avorelo_gate.report.junit_out import render_junit
        return render_junit(report)
    if fmt == "github":
        from avorelo_gate.report.github import render_github, write_step_summary
        write_step_summary(report, environ)
        return render_github(report)
    from avorelo_gate.report.text import render_text, use_colour
    return render_text(report, colour=use_colour(isatty, environ))


def choose_format(fmt: str | None, environ: Mapping[str, str]) -> str:
    if fmt:
        return fmt
    return "github" if environ.get("GITHUB_ACTIONS") == "true" else "text"


def emit(report: GateReport, fmt: str | None, output: str | None,
         environ: Mapping[str, str]) -> int:
    chosen = choose_format(fmt, environ)
    if output:
        from avorelo_gate.files.atomic import write_atomic
        write_atomic(output, render(report, chosen, environ, False).encode("utf-8",
                                                                          "surrogateescape"))
        chosen = "text"
    text = render(report, chosen, environ, sys.stdout.isatty())
    sys.stdout.write(text)
    sys.stdout.flush()
    return report.exit_code
