"""Safe YAML loading that remembers where every key and value stood.

PyYAML composes a node graph (aliases share nodes); we build plain Python data
from it ourselves, counting every node we visit, so an alias bomb stops at a
fixed budget instead of expanding into millions of objects. Each mapping key
and value is recorded with its 1-based line and column under its key path.

PyYAML's composer recurses once per nesting level, so a deeply nested file
would exhaust Python's stack: a first pass over the parser's events (a loop,
not a recursion) refuses any document nested deeper than ``MAX_DEPTH`` before
anything is composed. Every failure becomes a ``YamlError`` with a location
and a message in plain words (see ``yamlmessages``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from mergegate.yamlmessages import Mark, scalar_problem, syntax_problem, unknown_tag

MAX_NODES = 100_000
MAX_DEPTH = 64
_PLAIN_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")

Path_ = tuple[str | int, ...]

__all__ = ["MAX_DEPTH", "MAX_NODES", "Located", "Mark", "YamlError", "load_yaml"]


@dataclass
class Located:
    data: Any
    keys: dict[Path_, Mark] = field(default_factory=dict)  # where each key is written
    values: dict[Path_, Mark] = field(default_factory=dict)  # where each value starts

    def mark(self, path: Path_) -> Mark | None:
        """Best location for a path: the key itself, else the nearest enclosing one."""
        for end in range(len(path), -1, -1):
            sub = path[:end]
            if sub in self.keys:
                return self.keys[sub]
            if sub in self.values:
                return self.values[sub]
        return None


class YamlError(Exception):
    def __init__(self, message: str, mark: Mark | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _mark(node: Any) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self) -> None:
        import yaml

        self.visited = 0
        self.out = Located(None)
        self.ctor = yaml.constructor.SafeConstructor()

    def build(self, node: Any, path: Path_, depth: int) -> Any:
        import yaml

        self.visited += 1
        if self.visited > MAX_NODES:
            raise YamlError(
                f"the document expands to more than {MAX_NODES} values "
                "(nested aliases? a YAML alias bomb is refused)",
                _mark(node),
            )
        if depth > MAX_DEPTH:  # reachable through aliases, which the event pass cannot see
            raise YamlError(f"the document nests deeper than {MAX_DEPTH} levels", _mark(node))
        self.out.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_COLLECTIONS:
            raise YamlError(unknown_tag(node.tag), _mark(node))  # !!set, !!omap, !!python/...
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: Any, path: Path_, depth: int) -> dict[str, Any]:
        import yaml

        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                raise YamlError(
                    "only plain keys are allowed here (no `<<` merge keys, no lists or "
                    "mappings used as keys)",
                    _mark(key_node),
                )
            key = str(self._scalar(key_node))
            if key in result:
                first = self.out.keys[(*path, key)]
                raise YamlError(
                    f"duplicate key {key!r} (first written at line {first.line})", _mark(key_node)
                )
            self.out.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _scalar(self, node: Any) -> Any:

        try:
            value = self.ctor.construct_object(node, deep=True)
        except Exception as exc:
            # PyYAML's constructors fail on hostile scalars with whatever their parsing code
            # raises: ValueError (int() over the digit limit, `!!int 1e3`), ConstructorError
            # (an unknown tag), AttributeError (`!!timestamp` on a non-date). Each one means
            # "this value cannot be read", so all of them are located config errors.
            raise YamlError(scalar_problem(node, exc), _mark(node)) from None
        if isinstance(value, str):
            _check_text(value, node)
        return value


def _check_text(value: str, node: Any) -> None:
    """Escapes can smuggle into a value what no file may hold as text."""
    if "\0" in value:
        raise YamlError("a NUL character (\\0) is not allowed in a value", _mark(node))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise YamlError(
            "an escape here makes a lone surrogate (\\uD800-\\uDFFF), which is not a character",
            _mark(node),
        ) from None


def _loaders() -> list[Any]:
    """libyaml first when present (fast), then the pure-Python parser, whose errors we
    report either way, so messages and positions do not depend on the build."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    return [fast, yaml.SafeLoader] if fast is not None else [yaml.SafeLoader]


def _walk_events(loader: Any) -> None:
    import yaml

    depth = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlError(
                    f"the document nests deeper than {MAX_DEPTH} levels", _mark_of(event)
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _mark_of(event: Any) -> Mark:
    return Mark(event.start_mark.line + 1, event.start_mark.column + 1)


def _with_loader(cls: Any, text: str, job: Any) -> Any:
    loader = cls(text)
    try:
        return job(loader)
    finally:
        loader.dispose()


def _run(text: str, job: Any) -> Any:
    """Run ``job`` on a loader over ``text``; every failure becomes a located YamlError."""
    import yaml

    *fast, pure = _loaders()
    for cls in fast:
        # whatever libyaml refuses, the pure-Python parser below explains, with a location
        with contextlib.suppress(Exception):
            return _with_loader(cls, text, job)
    try:
        loader = pure(text)  # the reader refuses control characters right here
    except yaml.YAMLError as exc:
        raise YamlError(*syntax_problem(exc, text)) from None
    try:
        return job(loader)
    except YamlError:
        raise
    except yaml.YAMLError as exc:
        raise YamlError(*syntax_problem(exc, text)) from None
    except Exception as exc:  # e.g. chr() of an escape beyond U+10FFFF: located, never exit 3
        mark = loader.get_mark()
        where = Mark(mark.line + 1, mark.column + 1)
        raise YamlError(*syntax_problem(exc, text, where)) from None
    finally:
        loader.dispose()


def _compose(loader: Any) -> Any:
    return loader.get_single_node()


def load_yaml(text: str) -> Located:
    """Parse one YAML document into plain data plus key/value locations."""
    _run(text, _walk_events)
    node = _run(text, _compose)
    builder = _Builder()
    if node is None:
        return builder.out
    builder.out.data = builder.build(node, (), 0)
    return builder.out
