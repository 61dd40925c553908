"""avorelo-gate: keep coding work inside the task it was given."""
from __future__ import annotations

__version__ = "0.2.8"
