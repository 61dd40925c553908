"""The counts the hardening suite runs with: one place, read by the tests and by the README's
"Guarantees" section (tests/test_hardening_readme.py checks the two agree).

Hypothesis runs derandomized and without its example database, so CI sees the same examples
on every run and a failure reproduces from the test id alone. Set
``AVORELO_HARDENING_SCALE=10`` for a deeper (and slower) local run: every count below is
multiplied by it, the derandomized seed stays fixed.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("AVORELO_HARDENING_SCALE", "1") or "1"))

# -- 1. never a traceback: examples per hypothesis property -----------------------------------
FUZZ_EXAMPLES = 100 * SCALE

# -- 5. crash safety ----------------------------------------------------------------------------
WRITERS = 8
# Each pending receipt is 4 writes (its own and the shared tree, JSON and shell form). When
# they were fsynced the disk set the pace: 500 took 94 s of a 2-core CI run's ~6 minutes;
# 100 still races 8 writers on one file 800 times.
RECORDS_PER_WRITER = 100 * SCALE
KILLS_PER_COMMAND = 20 * SCALE
KILL_SEED = 20260101          # the random kill delays are the same on every run

HARDENING = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    # Each example copies a small real repository: slow by hypothesis's standards, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
