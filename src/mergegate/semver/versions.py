"""The version at a ref and in the working tree, read without running code, and the bump between.

Sources: ``pyproject.toml`` ([project].version, compared as PEP 440),
``package.json`` (.version) and ``Cargo.toml`` ([package].version, or
[workspace.package].version in a workspace root) compared as SemVer 2.0, or a
``{file, pattern}`` whose one capture group holds the version (SemVer when both
sides parse as SemVer, else PEP 440). A version that only a build step knows
(dynamic, VCS-derived, workspace-inherited) is a ``VersionError`` that says
what to configure instead.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mergegate.git import show_file
from mergegate.semver.kinds import Level

Scheme = Literal["pep440", "semver"]
MAX_VERSION_FILE = 4 * 1024 * 1024
_PATTERN_EXAMPLE = '{file: src/mypkg/__init__.py, pattern: \'__version__ = "([^"]+)"\'}'


class VersionError(Exception):
    """The version cannot be read or compared; the message says what to do."""


@dataclass(frozen=True)
class VersionSource:
    """Where the version lives, as gates.yaml says: a known file, or a file and a pattern."""

    file: str
    pattern: str | None = None

    @property
    def kind(self) -> str:
        return "pattern" if self.pattern else PurePosixPath(self.file).name

    def describe(self) -> str:
        return f"{self.file} (pattern {self.pattern!r})" if self.pattern else self.file


def source_of(spec: object) -> VersionSource:
    """The gate's `version` value (a path string or a VersionPattern model)."""
    if isinstance(spec, str):
        return VersionSource(spec)
    file, pattern = getattr(spec, "file", None), getattr(spec, "pattern", None)
    if not isinstance(file, str) or not isinstance(pattern, str):
        raise VersionError(f"unsupported version source {spec!r}")
    return VersionSource(file, pattern)


# -- reading ------------------------------------------------------------------------


def read_at_ref(root: Path, ref: str, source: VersionSource, where: str) -> str:
    """The version text in ``source`` at ``ref`` (``git show``); GitError when ref is unknown."""
    data = show_file(root, ref, source.file)
    if data is None:
        raise VersionError(
            f"{source.file} does not exist at {where}: there is no version to compare with; "
            "add the version file on the base branch first, or fix `version` in gates.yaml"
        )
    return extract(source, data, where)


def read_in_tree(root: Path, source: VersionSource) -> str:
    """The version text in ``source`` in the working tree (never through a symlink out of it)."""
    path = root / source.file
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise VersionError(
            f"{source.file} leads outside the project (symlink?); refusing to read it"
        )
    try:
        with open(real, "rb") as fh:
            data = fh.read(MAX_VERSION_FILE + 1)
    except FileNotFoundError:
        raise VersionError(
            f"{source.file} not found in the working tree; fix `version` in gates.yaml"
        ) from None
    except OSError as exc:
        raise VersionError(f"cannot read {source.file}: {exc.strerror or exc}") from None
    return extract(source, data, "the working tree")


def extract(source: VersionSource, data: bytes, where: str) -> str:
    """Parse the file's bytes and return the version string it declares."""
    if len(data) > MAX_VERSION_FILE:
        raise VersionError(f"{source.file} at {where} is larger than 4 MiB; not a version file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VersionError(f"{source.file} at {where} is not UTF-8 text: {exc}") from None
    if source.pattern:
        return _from_pattern(source, text, where)
    reader = _READERS[source.kind]
    version = reader(text, f"{source.file} at {where}")
    if not version.strip():
        raise VersionError(f"{source.file} at {where}: the version is empty")
    return version.strip()


def _from_pattern(source: VersionSource, text: str, where: str) -> str:
    assert source.pattern is not None
    match = re.search(source.pattern, text, re.MULTILINE)
    if match is None or not match.group(1):
        raise VersionError(
            f"pattern {source.pattern!r} does not match in {source.file} at {where}; "
            "fix the pattern (one capture group around the version)"
        )
    return match.group(1).strip()


def _toml(text: str, shown: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VersionError(f"{shown}: invalid TOML: {exc}") from None


def _table(doc: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    current: Any = doc
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current if isinstance(current, Mapping) else {}


def _pyproject(text: str, shown: str) -> str:
    doc = _toml(text, shown)
    project = _table(doc, "project")
    dynamic = project.get("dynamic", [])
    if isinstance(dynamic, list) and "version" in dynamic:
        raise VersionError(f"{shown}: {_dynamic_advice(doc)}")
    version = project.get("version")
    if version is None and not project:
        version = _table(doc, "tool", "poetry").get("version")
    if not isinstance(version, str):
        raise VersionError(
            f"{shown} has no static [project].version; set one, or point `version` at the "
            f"file that holds it: {_PATTERN_EXAMPLE}"
        )
    return version


def _dynamic_advice(doc: Mapping[str, Any]) -> str:
    """Why a dynamic version cannot be read, and what to configure instead."""
    hatch = _table(doc, "tool", "hatch", "version")
    attr = _table(doc, "tool", "setuptools", "dynamic", "version").get("attr")
    vcs = (
        hatch.get("source") == "vcs"
        or "setuptools_scm" in _table(doc, "tool")
        or (
            "pdm" in _table(doc, "tool")
            and _table(doc, "tool", "pdm", "version").get("source") == "scm"
        )
    )
    head = "[project].version is dynamic: it only exists once a build backend runs"
    if vcs:
        return (
            f"{head}, from git tags (VCS), so no file in the change can carry the bump; "
            "set a static [project].version in pyproject.toml, or keep the version in a file "
            f"and use `version: {_PATTERN_EXAMPLE}`"
        )
    if isinstance(hatch.get("path"), str):
        where = hatch["path"]
        return (
            f"{head} (hatch reads it from {where}); use "
            f'`version: {{file: {where}, pattern: \'__version__ = "([^"]+)"\'}}`'
        )
    if isinstance(attr, str):
        return (
            f"{head} (setuptools reads the attribute {attr}); use `version: {{file, pattern}}` "
            "naming the file that assigns it"
        )
    return f"{head}; set a static [project].version, or use `version: {_PATTERN_EXAMPLE}`"


def _package_json(text: str, shown: str) -> str:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VersionError(f"{shown}: invalid JSON: {exc}") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str):
        raise VersionError(f'{shown} has no "version" string; add one (e.g. "version": "1.0.0")')
    return version


def _cargo(text: str, shown: str) -> str:
    doc = _toml(text, shown)
    package = _table(doc, "package")
    version = package.get("version")
    if isinstance(version, Mapping) and version.get("workspace") is True:
        raise VersionError(
            f"{shown}: [package].version is inherited from the workspace (version.workspace = "
            "true); point `version` at the workspace root's Cargo.toml, whose "
            "[workspace.package].version is read"
        )
    if version is None and not package:
        version = _table(doc, "workspace", "package").get("version")
    if not isinstance(version, str):
        raise VersionError(
            f"{shown} has no [package].version (or [workspace.package].version); set one"
        )
    return version


_READERS = {"pyproject.toml": _pyproject, "package.json": _package_json, "Cargo.toml": _cargo}


# -- comparing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    text: str
    scheme: Scheme
    epoch: int
    release: tuple[int, ...]  # at least (major, minor, patch)
    prerelease: bool  # a pre- or dev-release: it leads up to `release`
    key: Any  # packaging Version or semver Version: ordering only

    @property
    def below_one(self) -> bool:
        return self.epoch == 0 and self.release[0] == 0


def scheme_for(source: VersionSource, base: str, head: str) -> Scheme:
    """PEP 440 for pyproject.toml, SemVer for the others; a pattern takes what both parse as."""
    if source.kind == "pyproject.toml":
        return "pep440"
    if source.kind in ("package.json", "Cargo.toml"):
        return "semver"
    if _is_semver(base) and _is_semver(head):
        return "semver"
    return "pep440"


def _is_semver(text: str) -> bool:
    import semver

    return bool(semver.Version.is_valid(text))


def parse(text: str, scheme: Scheme, where: str) -> Parsed:
    if scheme == "semver":
        return _parse_semver(text, where)
    return _parse_pep440(text, where)


def _parse_semver(text: str, where: str) -> Parsed:
    import semver

    try:
        v = semver.Version.parse(text)
    except (ValueError, TypeError):
        raise VersionError(
            f"version {text!r} at {where} is not SemVer 2.0 (MAJOR.MINOR.PATCH[-pre][+build])"
        ) from None
    return Parsed(text, "semver", 0, (v.major, v.minor, v.patch), bool(v.prerelease), v)


def _parse_pep440(text: str, where: str) -> Parsed:
    from packaging.version import InvalidVersion, Version

    try:
        v = Version(text)
    except InvalidVersion:
        raise VersionError(f"version {text!r} at {where} is not a PEP 440 version") from None
    release = tuple(v.release) + (0,) * max(0, 3 - len(v.release))
    return Parsed(text, "pep440", v.epoch, release, v.is_prerelease, v)


@dataclass(frozen=True)
class Bump:
    base: Parsed
    head: Parsed
    level: Level
    lowered: bool = False
    note: str = ""  # e.g. "pre-release series of a major"

    def describe(self) -> str:
        arrow = f"{self.base.text} → {self.head.text}"
        if self.lowered:
            return f"{arrow} (lowered)"
        return f"{arrow} ({self.level.label}{'; ' + self.note if self.note else ''})"


def bump_between(base: Parsed, head: Parsed) -> Bump:
    """The level by which the version rose from base to head.

    Within a pre-release series (2.0.0rc1 → 2.0.0rc2 or → 2.0.0) the bump is the level
    the series itself leads to: X.0.0 major, X.Y.0 minor, else patch.
    """
    if head.key < base.key:
        return Bump(base, head, Level.NONE, lowered=True)
    if head.key == base.key:
        return Bump(base, head, Level.NONE)
    if head.epoch != base.epoch:
        return Bump(base, head, Level.MAJOR, note="epoch changed")
    width = max(len(base.release), len(head.release))
    old = base.release + (0,) * (width - len(base.release))
    new = head.release + (0,) * (width - len(head.release))
    for index, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            return Bump(base, head, (Level.MAJOR, Level.MINOR)[index] if index < 2 else Level.PATCH)
    if base.prerelease:
        level = _series_level(base.release)
        return Bump(base, head, level, note=f"within the pre-release series of a {level.label}")
    return Bump(base, head, Level.NONE, note="post-release or build change only")


def _series_level(release: tuple[int, ...]) -> Level:
    if any(release[2:]):
        return Level.PATCH
    return Level.MINOR if release[1] else Level.MAJOR
