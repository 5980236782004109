"""Safe YAML loading that remembers where every key and value stood.

PyYAML composes a node graph (aliases share nodes); we build plain Python data
from it ourselves, counting every node we visit, so an alias bomb stops at a
fixed budget instead of expanding into millions of objects. Each mapping key
and value is recorded with its 1-based line and column under its key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_BYTES = 5 * 1024 * 1024

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


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
                f"document expands to more than {MAX_NODES} nodes "
                "(nested aliases? a YAML alias bomb is refused)",
                _mark(node),
            )
        if depth > MAX_DEPTH:
            raise YamlError(f"document nests deeper than {MAX_DEPTH} levels", _mark(node))
        self.out.values.setdefault(path, _mark(node))
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
                    "only plain keys are allowed here (no merge keys or complex keys)",
                    _mark(key_node),
                )
            key = str(self._scalar(key_node))
            if key in result:
                raise YamlError(f"duplicate key {key!r}", _mark(key_node))
            self.out.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _scalar(self, node: Any) -> Any:
        import yaml

        try:
            return self.ctor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise YamlError(f"invalid value: {exc}", _mark(node)) from None


def _codepoint(char: object) -> str:
    code = char if isinstance(char, int) else ord(str(char)[:1] or "\0")
    return f"U+{code:04X}"


def _compose(text: str) -> Any:
    """Compose with libyaml when present (fast); errors come from the pure-Python
    parser either way, so messages and positions do not depend on the build."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_yaml(text: str) -> Located:
    """Parse one YAML document into plain data plus key/value locations."""
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"YAML syntax error: {problem}", where) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        where = Mark(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        raise YamlError(
            f"unacceptable character {_codepoint(exc.character)} "
            "(control characters are not allowed)",
            where,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}") from None
    builder = _Builder()
    if node is None:
        return builder.out
    builder.out.data = builder.build(node, (), 0)
    return builder.out
