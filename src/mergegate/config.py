"""gates.yaml: the pydantic models and the one loader.

``load_config`` either returns a validated ``LoadedConfig`` or raises
``ConfigError`` carrying every problem found, each with file:line:column, the
dotted key path (``gates.unit-tests.min_passed``) and, for unknown keys, a
"did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from mergegate.errors import ConfigError, ConfigIssue
from mergegate.yamlload import Located, YamlError, load_yaml

GATE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
DURATION_RE = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
DEFAULT_TIMEOUT = 15 * 60.0
KINDS = ("command", "tests", "smoke", "witness", "semver", "forbid")


# -- value types ------------------------------------------------------------------


def parse_duration(value: object) -> float:
    """90, "90", "90s", "15m", "1h30m" -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 90s, 15m, 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = float(value.strip())
    elif isinstance(value, str) and (m := DURATION_RE.match(value.strip())) and value.strip():
        h, mi, s = (int(m.group(g) or 0) for g in ("h", "m", "s"))
        seconds = float(h * 3600 + mi * 60 + s)
    else:
        raise ValueError(
            f"invalid duration {value!r}: use seconds or a string like 90s, 15m, 1h30m"
        )
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return seconds


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
        raise ValueError(f"{value!r} must be relative to the directory of gates.yaml")
    if ".." in pure.parts:
        raise ValueError(f"{value!r} must not leave the project with '..'")
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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Model):
    timeout: Duration = DEFAULT_TIMEOUT
    env: dict[str, EnvValue] = Field(default_factory=dict)
    cwd: RelPath | None = None


class Reports(_Model):
    junit: RelPath | None = "reports/gates.xml"
    json_: RelPath | None = Field(default="reports/gates.json", alias="json")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GateBase(_Model):
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


class CommandGate(GateBase):
    kind: Literal["command"] = "command"
    run: RunSpec


class TestsGate(GateBase):
    __test__: ClassVar[bool] = False  # a model, not a pytest test class

    kind: Literal["tests"]
    run: RunSpec | None = None
    junit: Globs = ()
    min_passed: Annotated[int, Field(ge=0)] | Literal["baseline"] = 1
    max_failed: Annotated[int, Field(ge=0)] = 0
    max_skipped: Annotated[int, Field(ge=0)] | Literal["baseline"] | None = None
    count_from: Literal["junit", "output"] = "junit"

    @model_validator(mode="after")
    def _source(self) -> TestsGate:
        if self.count_from == "junit" and not self.junit:
            raise ValueError("a tests gate needs `junit` (globs of the JUnit files to count)")
        if self.count_from == "output" and self.run is None:
            raise ValueError("`count_from: output` needs `run` (the command whose output is read)")
        return self


class SmokeGate(GateBase):
    kind: Literal["smoke"]
    scripts: Annotated[Globs, Field(min_length=1)]
    interpreter: dict[str, RunSpec] = Field(
        default_factory=dict,
        description="Suffix -> interpreter command, e.g. {'.py': 'python3.12'}.",
    )
    allow_empty: bool = False

    @field_validator("interpreter")
    @classmethod
    def _suffixes(cls, value: dict[str, Any]) -> dict[str, Any]:
        for suffix in value:
            if not suffix.startswith("."):
                raise ValueError(f"interpreter keys are file suffixes like '.py', not {suffix!r}")
        return value


class WitnessGate(GateBase):
    kind: Literal["witness"]
    manifest: RelPath = "verification.md.json"
    paths: Globs = ("dist/**",)
    require_new_entry: bool = False
    public_key: RelPath | None = None


def _check_regex(pattern: str, groups: int | None = None) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    if groups is not None and compiled.groups != groups:
        raise ValueError(f"pattern {pattern!r} must have exactly {groups} capture group")
    return pattern


class VersionPattern(_Model):
    file: RelPath
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        return _check_regex(value, groups=1)


class ApiSpec(_Model):
    python: RelPath | None = None
    paths: Globs = ()
    level: Level = "minor"


VERSION_FILES = ("pyproject.toml", "package.json", "Cargo.toml")


class SemverGate(GateBase):
    kind: Literal["semver"]
    version: RelPath | VersionPattern
    api: ApiSpec
    policy: dict[str, Level | Literal["ignore"]] = Field(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _known_file(cls, value: str | VersionPattern) -> str | VersionPattern:
        if isinstance(value, str) and PurePosixPath(value).name not in VERSION_FILES:
            raise ValueError(
                f"version file must be one of {', '.join(VERSION_FILES)}, "
                "or {file, pattern} with one capture group"
            )
        return value

    @field_validator("policy")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        from mergegate.semver.kinds import CHANGE_KINDS

        for key in value:
            if key not in CHANGE_KINDS:
                close = difflib.get_close_matches(key, list(CHANGE_KINDS), n=1)
                hint = f"did you mean {close[0]}?" if close else f"kinds: {', '.join(CHANGE_KINDS)}"
                raise ValueError(f"unknown change kind {key!r} ({hint})")
        return value

    @model_validator(mode="after")
    def _has_api(self) -> SemverGate:
        if not self.api.python and not self.api.paths:
            raise ValueError("`api` needs `python` (a package directory) or `paths` (globs)")
        return self


class ForbidGate(GateBase):
    kind: Literal["forbid"]
    paths: Globs = ("**/*",)
    exclude: Globs = ()
    patterns: dict[str, str] = Field(default_factory=dict)
    builtin: tuple[Literal["secrets"], ...] = ()
    changed_only: bool = False

    @field_validator("patterns")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            _check_regex(pattern)
        return value

    @model_validator(mode="after")
    def _has_rules(self) -> ForbidGate:
        if not self.patterns and not self.builtin:
            raise ValueError("a forbid gate needs `patterns` or `builtin: [secrets]`")
        return self


def _kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("kind", "command"))
    return str(getattr(value, "kind", "command"))


Gate = Annotated[
    Annotated[CommandGate, Tag("command")]
    | Annotated[TestsGate, Tag("tests")]
    | Annotated[SmokeGate, Tag("smoke")]
    | Annotated[WitnessGate, Tag("witness")]
    | Annotated[SemverGate, Tag("semver")]
    | Annotated[ForbidGate, Tag("forbid")],
    Discriminator(_kind_of),
]
GATE_MODELS: dict[str, type[GateBase]] = {
    "command": CommandGate,
    "tests": TestsGate,
    "smoke": SmokeGate,
    "witness": WitnessGate,
    "semver": SemverGate,
    "forbid": ForbidGate,
}


class Config(_Model):
    version: Literal[1]
    base: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    redact: tuple[str, ...] = ()
    reports: Reports = Field(default_factory=Reports)
    gates: Annotated[dict[str, Gate], Field(min_length=1)]


# -- loading ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    root: Path  # the directory gates.yaml is in: every relative path starts here

    @property
    def gates(self) -> dict[str, GateBase]:
        return dict(self.config.gates)

    def timeout_of(self, gate: GateBase) -> float:
        return gate.timeout if gate.timeout is not None else self.config.defaults.timeout

    def env_of(self, gate: GateBase) -> dict[str, str]:
        return {**self.config.defaults.env, **gate.env}

    def cwd_of(self, gate: GateBase) -> Path:
        rel = gate.cwd or self.config.defaults.cwd
        return self.root / rel if rel else self.root


def load_config(path: Path) -> LoadedConfig:
    """Read, parse and validate gates.yaml; ConfigError lists every problem found."""
    shown = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                ConfigIssue(
                    shown, None, None, "", "file not found (create one with `mergegate init`)"
                )
            ]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(shown, None, None, "", f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(shown, None, None, "", f"cannot read: {exc}")]) from None
    config = parse_config(text, shown)
    return LoadedConfig(config, path, path.resolve().parent)


def parse_config(text: str, shown: str = "gates.yaml") -> Config:
    try:
        located = load_yaml(text)
    except YamlError as exc:
        line, col = (exc.mark.line, exc.mark.col) if exc.mark else (None, None)
        raise ConfigError([ConfigIssue(shown, line, col, "", exc.message)]) from None
    if not isinstance(located.data, dict):
        raise ConfigError(
            [
                ConfigIssue(
                    shown, 1, 1, "", "gates.yaml must be a mapping with `version` and `gates`"
                )
            ]
        )
    issues = _structure_issues(located, shown)
    config: Config | None = None
    try:
        config = Config.model_validate(located.data)
    except ValidationError as exc:
        issues.extend(_pydantic_issues(exc, located, shown))
    if issues:
        raise ConfigError(_dedupe(issues))
    assert config is not None
    return config


def _dedupe(issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    seen: dict[tuple[str, str], ConfigIssue] = {}
    for issue in issues:
        seen.setdefault((issue.key, issue.message), issue)
    return sorted(seen.values(), key=lambda i: (i.line or 0, i.col or 0, i.key))


def _at(
    located: Located, shown: str, path: tuple[str | int, ...], key: str, msg: str
) -> ConfigIssue:
    mark = located.mark(path)
    return ConfigIssue(shown, mark.line if mark else None, mark.col if mark else None, key, msg)


def dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _structure_issues(located: Located, shown: str) -> list[ConfigIssue]:
    """Checks pydantic cannot locate well: gate names, `needs` targets, `needs` cycles."""
    gates = located.data.get("gates")
    if not isinstance(gates, dict):
        return []
    issues: list[ConfigIssue] = []
    needs: dict[str, list[str]] = {}
    for name, gate in gates.items():
        if not GATE_NAME_RE.match(name):
            issues.append(
                _at(
                    located,
                    shown,
                    ("gates", name),
                    f"gates.{name}",
                    f"invalid gate name {name!r}: use lowercase letters, digits, "
                    "'.', '_' and '-', starting with a letter or digit",
                )
            )
        raw = gate.get("needs", []) if isinstance(gate, dict) else []
        raw = [raw] if isinstance(raw, str) else raw
        needs[name] = [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
        for i, need in enumerate(needs[name]):
            if need not in gates:
                close = difflib.get_close_matches(need, list(gates), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                path = (
                    ("gates", name, "needs", i)
                    if isinstance(gate.get("needs"), list)
                    else ("gates", name, "needs")
                )
                issues.append(
                    _at(located, shown, path, f"gates.{name}.needs", f"unknown gate {need!r}{hint}")
                )
            elif need == name:
                issues.append(
                    _at(
                        located,
                        shown,
                        ("gates", name, "needs"),
                        f"gates.{name}.needs",
                        "a gate cannot need itself",
                    )
                )
    cycle = find_cycle({k: [n for n in v if n in gates and n != k] for k, v in needs.items()})
    if cycle:
        first = cycle[0]
        issues.append(
            _at(
                located,
                shown,
                ("gates", first, "needs"),
                f"gates.{first}.needs",
                "needs cycle: " + " -> ".join([*cycle, first]),
            )
        )
    return issues


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A list of nodes forming a cycle in ``graph``, or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
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
        gate = data.get("gates", {}).get(container[1], {})
        kind = gate.get("kind", "command") if isinstance(gate, dict) else "command"
        if len(container) == 2:
            model = GATE_MODELS.get(str(kind), CommandGate)
        elif len(container) == 3:
            nested: dict[str, type[BaseModel]] = {"api": ApiSpec, "version": VersionPattern}
            model = nested.get(str(container[2]))
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


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
    issues = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if "[key]" in loc:
            continue  # gate names are checked (and located) by _structure_issues
        path = _real_path(located.data, loc, err["type"])
        if err["type"] == "extra_forbidden":
            msg = _unknown_key_message(located.data, path)
        elif err["type"] == "missing":
            msg = "required key missing"
        elif err["type"] == "union_tag_invalid":
            kind = str(
                err.get("input", {}).get("kind") if isinstance(err.get("input"), dict) else ""
            )
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            msg = f"unknown kind {kind!r}{hint}; kinds are {', '.join(KINDS)}"
            path = (*path, "kind")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
        mark_path = path[:-1] if err["type"] == "missing" else path
        issue = _at(located, shown, mark_path, dotted(path), msg)
        issues.append(issue)
    return issues


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mergegate gates.yaml"
    schema["properties"]["gates"]["propertyNames"] = {"pattern": GATE_NAME_RE.pattern}
    return schema
