"""gates.yaml: the top-level pydantic models, the kinds' toolkit, and the one loader.

Each gate kind's model lives in its module (mergegate.gates.KINDS); the value
types below (GateBase, Globs, RelPath, Duration, Commands ...) are what those
models are built from. The gate union and the schema derive from the registry.

``load_config`` either returns a validated ``LoadedConfig`` or raises
``ConfigError`` carrying every problem found, each with file:line:column, the
dotted key path (``gates.unit-tests.min_passed``) and, for unknown keys, a
"did you mean" suggestion.
"""

from __future__ import annotations

import codecs
import difflib
import math
import re
import typing
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    WithJsonSchema,
)

from mergegate.config_messages import plain_message
from mergegate.errors import SHOWN_CHARS, ConfigError, ConfigIssue, clip, masking, shorten
from mergegate.gates import DEFAULT_KIND
from mergegate.plan import needs_depths
from mergegate.plancache import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from mergegate.plancache import read_config_bytes
from mergegate.spec import DEFAULT_TIMEOUT, LoadedConfig, compile_config
from mergegate.yamlload import Located, YamlError, load_yaml

if TYPE_CHECKING:
    from mergegate.redact import Redactor

GATE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
DURATION_RE = re.compile(r"^(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?$")


# -- value types ------------------------------------------------------------------


MAX_DURATION = 7 * 24 * 3600.0  # a week: past it a timeout is a typo, and timers overflow
_DURATION_HELP = "use seconds or a string like 90s, 15m, 1h30m"


def parse_duration(value: object) -> float:
    """90, "90", "90s", "15m", "1h30m" -> seconds, finite and at most a week."""
    seconds = _duration_seconds(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    if seconds > MAX_DURATION:
        raise ValueError(f"a duration must be at most {MAX_DURATION / 86400:.0f} days (7d = 168h)")
    return seconds


def _duration_seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"a duration is a number of seconds or a string: {_DURATION_HELP}")
    if isinstance(value, int | float):
        return float(value) if isinstance(value, float) or abs(value) < 10**18 else math.inf
    text = value.strip() if isinstance(value, str) else ""
    # a bounded length keeps int() far below Python's digit limit
    if text and len(text) <= 40 and (m := DURATION_RE.match(text)) and not text.isdigit():
        h, mi, s = (int(m.group(g) or 0) for g in ("h", "m", "s"))
        return float(h * 3600 + mi * 60 + s)
    if text.isdigit() and text.isascii():
        return float(text) if len(text) <= 18 else math.inf
    raise ValueError(f"invalid duration {shorten(value)}: {_DURATION_HELP}")


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _env_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _relative_path(value: object) -> object:
    """Paths and globs in gates.yaml stay inside the project: relative, no `..`."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        raise ValueError("must not be empty")
    if "\0" in value:
        raise ValueError("must not contain a NUL byte")
    pure = PurePosixPath(value)
    if pure.is_absolute() or value.startswith("~"):
        raise ValueError(f"{shorten(value)} must be relative to the directory of gates.yaml")
    if ".." in pure.parts:
        raise ValueError(f"{shorten(value)} must not leave the project with '..'")
    return value


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "integer", "exclusiveMinimum": 0},
        {"type": "string", "pattern": r"^(\d+|(\d+h)?(\d+m)?(\d+s)?)$"},
    ],
    "description": "Seconds, or a string such as 90s, 15m, 1h30m.",
}
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
RelPath = Annotated[str, BeforeValidator(_relative_path)]
Globs = Annotated[
    tuple[RelPath, ...],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
Names = Annotated[
    tuple[str, ...],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
EnvValue = Annotated[str, BeforeValidator(_env_value)]
NonEmptyStr = Annotated[str, Field(min_length=1)]
RunSpec = Annotated[
    NonEmptyStr | Annotated[list[NonEmptyStr], Field(min_length=1)],
    Field(
        description="A string runs with `bash -e -o pipefail -c`; a list runs directly, no shell."
    ),
]
Level = Literal["major", "minor", "patch"]
_COMMAND_SCHEMA = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}
Commands = Annotated[  # one command, or a list of commands (each a string or an argv list)
    tuple[RunSpec, ...],
    BeforeValidator(_one_or_many),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": _COMMAND_SCHEMA}]}
    ),
]


class Model(BaseModel):
    """The base of every gates.yaml mapping: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(Model):
    timeout: Duration = DEFAULT_TIMEOUT
    env: dict[str, EnvValue] = Field(default_factory=dict)
    cwd: RelPath | None = None


class Reports(Model):
    junit: RelPath | None = "reports/gates.xml"
    json_: RelPath | None = Field(default="reports/gates.json", alias="json")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GateBase(Model):
    description: str = ""
    needs: Names = ()
    timeout: Duration | None = None
    env: dict[str, EnvValue] = Field(default_factory=dict)
    cwd: RelPath | None = None
    blocking: bool = True
    if_changed: Globs = ()
    # the result cache (DESIGN §9, docs/cache.md): what the key covers beyond the definition
    inputs: Globs = Field(
        default=(),
        description="Globs of the files the key covers; default: every file git would commit.",
    )
    env_inputs: Names = Field(
        default=(),
        description="Env var names whose values are part of the key (hashed, never stored).",
    )
    version_of: Commands = Field(
        default=(), description="Commands whose output is part of the key, e.g. `node --version`."
    )
    cache: bool = Field(
        default=True, description="Reuse this gate's last pass when its key is unchanged."
    )


def check_regex(pattern: str, groups: int | None = None) -> str:
    """``pattern`` if it compiles (with exactly ``groups`` capture groups when given)."""
    try:
        with warnings.catch_warnings():  # "possible set union" and the like: not our user's error
            warnings.simplefilter("ignore")
            compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"invalid regular expression {shorten(pattern)}: {exc}") from None
    if groups is not None and compiled.groups != groups:
        raise ValueError(f"pattern {shorten(pattern)} must have exactly {groups} capture group")
    return pattern


def _kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("kind", DEFAULT_KIND))
    return str(getattr(value, "kind", DEFAULT_KIND))


def _gate_models() -> dict[str, type[GateBase]]:
    """Kind -> model for every kind in the registry (mergegate.gates.KINDS), in its order.

    Each kind's module builds its own model from the toolkit above; nothing here
    names a kind, so a kind is added (or dropped) by its registry line alone.
    """
    from mergegate.gates import KINDS as REGISTRY
    from mergegate.gates import kind_module

    return {k: kind_module(k).model() for k in REGISTRY}


GATE_MODELS = _gate_models()
KINDS = tuple(GATE_MODELS)
if TYPE_CHECKING:
    Gate = GateBase
else:  # a discriminated union of every registered kind's model
    Gate = Annotated[
        Union[tuple(Annotated[m, Tag(k)] for k, m in GATE_MODELS.items())],  # noqa: UP007
        Discriminator(_kind_of),
    ]


class Config(Model):
    version: Literal[1]
    base: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    redact: tuple[str, ...] = ()
    reports: Reports = Field(default_factory=Reports)
    gates: Annotated[dict[str, Gate], Field(min_length=1)]


# -- loading ----------------------------------------------------------------------


def load_config(path: Path) -> LoadedConfig:
    """Read, parse, validate and compile gates.yaml; ConfigError lists every problem found.

    Always the full path (pydantic and PyYAML); ``mergegate run`` goes through
    ``plancache.load_plan``, which calls ``load_bytes`` only on a cache miss.
    """
    return load_bytes(read_config_bytes(path, str(path)), path)


def load_bytes(data: bytes, path: Path) -> LoadedConfig:
    """Validate the bytes of the gates.yaml at ``path`` and compile them to specs."""
    config = parse_config(decode_config(data, str(path)), str(path))
    return LoadedConfig(compile_config(config), path, path.resolve().parent)


def decode_config(data: bytes, shown: str) -> str:
    """UTF-8 text (a leading BOM dropped); an invalid byte is reported at line:column."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(
            [ConfigIssue(shown, 1, 1, "", "file is UTF-16 encoded: save gates.yaml as UTF-8")]
        )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        byte = data[exc.start]
        raise ConfigError(
            [
                ConfigIssue(
                    shown,
                    line,
                    col,
                    "",
                    f"not UTF-8 text: invalid byte 0x{byte:02X} (save gates.yaml as UTF-8)",
                )
            ]
        ) from None


def parse_config(text: str, shown: str = "gates.yaml") -> Config:
    """Parse and validate gates.yaml text; ConfigError lists every problem, each located."""
    located = _located(text, shown)
    mask = _config_redactor(located.data).redact
    with masking(mask):  # a secret written in gates.yaml is masked before a message cuts it
        issues = _structure_issues(located, shown)
        config: Config | None = None
        try:
            config = Config.model_validate(located.data)
        except ValidationError as exc:
            issues.extend(_pydantic_issues(exc, located, shown))
    if issues:
        raise ConfigError([replace(i, message=mask(i.message)) for i in _dedupe(issues)])
    assert config is not None
    return config


def _located(text: str, shown: str) -> Located:
    try:
        located = load_yaml(text)
    except YamlError as exc:
        line, col = (exc.mark.line, exc.mark.col) if exc.mark else (1, 1)
        raise ConfigError([ConfigIssue(shown, line, col, "", exc.message)]) from None
    if not isinstance(located.data, dict):
        message = "gates.yaml must be a mapping with `version` and `gates`"
        raise ConfigError([ConfigIssue(shown, 1, 1, "", message)])
    return located


def _config_redactor(data: dict[str, Any]) -> Redactor:
    """Masks the values of secret-named `env` entries written in gates.yaml itself."""
    from mergegate.redact import Redactor

    gates = data.get("gates")
    envs = [data.get("defaults"), *(gates.values() if isinstance(gates, dict) else ())]
    maps = [e.get("env") for e in envs if isinstance(e, dict)]
    values = [
        {str(k): str(_env_value(v)) for k, v in m.items() if isinstance(v, str | int | float)}
        for m in maps
        if isinstance(m, dict)
    ]
    names = data.get("redact")
    extra = [str(n) for n in names] if isinstance(names, list) else []
    return Redactor.from_environ(*values, extra_names=extra)


def _dedupe(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    seen: dict[tuple[str, str], ConfigIssue] = {}
    for issue in issues:
        seen.setdefault((issue.key, issue.message), issue)
    return sorted(seen.values(), key=lambda i: (i.line or 0, i.col or 0, i.key))


def _at(
    located: Located, shown: str, path: tuple[str | int, ...], key: str, msg: str
) -> ConfigIssue:
    mark = located.mark(path)
    line, col = (mark.line, mark.col) if mark else (1, 1)
    return ConfigIssue(shown, line, col, clip(key, 2 * SHOWN_CHARS), msg)


def dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


MAX_NEEDS_DEPTH = 100  # deeper chains are a generated file gone wrong, not a pipeline
MAX_SUGGESTIONS = 50  # "did you mean" is quadratic: a file with thousands of typos gets 50


class _Structure:
    """Checks pydantic cannot locate well: gate names, `needs` targets, `needs` cycles."""

    def __init__(self, located: Located, shown: str, gates: dict[str, Any]) -> None:
        self.located, self.shown, self.gates = located, shown, gates
        self.issues: list[ConfigIssue] = []
        self.suggestions = MAX_SUGGESTIONS

    def add(self, path: tuple[str | int, ...], key: str, message: str) -> None:
        self.issues.append(_at(self.located, self.shown, path, key, message))

    def name(self, name: str) -> None:
        if not GATE_NAME_RE.match(name):
            self.add(
                ("gates", name),
                f"gates.{name}",
                f"invalid gate name {shorten(name)}: use lowercase letters, digits, "
                "'.', '_' and '-', starting with a letter or digit",
            )

    def needs(self, name: str, gate: object) -> list[str]:
        raw = gate.get("needs", []) if isinstance(gate, dict) else []
        listed = isinstance(raw, list)
        items = raw if listed else [raw] if isinstance(raw, str) else []
        for i, need in enumerate(items):
            if not isinstance(need, str):
                continue  # pydantic reports the wrong type
            path = ("gates", name, "needs", i) if listed else ("gates", name, "needs")
            if need not in self.gates:
                self.add(
                    path, f"gates.{name}.needs", f"unknown gate {shorten(need)}{self.hint(need)}"
                )
            elif need == name:
                self.add(path, f"gates.{name}.needs", "a gate cannot need itself")
        return [n for n in items if isinstance(n, str)]

    def hint(self, need: str) -> str:
        if self.suggestions <= 0:
            return ""
        self.suggestions -= 1
        close = difflib.get_close_matches(need, list(self.gates), n=1)
        return f" (did you mean {close[0]}?)" if close else ""

    def cycle(self, needs: dict[str, list[str]]) -> None:
        graph = {k: [n for n in v if n in self.gates and n != k] for k, v in needs.items()}
        cycle = find_cycle(graph)
        if not cycle:
            self.chain(graph)
        if cycle:
            shown = [*cycle, cycle[0]]
            if len(shown) > 10:  # a cycle of 5,000 gates is named by its ends
                shown = [*shown[:5], f"... {len(shown) - 8} more", *shown[-3:]]
            first = cycle[0]
            self.add(
                ("gates", first, "needs"),
                f"gates.{first}.needs",
                "needs cycle: " + " -> ".join(shown),
            )

    def chain(self, graph: dict[str, list[str]]) -> None:
        deepest = max(needs_depths(graph).items(), key=lambda kv: kv[1], default=("", 0))
        if deepest[1] > MAX_NEEDS_DEPTH:
            name = deepest[0]
            self.add(
                ("gates", name, "needs"),
                f"gates.{name}.needs",
                f"this gate waits on a chain of {deepest[1]} `needs`; at most "
                f"{MAX_NEEDS_DEPTH} are allowed (gates without `needs` between them run together)",
            )


def _structure_issues(located: Located, shown: str) -> list[ConfigIssue]:
    gates = located.data.get("gates")
    if not isinstance(gates, dict):
        return []
    check = _Structure(located, shown, gates)
    needs: dict[str, list[str]] = {}
    for name, gate in gates.items():
        check.name(name)
        needs[name] = check.needs(name, gate)
    check.cycle(needs)
    return check.issues


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A list of nodes forming a cycle in ``graph``, or None.

    Iterative depth-first search: a `needs` chain thousands of gates long must
    not exhaust Python's stack.
    """
    done: set[str] = set()
    for root in graph:
        if root not in done and (found := _cycle_from(graph, root, done)):
            return found
    return None


def _cycle_from(graph: Mapping[str, Sequence[str]], root: str, done: set[str]) -> list[str] | None:
    path: list[str] = [root]
    on_path = {root}
    pending = [iter(graph.get(root, ()))]
    while pending:
        nxt = next(pending[-1], None)
        if nxt is None:
            node = path.pop()
            on_path.discard(node)
            done.add(node)
            pending.pop()
        elif nxt in on_path:
            return path[path.index(nxt) :]
        elif nxt not in done:
            path.append(nxt)
            on_path.add(nxt)
            pending.append(iter(graph.get(nxt, ())))
    return None


def _real_path(data: Any, loc: Sequence[str | int], error_type: str) -> tuple[str | int, ...]:
    """Map a pydantic loc onto the document: drop union tags and member names."""
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif last and error_type in ("missing", "extra_forbidden"):
            path.append(part)
    return tuple(path)


def _allowed_keys(data: Any, container: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] | None = None
    if container == ():
        model = Config
    elif container == ("defaults",):
        model = Defaults
    elif container == ("reports",):
        model = Reports
    elif len(container) >= 2 and container[0] == "gates":
        gates = data.get("gates")
        gate = gates.get(container[1]) if isinstance(gates, dict) else None
        kind = gate.get("kind", DEFAULT_KIND) if isinstance(gate, dict) else DEFAULT_KIND
        gate_model = GATE_MODELS.get(str(kind)) or GATE_MODELS.get(DEFAULT_KIND)
        if len(container) == 2:
            model = gate_model
        elif len(container) == 3 and gate_model is not None:
            return _nested_keys(gate_model, str(container[2]))
    if model is None:
        return []
    return _keys_of(model)


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _nested_keys(model: type[BaseModel], name: str) -> list[str]:
    """The keys of the mapping(s) a gate's field ``name`` accepts (semver's `api`, say)."""
    field = model.model_fields.get(name)
    if field is None:
        return []
    members = typing.get_args(field.annotation) or (field.annotation,)
    nested = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    return [key for m in nested for key in _keys_of(m)]


def _unknown_key_message(data: Any, path: tuple[str | int, ...]) -> str:
    key = str(path[-1])
    allowed = _allowed_keys(data, path[:-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    if len(path) == 3 and path[0] == "gates":
        owners = [k for k, m in GATE_MODELS.items() if key in m.model_fields]
        if owners:
            return f"unknown key for this kind of gate ({key} belongs to kind {owners[0]})"
    return "unknown key" + (f" (allowed: {', '.join(sorted(allowed))})" if allowed else "")


def _pydantic_issues(exc: ValidationError, located: Located, shown: str) -> list[ConfigIssue]:
    """One located issue per place in the document, in plain words.

    pydantic reports a union (``run`` is a string or a list) once per member;
    grouping by the document path folds those into one sentence.
    """
    groups: dict[tuple[str | int, ...], list[Any]] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if "[key]" in loc:
            continue  # gate names are checked (and located) by _structure_issues
        path = _real_path(located.data, _without_kind_tag(loc), err["type"])
        if err["type"] == "union_tag_invalid":
            path = (*path, "kind")
        groups.setdefault(path, []).append(err)
    return [_issue_for(path, errs, located, shown) for path, errs in groups.items()]


def _without_kind_tag(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """("gates", "lint", "command", "run") -> ("gates", "lint", "run"): the tag is not a key."""
    if len(loc) >= 3 and loc[0] == "gates" and loc[2] in KINDS:
        return (*loc[:2], *loc[3:])
    return loc


def _issue_for(
    path: tuple[str | int, ...], errs: list[Any], located: Located, shown: str
) -> ConfigIssue:
    first = errs[0]["type"]
    if first == "extra_forbidden":
        msg = _unknown_key_message(located.data, path)
    elif first == "union_tag_invalid":
        msg = _unknown_kind_message(errs[0].get("input"))
    else:
        msg = plain_message(errs, path)
    mark_path = path[:-1] if first == "missing" else path
    return _at(located, shown, mark_path, dotted(path), msg)


def _unknown_kind_message(gate: object) -> str:
    kind = str(gate.get("kind")) if isinstance(gate, dict) else ""
    close = difflib.get_close_matches(kind, KINDS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown kind {shorten(kind)}{hint}; kinds are {', '.join(KINDS)}"


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mergegate gates.yaml"
    schema["properties"]["gates"]["propertyNames"] = {"pattern": GATE_NAME_RE.pattern}
    return schema
