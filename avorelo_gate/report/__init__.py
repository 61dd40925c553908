"""Report formats: text, JSON, SARIF, JUnit and GitHub annotations, chosen and written by
``output``. They turn a ``result.GateReport`` into bytes and decide nothing. May import
``git`` (for display), ``files``, ``errors``, ``result``."""
