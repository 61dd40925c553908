"""``install``: the plain git hooks, which are the scripts in the project's ``hooks/`` folder
(``init`` writes the starting files: ``adopt/init.py``)."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from avorelo_gate.adopt.hook_scripts import LAUNCHER, PRELUDES, SHELL_HOOKS
from avorelo_gate.dataclass_lite import dataclass
from avorelo_gate.errors import BadInputError, EnvironmentFailure
from avorelo_gate.files.atomic import write_atomic
from avorelo_gate.git.repo import Repo

MARKER = "# avorelo-gate managed hook"
HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "post-rewrite",
         "pre-push")

# The interpreter that ran ``install`` is written in, so hooks work from GUIs and IDEs whose
# PATH lacks the virtualenv; AVORELO_GATE_PYTHON overrides it, ``avorelo-gate`` on PATH is
# the fallback. The copies in the project's hooks/ folder are this template with no
# interpreter (tests/test_install.py keeps them identical).
TEMPLATE = """\
#!/bin/sh
{marker}: {name}
# Written by `avorelo-gate install`. Reinstall with `avorelo-gate install --force`.
{prelude}PY="${{AVORELO_GATE_PYTHON:-{python}}}"
if [ -n "$PY" ] && [ -x "$PY" ]; then
    exec "$PY" -c "{launcher}" hook {name} "$@"
fi
if command -v avorelo-gate >/dev/null 2>&1; then
    exec avorelo-gate hook {name} "$@"
fi
echo "avorelo-gate: not found (pip install avorelo-gate); the {name} check cannot run" >&2
exit 3
"""


def render_hook(name: str, python: str = "") -> str:
    if name in SHELL_HOOKS:  # nothing to decide: no Python start (hook_scripts.py)
        head = TEMPLATE.split("{prelude}", 1)[0]
        return (head + SHELL_HOOKS[name]).format(marker=MARKER, name=name)
    return TEMPLATE.format(marker=MARKER, name=name, python=python,
                           prelude=PRELUDES.get(name, "").format(marker=MARKER),
                           launcher=LAUNCHER)


@dataclass(frozen=True)
class Installed:
    hook: str
    path: str
    action: str         # installed | updated | replaced (backup kept) | unchanged
    backup: str | None = None


def install_hooks(repo: Repo, names: Sequence[str] = (), force: bool = False,
                  python: str | None = None) -> list[Installed]:
    chosen = list(dict.fromkeys(names)) or list(HOOKS)
    unknown = [n for n in chosen if n not in HOOKS]
    if unknown:
        raise BadInputError(f"--hook {unknown[0]!r}: not a hook avorelo-gate provides "
                            f"(one of: {', '.join(HOOKS)})")
    hooks_dir = repo.hooks_dir()
    python = sys.executable if python is None else python
    planned = []
    for name in chosen:
        path = os.path.join(hooks_dir, name)
        existing = _read(path)
        if existing is not None and MARKER not in existing and not force:
            raise BadInputError(
                f"{path}: a hook that avorelo-gate did not write is already installed; "
                "rerun with --force to replace it (a backup is kept), or call "
                f"`avorelo-gate hook {name}` from it")
        planned.append((name, path, existing))
    done = []
    for name, path, existing in planned:
        content = render_hook(name, python)
        backup = None
        if existing is None:
            action = "installed"
        elif existing == content:
            action = "unchanged"
        elif MARKER in existing:
            action = "updated"
        else:
            backup = f"{path}.avorelo-backup"
            if os.path.exists(backup):
                backup = f"{backup}.{int(time.time())}"
            try:
                os.replace(path, backup)
            except OSError as e:
                raise EnvironmentFailure(f"{path}: cannot back up: {e.strerror}") from e
            action = "replaced"
        if action != "unchanged":
            write_atomic(path, content.encode(), mode=0o755)
        done.append(Installed(name, path, action, backup))
    return done


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 20).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except IsADirectoryError as e:
        raise EnvironmentFailure(f"{path}: is a directory, not a hook") from e
    except OSError as e:
        raise EnvironmentFailure(f"{path}: cannot read: {e.strerror}") from e
