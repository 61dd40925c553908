"""The gate itself: one engine, one verdict.

``assemble`` gathers a check (the change, the declared task, the policy) and runs the rules in
``engine``; ``prefetch`` asks git each question once when many commits are judged;
``annotate`` points a violation at its first changed line. May import ``proof``, ``task``,
``git``, ``files``, ``errors``, ``result``; never ``receipts`` or the points above it."""
