"""The package's ``@dataclass`` (avorelo_gate/dataclass_lite.py) behaves as ``dataclasses``'
for every shape the package uses: the same class built both ways, the same calls made on
each, the same answers (values, reprs, hashes, and which calls raise)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import UNMEASURED
from hypothesis import given, settings
from hypothesis import strategies as st

from avorelo_gate import dataclass_lite as lite

VALUES = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.none(),
                   st.tuples(st.integers(0, 2)), st.booleans())


def build(api: Any, name: str, n_fields: int, n_defaults: int, factory_at: int | None,
          frozen: bool, base: type | None = None, hidden_at: int | None = None) -> type:
    """A class with ``n_fields`` annotated fields, the last ``n_defaults`` with a default
    (one of them, ``factory_at``, a ``default_factory``); field ``hidden_at`` is left out of
    repr, equality and the hash."""
    ns: dict[str, Any] = {"__annotations__": {}, "__qualname__": name}
    for i in range(n_fields):
        field_name = f"{name.lower()}{i}"
        ns["__annotations__"][field_name] = "int"
        hide = {"repr": False, "compare": False} if i == hidden_at else {}
        if i >= n_fields - n_defaults:
            ns[field_name] = (api.field(default_factory=list, **hide) if i == factory_at
                              else api.field(default=i, **hide) if i % 2 or hide else i * 10)
        elif hide:
            ns[field_name] = api.field(**hide)
    cls = type(name, (base,) if base else (), ns)
    return api.dataclass(frozen=frozen)(cls) if frozen else api.dataclass(cls)


def outcome(call: Any) -> tuple[str, Any]:
    """The call's value, or which kind of error it raised (the two APIs' frozen errors are
    different classes, both AttributeErrors)."""
    try:
        value = call()
    except (TypeError, AttributeError) as e:
        frozen = (lite.FrozenInstanceError, dataclasses.FrozenInstanceError)
        return ("raises", "frozen" if isinstance(e, frozen) else type(e).__name__)
    return ("value", value)


def comparable(value: Any) -> Any:
    """What two instances from the two APIs must agree on: their fields, not their class."""
    if not hasattr(value, "__dataclass_fields__") and not hasattr(value, "__record_spec__"):
        return value
    return (type(value).__qualname__, repr(value), hash_or_none(value))


def hash_or_none(value: Any) -> int | None:
    try:
        return hash(value)
    except TypeError:
        return None


def observe(api: Any, cls: type, args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
    """Everything a caller can see of a class made by ``api``, in one list."""
    kind, value = outcome(lambda: cls(*args, **kwargs))
    if kind != "value":
        return [kind, value]
    obj, twin = value, cls(*args, **kwargs)
    names = [f.name for f in api.fields(cls)]
    seen = [comparable(obj), names, obj == twin, obj != twin, obj == (*args,)]
    if names:
        changed = api.replace(obj, **{names[-1]: "new"})
        seen += [comparable(changed), changed == obj, getattr(changed, names[-1]),
                 outcome(lambda: api.replace(obj, nonexistent=1))[0]]
    # Last, as they change the objects when the class is not frozen.
    seen += [outcome(lambda: setattr(obj, "c0", 5))[0],
             outcome(lambda: delattr(twin, names[0]) if names else None)[0]]
    return seen


def _index(n: int) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(0, max(n - 1, 0)))


shapes = st.integers(0, 4).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, n), _index(n), st.booleans(), _index(n)))


@settings(max_examples=300, deadline=None)
@given(shapes, st.lists(VALUES, max_size=5), st.dictionaries(
    st.sampled_from(["c0", "c1", "c2", "c3", "c9"]), VALUES, max_size=3), st.booleans())
def test_construction_equality_hash_repr_replace_and_freezing_match_dataclasses(
        shape: tuple[int, int, int | None, bool, int | None], args: list[Any],
        kwargs: dict[str, Any], subclass: bool) -> None:
    n_fields, n_defaults, factory_at, frozen, hidden_at = shape
    results = {}
    for api in (dataclasses, lite):
        base = build(api, "B", 2, 1, None, frozen) if subclass else None
        kind, cls = outcome(lambda api=api, base=base: build(
            api, "C", n_fields, n_defaults, factory_at, frozen, base, hidden_at))
        results[api] = observe(api, cls, args, kwargs) if kind == "value" else [kind, cls]
    assert results[lite] == results[dataclasses]


@pytest.mark.parametrize("frozen", [True, False])
def test_an_undecorated_subclass_keeps_its_base_fields_and_only_they_are_frozen(
        frozen: bool) -> None:
    for api in (dataclasses, lite):
        base = build(api, "Base", 2, 0, None, frozen)
        sub = type("Sub", (base,), {})
        obj = sub(1, 2)
        assert [f.name for f in api.fields(sub)] == ["base0", "base1"]
        assert repr(obj) == "Sub(base0=1, base1=2)"
        obj.extra = 3  # a subclass's own attribute is never a field
        assert obj.extra == 3
        changed = api.replace(obj, base1=7)  # a Sub, with its fields only
        assert (type(changed), repr(changed), hasattr(changed, "extra")) == (
            sub, "Sub(base0=1, base1=7)", False)
        if frozen:
            with pytest.raises(AttributeError, match="cannot assign to field 'base0'"):
                obj.base0 = 9
            assert hash(obj) == hash((1, 2))
        else:
            obj.base0 = 9
            with pytest.raises(TypeError, match="unhashable"):
                hash(obj)


def test_a_class_that_writes_its_own_methods_keeps_them() -> None:
    @lite.dataclass(frozen=True)
    class Own:
        """One field; its own equality, hash and repr."""

        a: int

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 7

        def __repr__(self) -> str:
            return "own"

    assert Own(1) == Own(2) and hash(Own(1)) == 7 and repr(Own(1)) == "own"


def test_a_non_default_field_after_a_default_one_is_refused_when_the_class_is_made() -> None:
    for api in (dataclasses, lite):
        with pytest.raises(TypeError, match="non-default argument 'b' follows default"):
            api.dataclass(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"},
                                           "a": 1}))


def test_class_attributes_and_mutable_defaults_are_as_dataclasses_leaves_them() -> None:
    for api in (dataclasses, lite):
        ns = {"__annotations__": {"a": "int", "b": "int", "c": "list", "d": "int"},
              "a": api.field(compare=False), "b": 2, "c": api.field(default_factory=list),
              "d": api.field(default=4, repr=False)}
        cls = api.dataclass(type("Shape", (), ns))
        assert [hasattr(cls, n) for n in "abcd"] == [False, True, False, True], api
        assert (cls.b, cls.d) == (2, 4)
        with pytest.raises(ValueError, match=r"mutable default .* use default_factory"):
            api.dataclass(type("Bad", (), {"__annotations__": {"x": "list"}, "x": []}))


def test_an_option_the_runtime_does_not_implement_fails_when_the_class_is_made() -> None:
    """mypy accepts every dataclasses option; the runtime must not ignore one silently."""
    with pytest.raises(TypeError):
        lite.dataclass(order=True)  # type: ignore[call-overload]


def test_the_package_never_imports_dataclasses_or_inspect(tmp_path: Any) -> None:
    """The reason this module exists: neither is loaded when every module that defines
    records is imported (the whole package but the CLI, the MCP server and the demo). Only
    what the imports add counts: a development install's finder may load typing itself."""
    root = Path(lite.__file__).parent
    skip = ("cli", "mcp_server", "adopt.demo", "__main__", "commands")
    names = sorted(".".join(("avorelo_gate", *p.relative_to(root).with_suffix("").parts))
                   .removesuffix(".__init__") for p in root.rglob("*.py")
                   if not ".".join(p.relative_to(root).with_suffix("").parts).startswith(skip))
    code = ("import sys, importlib\n"
            "before = set(sys.modules)\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted({'dataclasses', 'inspect', 'typing'} & (set(sys.modules) - before)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env=dict(os.environ, **UNMEASURED))
    assert len(names) > 80 and out.stdout.strip() == "[]"
