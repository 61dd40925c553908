"""``avorelo-gate demo``: the whole flow on a throwaway repository, through real hooks.

Every step says what it does and what should happen, runs real git (the installed hooks run
this same interpreter), and checks the outcome: the demo exits non-zero if anything did not
behave, so it doubles as a smoke test of an installation.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence

from avorelo_gate.adopt.demo_repo import DemoRepo, demo_env

TYPE_CHECKING = False   # typing costs every hook ~13 ms to import
if TYPE_CHECKING:
    from typing import TextIO


def run_demo(keep: bool, environ: Mapping[str, str], out: TextIO,
             steps: Sequence[Callable[[DemoRepo], None]] | None = None) -> int:
    from avorelo_gate.adopt.demo_route import ROUTER_STEPS
    from avorelo_gate.adopt.demo_steps import STEPS

    tmp = tempfile.mkdtemp(prefix="avorelo-demo-")
    try:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        path = os.path.join(tmp, "repo")
        os.makedirs(path)
        d = DemoRepo(path=path, env=demo_env(environ, home), out=out)
        d.say(f"avorelo-gate demo in {path}")
        for step in (*STEPS, *ROUTER_STEPS) if steps is None else steps:
            step(d)
        d.say("")
        if d.failures:
            d.say(f"demo: {d.failures} step(s) did not behave as expected")
            return 1
        d.say("demo: every step behaved as expected")
        return 0
    finally:
        if keep:
            out.write(f"(kept {tmp})\n")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
