"""The gate where a coding agent works: each agent's hook protocol parsed into plain values
(``events``: a ``ToolCall``, a ``StopRequest``, a ``SessionStart``) and answered in that agent's
own shape (``protocols``), one decision core for all of them (``decide``: paths through the
engine's own rules, shell commands through ``shell``), and the project config that
``install --agent`` writes (``config``)."""
