"""The compiled plan: gates.yaml as plain frozen dataclasses, and their JSON form.

pydantic (``mergegate.config``) validates gates.yaml and is the schema's
source; what it accepts is compiled here into specs with the same attribute
names the gate modules read (``gate.run``, ``gate.timeout``, ``gate.junit`` ...).
The run path works on these only, so a run whose plan is cached
(``mergegate.plancache``) imports neither pydantic nor PyYAML. This module
imports nothing heavy and must stay that way.

The built-in kinds' specs live here (their modules name them as ``SPEC``); a
kind's model and spec must have the same fields, which a test checks for every
registered kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

DEFAULT_TIMEOUT = 15 * 60.0
RunValue = str | tuple[str, ...]  # a string runs through bash, a tuple directly


@dataclass(frozen=True)
class DefaultsSpec:
    timeout: float = DEFAULT_TIMEOUT
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None


@dataclass(frozen=True)
class ReportsSpec:
    junit: str | None = "reports/gates.xml"
    json_: str | None = "reports/gates.json"


@dataclass(frozen=True)
class GateSpec:
    """What every kind shares (GateBase in config.py)."""

    kind: ClassVar[str] = ""
    description: str = ""
    needs: tuple[str, ...] = ()
    timeout: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    blocking: bool = True
    if_changed: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()  # the result cache's key (cache.py)
    env_inputs: tuple[str, ...] = ()
    version_of: tuple[RunValue, ...] = ()
    cache: bool = True


@dataclass(frozen=True)
class CommandSpec(GateSpec):
    kind: ClassVar[str] = "command"
    run: RunValue = ""


@dataclass(frozen=True)
class TestsSpec(GateSpec):
    __test__: ClassVar[bool] = False  # a spec, not a pytest test class
    kind: ClassVar[str] = "tests"
    run: RunValue | None = None
    junit: tuple[str, ...] = ()
    min_passed: int | str = 1  # or "baseline"
    max_failed: int = 0
    max_skipped: int | str | None = None  # or "baseline"
    count_from: str = "junit"
    retries: str | None = None


@dataclass(frozen=True)
class SmokeSpec(GateSpec):
    kind: ClassVar[str] = "smoke"
    scripts: tuple[str, ...] = ()
    interpreter: Mapping[str, RunValue] = field(default_factory=dict)
    allow_empty: bool = False


@dataclass(frozen=True)
class WitnessSpec(GateSpec):
    kind: ClassVar[str] = "witness"
    manifest: str = "verification.md.json"
    paths: tuple[str, ...] = ("dist/**",)
    require_new_entry: bool = False
    public_key: str | None = None


@dataclass(frozen=True)
class VersionPatternSpec:
    file: str
    pattern: str


@dataclass(frozen=True)
class ApiSpecSpec:
    python: str | None = None
    paths: tuple[str, ...] = ()
    level: str = "minor"


@dataclass(frozen=True)
class SemverSpec(GateSpec):
    kind: ClassVar[str] = "semver"
    version: str | VersionPatternSpec = ""
    api: ApiSpecSpec = field(default_factory=ApiSpecSpec)
    policy: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ForbidSpec(GateSpec):
    kind: ClassVar[str] = "forbid"
    paths: tuple[str, ...] = ("**/*",)
    exclude: tuple[str, ...] = ()
    patterns: Mapping[str, str] = field(default_factory=dict)
    builtin: tuple[str, ...] = ()
    changed_only: bool = False


def spec_class(kind: str) -> type[GateSpec]:
    """The spec a kind compiles to, from the registry (mergegate.gates.KINDS)."""
    from mergegate.gates import kind_module

    return kind_module(kind).SPEC


# nested values that are specs themselves, by the name they carry in JSON
_NESTED: dict[str, type[Any]] = {"VersionPattern": VersionPatternSpec, "ApiSpec": ApiSpecSpec}


@dataclass(frozen=True)
class ConfigSpec:
    version: int
    gates: Mapping[str, GateSpec]
    base: str | None = None
    defaults: DefaultsSpec = field(default_factory=DefaultsSpec)
    redact: tuple[str, ...] = ()
    reports: ReportsSpec = field(default_factory=ReportsSpec)


@dataclass(frozen=True)
class LoadedConfig:
    """A compiled gates.yaml and where it was read; what every run path receives."""

    config: ConfigSpec
    path: Path
    root: Path  # the directory gates.yaml is in: every relative path starts here

    @property
    def gates(self) -> dict[str, GateSpec]:
        return dict(self.config.gates)

    def timeout_of(self, gate: GateSpec) -> float:
        return gate.timeout if gate.timeout is not None else self.config.defaults.timeout

    def env_of(self, gate: GateSpec) -> dict[str, str]:
        return {**self.config.defaults.env, **gate.env}

    def cwd_of(self, gate: GateSpec) -> Path:
        rel = gate.cwd or self.config.defaults.cwd
        return self.root / rel if rel else self.root


# -- compiling a validated model ----------------------------------------------------

T = TypeVar("T")


def _plain(value: object) -> Any:
    """A validated value as specs hold it: lists become tuples, nested models specs."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    nested = _NESTED.get(type(value).__name__)
    if nested is not None:
        return _from_attrs(nested, value)
    return value


def _from_attrs(cls: type[T], model: object) -> T:
    """Build ``cls`` from the same-named attributes of ``model`` (a pydantic model)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: _plain(getattr(model, n)) for n in names})


def compile_gate(model: Any) -> GateSpec:
    """One validated gate model -> its spec; a kind without a spec is a bug (KeyError)."""
    return _from_attrs(spec_class(str(model.kind)), model)


def compile_config(model: Any) -> ConfigSpec:
    """A validated ``config.Config`` -> ConfigSpec."""
    return ConfigSpec(
        version=model.version,
        gates={name: compile_gate(gate) for name, gate in model.gates.items()},
        base=model.base,
        defaults=_from_attrs(DefaultsSpec, model.defaults),
        redact=tuple(model.redact),
        reports=_from_attrs(ReportsSpec, model.reports),
    )


# -- JSON, for the plan cache ---------------------------------------------------------


def to_json(spec: ConfigSpec) -> dict[str, Any]:
    """A JSON-ready dict; ``from_json`` gives back an equal ConfigSpec."""
    data: dict[str, Any] = _encode(spec)
    data["gates"] = {
        n: {"kind": g.kind, "$class": _class_name(type(g)), **_encode(g)}
        for n, g in spec.gates.items()
    }
    return data


def _class_name(cls: type[GateSpec]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class_named(name: str, kind: str) -> type[GateSpec]:
    """The spec class a cached plan names (so loading it imports no kind module)."""
    import importlib

    module, _, qualname = name.partition(":")
    cls = getattr(importlib.import_module(module), qualname)
    if not (isinstance(cls, type) and issubclass(cls, GateSpec) and cls.kind == kind):
        raise ValueError(f"{name} is not the spec of kind {kind!r}")
    return cls


def dump_gate(gate: GateSpec) -> dict[str, Any]:
    """The gate as JSON, as gates.yaml's model would dump it (what the result cache keys)."""
    dumped: dict[str, Any] = {"kind": gate.kind, **_encode(gate, tagged=False)}
    return dumped


def _encode(value: object, *, tagged: bool = True) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {
            f.name: _encode(getattr(value, f.name), tagged=tagged)
            for f in dataclasses.fields(value)
        }
        if tagged and type(value) in _NESTED.values():
            out["$spec"] = next(k for k, v in _NESTED.items() if v is type(value))
        return out
    if isinstance(value, tuple):
        return [_encode(v, tagged=tagged) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v, tagged=tagged) for k, v in value.items()}
    return value


def from_json(data: Mapping[str, Any]) -> ConfigSpec:
    """Decode ``to_json``'s output; any mismatch raises (TypeError, KeyError, ValueError)."""
    gates = {str(n): _gate(g) for n, g in data["gates"].items()}
    return ConfigSpec(
        version=int(data["version"]),
        gates=gates,
        base=data["base"],
        defaults=_build(DefaultsSpec, data["defaults"]),
        redact=_decode(data["redact"]),
        reports=_build(ReportsSpec, data["reports"]),
    )


def _gate(data: Mapping[str, Any]) -> GateSpec:
    fields = dict(data)
    kind = str(fields.pop("kind"))
    named = fields.pop("$class", None)
    cls = _class_named(str(named), kind) if named is not None else spec_class(kind)
    return _build(cls, fields)


def _build(cls: type[T], data: Mapping[str, Any]) -> T:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if set(data) != names:  # a plan written by another layout is not this plan
        raise ValueError(f"{cls.__name__}: fields {sorted(data)} != {sorted(names)}")
    return cls(**{k: _decode(v) for k, v in data.items()})


def _decode(value: object) -> Any:
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        if "$spec" in value:
            fields = {k: v for k, v in value.items() if k != "$spec"}
            return _build(_NESTED[value["$spec"]], fields)
        return {str(k): _decode(v) for k, v in value.items()}
    return value
