"""The points where the gate runs: the commit hooks (``commit_hooks``, with ``invocation``
reading the ``git commit`` argv and ``readahead`` starting git before the engine imports),
pre-push (``prepush``) and the pull-request gate (``ci``), both judging many commits through
``commits``; ``dispatch`` maps ``avorelo-gate hook NAME`` to its module. May import
``receipts``, ``gate``, ``report`` and below."""
