"""What ``receipt show``, ``receipt list`` and ``receipt verify`` print."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from avorelo_gate.errors import ExitCode
from avorelo_gate.git.paths import display_path
from avorelo_gate.git.repo import Repo
from avorelo_gate.receipts.build import describe_signature, subject_of
from avorelo_gate.receipts.parse import ReceiptInvalid, parse_receipt
from avorelo_gate.receipts.verify import Verification

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import Any

DEFAULT_LIST_COUNT = 20
VERIFY_SCHEMA = "avorelo.receipt-verify/v1"


def select_commits(repo: Repo, spec: str | None, count: int | None) -> list[str]:
    """``A..B`` / ``A...B``: every commit in the range; one revision: it and up to ``count - 1``
    of its ancestors (``count`` None: that commit alone)."""
    if spec and ".." in spec:
        ends = [e for e in spec.replace("...", "..").split("..") if e]
        if repo.resolve_each(ends) is None:
            for end in ends:
                repo.resolve(end)  # a clear one-line error for a typo, before rev-list's own
        args = [spec] if count is None else ["-n", str(count), spec]
        return repo.rev_list(*args)
    sha = repo.resolve(spec or "HEAD")
    return [sha] if count is None else repo.rev_list("-n", str(count), sha)


# -- show -----------------------------------------------------------------------------------
def show_text(statement: Mapping[str, Any], key: str | None) -> str:
    commit, tree = subject_of(statement)
    p = statement["predicate"]
    task = p.get("task") or {}
    model = p.get("model") or {}
    diff = p["diff"]
    lines = [f"receipt for commit {commit} (tree {tree})",
             f"  verdict: {p['verdict']}",
             f"  task: {_task_line(task)}",
             f"  model: {_model_line(model)}",
             f"  diff: {diff['files']} file(s) +{diff['added']} -{diff['removed']} "
             f"(paths sha256 {diff['paths_sha256'][:16]}...)"]
    lines.extend(f"  violation: {v.get('path') + ': ' if v.get('path') else ''}{v['rule']}: "
                 f"{v['message']}" for v in p["violations"])
    lines.extend(f"  warning: {w}" for w in p["warnings"])
    lines.extend(f"  proof {x['requirement']}: {x['status']}" for x in p["proof"])
    if not p["proof"]:
        lines.append("  proof: none required")
    lines.extend(_path_lines(p))
    blob = p["policy"]["blob"]
    lines.append(f"  policy: {'blob ' + blob if blob else 'defaults (no policy file)'}")
    lines.append(f"  gate: avorelo-gate {p['gate']['version']}, recorded {p['time']}")
    lines.append(f"  signature: {describe_signature(statement, key)}")
    return _terminal_safe(lines)


def _terminal_safe(lines: Sequence[str]) -> str:
    """A receipt is data from the repository (trailers, paths, a note anyone can push): an
    escape sequence or a newline in any field is shown escaped, never obeyed (issue 7)."""
    return "".join(display_path(line) + "\n" for line in lines)


def _path_lines(p: Mapping[str, Any]) -> list[str]:
    """Context, tools and approvals: the rest of the task's path, when it had any."""
    lines = []
    context = p.get("context")
    if context:
        lines.append(f"  context: {len(context['files'])} file(s), {context['total_bytes']} "
                     f"bytes at {context['at'][:12]}")
        lines.extend(f"    {f['blob'][:12]} {display_path(f['path'])}" for f in context["files"])
    tools = p.get("tools")
    if tools:
        declared = ", ".join(tools["declared"]) if tools["declared"] is not None else "any"
        lines.append(f"  tools: declared {declared}; used {', '.join(tools['used']) or 'none'}")
    for a in p.get("approvals") or ():
        who = ", ".join(a.get("approved_by") or ()) or "nobody"
        lines.append(f"  approval rule {a.get('rule')}: "
                     f"{'via ' + str(a['via']) if a.get('via') else 'MISSING'} "
                     f"(approved by {who}, claimed)")
    return lines


def _task_line(task: Mapping[str, Any]) -> str:
    if not task:
        return "none declared"
    sources = ", ".join(f"{k} from {v}" for k, v in sorted(task["field_sources"].items()))
    scope = ", ".join(task["scope"]) or "everything"
    return f"{task.get('id') or '(unnamed)'} scope [{scope}] ({sources or 'no sources'})"


def _model_line(model: Mapping[str, Any]) -> str:
    if not model:
        return "not declared"
    src = model["source"]
    bits = [f"{model['weight'] or '?'}", model["name"] or "(no name)", "claimed"]
    where = [f"{k} from {v}" for k, v in (("weight", src["weight"]), ("name", src["name"]))
             if v]
    line = " ".join(bits) + (f" ({', '.join(where)})" if where else "")
    routed, observed = model.get("routed"), model.get("observed")
    if routed:
        line += f"; routed {routed['weight']}" + (
            f" ({routed['name'] or routed['alias']})" if routed["name"] or routed["alias"] else "")
    if observed:
        line += f"; observed {observed['name']} (by {observed['agent']})"
    return line


# -- list -----------------------------------------------------------------------------------
def list_line(commit: str, note: bytes | None) -> str:
    if note is None:
        return f"{commit[:12]}  (no receipt)"
    try:
        statement = parse_receipt(note)
    except ReceiptInvalid as e:
        return display_path(f"{commit[:12]}  (invalid receipt: {e})")
    p = statement["predicate"]
    model = p.get("model") or {}
    task = (p.get("task") or {}).get("id") or "-"
    copied = "" if subject_of(statement)[0] == commit else "  (subject is another commit)"
    return display_path(f"{commit[:12]}  {task:<16} {p['verdict']:<5} "
                        f"{model.get('weight') or '-':<8} {model.get('name') or '-'}{copied}")


# -- verify ---------------------------------------------------------------------------------
def verify_exit(results: Sequence[Verification]) -> int:
    bad = any(r.status != "valid" for r in results)
    return int(ExitCode.VIOLATIONS if bad else ExitCode.PASS)


def recorded_verdict(r: Verification) -> str | None:
    """The verdict a receipt records (verify judges consistency, not this)."""
    predicate = (r.statement or {}).get("predicate")
    verdict = predicate.get("verdict") if isinstance(predicate, Mapping) else None
    return verdict if isinstance(verdict, str) else None


def verify_text(results: Sequence[Verification]) -> str:
    lines = []
    verdicts: dict[str, int] = {}
    for r in results:
        if r.status == "valid":
            verdict = recorded_verdict(r) or "?"
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            lines.append(f"{r.commit[:12]}: consistent, verdict {verdict} ({r.signature})")
            continue
        for v in r.violations():
            lines.append(f"{r.commit[:12]}: {v.rule}: {v.message}")
            if v.hint:
                lines.append(f"    To fix: {v.hint}")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("valid", "invalid",
                                                                    "missing")}
    recorded = ", ".join(f"{n} verdict {v}" for v, n in sorted(verdicts.items()))
    lines.append(f"{len(results)} commit(s): {counts['valid']} valid (consistent with the "
                 f"commit{': ' + recorded if recorded else ''}), {counts['invalid']} invalid, "
                 f"{counts['missing']} missing; exit {verify_exit(results)}")
    if verdicts.get("fail"):
        lines.append("note: verify checks that each receipt matches its commit; a consistent "
                     "receipt can record a failing verdict (avorelo-gate receipt show REV)")
    return _terminal_safe(lines)


def verify_json(results: Sequence[Verification]) -> str:
    code = verify_exit(results)
    doc = {"schema": VERIFY_SCHEMA, "verdict": "pass" if code == 0 else "fail",
           "exit_code": code,
           "commits": [{**r.to_dict(), "recorded_verdict": recorded_verdict(r)}
                       for r in results]}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
