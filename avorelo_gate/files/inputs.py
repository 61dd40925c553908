"""Reading a file the user named (a task file, a message file, a file to validate).

One place maps the ways that fails onto the exit codes: a file that is missing, a directory
or too large is the user's input (2); anything else the disk says is the environment (3).
"""
from __future__ import annotations

from avorelo_gate.errors import BadInputError, EnvironmentFailure


def read_input(path: str, what: str, cap: int) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except FileNotFoundError as e:
        raise BadInputError(f"{path}: no such {what}") from e
    except IsADirectoryError as e:
        raise BadInputError(f"{path}: is a directory, not a {what}") from e
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot read: {e.strerror}") from e
    if len(data) > cap:
        raise BadInputError(f"{path}: {what} is over the {cap}-byte limit")
    return data
