"""The demo's router step: start a task, read its whole path, hand the routed weight to the
agent's shell with ``route --format env``, work through the hooks, and see the route held."""
from __future__ import annotations

import shlex
import sys

from avorelo_gate.adopt.demo_repo import DemoRepo

ROUTED_TASK = """\
id: DEMO-5
title: Greet in Spanish too
scope: ["src/**"]
budget: {max_files: 3, max_lines: 40}   # the task file travels with the work
risk: low
"""


def step_task_path(d: DemoRepo) -> None:
    d.step("The router: start a task, read its whole path, hand its weight to the agent")
    d.write(".avorelo/tasks/DEMO-5.yaml", ROUTED_TASK)
    d.expect("avorelo-gate task start DEMO-5: context, scope, tools, approvals, proof, weight",
             d.gate("task", "start", "DEMO-5"), 0)
    d.expect("avorelo-gate route --format env: the export lines an orchestrator evals",
             d.gate("route", "--format", "env"), 0)
    d.write("src/greet.py", "def greet(name):\n    return f'Hello, {name}!!!'\n\n\n"
                            "def saludo(name):\n    return f'Hola, {name}!'\n")
    d.git("add", "src/greet.py", ".avorelo/tasks/DEMO-5.yaml")
    gate = f"{shlex.quote(sys.executable)} -m avorelo_gate"
    agent = (f'eval "$({gate} route --format env)" && '
             "git commit -q -m 'Greet in Spanish' -m 'Task: DEMO-5'")
    d.expect("the agent commits with the routed weight in its environment (hooks run)",
             d.run(["sh", "-c", agent]), 0)
    d.expect("its receipt records the weight routed at task start",
             d.gate("receipt", "show", "HEAD"), 0)
    d.expect("avorelo-gate route: the routed weight was followed, and how it went",
             d.gate("route"), 0)
    d.expect("avorelo-gate task stop", d.gate("task", "stop"), 0)


ROUTER_STEPS = [step_task_path]
