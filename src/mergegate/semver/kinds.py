"""Bump levels and the kinds of API change, with the level each needs by default.

Import-light on purpose: gates.yaml validation reads ``CHANGE_KINDS`` to check
``policy`` keys, and the semver gate's fast path must not pay for griffe.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Level(enum.IntEnum):
    """How far a version rose, or how far a change needs it to rise."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    @property
    def label(self) -> str:
        return "no bump" if self is Level.NONE else self.name.lower()

    @classmethod
    def named(cls, name: str) -> Level:
        return cls[name.upper()]


# kind -> (default level, what it means); "api.level" marks the configurable one
CHANGE_KINDS: Mapping[str, tuple[Level | None, str]] = {
    "object-removed": (Level.MAJOR, "a public object was removed"),
    "object-changed-kind": (Level.MAJOR, "a public name now points to another kind of object"),
    "parameter-removed": (Level.MAJOR, "a parameter was removed"),
    "parameter-moved": (Level.MAJOR, "a positional parameter moved"),
    "parameter-changed-kind": (Level.MAJOR, "a parameter changed kind (e.g. became keyword-only)"),
    "parameter-default-changed": (Level.MAJOR, "a parameter's default value changed"),
    "parameter-now-required": (Level.MAJOR, "a parameter lost its default"),
    "parameter-added-required": (Level.MAJOR, "a required parameter was added"),
    "return-type-changed": (Level.MAJOR, "a return type became incompatible"),
    "attribute-type-changed": (Level.MAJOR, "an attribute type became incompatible"),
    "attribute-value-changed": (Level.MAJOR, "an attribute value changed"),
    "base-class-removed": (Level.MAJOR, "a class lost a base class"),
    "export-removed": (Level.MAJOR, "a name was dropped from a module's __all__"),
    "added": (Level.MINOR, "a public object was added"),
    "parameter-added": (Level.MINOR, "an optional parameter was added"),
    "file-changed": (None, "a file under api.paths changed (level from api.level)"),
}

# griffe's BreakageKind member names -> our kind names (kept as strings: no griffe import)
GRIFFE_KINDS: Mapping[str, str] = {
    "OBJECT_REMOVED": "object-removed",
    "OBJECT_CHANGED_KIND": "object-changed-kind",
    "PARAMETER_REMOVED": "parameter-removed",
    "PARAMETER_MOVED": "parameter-moved",
    "PARAMETER_CHANGED_KIND": "parameter-changed-kind",
    "PARAMETER_CHANGED_DEFAULT": "parameter-default-changed",
    "PARAMETER_CHANGED_REQUIRED": "parameter-now-required",
    "PARAMETER_ADDED_REQUIRED": "parameter-added-required",
    "RETURN_CHANGED_TYPE": "return-type-changed",
    "ATTRIBUTE_CHANGED_TYPE": "attribute-type-changed",
    "ATTRIBUTE_CHANGED_VALUE": "attribute-value-changed",
    "CLASS_REMOVED_BASE": "base-class-removed",
}


def griffe_kind(breakage_kind_name: str) -> str:
    """Our name for a griffe breakage kind; an unknown (newer) kind keeps a kebab-case name."""
    return GRIFFE_KINDS.get(breakage_kind_name, breakage_kind_name.lower().replace("_", "-"))


def default_level(kind: str, paths_level: Level) -> Level:
    level, _ = CHANGE_KINDS.get(kind, (Level.MAJOR, ""))
    return paths_level if level is None else level


@dataclass(frozen=True)
class Judged:
    """A change kind's level once the project's policy and the 0.x rule are applied."""

    level: Level  # NONE when the policy says ignore
    rule: str  # where the level came from, for the report


def judge(
    kind: str,
    *,
    policy: Mapping[str, str],
    paths_level: Level,
    below_one: bool,
) -> Judged:
    """Policy first (a level or ``ignore``), then the 0.x shift: each level one lower.

    Below 1.0.0 a patch-level change still needs a patch: every API change needs some bump.
    """
    chosen = policy.get(kind)
    if chosen == "ignore":
        return Judged(Level.NONE, f"policy: {kind}: ignore")
    level = Level.named(chosen) if chosen else default_level(kind, paths_level)
    rule = f"policy: {kind}: {chosen}" if chosen else "default"
    if below_one and level > Level.PATCH:
        return Judged(Level(level - 1), f"{rule}, shifted down one below 1.0.0")
    return Judged(level, rule)
