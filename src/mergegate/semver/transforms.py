"""PEP 681 classes in griffe's static view: the ``__init__`` their decorator makes.

griffe re-creates the ``__init__`` of ``@dataclasses.dataclass`` classes, whose
constructor exists only at run time, but not of classes made dataclass-like by a
``typing.dataclass_transform`` decorator or base class (pydantic's dataclasses,
an in-house ``@record``): their constructor would read as absent. A package
that moves a class from ``@dataclass`` to such a decorator would then show every
constructor as removed, and one that adds a required field to such a class
would show no break at all. Here each such class gets the ``__init__`` the
decorator gives it at run time, built by the rules of dataclasses: the annotated
fields of the class and its dataclass-like bases in definition order, ``ClassVar``
and ``field(init=False)`` left out, defaults from the value, ``field(default=…)``
or ``field(default_factory=…)``, ``kw_only`` from the decorator or the field.

Recognised: a decorator that resolves, within the loaded package, to a function
(or an overload of one) decorated with ``dataclass_transform``; a class deriving
from a class decorated with it. A decorator from another package (not loaded,
so not resolvable) or a transforming metaclass is not seen, as before.

griffe objects are duck-typed (``Any``): griffe is passed in, never imported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TRANSFORMS = frozenset({"typing.dataclass_transform", "typing_extensions.dataclass_transform"})
DATACLASS = "dataclasses.dataclass"
FIELD = "dataclasses.field"


def add_constructors(griffe: Any, module: Any) -> None:
    """Give every class a transform makes dataclass-like, and that has none, its ``__init__``."""
    for cls in _classes(module, set()):
        if "__init__" not in cls.members and _transformed(cls):
            _set_init(griffe, cls)


def _classes(obj: Any, seen: set[str]) -> Iterator[Any]:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if obj.is_class:
        yield obj
    for member in list(obj.members.values()):
        if not member.is_alias and (member.is_module or member.is_class):
            yield from _classes(member, seen)


def _path(expr: Any) -> str | None:
    """The canonical path a decorator expression names, its call's function for a call."""
    target = getattr(expr, "function", expr)
    path = getattr(target, "canonical_path", None)
    return path if isinstance(path, str) else None


def _decorators(obj: Any) -> Iterator[str]:
    for decorator in getattr(obj, "decorators", ()):
        path = _path(decorator.value)
        if path:
            yield path


def _resolve(cls: Any, path: str) -> Any:
    try:
        return cls.modules_collection[path]
    except Exception:  # outside the loaded package, or an alias that leads nowhere
        return None


def _is_transform_function(obj: Any) -> bool:
    if obj is None or not getattr(obj, "is_function", False):
        return False
    overloads = getattr(obj, "overloads", None) or ()
    return any(path in TRANSFORMS for f in (obj, *overloads) for path in _decorators(f))


def _dataclass_decorator(cls: Any, *, standard: bool = True) -> Any:
    """The expression of the decorator that makes ``cls`` dataclass-like (``@dataclass``
    itself only when ``standard``), or None."""
    for decorator in getattr(cls, "decorators", ()):
        path = _path(decorator.value)
        if path == DATACLASS:
            if standard:
                return decorator.value
        elif path and _is_transform_function(_resolve(cls, path)):
            return decorator.value
    return None


def _mro(cls: Any) -> list[Any]:
    try:
        return list(cls.mro())
    except Exception:  # a base griffe cannot resolve: only the class itself
        return []


def _transformed(cls: Any) -> bool:
    """Made dataclass-like by a transform: its decorator, or a transforming base class."""
    if _dataclass_decorator(cls, standard=False) is not None:
        return True
    return any(any(p in TRANSFORMS for p in _decorators(base)) for base in _mro(cls))


def _dataclass_like(cls: Any) -> bool:
    return _dataclass_decorator(cls) is not None or _transformed(cls)


def _arguments(expr: Any) -> dict[str, Any]:
    """Keyword arguments of a call expression ({} for a bare name)."""
    out = {}
    for argument in getattr(expr, "arguments", ()):
        name = getattr(argument, "name", None)
        if isinstance(name, str):
            out[name] = argument.value
    return out


def _fields(griffe: Any, cls: Any) -> Iterator[Any]:
    """The parameters ``cls``'s own fields add to ``__init__``, in definition order."""
    options = _arguments(_dataclass_decorator(cls))
    if str(options.get("init")) == "False":
        return
    kw_only = str(options.get("kw_only")) == "True"
    for member in list(cls.members.values()):
        if member.is_alias or not member.is_attribute or member.annotation is None:
            continue
        labels = member.labels
        if "property" in labels or (
            "class-attribute" in labels and "instance-attribute" not in labels
        ):
            continue  # a ClassVar or a property: not a field
        if _path(member.annotation) == "dataclasses.KW_ONLY":
            kw_only = True
            continue
        spec = _arguments(member.value) if _path(member.value) == FIELD else {}
        if str(spec.get("init")) == "False":
            continue
        if "default_factory" in spec:
            default = griffe.ExprCall(function=spec["default_factory"], arguments=[])
        elif _path(member.value) == FIELD:
            default = spec.get("default")
        else:
            default = member.value
        keyword = kw_only or str(spec.get("kw_only")) == "True"
        kind = (
            griffe.ParameterKind.keyword_only
            if keyword
            else griffe.ParameterKind.positional_or_keyword
        )
        yield griffe.Parameter(
            member.name,
            annotation=member.annotation,
            kind=kind,
            default=default,
            docstring=member.docstring,
        )


def _set_init(griffe: Any, cls: Any) -> None:
    chain = [base for base in reversed(_mro(cls)) if _dataclass_like(base)]
    by_name: dict[str, Any] = {}
    for owner in [*chain, cls]:
        for parameter in _fields(griffe, owner):
            by_name[parameter.name] = parameter  # a redefined field keeps its first place
    ordered = [p for p in by_name.values() if p.kind is not griffe.ParameterKind.keyword_only]
    ordered += [p for p in by_name.values() if p.kind is griffe.ParameterKind.keyword_only]
    self_parameter = griffe.Parameter(
        "self", annotation=None, kind=griffe.ParameterKind.positional_or_keyword, default=None
    )
    init = griffe.Function(
        "__init__",
        lineno=0,
        endlineno=0,
        parent=cls,
        parameters=griffe.Parameters(self_parameter, *ordered),
        returns="None",
    )
    cls.set_member("__init__", init)
    cls.labels.add("dataclass")
