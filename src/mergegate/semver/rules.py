"""What is API and what is noise in griffe's view of two releases (docs/semver.md).

griffe's raw breakage list disagrees with real releases in known ways; each rule here
names one, and is applied to griffe's breakages and to mergegate's own public surface
alike, so both sides of the comparison follow the same definition of "API":

- special methods whose removal leaves every caller working (``NOT_API_DUNDERS``);
- names that exist only for type checkers (``if TYPE_CHECKING:``, or only in a stale
  ``.pyi`` that griffe merged in): never importable;
- names a module-level ``__getattr__`` still serves (deprecations);
- ``self`` made positional-only, a decorator-made property read as a kind change, a
  base class dropped from ``bases`` while still in the MRO.

griffe objects are duck-typed (``Any``): this module never imports griffe.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

# Special names that are not API: Python (or a library) calls them on the object's
# behalf and falls back to a default without them, or they are bookkeeping. Removing
# or changing one breaks no caller. Every other dunder (__init__, __call__, operators,
# container and context-manager protocols, __hash__, __init_subclass__,
# __class_getitem__, __match_args__…) is API: callers use it through syntax.
NOT_API_DUNDERS = frozenset(
    {
        # finaliser and human-readable text: str()/repr() keep working with object's
        "__del__",
        "__repr__",
        "__str__",
        "__rich__",
        "__rich_repr__",
        "__rich_console__",
        "__rich_measure__",
        # hooks the class machinery or a generated __init__ calls, never user code
        "__post_init__",
        "__set_name__",
        "__subclasshook__",
        # pickling/copy/introspection: object provides the default protocol
        "__reduce__",
        "__reduce_ex__",
        "__getstate__",
        "__setstate__",
        "__getnewargs__",
        "__getnewargs_ex__",
        "__copy__",
        "__deepcopy__",
        "__sizeof__",
        "__dir__",
        # bookkeeping attributes the interpreter writes
        "__slots__",
        "__module__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__annotations__",
        "__qualname__",
        "__orig_bases__",
        "__parameters__",
        "__firstlineno__",
        "__static_attributes__",
    }
)


def is_api_name(name: str) -> bool:
    return name not in NOT_API_DUNDERS


def is_runtime(obj: Any) -> bool:
    """False for a name defined only under ``if TYPE_CHECKING:``: it was never importable."""
    return bool(getattr(obj, "runtime", True))


# -- griffe's breakages -------------------------------------------------------------

Finder = Callable[[str], Any]  # dotted path -> the object in that tree, or None


def is_noise(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """True when a griffe breakage is one of its known false positives."""
    kind = breakage.kind.name
    obj = breakage.obj
    if not is_api_name(obj.name) or not is_runtime(obj):
        return True
    check = _CHECKS.get(kind)
    return check is not None and check(breakage, find_old, find_new)


def _removed_but_served(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    parent_path, _, name = breakage.obj.path.rpartition(".")
    parent = find_new(parent_path)
    return parent is not None and served_by_getattr(parent, name)


def _self_made_positional(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """``def f(self, x)`` → ``def f(self, /, x)``: no caller passes ``self=`` by keyword."""
    function, old, new = breakage.obj, breakage.old_value, breakage.new_value
    parent = getattr(function, "parent", None)
    if parent is None or not parent.is_class or not function.parameters:
        return False
    first = function.parameters[0]
    return bool(
        first.name == old.name
        and old.kind.value == "positional or keyword"
        and new.kind.value == "positional-only"
    )


def _property_by_another_decorator(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """``@lazy_property def x`` → ``@cached_property def x``: griffe sees a function, then
    an attribute; callers see an attribute both times."""
    old, new = find_old(breakage.obj.path), breakage.obj
    if old is None:
        return False
    pair = {old.kind.value, new.kind.value}
    if pair != {"function", "attribute"}:
        return False
    function, attribute = (old, new) if old.kind.value == "function" else (new, old)
    return "property" in attribute.labels and _decorated_as_property(function)


def _decorated_as_property(function: Any) -> bool:
    for decorator in getattr(function, "decorators", ()):
        name = str(decorator.value).rpartition(".")[2].split("(")[0]
        if name.endswith("property"):
            return True
    return False


def _base_still_inherited(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """``class C(B, A)`` → ``class C(B)`` with ``B(A)``: A is still in C's MRO."""
    try:
        inherited = {str(c.path) for c in breakage.obj.mro()}
    except Exception:  # a base outside the package: the MRO is unknown, keep the change
        return False
    inherited |= {_base_path(b) for b in breakage.new_value}
    return all(_base_path(b) in inherited for b in breakage.old_value)


def _base_path(expr: Any) -> str:
    try:
        return str(expr.canonical_path)
    except Exception:  # a base griffe cannot name: its text stands in
        return str(expr)


_CHECKS: dict[str, Callable[[Any, Finder, Finder], bool]] = {
    "OBJECT_REMOVED": _removed_but_served,
    "PARAMETER_CHANGED_KIND": _self_made_positional,
    "OBJECT_CHANGED_KIND": _property_by_another_decorator,
    "CLASS_REMOVED_BASE": _base_still_inherited,
}


# -- module-level __getattr__ -------------------------------------------------------


def served_by_getattr(module: Any, name: str) -> bool:
    """A module whose ``__getattr__`` names ``name`` as a string still serves it.

    The usual deprecation shim (``if name == "old": warn(...); return new`` or a dict
    of deprecated names) keeps ``from mod import old`` working: that is no removal.
    """
    if not getattr(module, "is_module", False) or "__getattr__" not in module.members:
        return False
    source = _module_file(module)
    tree = None if source is None else _parsed(source)
    return tree is not None and name in _string_constants(tree)


@lru_cache(maxsize=64)
def _string_constants(tree: ast.Module) -> frozenset[str]:
    return frozenset(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


# -- what the source says that griffe does not --------------------------------------


def _module_file(module: Any) -> Path | None:
    if not getattr(module, "is_module", False):
        return None
    filepath = module.filepath
    if isinstance(filepath, list):
        filepath = filepath[0] if filepath else None
    return None if filepath is None else Path(filepath)


def _parsed(path: Path) -> ast.Module | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _parse(path: Path, mtime_ns: int, size: int) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None


def dynamic_all(module: Any) -> bool:
    """``__all__`` built at import time (a comprehension, a call, a variable…).

    griffe keeps only the literal part of such an ``__all__``: names added at import
    time would read as private. Such a module falls back to names: everything without a
    leading underscore is public, imports included (the cautious superset).
    """
    source = _module_file(module)
    tree = None if source is None else _parsed(source)
    if tree is None:
        return False
    return any(_builds_all(node) for node in tree.body)


def _builds_all(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
        return False
    return not _static_names(value)


def _static_names(value: ast.expr) -> bool:
    """Literal strings, ``x.__all__`` (griffe follows it) and ``+`` of those."""
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)
    if isinstance(value, ast.Attribute):
        return value.attr == "__all__"
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        return _static_names(value.left) and _static_names(value.right)
    return False
