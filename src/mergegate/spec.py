"""The compiled plan: gates.yaml as plain frozen dataclasses, and their JSON form.

pydantic (``mergegate.config``) validates gates.yaml and is the schema's
source; what it accepts is compiled here into specs with the same attribute
names the gate modules read (``gate.run``, ``gate.timeout``, ``gate.junit`` ...).
The run path works on these only, so a run whose plan is cached
(``mergegate.plancache``) imports neither pydantic nor PyYAML. This module
imports nothing heavy and must stay that way.

Each kind's spec lives in its module (``SPEC``, a GateSpec subclass; see
mergegate.gates); this module names no kind. A kind's model and spec must have
the same fields, which a test checks for every registered kind. A field may
hold a nested spec (semver's ``api``): a dataclass named in the field's type,
which is where compiling and decoding look for it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from mergegate.record import record

DEFAULT_TIMEOUT = 15 * 60.0
RunValue = str | tuple[str, ...]  # a string runs through bash, a tuple directly


@record(frozen=True)
class DefaultsSpec:
    timeout: float = DEFAULT_TIMEOUT
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None


@record(frozen=True)
class ReportsSpec:
    junit: str | None = "reports/gates.xml"
    json_: str | None = "reports/gates.json"


@record(frozen=True)
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


def spec_class(kind: str) -> type[GateSpec]:
    """The spec a kind compiles to, from the registry (mergegate.gates.KINDS)."""
    from mergegate.gates import kind_module

    return kind_module(kind).SPEC


@record(frozen=True)
class ConfigSpec:
    version: int
    gates: Mapping[str, GateSpec]
    base: str | None = None
    defaults: DefaultsSpec = field(default_factory=DefaultsSpec)
    redact: tuple[str, ...] = ()
    reports: ReportsSpec = field(default_factory=ReportsSpec)


@record(frozen=True)
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


def _plain(value: object, owner: type[Any], name: str) -> Any:
    """A validated value as specs hold it: lists become tuples, nested models specs.

    ``owner.name`` is the spec field the value goes to; a nested model becomes
    the dataclass that field's type names with the model's fields.
    """
    if isinstance(value, list | tuple):
        return tuple(_plain(v, owner, name) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v, owner, name) for k, v in value.items()}
    if hasattr(type(value), "model_fields"):  # a pydantic model, without importing pydantic
        return _from_attrs(_nested_spec(type(value), owner, name), value)
    return value


def _nested_spec(model: type[Any], owner: type[Any], name: str) -> type[Any]:
    """The spec class for a nested ``model`` in ``owner.name``: a kind bug if none fits."""
    wanted = set(model.model_fields)
    fits = [c for c in _field_specs(owner)[name] if _field_names(c) == wanted]
    if len(fits) != 1:
        raise TypeError(f"{owner.__name__}.{name} names no one spec for {model.__name__}")
    return fits[0]


_FIELD_SPECS: dict[type[Any], dict[str, tuple[type[Any], ...]]] = {}


def _field_specs(cls: type[Any]) -> dict[str, tuple[type[Any], ...]]:
    """Field name -> the dataclasses its type names (the nested specs it may hold)."""
    if cls not in _FIELD_SPECS:
        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError) as exc:  # a type imported only for mypy: a kind bug
            raise TypeError(f"{cls.__name__}: cannot resolve its field types: {exc}") from None
        fields = dataclasses.fields(cls)
        _FIELD_SPECS[cls] = {f.name: tuple(_dataclasses_in(hints[f.name])) for f in fields}
    return _FIELD_SPECS[cls]


def _dataclasses_in(hint: object) -> Iterator[type[Any]]:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        yield hint
    for arg in typing.get_args(hint):
        yield from _dataclasses_in(arg)


def _field_names(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _from_attrs(cls: type[T], model: object) -> T:
    """Build ``cls`` from the same-named attributes of ``model`` (a pydantic model)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: _plain(getattr(model, n), cls, n) for n in names})


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
    """A JSON-ready dict; ``from_json`` gives back an equal ConfigSpec.

    Every spec inside a gate (the gate's own, and any nested one) carries
    ``"$class": "module:qualname"``, so loading a cached plan imports the
    modules that define them and nothing else (no registry lookup, no pydantic).
    """
    data: dict[str, Any] = _encode(spec)
    data["gates"] = {n: {"kind": g.kind, **_encode(g, tagged=True)} for n, g in spec.gates.items()}
    return data


def _class_name(cls: type[Any]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(name: str) -> type[Any]:
    import importlib

    module, _, qualname = name.partition(":")
    cls = getattr(importlib.import_module(module), qualname)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"{name} is not a spec class")
    return cls


def _class_named(name: str, kind: str) -> type[GateSpec]:
    """The spec class a cached plan names for a gate of ``kind``."""
    cls = _import_class(name)
    if not (issubclass(cls, GateSpec) and cls.kind == kind):
        raise ValueError(f"{name} is not the spec of kind {kind!r}")
    return cls


def dump_gate(gate: GateSpec) -> dict[str, Any]:
    """The gate as JSON, as gates.yaml's model would dump it (what the result cache keys)."""
    dumped: dict[str, Any] = {"kind": gate.kind, **_encode(gate)}
    return dumped


def _encode(value: object, *, tagged: bool = False) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {
            f.name: _encode(getattr(value, f.name), tagged=tagged)
            for f in dataclasses.fields(value)
        }
        if tagged:
            out["$class"] = _class_name(type(value))
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
    cls = _class_named(str(fields.pop("$class")), kind)  # missing: another layout, a miss
    return _build(cls, fields)


def _build(cls: type[T], data: Mapping[str, Any]) -> T:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if set(data) != names:  # a plan written by another layout is not this plan
        raise ValueError(f"{cls.__name__}: fields {sorted(data)} != {sorted(names)}")
    return cls(**{k: _decode(v, cls, k) for k, v in data.items()})


def _decode(value: object, owner: type[Any] | None = None, name: str = "") -> Any:
    """JSON -> spec values; ``owner.name`` is the field it goes to (None: not in a gate)."""
    if isinstance(value, list):
        return tuple(_decode(v, owner, name) for v in value)
    if isinstance(value, dict):
        if "$class" in value and owner is not None and _field_specs(owner)[name]:
            return _nested_from_json(value, owner, name)
        return {str(k): _decode(v, owner, name) for k, v in value.items()}
    return value


def _nested_from_json(data: Mapping[str, Any], owner: type[Any], name: str) -> Any:
    """A nested spec: its class must be one the field's type names."""
    fields = dict(data)
    named = str(fields.pop("$class"))
    cls = _import_class(named)
    if cls not in _field_specs(owner)[name]:
        raise ValueError(f"{named} is not a spec {owner.__name__}.{name} holds")
    return _build(cls, fields)
