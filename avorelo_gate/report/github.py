"""GitHub Actions output: workflow-command annotations and the Markdown job summary.

Paths, messages, hints, model names and commit labels all come from the change under review,
so every one is escaped exactly as the runner unescapes it (actions/runner ``ActionCommand.cs``:
data ``%`` ``\\r`` ``\\n``; properties also ``:`` ``,``). Free text that is only echoed to the log
sits between ``::stop-commands::TOKEN`` and ``::TOKEN::`` with a random token, so no line of it
can be read as a command.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping

from avorelo_gate.errors import EnvironmentFailure
from avorelo_gate.result import CheckResult, GateReport, ProofStatus, Violation

ECHO_PREFIX = "avorelo-gate: "
SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

# A guessable or odd token would let echoed text resume command processing early.
_TOKEN_RE = re.compile(r"[0-9A-Za-z_-]{16,}")
# ASCII punctuation CommonMark lets us backslash-escape; & < > become entities instead.
_MD_PUNCT = frozenset("!\"#$%'()*+,-./:;=?@[\\]^_`{|}~")


def show_undecodable(text: str) -> str:
    """Spell lone surrogates (git path bytes that were not UTF-8) as ``\\xNN``.

    A lone surrogate cannot be written to a UTF-8 stream: printing it would crash the gate.
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:   # a surrogate outside the surrogateescape range
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def escape_data(text: str) -> str:
    # "%" first, so the runner's "%25" -> "%" (done last) restores exactly the original.
    text = show_undecodable(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    # ":" would end the property section early; "," would start a forged property.
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: GateReport, token: str | None = None) -> str:
    token = secrets.token_hex(16) if token is None else token
    if not _TOKEN_RE.fullmatch(token):
        raise ValueError("stop-commands token must be 16+ characters of [0-9A-Za-z_-]")
    lines = [*_echo(_log_lines(report), token), *_annotations(report)]
    return "\n".join(lines) + "\n"


def _echo(texts: Iterable[str], token: str) -> Iterator[str]:
    # Every echoed line starts with a fixed prefix, so none can equal "::TOKEN::" or look
    # like a command even to a reader that ignores stop-commands.
    yield f"::stop-commands::{token}"
    for text in texts:
        yield ECHO_PREFIX + escape_data(text)
    yield f"::{token}::"


def _log_lines(report: GateReport) -> Iterator[str]:
    overall = report.overall
    yield (f"{report.verdict}: {_count(len(report.violations), 'violation')}, "
           f"{_count(len(unique_texts(report, 'warnings')), 'warning')} "
           f"({overall.label} {overall.base}..{overall.head})")
    if overall.task:
        yield f"task: {overall.task.get('id') or '(declared by trailers)'}"
    if overall.model:
        yield f"model: {_model_text(overall.model)}"
    for commit in report.commits:
        count = _count(len(commit.violations), "violation")
        yield f"commit {commit.label}: {commit.verdict}, {count}"


def annotated_violations(report: GateReport) -> list[Violation]:
    """Every violation once: a range finding that a commit already reports at the same path
    for the same rule would only be the same annotation twice on the pull request."""
    in_commits = {(v.rule, v.path) for c in report.commits for v in c.violations}
    return [v for v in report.violations
            if v.commit is not None or (v.rule, v.path) not in in_commits]


def _annotations(report: GateReport) -> Iterator[str]:
    for violation in annotated_violations(report):
        yield _error_line(violation)
    for warning in unique_texts(report, "warnings"):
        yield f"::warning title=avorelo-gate::{escape_data(warning)}"
    for note in unique_texts(report, "notes"):
        yield f"::notice title=avorelo-gate::{escape_data(note)}"


def _error_line(violation: Violation) -> str:
    props: list[str] = []
    if violation.path:
        props.append(f"file={escape_property(violation.path)}")
        # The runner ignores a line without a file, and lines count from 1.
        if violation.line is not None and violation.line >= 1:
            props.append(f"line={violation.line}")
    props.append(f"title={escape_property(_title(violation))}")
    return f"::error {','.join(props)}::{escape_data(violation_text(violation))}"


def _title(violation: Violation) -> str:
    if violation.commit:
        return f"{violation.rule} in {violation.commit[:12]}"
    return violation.rule


def violation_text(violation: Violation) -> str:
    text = violation.message or violation.rule
    if violation.hint:
        text += f"\nTo fix: {violation.hint}"
    return text


def unique_texts(report: GateReport, attr: str) -> tuple[str, ...]:
    """Warnings or notes of every checked unit, each once (ci repeats a commit's in the range)."""
    seen: dict[str, None] = {}
    for unit in (*report.commits, report.overall):
        texts: tuple[str, ...] = getattr(unit, attr)
        seen.update(dict.fromkeys(texts))
    return tuple(seen)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _model_text(model: Mapping[str, object]) -> str:
    name = str(model.get("name") or "unnamed model")
    weight = model.get("weight")
    return f"{name} ({weight})" if weight else name


# --- the job summary --------------------------------------------------------------------------

def escape_markdown(text: str) -> str:
    """One table cell or inline text, rendered literally by GitHub's Markdown.

    Backslash-escaping all ASCII punctuation is valid CommonMark and also covers GFM's ``\\|``
    inside tables; & < > become entities so no raw HTML gets through; newlines become ``<br>``
    because a real newline would end the table row.
    """
    out = "".join("\\" + c if c in _MD_PUNCT else c for c in show_undecodable(text))
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def render_step_summary(report: GateReport) -> str:
    parts = [
        _heading(report),
        _facts(report.overall),
        _violations_table(report),
        _commits_table(report),
        _proof_table(report),
        _bullets("Warnings", unique_texts(report, "warnings")),
        _bullets("Notes", unique_texts(report, "notes")),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def write_step_summary(report: GateReport, environ: Mapping[str, str]) -> None:
    path = environ.get(SUMMARY_ENV)
    if not path:
        return
    try:
        # Append: earlier steps of the job may have written their own summary already.
        with open(path, "a", encoding="utf-8") as f:
            f.write(render_step_summary(report))
    except OSError as e:
        raise EnvironmentFailure(f"cannot write the job summary to {path}: {e}") from e


def _heading(report: GateReport) -> str:
    mark = "\u274c fail" if report.violations else "\u2705 pass"
    return f"## avorelo-gate: {mark}"


def _facts(overall: CheckResult) -> str:
    span = f"{escape_markdown(overall.base)}..{escape_markdown(overall.head)}"
    facts = [f"**{escape_markdown(overall.label)}** {span}"]
    if overall.task:
        facts.append(f"**Task** {escape_markdown(str(overall.task.get('id') or '-'))}")
    if overall.model:
        facts.append(f"**Model** {escape_markdown(_model_text(overall.model))}")
    diff = overall.diff
    lines = f", +{diff.added} \u2212{diff.removed}" if diff.counted else ""
    facts.append(f"**Diff** {_count(diff.files, 'file')}{lines}")
    return " \u00b7 ".join(facts)


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row(cells) for cells in rows]
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _violations_table(report: GateReport) -> str:
    if not report.violations:
        return ""
    with_commit = bool(report.commits)
    header = ["rule", *(["commit"] if with_commit else []), "path", "message", "hint"]
    rows = [_violation_cells(v, with_commit) for v in report.violations]
    return "### Violations\n\n" + _table(header, rows)


def _violation_cells(v: Violation, with_commit: bool) -> list[str]:
    where = "" if v.path is None else v.path + (f":{v.line}" if v.line else "")
    commit = [v.commit or "range"] if with_commit else []
    cells = [v.rule, *commit, where, v.message, v.hint or ""]
    return [escape_markdown(c) for c in cells]


def _commits_table(report: GateReport) -> str:
    if not report.commits:
        return ""
    rows = [[escape_markdown(c.label), c.verdict, str(len(c.violations)), str(len(c.warnings))]
            for c in report.commits]
    return "### Commits\n\n" + _table(["commit", "verdict", "violations", "warnings"], rows)


def _proof_table(report: GateReport) -> str:
    units = (*report.commits, report.overall)
    rows = [_proof_cells(unit, p) for unit in units for p in unit.proof]
    if not rows:
        return ""
    return "### Proof\n\n" + _table(["checked", "requirement", "status", "detail"], rows)


def _proof_cells(unit: CheckResult, proof: ProofStatus) -> list[str]:
    return [escape_markdown(c) for c in (unit.label, proof.requirement, proof.status, proof.detail)]


def _bullets(title: str, texts: tuple[str, ...]) -> str:
    if not texts:
        return ""
    return f"### {title}\n\n" + "\n".join(f"- {escape_markdown(t)}" for t in texts)
