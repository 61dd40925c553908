"""``route --format env``: the decision as ``export`` lines an orchestrator can ``eval`` before
starting an agent, so the agent and its model gateway receive the weight.

Always safe to eval: every value goes through ``shlex.quote`` (single quotes; a quote inside
becomes ``'"'"'``), names are fixed, and values that would split an HTTP header (CR, LF) or a
gateway's tag list (a comma) are refused rather than quoted, because quoting protects the
shell, not the header the value ends up in.
"""
from __future__ import annotations

import shlex
from collections.abc import Sequence

from avorelo_gate.errors import BadInputError
from avorelo_gate.router.route import Route

AGENTS = ("claude", "codex", "generic")
# LiteLLM reads request tags from this header and reports spend per tag (see README,
# "Handing the weight to a gateway").
TAGS_HEADER = "x-litellm-tags"
_HEADER_UNSAFE = ("\r", "\n", ",", "\0")


def _export(name: str, value: str) -> str:
    return f"export {name}={shlex.quote(value)}"


def gateway_tags(route: Route) -> list[str]:
    tags = [f"avorelo-weight:{route.weight}"]
    if route.task_id:
        tags.insert(0, f"avorelo-task:{route.task_id}")
    if route.model and route.model.alias:
        tags.append(f"avorelo-alias:{route.model.alias}")
    for tag in tags:
        if any(c in tag for c in _HEADER_UNSAFE):
            raise BadInputError(f"route --format env: {tag!r} cannot travel in an HTTP header")
    return tags


def env_lines(route: Route, agent: str) -> list[str]:
    if agent not in AGENTS:
        raise BadInputError(f"--agent {agent!r}: one of {', '.join(AGENTS)}")
    model = route.model
    # The name the agent asks for: the gateway's alias when there is one (the gateway maps it
    # to a provider's model), else the provider's id.
    requested = (model.alias or model.name) if model else None
    claimed = (model.name or model.alias) if model else None
    # No value ever goes into a comment: only quoted words carry values.
    lines = ["# avorelo-gate route --format env: eval \"$(avorelo-gate route --format env)\""]
    lines.append(_export("AVORELO_TASK", route.task_id) if route.task_id
                 else "unset AVORELO_TASK")
    lines.append(_export("AVORELO_MODEL_WEIGHT", route.weight))
    # Unset rather than leave a value from an earlier eval: it would be claimed in receipts.
    lines.append(_export("AVORELO_MODEL", claimed) if claimed else "unset AVORELO_MODEL")
    tags = ",".join(gateway_tags(route))
    # For any gateway client: the model to ask for and the tags to send (a Codex provider's
    # env_http_headers reads a header value from an environment variable; see README).
    lines.append(_export("AVORELO_GATEWAY_MODEL", requested) if requested
                 else "unset AVORELO_GATEWAY_MODEL")
    lines.append(_export("AVORELO_GATEWAY_TAGS", tags))
    if agent == "claude":
        if requested:
            lines.append(_export("ANTHROPIC_MODEL", requested))
        lines.append(_export("ANTHROPIC_CUSTOM_HEADERS", f"{TAGS_HEADER}: {tags}"))
    elif agent == "codex":
        lines.append('# codex: codex --model "$AVORELO_GATEWAY_MODEL" (tags: see README)')
    return lines


def render_env(route: Route, agent: str) -> str:
    return "".join(line + "\n" for line in env_lines(route, agent))


def render_assignments(pairs: Sequence[tuple[str, str]]) -> str:
    """``export`` lines for arbitrary values (what ``env_lines`` builds on; tested with
    hostile text by sourcing it in a real shell)."""
    return "".join(_export(name, value) + "\n" for name, value in pairs)
