"""``@dataclass`` for the package's records, without the cost of ``dataclasses`` at start-up.

Why: every commit and every agent tool call starts a Python process, and there ``dataclasses``
was half of the gate's own work (callgrind, Python 3.11, the agent's pre-tool decision: 308M
instructions, ``python -c pass`` 36M). Importing ``dataclasses`` imports ``inspect`` (67M
instructions), and each class compiles six methods from generated source (~3.8M; that path
defines 33 classes). Here a class costs a dictionary of its fields, and its methods are the
shared functions below, which read it.

Type checkers see ``dataclasses`` itself (the import under ``TYPE_CHECKING``), so mypy checks
every constructor, field and ``replace`` exactly as it did. At run time this supports what
the package uses, and refuses the rest when the class is made: ``@dataclass`` and
``@dataclass(frozen=True)`` (equality by fields within one class, a field hash when frozen,
the same ``repr``), defaults and ``field(default=, default_factory=, repr=, compare=)``, fields
inherited from a decorated base, ``replace`` and ``fields``. ``tests/test_dataclass_lite.py``
holds it to ``dataclasses``' behaviour.
"""
from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as ``dataclasses.FrozenInstanceError``)."""


_MISSING: Any = object()


class Field:
    """One field: its name, how it gets a value when the constructor is not given one, and
    whether it shows in ``repr`` and counts in equality and the hash."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr")

    def __init__(self, default: Any = _MISSING, default_factory: Any = _MISSING,
                 repr: bool = True, compare: bool = True) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def _getter(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """The values of these attributes, always as a tuple (attrgetter of one name returns the
    value itself)."""
    if not names:
        return lambda _obj: ()
    get = attrgetter(*names)
    return (lambda obj: (get(obj),)) if len(names) == 1 else get


class _Spec:
    """A record class's fields, in constructor order, as the shared methods need them."""

    __slots__ = ("compared", "count", "defaults", "factories", "fields", "names", "nameset",
                 "shown", "values")

    def __init__(self, fields: dict[str, Field]) -> None:
        self.fields = tuple(fields.values())
        self.names = tuple(fields)
        self.nameset = frozenset(self.names)
        self.count = len(self.names)
        self.defaults = {f.name: f.default for f in self.fields if f.default is not _MISSING}
        self.factories = tuple((f.name, f.default_factory) for f in self.fields
                               if f.default_factory is not _MISSING)
        self.values = _getter(self.names)
        self.compared = _getter(tuple(f.name for f in self.fields if f.compare))
        self.shown = tuple(f.name for f in self.fields if f.repr)


def _field(*, default: Any = _MISSING, default_factory: Any = _MISSING, repr: bool = True,
           compare: bool = True) -> Any:
    return Field(default, default_factory, repr, compare)


def _spec(obj: object) -> _Spec:
    spec = getattr(obj, "__record_spec__", None)
    if not isinstance(spec, _Spec):
        raise TypeError(f"{obj!r} is not a record (avorelo_gate.dataclass_lite)")
    return spec


def _init(self: object, *args: Any, **kwargs: Any) -> None:
    # Every instance of the gate's records is made here (ci: ~16 per commit), so the work is
    # dictionary updates done in C: defaults, then positional, then keyword arguments.
    spec: _Spec = type(self).__record_spec__  # type: ignore[attr-defined]
    values = self.__dict__
    if spec.defaults:
        values.update(spec.defaults)
    if args:
        if len(args) > spec.count:
            raise TypeError(f"{type(self).__qualname__}() takes {spec.count} positional "
                            f"arguments but {len(args)} were given")
        values.update(zip(spec.names, args, strict=False))
        if kwargs and not kwargs.keys().isdisjoint(spec.names[:len(args)]):
            twice = next(n for n in spec.names[:len(args)] if n in kwargs)
            raise TypeError(f"{type(self).__qualname__}() got multiple values for argument "
                            f"{twice!r}")
    if kwargs:
        if not kwargs.keys() <= spec.nameset:
            unknown = next(n for n in kwargs if n not in spec.nameset)
            raise TypeError(f"{type(self).__qualname__}() got an unexpected keyword argument "
                            f"{unknown!r}")
        values.update(kwargs)
    for name, factory in spec.factories:
        if name not in values:
            values[name] = factory()
    if len(values) != spec.count:
        missing = next(n for n in spec.names if n not in values)
        raise TypeError(f"{type(self).__qualname__}() missing required argument {missing!r}")


def _repr(self: object) -> str:
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in _spec(self).shown)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: object, other: object) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    values = _spec(self).compared
    return values(self) == values(other)


def _hash(self: object) -> int:
    return hash(_spec(self).compared(self))


def _freeze(cls: type, names: tuple[str, ...]) -> None:
    """dataclasses' rule: every attribute of the class itself is frozen; a subclass that is
    not a record may set attributes of its own, never a field."""

    def __setattr__(self: object, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self: object, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    cls.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
    cls.__delattr__ = __delattr__  # type: ignore[method-assign,assignment]


def _own_fields(cls: type) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited = base.__dict__.get("__record_spec__")
        if isinstance(inherited, _Spec):
            fields.update((f.name, f) for f in inherited.fields)
    # The class's own annotations (not inherited ones); inspect.get_annotations would import
    # inspect, the cost this module exists to avoid.
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    for name, annotation in annotations.items():
        if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        given = cls.__dict__.get(name, _MISSING)
        f = given if isinstance(given, Field) else Field(default=given)
        f.name = name
        if f.default is not _MISSING and type(f.default).__hash__ is None:
            # dataclasses' guard: one list shared by every instance is a bug, not a default.
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not "
                             "allowed: use default_factory")
        # As dataclasses leaves the class: the default as the class attribute, or none.
        if f.default is not _MISSING:
            setattr(cls, name, f.default)
        elif given is not _MISSING:
            delattr(cls, name)
        fields[name] = f
    return fields


def _make(cls: type, frozen: bool) -> type:
    fields = _own_fields(cls)
    seen_default = ""
    for f in fields.values():
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = f.name
        elif seen_default:
            raise TypeError(f"{cls.__qualname__}: non-default argument {f.name!r} follows "
                            f"default argument {seen_default!r}")
    own = cls.__dict__
    cls.__record_spec__ = _Spec(fields)  # type: ignore[attr-defined]
    setattr(cls, "__match_args__", tuple(fields))  # noqa: B010 (a class attribute mypy forbids)
    for name, method in (("__init__", _init), ("__repr__", _repr), ("__eq__", _eq)):
        if name not in own:
            setattr(cls, name, method)
    # dataclasses' rule for eq=True: a field hash when frozen, unhashable otherwise, unless
    # the class body wrote its own __hash__ (defining __eq__ alone sets it to None).
    explicit_hash = own.get("__hash__", _MISSING)
    if explicit_hash is _MISSING or (explicit_hash is None and "__eq__" in own):
        cls.__hash__ = _hash if frozen else None  # type: ignore[assignment]
    if frozen:
        _freeze(cls, tuple(fields))
    return cls


def _dataclass(cls: type | None = None, /, *, frozen: bool = False) -> Any:
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def _fields(class_or_instance: object) -> tuple[Field, ...]:
    return _spec(class_or_instance).fields


def _replace(obj: Any, /, **changes: Any) -> Any:
    spec = _spec(obj)
    cls = type(obj)
    current = zip(spec.names, spec.values(obj), strict=True)
    if cls.__init__ is not _init:   # a class that wrote its own constructor gets it called
        return cls(**{**dict(current), **changes})
    if not changes.keys() <= spec.nameset:
        unknown = next(n for n in changes if n not in spec.nameset)
        raise TypeError(f"{cls.__qualname__}() got an unexpected keyword argument {unknown!r}")
    # What the constructor would do with every field given: copy, then change.
    new = object.__new__(cls)
    values = new.__dict__
    values.update(current)
    values.update(changes)
    return new


if TYPE_CHECKING:
    from dataclasses import dataclass, field, fields, replace
else:
    dataclass, field, fields, replace = _dataclass, _field, _fields, _replace

__all__ = ["FrozenInstanceError", "dataclass", "field", "fields", "replace"]
