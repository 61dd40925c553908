"""The one table of exit codes and the one hierarchy of expected failures.

Anything that is not a GateError is a bug: the CLI reports it as exit 3 in one line
(``--debug`` shows the trace), never as a pass.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    PASS = 0
    VIOLATIONS = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3


class GateError(Exception):
    exit_code = ExitCode.ENVIRONMENT


class BadInputError(GateError):
    """Malformed files, unknown keys, invalid patterns, usage errors."""

    exit_code = ExitCode.BAD_INPUT


class EnvironmentFailure(GateError):
    """The world failed: git, I/O, a shallow clone without the needed history."""

    exit_code = ExitCode.ENVIRONMENT


class GitError(EnvironmentFailure):
    pass


class NotARepositoryError(BadInputError):
    pass
