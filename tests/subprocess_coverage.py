"""``pytest --decision-coverage``: line and branch coverage of the decision modules, child
processes included, reported in one line at the end of the run (issue 17).

Most of the gate runs in child processes: ``run_gate`` starts the console entry point, git
starts the installed hooks. Measuring a process with coverage.py costs ~100 ms of CPU whatever
it runs (importing coverage ~80 ms, starting ~15, saving its data file ~10), about as much as
a hook's own work, and the suite starts ~2,100 Python processes. So:

- A process is measured only from the moment it imports its first decision module. The
  decision modules are ``[tool.coverage.run] include`` in pyproject.toml; nothing else is
  traced or reported. ``--decision-coverage`` writes a ``.pth`` file into this environment's
  site-packages (inert unless ``DECISION_COVERAGE_START`` and ``DECISION_COVERAGE_DATA`` are
  set; kept between runs so that concurrent runs never remove each other's). In a process of
  this environment it puts a finder first on ``sys.meta_path`` that starts measuring when a
  decision module is about to be imported, then steps aside. A process that never imports
  one (the pre-commit framework, a proof command, ``install``, ``route``, most post-commit
  hooks) is never measured. The variables are inherited, so the xdist workers, the CLI, the
  hooks and their children are all measured the same way. Every decision module's lines run
  after its import, so starting there loses none of them.
- A child measures with coverage.py's own C tracer, loaded from its file without importing
  the coverage package (the *light start*, ``light_start`` in HOOK): one tracer per thread
  set up as coverage.py's ``Collector`` sets it up, the arcs it packs written as JSON when
  the process ends (``os._exit`` included). That costs a process a few milliseconds besides
  the tracing itself. tests/test_decision_coverage.py holds it to coverage.py: the same
  commands measured both ways record the same arcs. Where coverage.py has no C tracer the
  children start coverage.py itself (its documented ``coverage.process_startup()``).
- Each measured process writes its data file in this run's directory under .coverage-data/
  (``DECISION_COVERAGE_DATA``: children run in other directories). At the end this process
  turns the light starts' JSON into one coverage data file (``CoverageData.add_arcs``),
  combines it with coverage.py's own into .coverage-data/.coverage, and reports every
  decision module, measured or not.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"
DATA = ROOT / ".coverage-data"
START_VAR, DATA_VAR = "DECISION_COVERAGE_START", "DECISION_COVERAGE_DATA"
TRACER_VAR, FILES_VAR = "DECISION_COVERAGE_TRACER", "DECISION_COVERAGE_FILES"
PTH = "avorelo_gate_decision_coverage.pth"
TARGET_LINES, TARGET_BRANCHES = 95.0, 90.0
_STATE: dict[str, Any] = {}

# Run by the .pth line in every Python process of this environment that has START_VAR, and
# by this process itself (with its own start function). It must stay cheap and quiet: it runs
# before anything else in the CLI and in every hook.
HOOK = '''
import os, sys


class DecisionCoverageStart:
    """Starts coverage when the first decision module is about to be imported."""

    def __init__(self, modules, start):
        self.modules, self.start = frozenset(modules), start

    def find_spec(self, name, path=None, target=None):
        if name in self.modules:
            sys.meta_path.remove(self)
            self.start()
        return None


def light_start(so, suffixes, data_file):
    """coverage.py's own C tracer (CTracer), loaded from its file without importing the
    coverage package, and started the way coverage's Collector starts it: one tracer per
    thread, all adding to one dict of packed arcs, written as JSON when the process ends."""
    if "decision_coverage_tracer" in sys.modules:
        return   # started already (site may read this environment's .pth files twice)
    import atexit, importlib.util, json, threading

    spec = importlib.util.spec_from_file_location("coverage.tracer", so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["decision_coverage_tracer"] = module
    data, cache, lock = {}, {}, threading.Lock()

    def should_trace(filename, frame):
        disposition = module.CFileDisposition()
        disposition.original_filename = disposition.canonical_filename = filename
        canonical = os.path.abspath(os.path.realpath(filename))
        disposition.source_filename = canonical
        disposition.trace = canonical.endswith(suffixes)
        disposition.reason = ""
        disposition.file_tracer = None
        disposition.has_dynamic_filename = False
        return disposition

    def new_tracer():
        tracer = module.CTracer()
        tracer.data, tracer.trace_arcs = data, True
        tracer.lock_data, tracer.unlock_data = lock.acquire, lock.release
        tracer.should_trace, tracer.should_trace_cache = should_trace, cache
        tracer.check_include = lambda filename, frame: False
        tracer.warn = lambda *args, **kwargs: None
        tracer.concur_id_func = tracer.should_start_context = tracer.switch_context = None
        tracer.file_tracers = {}
        tracer.disable_plugin = lambda disposition: None
        return tracer.start()

    def install(frame, event, arg):      # a new thread's first event (coverage's own way)
        sys.settrace(None)
        return new_tracer()(frame, event, arg)

    saved = []

    def save():
        if saved:
            return
        saved.append(True)
        arcs = {name: list(packed) for name, packed in data.copy().items()}
        name = f"light.{os.getpid()}.{os.urandom(6).hex()}"
        path = f"{data_file}.{name}.json"
        # not named like a data file until whole: a process killed while writing (the crash
        # tests kill hooks) leaves a file that combine never reads
        tmp = os.path.join(os.path.dirname(data_file), f"tmp-{name}")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(arcs, f)
        os.replace(tmp, path)

    real_exit = os._exit

    def _exit(code):                     # a process that ends with os._exit saves too
        save()
        real_exit(code)

    new_tracer()
    threading.settrace(install)
    atexit.register(save)
    os._exit = _exit


def process_start():
    tracer = os.environ.get("DECISION_COVERAGE_TRACER")
    # A pytest process (an xdist worker) imports coverage itself, in the tests here, and the
    # C tracer's file loads once per process: a second load lacks CTracer. It measures with
    # coverage.py, whose import it pays once for hundreds of tests.
    if tracer and "_pytest" not in sys.modules:
        light_start(tracer, tuple(os.environ["DECISION_COVERAGE_FILES"].split(os.pathsep)),
                    os.environ["DECISION_COVERAGE_DATA"])
        return
    try:
        import coverage
    except ImportError:   # a Python without coverage (the pre-commit framework's own venvs)
        return
    os.environ["COVERAGE_PROCESS_START"] = os.environ["DECISION_COVERAGE_START"]
    try:
        coverage.process_startup()
    finally:
        del os.environ["COVERAGE_PROCESS_START"]
'''


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--decision-coverage", action="store_true",
                     help="measure line and branch coverage of the decision modules (child "
                          "processes too) and print one line about it at the end")


def decision_suffixes() -> list[str]:
    """The decision modules' paths inside the package (``task/scope.py``), from
    ``[tool.coverage.run] include``."""
    # Read from the file, not from a Coverage object: a second one in a process coverage.py
    # measures (an xdist worker) loses that process's data when it ends.
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib  # pytest's own dependency before 3.11
    with open(CONFIG, "rb") as f:
        patterns = tomllib.load(f)["tool"]["coverage"]["run"]["include"]
    assert isinstance(patterns, list) and patterns, "[tool.coverage.run] include is empty"
    for pattern in patterns:
        assert pattern.startswith("*/avorelo_gate/") and pattern.endswith(".py"), pattern
    return [pattern[len("*/avorelo_gate/"):] for pattern in patterns]


def decision_files() -> dict[str, Path]:
    """Dotted module name -> source file."""
    import avorelo_gate  # the copy the tests import (under mutmut: mutants/)

    package = Path(avorelo_gate.__file__).resolve().parent
    return {"avorelo_gate." + rel[:-3].replace("/", "."): package / rel
            for rel in decision_suffixes()}


def c_tracer_file() -> str | None:
    """The file of coverage.py's C tracer, which child processes load on their own (the
    light start in HOOK), or None where this coverage.py has none (they then start
    coverage.py itself)."""
    try:
        from coverage import tracer
    except ImportError:
        return None
    return tracer.__file__ if hasattr(tracer, "CTracer") else None


def light_start_env() -> dict[str, str]:
    """What tells a child to measure with the light start (HOOK's ``light_start``): the C
    tracer's file and the decision modules' path endings; nothing where there is no C
    tracer (the child then starts coverage.py itself)."""
    tracer = c_tracer_file()
    if not tracer:
        return {}
    return {TRACER_VAR: tracer, FILES_VAR: os.pathsep.join(
        os.sep + os.path.join("avorelo_gate", *rel.split("/")) for rel in decision_suffixes())}


def unpack_arc(packed: int) -> tuple[int, int]:
    """One arc as the C tracer packs it: coverage/collector.py, ``Collector.flush_data``."""
    first, second = packed & 0xFFFFFFF, (packed >> 28) & 0xFFFFFFF
    return (-first if packed & (1 << 56) else first, -second if packed & (1 << 57) else second)


def write_light_data(files: list[Path], data_file: Path) -> None:
    """The light starts' JSON files as one coverage data file beside coverage.py's own, for
    ``combine`` (CoverageData's documented ``add_arcs``)."""
    import coverage

    data = coverage.CoverageData(basename=str(data_file), suffix="light")
    for path in files:
        arcs = json.loads(path.read_text(encoding="utf-8"))
        data.add_arcs({name: [unpack_arc(p) for p in packed] for name, packed in arcs.items()})
        path.unlink()
    data.write()


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--decision-coverage") or hasattr(config, "workerinput"):
        return   # an xdist worker is a child process: the .pth measures it
    import coverage

    modules = decision_files()
    # This run's own directory: another run in the same checkout must not combine (and so
    # delete) this one's data files, nor this one its.
    run = DATA / f"run-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    _write_pth(sorted(modules))
    os.environ[START_VAR] = str(CONFIG)
    os.environ[DATA_VAR] = str(run / ".coverage")
    os.environ.update(light_start_env())
    # This process runs the tests itself when xdist is off: the same finder, starting a
    # Coverage object this process saves before combining (an atexit save would come late).
    cov = coverage.Coverage(config_file=str(CONFIG))
    namespace: dict[str, Any] = {"__name__": "decision_coverage_start"}
    exec(HOOK, namespace)
    _STATE.update(cov=cov, modules=modules, run=run)

    def start() -> None:
        cov.start()
        _STATE["started"] = True

    if any(name in sys.modules for name in modules):
        start()   # imported already: its module-level lines count as missed, never as run
    else:
        sys.meta_path.insert(0, namespace["DecisionCoverageStart"](modules, start))


def child_source(modules: list[str]) -> str:
    """What a child process runs first: HOOK, and its finder put first on ``sys.meta_path``
    (once: site may read a .pth file twice)."""
    return HOOK + ("\nif not any(type(f).__name__ == 'DecisionCoverageStart' "
                   "for f in sys.meta_path):\n"
                   f"    sys.meta_path.insert(0, DecisionCoverageStart({modules!r}, "
                   "process_start))\n")


def _write_pth(modules: list[str]) -> None:
    source = child_source(modules)
    # Both variables, or nothing: without DATA_VAR a child would leave its data file in the
    # test repository it runs in.
    line = (f"import os; os.environ.get({START_VAR!r}) and os.environ.get({DATA_VAR!r}) and "
            f"exec({source!r}, {{'__name__': 'decision_coverage_start'}})\n")
    target = Path(sysconfig.get_path("purelib")) / PTH
    if target.exists() and target.read_text(encoding="utf-8") == line:
        return
    tmp = target.with_name(f".{PTH}.{os.getpid()}")
    tmp.write_text(line, encoding="utf-8")
    os.replace(tmp, target)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    cov = _STATE.pop("cov", None)
    if cov is None:
        return
    import coverage

    if _STATE.pop("started", False):
        cov.stop()
        cov.save()
    began = time.perf_counter()
    run = _STATE["run"]
    light = [p for p in run.iterdir() if p.name.endswith(".json")]
    if light:
        write_light_data(light, run / ".coverage")
    parts = [p for p in run.iterdir() if p.name.startswith(".coverage.")]
    # Combined where `coverage report -m --data-file=.coverage-data/.coverage` finds it.
    combined = coverage.Coverage(data_file=str(DATA / ".coverage"), config_file=str(CONFIG))
    combined.combine([str(run)], keep=False)
    combined.save()
    shutil.rmtree(run, ignore_errors=True)
    files = _STATE["modules"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        # Named explicitly, so that a decision module no process imported shows at 0%.
        combined.json_report(morfs=[str(p) for p in files.values()], outfile=str(out))
        report = json.loads(out.read_text(encoding="utf-8"))["files"]
    measured = len(parts) - bool(light) + len(light)   # the light files were merged into one
    terminalreporter.write_line(summary_line(report, measured, time.perf_counter() - began))


def summary_line(files: dict[str, Any], data_files: int, seconds: float) -> str:
    def numbers(names: list[str]) -> tuple[int, int, int, int]:
        sums = [0, 0, 0, 0]
        for name in names:
            s = files[name]["summary"]
            for i, key in enumerate(("covered_lines", "num_statements", "covered_branches",
                                     "num_branches")):
                sums[i] += s.get(key, 0)
        return sums[0], sums[1], sums[2], sums[3]

    def pct(a: int, b: int) -> float:
        return 100.0 * a / b if b else 100.0

    by_module = {name.replace(os.sep, "/").split("avorelo_gate/", 1)[-1]: name for name in files}
    below = []
    for module, name in sorted(by_module.items()):
        n = numbers([name])
        if pct(*n[:2]) < TARGET_LINES or pct(*n[2:]) < TARGET_BRANCHES:
            below.append(f"{module} {pct(*n[:2]):.1f}/{pct(*n[2:]):.1f}")
    lines, statements, branches, all_branches = numbers(list(files))
    return (f"coverage (child processes included): {len(files)} decision modules "
            f"{pct(lines, statements):.1f}% lines, {pct(branches, all_branches):.1f}% "
            f"branches ({data_files} data files combined in {seconds:.1f} s)"
            + (f"; below {TARGET_LINES:.0f}/{TARGET_BRANCHES:.0f}: {', '.join(below)}"
               if below else "; each at least "
               f"{TARGET_LINES:.0f}% lines and {TARGET_BRANCHES:.0f}% branches"))
