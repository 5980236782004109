"""``record``: a dataclass whose methods are shared, not generated per class.

``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and compiles
it: about 0.3 ms a class, and a warm ``mergegate run`` defines some 45 of them
before its first gate starts (a sixth of its start-up). ``record`` lets
``dataclasses`` do everything else (fields, defaults, ``ClassVar``, inheritance,
the checks on mutable defaults) with code generation turned off, then gives the
class one shared implementation of each method, driven by what it worked out
about the class's fields once: 0.02 ms a class. ``__init__`` fills the
instance's ``__dict__`` in one update, so building one costs about what the
generated ``__init__`` does (1.3 against 1.2 µs for a 13-field record).

What a record keeps from a dataclass: ``dataclasses.fields``, ``replace``,
``asdict`` and ``is_dataclass`` work on it; ``__init__`` takes the init fields
positionally or by keyword in field order, fills defaults and default
factories, and calls ``__post_init__``; equality compares the ``compare``
fields of two instances of exactly the same class; a frozen record hashes them
and refuses assignment with ``FrozenInstanceError``; a mutable one is
unhashable; ``repr`` shows the ``repr`` fields. A method the class defines
itself is never replaced. mypy reads it as a dataclass (``dataclass_transform``).

Which classes are records: those every warm ``mergegate run`` defines (the run
path, the compiled specs of every kind); ``tests/test_record.py`` runs a warm
run and fails on any class there that ``@dataclass`` generated. Engines loaded
only when their gate runs (the semver API model, the witness manifest, JUnit
counting) stay plain dataclasses: their definition cost is the gate's, not every
run's.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from collections.abc import Callable, Iterable
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type[Any])
_SHAPE = "__record_shape__"


class _Shape:
    """What the shared methods need of one class, worked out once when it is defined."""

    __slots__ = (
        "compare",
        "defaults",
        "factories",
        "hashed",
        "init",
        "names",
        "post_init",
        "required",
        "shown",
    )

    def __init__(self, cls: type[Any]) -> None:
        fields = dataclasses.fields(cls)
        self.init = tuple(f.name for f in fields if f.init)  # __init__'s parameters, in order
        self.names = frozenset(self.init)
        # the plain defaults (of init=False fields too), copied into each new instance
        self.defaults = {f.name: f.default for f in fields if f.default is not MISSING}
        self.factories = tuple(
            (f.name, f.default_factory, f.init) for f in fields if f.default_factory is not MISSING
        )
        self.required = tuple(
            f.name
            for f in fields
            if f.init and f.default is MISSING and f.default_factory is MISSING
        )
        self.compare = _getter(f.name for f in fields if f.compare)
        self.hashed = _getter(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        self.shown = tuple(f.name for f in fields if f.repr)
        self.post_init = hasattr(cls, "__post_init__")


def _getter(names: Iterable[str]) -> Callable[[object], tuple[object, ...]]:
    """The named attributes of an object as a tuple (``attrgetter``, always a tuple)."""
    chosen = tuple(names)
    if len(chosen) > 1:
        return operator.attrgetter(*chosen)
    return lambda obj: tuple(getattr(obj, name) for name in chosen)


def _shape(obj: object) -> _Shape:
    shape: _Shape = getattr(type(obj), _SHAPE)
    return shape


def _init(self: object, *args: object, **kwargs: object) -> None:
    """Fields straight into the instance's ``__dict__`` (frozen or not: no __setattr__)."""
    shape = _shape(self)
    values = shape.defaults.copy()
    if args:
        if len(args) > len(shape.init):
            raise TypeError(
                f"{type(self).__qualname__}() takes {len(shape.init)} positional arguments "
                f"but {len(args)} were given"
            )
        given = dict(zip(shape.init, args, strict=False))
        if kwargs and not given.keys().isdisjoint(kwargs):
            twice = sorted(given.keys() & kwargs.keys())[0]
            raise TypeError(f"{type(self).__qualname__}() got multiple values for {twice!r}")
        values.update(given)
    if kwargs:
        if not shape.names.issuperset(kwargs):
            unknown = sorted(kwargs.keys() - shape.names)[0]
            raise TypeError(f"{type(self).__qualname__}() got an unexpected argument {unknown!r}")
        values.update(kwargs)
    for name, factory, init in shape.factories:
        if not init or name not in values:
            values[name] = factory()
    for name in shape.required:
        if name not in values:
            raise TypeError(f"{type(self).__qualname__}() missing required argument {name!r}")
    self.__dict__.update(values)
    if shape.post_init:
        self.__post_init__()  # type: ignore[attr-defined]


_in_repr = threading.local()


def _repr(self: object) -> str:
    seen: set[int] = _in_repr.__dict__.setdefault("ids", set())
    if id(self) in seen:
        return "..."  # a record that contains itself, as dataclasses shows it
    seen.add(id(self))
    try:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _shape(self).shown)
    finally:
        seen.discard(id(self))
    return f"{type(self).__qualname__}({shown})"


def _eq(self: object, other: object) -> object:  # bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    compare = _shape(self).compare
    same: bool = compare(self) == compare(other)
    return same


def _hash(self: object) -> int:
    return hash(_shape(self).hashed(self))


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _make(cls: T, frozen: bool) -> T:
    undocumented = not cls.__doc__
    if undocumented:  # else dataclass writes one from inspect.signature, which compiles
        cls.__doc__ = cls.__name__
    bases = [getattr(b, "__dataclass_params__", None) for b in cls.__mro__[1:]]
    frozen_bases = [p.frozen for p in bases if p is not None]
    if frozen_bases and any(frozen_bases) != frozen:  # dataclass's rule, either way round
        raise TypeError(f"{cls.__qualname__}: frozen=True exactly when its dataclass bases are")
    # a frozen base makes dataclass itself write __setattr__ and __delattr__ (it checks
    # that the subclass agrees): only a kind's spec, a subclass of GateSpec, pays that
    dataclasses.dataclass(init=False, repr=False, eq=False, frozen=bool(frozen_bases) and frozen)(
        cls
    )
    params = cls.__dataclass_params__  # says what the class does: a @dataclass subclass
    params.init = params.repr = params.eq = True  # of a frozen record must be frozen too
    params.frozen = frozen
    shape = _Shape(cls)
    setattr(cls, _SHAPE, shape)
    if undocumented:  # what dataclass's docstring would say, without the annotations
        cls.__doc__ = f"{cls.__name__}({', '.join(shape.init)})"
    own = cls.__dict__
    methods: dict[str, object] = {
        "__init__": _init,
        "__repr__": _repr,
        "__eq__": _eq,
        "__match_args__": shape.init,
    }
    if frozen:
        methods.update(__hash__=_hash, __setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
    else:
        methods["__hash__"] = None  # like a mutable dataclass: equal by value, so unhashable
    for name, method in methods.items():
        # a method the class wrote itself wins (dataclass's rule); __hash__ is set by
        # Python to None when a class defines __eq__, so only a real one counts
        if name not in own or (name == "__hash__" and own[name] is None):
            setattr(cls, name, method)
    return cls


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: T | None = None, /, *, frozen: bool = False) -> T | Callable[[T], T]:
    """``@record`` or ``@record(frozen=True)``: a dataclass, defined in a fiftieth the time."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)
