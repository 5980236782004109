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
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

# Special names that are not API: Python (or a library) calls them on the object's
# behalf and falls back to a default without them, or they are bookkeeping. Removing
# or changing one breaks no caller. Every other dunder (__init__, __call__, operators,
# container and context-manager protocols, __hash__, __init_subclass__,
# __class_getitem__, __match_args__…) is API: callers use it through syntax.
# __init_subclass__ is a class-creation hook like __set_name__: object's default is
# there without it (a subclass passing class keywords would notice; none in the corpus).
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
        # `!=` falls back to the inverse of __eq__ without it
        "__ne__",
        # hooks the class machinery or a generated __init__ calls, never user code
        "__post_init__",
        "__init_subclass__",
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
        # distribution metadata some packages copy into their __init__: PKG-INFO is the API
        "__author__",
        "__copyright__",
        "__email__",
        "__license__",
        "__summary__",
        "__title__",
        "__uri__",
        "__url__",
        "__maintainer__",
        "__credits__",
        "__status__",
        "__date__",
        "__docformat__",
    }
)

# calls whose result is a typing helper, not a value anyone imports to use
TYPING_HELPERS = frozenset({"TypeVar", "ParamSpec", "TypeVarTuple"})
# wrappers that keep a function callable with the same call (functools and friends)
CALLABLE_WRAPPERS = frozenset(
    {"lru_cache", "cache", "partial", "wraps", "staticmethod", "classmethod", "memoize"}
)


def is_api_name(name: str) -> bool:
    return name not in NOT_API_DUNDERS


def is_api_member(name: str, member: Any, top: str) -> bool:
    """The name-level rules: special names, type variables, foreign imports."""
    return (
        is_api_name(name)
        and not is_typing_helper(member)
        and not foreign_import(member, top)
        and not _enum_constructor(name, member)
    )


ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum"})


def _enum_constructor(name: str, member: Any) -> bool:
    """An Enum's ``__init__``/``__new__`` runs when the class body is built; users look
    members up with ``Color("red")``, which never calls them (tomlkit's StringType)."""
    if name not in ("__init__", "__new__"):
        return False
    parent = member.parent
    if parent is None or not getattr(parent, "is_class", False):
        return False
    return any(str(b).rpartition(".")[2] in ENUM_BASES for b in parent.bases)


def is_typing_helper(member: Any) -> bool:
    """``T = TypeVar("T")``: scaffolding for annotations, imported by nobody."""
    if member.is_alias or not member.is_attribute:
        return False
    return _callee(getattr(member, "value", None)) in TYPING_HELPERS


def _callee(value: Any) -> str:
    """The called name of a call expression (``functools.lru_cache(…)`` → ``lru_cache``)."""
    function = getattr(value, "function", None)
    return "" if function is None else str(function).partition("(")[0].rpartition(".")[2]


def foreign_import(member: Any, top: str) -> bool:
    """``import sys`` or ``from typing import Optional``, not listed in ``__all__``: a
    module's own tools, not its API (a star import makes them importable by accident)."""
    if not member.is_alias:
        return False
    target = _final_path(member)
    if target == top or target.startswith(f"{top}."):
        return False
    parent = member.parent
    exports = getattr(parent, "exports", None) if parent is not None else None
    return not exports or member.name not in {str(getattr(e, "name", e)) for e in exports}


def _final_path(alias: Any) -> str:
    """Where a chain of imports ends (a star import re-exports the module's own imports)."""
    path, current = str(alias.target_path), alias
    for _ in range(32):  # a cycle must not hang the gate
        try:
            current = current.target
        except Exception:  # leaves the package (or a cycle): the last path named is the answer
            return path
        if not current.is_alias:
            return str(current.path)
        path = str(current.target_path)
    return path


def is_runtime(obj: Any) -> bool:
    """False for a name defined only for type checkers (``if TYPE_CHECKING:``, a stub
    without a source), or inside such a class: it was never importable."""
    current = obj
    while current is not None:
        if not getattr(current, "runtime", True):
            return False
        current = current.parent
    return True


# -- griffe's breakages -------------------------------------------------------------

Finder = Callable[[str], Any]  # dotted path -> the object in that tree, or None


def is_noise(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """True when a griffe breakage is one of its known false positives.

    A rule that cannot decide (an object shaped in a way it does not expect) keeps the
    breakage: the gate then asks for the bump rather than waving the change through.
    """
    try:
        return _is_noise(breakage, find_old, find_new)
    except Exception:  # fail closed: griffe's verdict stands
        return False


def _is_noise(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    kind = breakage.kind.name
    obj = breakage.obj
    if not is_runtime(obj) or not is_api_member(obj.name, obj, _top(obj)):
        return True
    check = _CHECKS.get(kind)
    return check is not None and check(breakage, find_old, find_new)


def _top(obj: Any) -> str:
    return str(obj.path).partition(".")[0]


def _removed_but_served(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    parent_path, _, name = breakage.obj.path.rpartition(".")
    if never_worked(breakage.obj, find_old):
        return True
    parent = find_new(parent_path)
    if parent is None:
        return False
    return served_by_getattr(parent, name) or _from_builtin_base(parent, name)


def never_worked(obj: Any, find_old: Finder) -> bool:
    """A method that could only raise: its body is one ``raise`` (tomlkit 0.15.1's
    ``Item.__getitem__`` raising TypeError), or it calls ``super().<its name>`` where no
    base has one (tomlkit 0.11.5's ``String.__sub__`` on a ``str``). Without it, callers
    get the same exception: removing it removes nothing that worked."""
    function = _resolved(obj)
    if function is None or not getattr(function, "is_function", False):
        return False
    body = _function_body(function)
    if not body:
        return False
    if len(body) == 1 and isinstance(body[0], ast.Raise):
        return True
    return _calls_missing_super(body[0], function, find_old)


def _resolved(obj: Any) -> Any:
    if not obj.is_alias:
        return obj
    try:
        return obj.final_target
    except Exception:  # outside the package: nothing to read
        return None


def _function_body(function: Any) -> list[ast.stmt]:
    """The function's statements without its docstring, read from its file."""
    source = _module_file(function.module)
    tree = None if source is None else _parsed(source)
    if tree is None or function.lineno is None:
        return []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            node.name == function.name and node.lineno <= function.lineno <= node.end_lineno
        ):
            body = node.body
            docstring = (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
            )
            return body[1:] if docstring else body
    return []


def _calls_missing_super(first: ast.stmt, function: Any, find_old: Finder) -> bool:
    call = getattr(first, "value", None)
    method = getattr(call, "func", None)
    holder = getattr(method, "value", None)
    if not (
        isinstance(method, ast.Attribute)
        and method.attr == function.name
        and isinstance(holder, ast.Call)
        and getattr(holder.func, "id", None) == "super"
    ):
        return False
    cls = function.parent
    if cls is None or not cls.is_class:
        return False
    return not any(_base_has(base, function.name, find_old) for base in cls.bases)


def _base_has(base: Any, name: str, find_old: Finder) -> bool:
    import builtins

    builtin = getattr(builtins, str(base), None)
    if isinstance(builtin, type):
        return hasattr(builtin, name)
    found = find_old(_base_path(base))
    if found is None or not getattr(found, "is_class", False):
        return True  # a base we cannot see may have it: assume it does
    try:
        return name in found.all_members
    except Exception:  # its own bases cannot be resolved: assume it does
        return True


def _from_builtin_base(cls: Any, name: str) -> bool:
    """``FrozenInstanceError.args`` dropped from the class body: ``AttributeError`` still
    provides it, so every caller keeps working."""
    if not getattr(cls, "is_class", False):
        return False
    import builtins

    for base in cls.bases:
        builtin = getattr(builtins, str(base), None)
        if isinstance(builtin, type) and hasattr(builtin, name):
            return True
    return False


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
    if "property" in attribute.labels and _decorated_as_property(function):
        return True
    if _is_dunder(attribute.name):
        return True  # `__add__ = wrap(int.__add__)`: an operator only works if callable
    finder = find_new if attribute is new else find_old
    return still_callable(attribute, finder)


def _rebound_in_place(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """A kind change between a callable (function, class) and an attribute bound to one."""
    old, new = find_old(breakage.obj.path), breakage.obj
    if old is None:
        return False
    kinds = {old.kind.value, new.kind.value}
    if "attribute" not in kinds or not kinds & {"function", "class"}:
        return False
    if kinds == {"function", "attribute"}:
        return _property_by_another_decorator(breakage, find_old, find_new)
    attribute, finder = (old, find_old) if old.kind.value == "attribute" else (new, find_new)
    return still_callable(attribute, finder)


def still_callable(attribute: Any, find: Finder) -> bool:
    """An attribute whose value is callable the same way as the function or class it
    replaces (or is replaced by): ``attr = attrib``, ``X = add_repr(X)``,
    ``self.is_ws = lru_cache(None)(self._is_ws)``, ``ExceptionGroup = ExceptionGroup``."""
    value = getattr(attribute, "value", None)
    if value is None:
        return False
    if _callee(value) in CALLABLE_WRAPPERS or _callee(getattr(value, "function", None)) in (
        CALLABLE_WRAPPERS
    ):
        return True
    if _wraps_itself(value, attribute.name, depth=8):
        return True  # X = decorate(X), even nested: the same object, decorated by calls
    return _names_a_callable(value, attribute.name, find)


def _wraps_itself(value: Any, name: str, depth: int) -> bool:
    """``Attribute = _add_hash(_add_cmp(_add_repr(Attribute, ...)))`` (attrs 18.1.0)."""
    if depth <= 0 or not _callee(value):
        return False
    arguments = getattr(value, "arguments", ())
    return any(str(a) == name or _wraps_itself(a, name, depth - 1) for a in arguments)


def _names_a_callable(value: Any, name: str, find: Finder) -> bool:
    import builtins

    text = str(value)
    if text == name and callable(getattr(builtins, name, None)):
        return True
    if hasattr(value, "function"):
        return False  # a call's result may be anything, whatever it calls
    path = getattr(value, "canonical_path", None)
    if path is None:
        return False
    target = find(str(path))
    return target is not None and target.kind.value in ("function", "class")


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


_POSITIONAL = ("positional-only", "positional or keyword")
_KEYWORD_CALLED = frozenset({"__init__", "__new__", "__call__"})


def _renamed_positional(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """A positional parameter renamed where no caller can pass it by keyword: it was
    positional-only, private (``_version`` → ``version``), or belongs to an operator
    (``__setitem__(self, key, item)`` → ``(self, key, value)``)."""
    new_fn = breakage.obj
    old_fn = find_old(new_fn.path)
    if old_fn is None or not getattr(old_fn, "is_function", False):
        return False
    olds, news = list(old_fn.parameters), list(new_fn.parameters)
    removed = breakage.kind.name == "PARAMETER_REMOVED"
    param = breakage.old_value if removed else breakage.new_value
    side = olds if removed else news
    index = next((i for i, p in enumerate(side) if p.name == param.name), None)
    if index is None or index >= min(len(olds), len(news)):
        return False
    before, after = olds[index], news[index]
    if before.kind.value not in _POSITIONAL or after.kind.value not in _POSITIONAL:
        return False
    if after.name in {p.name for p in olds} or before.name in {p.name for p in news}:
        return False  # a move, not a rename
    if after.required and not before.required:
        return False
    return (
        before.kind.value == "positional-only"
        or before.name.startswith("_")
        or (_is_dunder(new_fn.name) and new_fn.name not in _KEYWORD_CALLED)
    )


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and len(name) > 4


def _sentinel_made_explicit(breakage: Any, find_old: Finder, find_new: Finder) -> bool:
    """A None default that the body replaces by the other side's default: every call
    behaves the same. ``def array(raw=None): if raw is None: raw = "[]"`` →
    ``def array(raw="[]")`` (tomlkit 0.12.5), ``self.indent = indent or ""`` →
    ``indent=""`` (tomlkit 0.11.8), and back: ``metadata={}`` → ``metadata=None`` with
    ``if metadata is None: metadata = {}`` (attrs 17.4.0)."""
    old_param, new_param = breakage.old_value, breakage.new_value
    old_default, new_default = str(old_param.default), str(new_param.default)
    if old_default == "None" and new_param.default is not None:
        function, value = find_old(breakage.obj.path), new_default
    elif new_default == "None" and old_param.default is not None:
        function, value = breakage.obj, old_default
    else:
        return False
    if function is None or not getattr(function, "is_function", False):
        return False
    try:
        wanted = ast.dump(ast.parse(value, mode="eval").body)
    except SyntaxError:
        return False
    return any(_replaces_none(node, old_param.name, wanted) for node in _function_body(function))


def _replaces_none(node: ast.stmt, name: str, wanted: str) -> bool:
    if isinstance(node, ast.If) and len(node.body) == 1 and not node.orelse:
        test, body = node.test, node.body[0]
        return (
            isinstance(test, ast.Compare)
            and _is_name(test.left, name)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Is)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
            and isinstance(body, ast.Assign)
            and any(_is_name(t, name) for t in body.targets)
            and ast.dump(body.value) == wanted
        )
    value = getattr(node, "value", None)
    return (
        isinstance(node, ast.Assign)
        and isinstance(value, ast.BoolOp)
        and isinstance(value.op, ast.Or)
        and len(value.values) == 2
        and _is_name(value.values[0], name)
        and ast.dump(value.values[1]) == wanted
    )


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


_CHECKS: dict[str, Callable[[Any, Finder, Finder], bool]] = {
    "OBJECT_REMOVED": _removed_but_served,
    "PARAMETER_CHANGED_KIND": _self_made_positional,
    "OBJECT_CHANGED_KIND": _rebound_in_place,
    "CLASS_REMOVED_BASE": _base_still_inherited,
    "PARAMETER_REMOVED": _renamed_positional,
    "PARAMETER_ADDED_REQUIRED": _renamed_positional,
    "PARAMETER_CHANGED_DEFAULT": _sentinel_made_explicit,
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
    if "__all__" not in module.members:
        return False
    source = _module_file(module)
    if source is None or not _may_build_all(source):
        return False
    tree = _parsed(source)
    return tree is not None and any(_builds_all(node) for node in tree.body)


# `__all__ = [` / `(` / a string, alone on its line: the common literal; anything else
# (`+=`, a call, a comprehension, `.extend(`) is worth a full parse of the module
_LITERAL_ALL = re.compile(
    rb"^__all__\s*(?::[^=\n]*)?=\s*[\[(]\s*(?:#.*)?$|^__all__\s*=\s*[\[(]\s*[\"']"
)
_ANY_ALL = re.compile(rb"^__all__\b.*$|^\s*__all__\s*(?:\+=|\.extend|\.append).*$", re.M)


def _may_build_all(path: Path) -> bool:
    """A byte scan first: parsing every module of a large package costs more than griffe."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    lines = [m.group(0).rstrip() for m in _ANY_ALL.finditer(data)]
    return any(not _LITERAL_ALL.match(line) or b" for " in line or b"+" in line for line in lines)


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
