"""Receipts: an in-toto statement per commit, kept as a git note.

``build`` makes one (canonical JSON), ``parse`` reads one strictly, ``verify`` recomputes
what can be recomputed, ``store`` reads and writes the notes ref safely, ``recording`` leaves
a receipt pending at commit-msg and attaches it at post-commit, ``credit`` and ``required``
are what pre-push and ``ci`` ask of receipts, ``index`` is the SQLite index routing reads,
``report`` and ``commands`` are the ``receipt`` commands. May import ``gate`` and below."""
