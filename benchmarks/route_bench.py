"""How long ``avorelo-gate route`` takes with 10,000 receipts (issue 4: under 200 ms warm).

    python benchmarks/route_bench.py [--receipts 10000] [--runs 10]

Builds a throwaway repository with that many commits and receipts (git fast-import, see
tests/receipt_history.py), runs ``route`` once cold (the index is built) and then ``--runs``
times warm, as a user would run it (a new process each time), and prints the timings.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from receipt_history import Work, generate  # noqa: E402

AREAS = [f"src/area{i}" for i in range(40)] + [f"lib/mod{i}" for i in range(20)] + ["docs"]
WEIGHTS = ("light", "light", "light", "standard", "heavy")


def works(n: int, seed: int = 4) -> list[Work]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        area = rng.choice(AREAS)
        paths = tuple(sorted({f"{area}/f{rng.randrange(60)}.py" for _ in range(rng.randint(1, 6))}))
        weight = rng.choice(WEIGHTS)
        rules: tuple[str, ...] = ()
        if rng.random() < 0.15:
            rules = (rng.choice(("out-of-scope", "proof-failed", "budget-lines")),)
        out.append(Work(paths, weight, rules=rules, task=f"T-{rng.randrange(500)}"))
    return out


def run_route(repo: Path, env: dict[str, str], args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "avorelo_gate", "route", *args], cwd=repo, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--receipts", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=10)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="avorelo-route-bench-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "AVORELO_"))}
        env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, HOME=tmp,
                   GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.org",
                   GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.org",
                   PYTHONPATH=str(ROOT))
        os.environ.update(env)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
        t0 = time.perf_counter()
        generate(repo, works(opts.receipts))
        print(f"generated {opts.receipts} commits with receipts in "
              f"{time.perf_counter() - t0:.1f}s")
        for args in (["--scope", "src/area7/**"], ["--scope", "**/*.py"]):
            cold = run_route(repo, env, args) if args[1] == "src/area7/**" else None
            warm = [run_route(repo, env, args) for _ in range(opts.runs)]
            if cold is not None:
                print(f"route {' '.join(args)}: cold (index built) {cold:.0f} ms")
            print(f"route {' '.join(args)}: warm median {statistics.median(warm):.0f} ms, "
                  f"max {max(warm):.0f} ms over {opts.runs} runs")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        print(f"(a bare `python -c pass` here: {(time.perf_counter() - start) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
