"""API changes between the base and the working tree.

- ``path_changes``: every changed file under ``api.paths`` is one change.
- ``python_changes``: griffe loads the package twice — at base from a ``git
  archive`` of that subtree unpacked into a temp dir, and from the working
  tree — by parsing only (inspection off: nothing is imported or run).
  ``griffe.find_breaking_changes`` gives the breaking changes, less its known
  false positives (``rules.is_noise``); each touched module with a stub (``.pyi``)
  is compared again stub against stub, since griffe keeps the source's signature; a
  diff of the two public surfaces gives what griffe does not report: additions
  (objects and optional parameters, inheritance consulted so an override is none),
  names dropped from ``__all__``, and removals of names that are public by
  convention only (plain re-exports in a package ``__init__``, an ``__all__`` built
  at import time). What counts as API is ``rules``' to say.

griffe is imported inside ``python_changes`` only: the fast path never pays for it.
"""

from __future__ import annotations

import io
import logging
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mergegate.git import git_bytes, git_text, object_type, show_file
from mergegate.globs import filter_paths
from mergegate.semver.heap import relaxed_gc, release_griffe_caches
from mergegate.semver.transforms import add_constructors

if TYPE_CHECKING:
    from griffe import Alias, Breakage, Object

PY_SUFFIXES = (".py", ".pyi")
_VALUE_WIDTH = 60


class ApiError(Exception):
    """The API could not be loaded or compared; the message says what failed."""


@dataclass(frozen=True)
class ApiChange:
    kind: str  # a key of kinds.CHANGE_KINDS
    subject: str  # dotted object path, or a file for api.paths
    message: str  # "removed mypkg.client.Client.close"
    file: str | None = None  # relative to the project root
    line: int | None = None

    def located(self) -> str:
        if not self.file or (self.file == self.subject and not self.line):
            return self.message
        return f"{self.message} ({self.file}{f':{self.line}' if self.line else ''})"


# -- api.paths ----------------------------------------------------------------------


def path_changes(changed: Iterable[str], globs: Sequence[str]) -> list[ApiChange]:
    return [
        ApiChange("file-changed", path, f"changed {path}", path)
        for path in filter_paths(changed, globs)
    ]


# -- api.python ---------------------------------------------------------------------


@dataclass(frozen=True)
class PythonPackage:
    """``api.python`` split into what griffe needs: a search directory and a module name."""

    path: str  # as configured: src/mypkg or src/mymod.py

    @property
    def pure(self) -> PurePosixPath:
        return PurePosixPath(self.path)

    @property
    def name(self) -> str:
        return self.pure.stem if self.is_module_file else self.pure.name

    @property
    def is_module_file(self) -> bool:
        return self.pure.suffix == ".py"

    @property
    def parent(self) -> str:
        parent = str(self.pure.parent)
        return "" if parent == "." else parent

    def touched_by(self, changed: Iterable[str]) -> list[str]:
        """Changed Python sources of the package, stubs included (nothing else changes its API)."""
        if self.is_module_file:
            stub = str(self.pure.with_suffix(".pyi"))
            return [p for p in changed if p in (self.path, stub)]
        prefix = self.path.rstrip("/") + "/"
        return [p for p in changed if p.startswith(prefix) and p.endswith(PY_SUFFIXES)]

    def changed_modules(self, touched: Sequence[str]) -> frozenset[str] | None:
        """Dotted names of the modules whose sources changed; None when unknown."""
        if not touched:
            return None
        if self.is_module_file:
            return frozenset({self.name})
        names = set()
        for rel in touched:
            parts = PurePosixPath(rel).relative_to(self.path).with_suffix("").parts
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            names.add(".".join((self.name, *parts)))
        return frozenset(names)

    def rel_file(self, filepath: Path, search_root: Path) -> str | None:
        """A loaded file's path relative to the project root, whichever tree it came from."""
        try:
            rel = filepath.relative_to(search_root)
        except ValueError:
            try:  # griffe keeps resolved paths: compare resolved ones
                rel = filepath.resolve().relative_to(search_root.resolve())
            except ValueError:
                return None
        return str(PurePosixPath(self.parent, *rel.parts)) if self.parent else rel.as_posix()


def missing_python_path(root: Path, path: str) -> str | None:
    """Why ``api.python`` names no Python source in the working tree; None when it does.

    Shared by the run and the dry run so both refuse the same paths with the same words.
    """
    target = root / path
    hint = "fix the path in gates.yaml (a package directory or a .py module)"
    if target.is_file() and target.suffix == ".py":
        return None
    if target.is_dir() and any(p.suffix in PY_SUFFIXES for p in target.rglob("*")):
        return None
    what = "does not exist" if not target.exists() else "holds no Python source"
    return f"api.python: {path} {what} in the working tree; {hint}"


def python_changes(
    root: Path, base_sha: str, package: PythonPackage, touched: Sequence[str] = ()
) -> list[ApiChange]:
    """Breaking changes, additions and ``__all__`` removals between base and the working tree."""
    import griffe

    logging.getLogger("griffe").setLevel(logging.CRITICAL)  # failures are reported by us
    problem = missing_python_path(root, package.path)
    if problem:
        raise ApiError(problem)
    try:
        with relaxed_gc():
            return _load_and_compare(griffe, root, base_sha, package, touched)
    finally:
        release_griffe_caches()  # both trees are garbage now: let the collector free them


def _load_and_compare(
    griffe: Any, root: Path, base_sha: str, package: PythonPackage, touched: Sequence[str]
) -> list[ApiChange]:
    head_search = (root / package.parent).resolve()
    with (
        tempfile.TemporaryDirectory(prefix="mergegate-semver-") as tmp,
        ThreadPoolExecutor(1, thread_name_prefix="mergegate-semver") as pool,
    ):
        base_search = Path(tmp).resolve()
        # unpacking the base is mostly waiting on git and the disk: overlap it with parsing
        exported = pool.submit(_export_base, root, base_sha, package, base_search)
        new = _load(griffe, head_search, package, "the working tree")
        _check_loaded(root, new, package, touched)
        if not exported.result():
            return [
                ApiChange(
                    "added",
                    package.name,
                    f"added package {package.name} (new since base)",
                    package.path,
                )
            ]
        old = _load(griffe, base_search, package, "base")
        return _compare(griffe, old, new, package, (base_search, head_search), touched)


def _export_base(root: Path, sha: str, package: PythonPackage, dest: Path) -> bool:
    """Unpack the package as it is at ``sha`` into dest; False when it does not exist there."""
    if package.is_module_file:
        data = show_file(root, sha, package.path)
        if data is None:
            return False
        (dest / package.pure.name).write_bytes(data)
        return True
    if object_type(root, sha, package.path) != "tree":
        return False  # absent at the base; one that cannot be read raises instead
    prefix = git_text(root, "rev-parse", "--show-prefix")
    spec = f"{sha}:{prefix}{package.path.rstrip('/')}"
    tar_bytes = git_bytes(root, "archive", "--format=tar", spec)
    _unpack_sources(tar_bytes, dest / package.name)
    return True


def _unpack_sources(tar_bytes: bytes, target: Path) -> None:
    """Write the archive's Python sources below target: regular files only, never a link."""
    target.mkdir()
    made: set[Path] = {target}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for member in tar:
            name = PurePosixPath(member.name)
            if not member.isfile() or name.suffix not in PY_SUFFIXES:
                continue
            if name.is_absolute() or ".." in name.parts:
                raise ApiError(f"refusing the base archive: unsafe path {member.name!r}")
            out = target.joinpath(*name.parts)
            if out.parent not in made:
                out.parent.mkdir(parents=True, exist_ok=True)
                made.add(out.parent)
            source = tar.extractfile(member)
            if source is not None:
                out.write_bytes(source.read())


def _load(griffe: Any, search: Path, package: PythonPackage, where: str) -> Object:
    loader = griffe.GriffeLoader(
        search_paths=[str(search)], allow_inspection=False, store_source=False
    )
    try:
        module = loader.load(package.name, try_relative_path=False)
    except Exception as exc:
        raise ApiError(
            f"griffe could not load {package.path} at {where}: {type(exc).__name__}: {exc}"
        ) from None
    filepath = module.filepath[0] if isinstance(module.filepath, list) else module.filepath
    if package.rel_file(Path(filepath), search) is None:
        raise ApiError(f"{package.path} at {where} resolved outside the package ({filepath})")
    add_constructors(griffe, module)  # dataclass_transform classes: their run-time __init__
    result: Object = module
    return result


def _check_loaded(
    root: Path, module: Object, package: PythonPackage, touched: Sequence[str]
) -> None:
    """griffe skips a module it cannot parse; a changed one skipped would read as removed."""
    for rel in touched:
        if (
            not rel.endswith(".py")
            or not (root / rel).is_file()
            or _is_loaded(module, package, rel)
        ):
            continue
        import ast

        try:
            ast.parse((root / rel).read_bytes(), rel)
        except SyntaxError as exc:
            raise ApiError(
                f"{rel}:{exc.lineno or 0}: {exc.msg}: the module does not parse, so its API "
                "cannot be compared; fix the syntax error"
            ) from None
        except ValueError as exc:  # NUL bytes, undecodable source
            raise ApiError(f"{rel}: cannot be parsed ({exc})") from None


def _is_loaded(module: Object, package: PythonPackage, rel: str) -> bool:
    if package.is_module_file:
        return True
    parts = PurePosixPath(rel).relative_to(package.path).with_suffix("").parts
    current: Any = module
    for part in parts:
        if part == "__init__":
            break
        current = current.members.get(part)
        if current is None or current.is_alias or not current.is_module:
            return False
    return True


# -- comparing ----------------------------------------------------------------------


def _compare(
    griffe: Any,
    old: Object,
    new: Object,
    package: PythonPackage,
    searches: tuple[Path, Path],
    touched: Sequence[str],
) -> list[ApiChange]:
    base_search, head_search = searches
    changes: list[ApiChange] = []
    removed: set[str] = set()
    breakages = [
        *_breakages(griffe, old, new),
        *_stub_breakages(griffe, old, new, package, searches, touched),
    ]
    from mergegate.semver.rules import is_noise

    seen: set[tuple[str, str]] = set()
    finders = (partial(find_object, old), partial(find_object, new))
    for breakage in breakages:
        if is_noise(breakage, *finders):
            continue
        change = _from_breakage(breakage, package, base_search, head_search)
        if (change.kind, change.message) in seen:
            continue
        seen.add((change.kind, change.message))
        if change.kind == "object-removed":
            removed.add(change.subject)
        changes.append(change)
    try:
        old_surface = Surface.of(old, lambda o: _locate(o, package, base_search))
        new_surface = Surface.of(new, lambda o: _locate(o, package, head_search))
        changed = package.changed_modules(touched)
        changes.extend(surface_changes(old_surface, new_surface, removed, changed))
    except RecursionError:
        raise ApiError(f"{package.path}: the public API nests too deeply to compare") from None
    return changes


def _breakages(griffe: Any, old: Object, new: Object) -> list[Breakage]:
    """griffe's breaking changes; retried once without class-level aliases it cannot resolve.

    griffe raises while diffing a class that inherits an import made in a base class
    body from a package that is not loaded (django: ``from psycopg.types import numeric``).
    Such an alias is not the package's API; dropping it from both trees lets the rest
    be compared instead of making the gate unusable.
    """
    unresolvable = (griffe.AliasResolutionError, griffe.CyclicAliasError)
    try:
        return list(griffe.find_breaking_changes(old, new))
    except unresolvable:
        _drop_unresolvable_class_aliases(old, unresolvable)
        _drop_unresolvable_class_aliases(new, unresolvable)
    except Exception as exc:
        raise ApiError(
            f"griffe could not compare the two APIs: {type(exc).__name__}: {exc}"
        ) from None
    try:
        return list(griffe.find_breaking_changes(old, new))
    except Exception as exc:
        raise ApiError(
            f"griffe could not compare the two APIs: {type(exc).__name__}: {exc}"
        ) from None


def _stub_breakages(
    griffe: Any,
    old: Object,
    new: Object,
    package: PythonPackage,
    searches: tuple[Path, Path],
    touched: Sequence[str],
) -> list[Breakage]:
    """Signature breaks seen by type checkers: a stub (``.pyi``) is the API where present.

    griffe merges a stub into its module but keeps the source's parameters, so a stub that
    changes a signature reads as no change. Each module whose stub exists on either side is
    compared again, stub against stub (or against the source where one side has none).
    """
    found: list[Breakage] = []
    for dotted, rel in _stubbed_modules(package, touched):
        old_stub = _stub_view(griffe, searches[0], rel, dotted)
        new_stub = _stub_view(griffe, searches[1], rel, dotted)
        if old_stub is None and new_stub is None:
            continue  # no stub on either side: griffe's own comparison covers it
        old_view = old_stub or _submodule(old, dotted)
        new_view = new_stub or _submodule(new, dotted)
        if old_view is None or new_view is None:
            continue
        # only the names defined on both sides: re-exports are compared where they are
        # defined, and a name only a stub declares never existed at run time
        shared = [
            name
            for name, member in new_view.members.items()
            if not member.is_alias
            and not name.startswith("_")
            and not getattr(old_view.members.get(name), "is_alias", True)
        ]
        # plain dicts in throw-away modules: set_member would re-parent the loaded objects
        before, after = griffe.Module(dotted), griffe.Module(dotted)
        before.members.update({n: old_view.members[n] for n in shared})
        after.members.update({n: new_view.members[n] for n in shared})
        try:
            breakages = list(griffe.find_breaking_changes(before, after))
        except Exception as exc:
            raise ApiError(f"griffe could not compare the stub of {dotted}: {exc}") from None
        found.extend(b for b in breakages if _real_at_run_time(b, old, new))
    return found


def _real_at_run_time(breakage: Breakage, old: Object, new: Object) -> bool:
    """What a stub-only view gets wrong: a stub may list as positional what the source
    only takes through ``**kwargs`` (attrs' ``make_class``), so a move of such a parameter
    breaks no call that ever worked; and it cannot see bases declared in other modules."""
    if breakage.kind.name == "OBJECT_REMOVED":
        from mergegate.semver.rules import is_runtime

        # a name only the old stub declared was never importable (attrs 22.1.0's
        # AttrsInstance); one the new tree still has once bases resolve is not gone
        before = find_object(old, breakage.obj.path)
        gone = find_object(new, breakage.obj.path) is None
        return gone and before is not None and is_runtime(before)
    if breakage.kind.name not in ("PARAMETER_MOVED", "PARAMETER_CHANGED_KIND"):
        return True
    runtime = find_object(new, breakage.obj.path)
    if runtime is None or not getattr(runtime, "is_function", False):
        return True
    name = _param(breakage.old_value)
    kinds = {p.name: p.kind.value for p in runtime.parameters}
    return kinds.get(name) in ("positional-only", "positional or keyword")


def _stubbed_modules(package: PythonPackage, touched: Sequence[str]) -> list[tuple[str, str]]:
    """(dotted module, stub path below the search dir) for every touched module."""
    out: dict[str, str] = {}
    for rel in touched:
        stub = PurePosixPath(rel).with_suffix(".pyi")
        if package.is_module_file:
            out[package.name] = stub.name
            continue
        parts = stub.relative_to(package.path).parts
        if any(p.startswith("_") and p != "__init__.pyi" for p in parts):
            continue  # a private module is nobody's API, stub or not
        names = parts[:-1] if parts[-1] == "__init__.pyi" else (*parts[:-1], stub.stem)
        out[".".join((package.name, *names))] = str(PurePosixPath(package.name, *parts))
    return sorted(out.items())


def _stub_view(griffe: Any, search: Path, rel: str, dotted: str) -> Any:
    path = search / rel
    if not path.is_file():
        return None
    parent = None
    for part in dotted.split(".")[:-1]:
        parent = griffe.Module(part, parent=parent)
    try:
        return griffe.visit(dotted.rpartition(".")[2], path, path.read_text("utf-8"), parent=parent)
    except (SyntaxError, ValueError) as exc:
        raise ApiError(f"{rel}: the stub cannot be parsed ({exc})") from None


def find_object(top: Object, dotted: str) -> Any:
    """The object at a dotted path below ``top`` (members, inherited ones too); None if absent."""
    parts = dotted.split(".")
    if parts[0] != top.path:
        return None
    current: Any = top
    for part in parts[1:]:
        try:
            members = current.all_members if current.is_class else current.members
            current = members.get(part)
            if current is not None and current.is_alias:
                current = current.final_target
        except Exception:  # an unresolvable alias on the way: not found
            return None
        if current is None:
            return None
    return current


def _submodule(module: Object, dotted: str) -> Any:
    current: Any = module
    for part in dotted.split(".")[1:]:
        current = current.members.get(part)
        if current is None or current.is_alias or not current.is_module:
            return None
    return current


def _drop_unresolvable_class_aliases(module: Object, errors: tuple[type[Exception], ...]) -> None:
    stack: list[Any] = [module]
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for name, member in list(obj.members.items()):
            if member.is_alias:
                if obj.is_class:
                    try:
                        member.final_target  # noqa: B018 - resolving is the test
                    except errors:
                        del obj.members[name]
            elif member.is_module or member.is_class:
                stack.append(member)


def _locate(obj: Any, package: PythonPackage, search: Path) -> tuple[str | None, int | None]:
    if obj is None:
        return None, None
    holder: Any = obj.parent if obj.is_alias else obj
    line = getattr(obj, "alias_lineno", None) if obj.is_alias else obj.lineno
    try:
        filepath = holder.filepath if holder is not None else None
    except Exception:  # a builtin module has no file
        return None, None
    if isinstance(filepath, list):
        filepath = filepath[0] if filepath else None
    if filepath is None:
        return None, None
    return package.rel_file(Path(filepath), search), line


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _param(value: object) -> str:
    return str(getattr(value, "name", value))


def _from_breakage(
    breakage: Breakage, package: PythonPackage, base_search: Path, head_search: Path
) -> ApiChange:
    from mergegate.semver.kinds import griffe_kind

    kind = griffe_kind(breakage.kind.name)
    obj = breakage.obj
    path = obj.path
    old, new = breakage.old_value, breakage.new_value
    search = base_search if kind == "object-removed" else head_search
    file, line = _locate(obj, package, search)
    message = _MESSAGES.get(kind, lambda p, o, n, d: f"{p}: {breakage.kind.value}")(
        path, old, new, breakage.details
    )
    return ApiChange(kind, path, message, file, line)


def _kind_value(value: object) -> str:
    return str(getattr(value, "value", value))


_MESSAGES: Mapping[str, Any] = {
    "object-removed": lambda p, o, n, d: f"removed {p}",
    "object-changed-kind": lambda p, o, n, d: (
        f"changed {p} from {_kind_value(o)} to {_kind_value(n)}"
    ),
    "parameter-removed": lambda p, o, n, d: f"removed parameter {_param(o)} of {p}",
    "parameter-moved": lambda p, o, n, d: f"moved parameter {_param(o)} of {p} ({d})",
    "parameter-changed-kind": lambda p, o, n, d: (
        f"changed parameter {_param(o)} of {p} from {_kind_value(o.kind)} to {_kind_value(n.kind)}"
    ),
    "parameter-default-changed": lambda p, o, n, d: (
        f"changed default of {_param(o)} in {p}: {_short(o.default)} → {_short(n.default)}"
    ),
    "parameter-now-required": lambda p, o, n, d: (
        f"removed the default of {_param(o)} in {p} (now required)"
    ),
    "parameter-added-required": lambda p, o, n, d: f"added required parameter {_param(n)} to {p}",
    "return-type-changed": lambda p, o, n, d: (
        f"changed return type of {p}: {_short(o)} → {_short(n)}"
    ),
    "attribute-type-changed": lambda p, o, n, d: f"changed type of {p}: {_short(o)} → {_short(n)}",
    "attribute-value-changed": lambda p, o, n, d: (
        f"changed value of {p}: {_short(o)} → {_short(n)}"
    ),
    "base-class-removed": lambda p, o, n, d: f"removed a base class of {p}",
}


# -- public surface -----------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    kind: str
    obj: Any = field(repr=False)  # the member as found (an alias or the object): to locate
    target: Any = field(repr=False)  # what it stands for; None when it cannot be resolved
    extra: bool = False  # public by convention only: griffe's own check never sees it

    @property
    def canonical(self) -> str:
        """Where the object is defined: one name for every public path that reaches it."""
        if self.target is None:
            return str(getattr(self.obj, "target_path", self.obj.path))
        try:
            return str(self.target.canonical_path)
        except Exception:  # a broken parent chain: the path it was found at stands in
            return str(self.obj.path)


Locator = Callable[[Any], tuple[str | None, int | None]]


@dataclass
class Surface:
    """Every public path of a package, and each module's ``__all__``.

    Canonical paths and locations are computed only where needed: on a large package,
    computing them for every object costs more than the walk itself.
    """

    top: str
    locate: Locator
    entries: dict[str, Entry] = field(default_factory=dict)
    exports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exports_holder: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, Any] = field(default_factory=dict)  # public path -> module object

    @classmethod
    def of(cls, module: Object, locate: Locator) -> Surface:
        surface = cls(module.path, locate)
        surface._walk(module, module.path, frozenset({module.path}))
        return surface

    def _walk(self, obj: Object, path: str, ancestors: frozenset[str]) -> None:
        names_only = False
        if obj.is_module:
            from mergegate.semver.rules import dynamic_all

            self.modules[path] = obj
            names_only = dynamic_all(obj)
            if not names_only:  # a partial list would read as names dropped from it
                self._record_exports(obj, path)
        for name, member in obj.members.items():
            if obj.is_module and name == "__all__":
                continue
            extra = False
            if not _in_api(name, member, self.top):
                extra = obj.is_module and self._by_convention(obj, name, member, names_only)
                if not extra:
                    continue
            child = f"{path}.{name}"
            target = _target(member)
            kind = target.kind.value if target is not None else "alias"
            entry = Entry(kind, member, target, extra)
            self.entries[child] = entry
            if target is None or not (
                target.is_class or (target.is_module and not member.is_alias)
            ):
                continue
            canonical = entry.canonical
            if canonical not in ancestors:
                self._walk(target, child, ancestors | {canonical})

    def _by_convention(self, module: Any, name: str, member: Any, names_only: bool) -> bool:
        """Public to a user though griffe says not: a package ``__init__``'s plain
        ``from .core import helper`` (no ``__all__``), or any public-looking name of a
        module whose ``__all__`` is built at import time. Imports from outside the
        package (``import os``) are nobody's API."""
        from mergegate.semver.rules import is_api_member, is_runtime

        if name.startswith("_") or not is_runtime(member):
            return False
        if not is_api_member(name, member, self.top):
            return False
        inside = not member.is_alias or str(member.target_path).startswith(f"{self.top}.")
        if names_only:
            return inside
        return bool(inside and member.is_alias and module.is_init_module and module.exports is None)

    def _record_exports(self, module: Object, path: str) -> None:
        exports = module.exports
        if exports is None:
            return
        self.exports[path] = tuple(str(getattr(e, "name", e)) for e in exports)
        self.exports_holder[path] = module.members.get("__all__", module)

    def inherited(self, path: str) -> Entry | None:
        """What the class above ``path`` inherits under that name, resolved on demand.

        Classes are walked by their own members; inheritance is consulted only for a
        path that looks new, so an override of an inherited method is no addition
        (click 8.3.2's ``Option.get_default``) without paying for every class's MRO.
        Bases outside the package cannot be read: only in-package ones count.
        """
        parent, _, name = path.rpartition(".")
        holder = self.entries.get(parent)
        cls = holder.target if holder is not None else None
        if cls is None or not cls.is_class:
            return None
        try:
            member = cls.all_members.get(name)
        except Exception:  # a base that cannot be resolved: nothing known
            return None
        if member is None:
            return None
        target = _target(member)
        return Entry(target.kind.value if target is not None else "alias", member, target)

    def change(self, kind: str, subject: str, message: str, obj: Any) -> ApiChange:
        file, line = self.locate(obj)
        return ApiChange(kind, subject, message, file, line)


def _in_api(name: str, member: Object | Alias, top: str) -> bool:
    from mergegate.semver.rules import is_api_member, is_runtime

    # cheapest first: most members fail griffe's own test
    return _is_public(member) and is_runtime(member) and is_api_member(name, member, top)


def _is_public(member: Object | Alias) -> bool:
    try:
        return bool(member.is_public)
    except Exception:  # griffe could not decide (unresolvable alias): not in the surface
        return False


def _target(member: Object | Alias) -> Object | None:
    if not member.is_alias:
        return member  # type: ignore[return-value]
    try:
        target = member.final_target  # type: ignore[union-attr]
    except Exception:  # external or cyclic alias: recorded, not walked
        return None
    return target


def _parameters(entry: Entry) -> tuple[frozenset[str], frozenset[str]]:
    """(all parameter names, optional ones) of a function entry."""
    parameters = list(getattr(entry.target, "parameters", ()))
    return (
        frozenset(p.name for p in parameters),
        frozenset(p.name for p in parameters if not p.required),
    )


def surface_changes(
    old: Surface, new: Surface, removed: set[str], changed_modules: frozenset[str] | None = None
) -> list[ApiChange]:
    """Additions (objects, optional parameters) and ``__all__`` removals griffe does not report.

    ``changed_modules`` (dotted names) limits the parameter comparison to functions defined
    in modules whose source changed: no other function's signature can differ.
    """
    return [
        *_additions(old, new),
        *_parameter_additions(old, new, changed_modules),
        *_export_removals(old, new, removed),
        *_convention_removals(old, new, removed),
    ]


def _additions(old: Surface, new: Surface) -> list[ApiChange]:
    added: dict[str, tuple[str, Entry]] = {}
    fresh: set[str] = set()  # every new path: a new class brings its (inherited) members
    for path, entry in new.entries.items():
        if path in old.entries or old.inherited(path) is not None:
            continue
        fresh.add(path)
        canonical = entry.canonical
        best = added.get(canonical)
        if best is None or _preferred(path, canonical) < _preferred(best[0], canonical):
            added[canonical] = (path, entry)
    changes = []
    for path, entry in sorted(added.values(), key=lambda item: item[0]):
        if _has_added_parent(path, fresh, new.top):
            continue  # a new class brings its methods: the class is the addition
        changes.append(new.change("added", path, f"added {path}", entry.obj))
    return changes


def _preferred(path: str, canonical: str) -> tuple[bool, int, str]:
    """Name an object where it is defined when that is public, else by its shortest path."""
    return (path != canonical, len(path), path)


def _has_added_parent(path: str, added: set[str], top: str) -> bool:
    parent = path.rpartition(".")[0]
    while parent and parent != top:
        if parent in added:
            return True
        parent = parent.rpartition(".")[0]
    return False


def _parameter_additions(
    old: Surface, new: Surface, changed_modules: frozenset[str] | None
) -> list[ApiChange]:
    seen: set[tuple[str, str]] = set()
    changes = []
    for path, entry in new.entries.items():
        before = old.entries.get(path) or old.inherited(path)
        if before is None or entry.kind != "function" or before.kind != "function":
            continue
        if changed_modules is not None and _module_of(entry) not in changed_modules:
            continue
        optional = _parameters(entry)[1]
        added = optional - _parameters(before)[0]
        for name in sorted(added):
            key = (entry.canonical, name)
            if key not in seen:
                seen.add(key)
                message = f"added parameter {name} to {path}"
                changes.append(new.change("parameter-added", f"{path}({name})", message, entry.obj))
    return changes


def _module_of(entry: Entry) -> str | None:
    try:
        return str(entry.target.module.path)
    except Exception:  # no module above it: compare it anyway
        return None


def _served_names(module: Any) -> Callable[[str], bool]:
    """Names a module still serves through its ``__getattr__`` (a deprecation, no removal)."""
    from mergegate.semver.rules import served_by_getattr

    return lambda name: module is not None and served_by_getattr(module, name)


def _convention_removals(old: Surface, new: Surface, removed: set[str]) -> list[ApiChange]:
    """Public-by-convention names (``Entry.extra``) that are gone: griffe cannot see them."""
    gone = {
        path: entry
        for path, entry in old.entries.items()
        if entry.extra and path not in new.entries and path not in removed
    }
    changes = []
    for path, entry in sorted(gone.items()):
        module, _, name = path.rpartition(".")
        if _has_added_parent(path, set(gone) | removed, old.top):
            continue  # its parent's removal says it all
        if entry.canonical in removed or _served_names(new.modules.get(module))(name):
            continue
        changes.append(old.change("object-removed", path, f"removed {path}", entry.obj))
    return changes


def _export_removals(old: Surface, new: Surface, removed: set[str]) -> list[ApiChange]:
    from mergegate.semver.rules import is_api_name

    changes = []
    for module, names in old.exports.items():
        if module != new.top and module not in new.entries:
            continue  # the module itself went: griffe reports that
        now = new.exports.get(module)
        holder = new.exports_holder.get(module) or getattr(new.entries.get(module), "obj", None)
        served = _served_names(new.modules.get(module))
        for name in names:
            path = f"{module}.{name}"
            if path in removed or (now is not None and name in now) or served(name):
                continue
            if not is_api_name(name):
                continue  # __author__ and friends: never API, in __all__ or not
            if now is None and path in new.entries:
                continue  # __all__ was deleted, the name is still public
            message = f"removed {path} from {module}.__all__"
            changes.append(new.change("export-removed", path, message, holder))
    return changes
