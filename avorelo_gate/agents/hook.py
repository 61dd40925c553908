"""``avorelo-gate agent-hook AGENT EVENT``: read the agent's payload, decide, answer in its
protocol. Whatever happens, the agent gets an answer in its own shape: a payload that is not
its JSON, a broken task file or a bug is a deny with a one-line reason (a traceback or a
stray exit code would let most agents go ahead: they fail open).

``main`` sends ``agent-hook`` here before click is imported: it runs on every tool call.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from avorelo_gate.agents.events import AGENTS, EVENTS, Decision, PayloadError
from avorelo_gate.errors import BadInputError, GateError

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO

USAGE = (f"usage: avorelo-gate agent-hook AGENT EVENT (AGENT: {'|'.join(AGENTS)}; "
         f"EVENT: {'|'.join(EVENTS)}); the agent's hook JSON on stdin")


def run_agent_hook(args: Sequence[str], environ: Mapping[str, str],
                   stdin: BinaryIO | None = None, stdout: TextIO | None = None,
                   stderr: TextIO | None = None) -> int:
    if args[:1] in (["-h"], ["--help"]):
        (stdout or sys.stdout).write(USAGE + "\n")
        return 0
    if len(args) != 2 or args[0] not in AGENTS or args[1] not in EVENTS:
        given = " ".join(repr(a) for a in args) or "nothing"
        raise BadInputError(f"agent-hook: got {given}; {USAGE}")
    agent, event = args
    from avorelo_gate.agents.parse import MAX_PAYLOAD_BYTES, load_payload, parse_event
    from avorelo_gate.agents.render import render

    vscode = False
    try:
        raw = (stdin or sys.stdin.buffer).read(MAX_PAYLOAD_BYTES + 1)
        doc = load_payload(raw, agent)
        vscode = agent == "copilot" and ("tool_name" in doc or "hook_event_name" in doc)
        from avorelo_gate.agents.decide import decide
        from avorelo_gate.files import memo

        with memo.session():   # the clone's memo, once the workspace is found
            decision = decide(parse_event(agent, event, doc), environ)
    except PayloadError as e:
        decision = _refusal(event, f"avorelo-gate: {e}")
    except GateError as e:
        decision = _refusal(event, f"avorelo-gate: {_one_line(e)}")
    except Exception as e:
        decision = _refusal(event, f"avorelo-gate: internal error: {type(e).__name__}: "
                            f"{_one_line(e)[:300]} (please report it)")
    answer = render(agent, event, decision, vscode)
    (stdout or sys.stdout).write(answer.stdout)
    (stderr or sys.stderr).write(answer.stderr)
    return answer.exit_code


def _refusal(event: str, reason: str) -> Decision:
    # A session cannot be refused (Cline would cancel the whole task): warn instead.
    if event == "session-start":
        return Decision(True, warning=reason)
    return Decision(False, reason=reason)


def _one_line(error: BaseException) -> str:
    from avorelo_gate.git.paths import display_path

    return display_path(" ".join(str(error).split()))
