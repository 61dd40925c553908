"""The package's shape, checked from its own source: imports flow one way, no cycles, small
modules, and ARCHITECTURE.md names exactly the subpackages that exist (issue 11)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "avorelo_gate"

# Lowest first. A module may import its own unit and any unit of a lower rank, never higher.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "result", "dataclass_lite", "__init__"),
    ("files",),
    ("git",),
    ("task",),
    ("proof",),
    ("gate",),
    ("receipts",),
    ("router", "report"),
    ("points", "adopt", "agents", "mcp_server"),
    ("commands",),
    ("cli",),
    ("main",),
    ("__main__",),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(tree: ast.AST, type_checking: bool = False) -> list[str]:
    """Every import at any depth (a function-level import is still an edge), except those
    under ``if TYPE_CHECKING:``, which never run."""
    found = []
    for node in ast.iter_child_nodes(tree):
        guarded = type_checking or (isinstance(node, ast.If)
                                    and "TYPE_CHECKING" in ast.unparse(node.test))
        if not guarded and isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif not guarded and isinstance(node, ast.ImportFrom) and node.module:
            assert not node.level, "relative imports hide the direction; use absolute ones"
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
        found += _imports(node, guarded)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: {x for x in _imports(ast.parse(p.read_text())) if x in mods and x != m}
            for m, p in mods.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in _modules()}
    assert units - RANK.keys() == set(), "a new subpackage needs its place in LAYERS"


def test_imports_flow_one_way() -> None:
    wrong = sorted(f"{a} -> {b}" for a, bs in import_graph().items() for b in bs
                   if _unit(a) != _unit(b) and RANK[_unit(a)] < RANK[_unit(b)])
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = import_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_graph_sees_a_cycle_when_there_is_one(tmp_path: Path) -> None:
    # The checker itself: a function-level import counts, a TYPE_CHECKING one does not.
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\n"
                     "def f():\n    from a import c\n")
    assert _imports(tree) == ["typing", "typing.TYPE_CHECKING", "a", "a.c"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_module_fits_one_reading(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_every_subpackage_says_what_it_owns() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, init


def test_only_cli_imports_click() -> None:
    users = sorted(m for m, p in _modules().items()
                   if "click" in _imports(ast.parse(p.read_text())))
    assert users == ["avorelo_gate.cli"]


def test_architecture_md_names_exactly_the_subpackages() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`([a-z_]+)/`", text))
    real = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert named == real
    for module in re.findall(r"`([a-z_]+/[a-z_]+)\.py`", text):
        assert (PACKAGE / f"{module}.py").is_file() or (ROOT / f"{module}.py").is_file(), module


_RE_CALLS = {"compile", "match", "search", "fullmatch", "sub", "split", "findall", "finditer"}


def _dollar_anchored(source: str) -> list[tuple[int, str]]:
    """Regexes given to ``re`` that end with ``$``: in Python ``$`` also matches before a
    final newline, so ``^T-1$`` accepts "T-1\\n" (a task id, a file name, an approver)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _RE_CALLS and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re" and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            text = node.args[0].value
            if text.endswith("$") and not text.endswith("\\$"):
                found.append((node.lineno, text))
    return found


def test_no_regex_ends_at_a_dollar() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        assert not _dollar_anchored(path.read_text()), (path, "use \\Z, not $")
    # the checker itself
    assert _dollar_anchored('import re\nA = re.compile(r"^a$")\nB = re.match("b\\\\$", x)\n'
                            'C = re.compile(r"^c\\Z")\n') == [(2, "^a$")]
