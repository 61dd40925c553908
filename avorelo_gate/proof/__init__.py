"""Proof: what a task owes, and whether it is present, passing and fresh.

``run`` is ``avorelo-gate prove`` (runs a command, records what it ran against), ``records``
keeps those runs as local state, ``requirements`` turns declared proof into checks, ``junit``
and ``artifacts`` read reports and logs safely, ``check`` judges each requirement against the
exact content being checked. May import ``task``, ``git``, ``files``, ``errors``, ``result``."""
