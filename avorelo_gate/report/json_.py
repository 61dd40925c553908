"""The contract's JSON result (``avorelo.check/v1``)."""
from __future__ import annotations

import json

from avorelo_gate.result import GateReport


def render_json(report: GateReport) -> str:
    # ensure_ascii keeps non-UTF-8 path bytes (surrogates) representable as \\udcXX escapes.
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"
