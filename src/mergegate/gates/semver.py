"""kind: semver — the version must rise by the level the API changes since base need (DESIGN §4).

The version is read at base (``git show``) and in the working tree, never by
running code. API changes come from ``api.paths`` (any changed file) and
``api.python`` (griffe, loaded only when a Python source of the package
changed). Each change's level is its kind's default, or the project's
``policy``, shifted down one below 1.0.0. A lowered version always blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mergegate.errors import GitError
from mergegate.gates import GateContext, PlanContext, PlanInfo
from mergegate.git import Base, candidate_files
from mergegate.globs import filter_paths
from mergegate.record import record
from mergegate.results import Annotation, JSONValue, Outcome, Status
from mergegate.spec import GateSpec

if TYPE_CHECKING:  # loaded when a semver gate runs or is planned, not with a cached plan
    from mergegate.semver.api import ApiChange
    from mergegate.semver.kinds import Judged, Level
    from mergegate.semver.versions import Bump, VersionSource

REASON_ITEMS = 3
MAX_DETAILS = 500
MAX_ANNOTATIONS = 50


@record(frozen=True)
class Judgement:
    change: ApiChange
    judged: Judged

    @property
    def level(self) -> Level:
        return self.judged.level

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "kind": self.change.kind,
            "subject": self.change.subject,
            "message": self.change.message,
            "file": self.change.file,
            "line": self.change.line,
            "needs": self.level.label if self.level else "ignored",
            "rule": self.judged.rule,
        }


def run(ctx: GateContext[SemverGate]) -> Outcome:
    from mergegate.semver.api import ApiError
    from mergegate.semver.versions import VersionError

    try:
        return _decide(ctx)
    except (GitError, VersionError, ApiError) as exc:
        return Outcome.error(str(exc))


def _decide(ctx: GateContext[SemverGate]) -> Outcome:
    from mergegate.semver.kinds import Level

    base = ctx.base.get()
    bump = _bump(ctx, base)
    if bump.lowered:
        return Outcome.failed(
            f"version lowered: {bump.base.text} → {bump.head.text}; a version never goes "
            f"down: set it to {bump.base.text} or higher",
            details=_details(base, bump, [], Level.NONE, fast_path=True),
        )
    changed = ctx.base.changed_files()
    missing = _unmatched_api_paths(ctx, changed)
    if missing:
        return Outcome.error(
            f"api.paths {', '.join(repr(g) for g in missing)} match no file; fix the glob "
            "(an API path that matches nothing can never require a bump)"
            + untracked_only(ctx.root, missing)
        )
    changes, fast_path = _api_changes(ctx, base, changed)
    if ctx.cancel.is_set():
        return Outcome.error("cancelled before the API comparison finished")
    if ctx.remaining <= 0:
        return Outcome(Status.TIMEOUT, f"the API comparison took longer than {ctx.timeout:g}s")
    judged = _judge_all(ctx.gate, changes, below_one=bump.base.below_one)
    return _verdict(base, bump, judged, fast_path=fast_path)


def _api_changes(
    ctx: GateContext[SemverGate], base: Base, changed: Sequence[str]
) -> tuple[list[ApiChange], bool]:
    """Changes under api.paths, and from griffe when a Python source of api.python changed.

    The second value is True on the fast path: griffe was not needed (nor imported).
    """
    from mergegate.semver.api import (
        ApiError,
        PythonPackage,
        missing_python_path,
        path_changes,
        python_changes,
    )

    changes = path_changes(changed, ctx.gate.api.paths)
    if not ctx.gate.api.python:
        return changes, True
    problem = missing_python_path(ctx.root, ctx.gate.api.python)
    if problem:  # checked before the fast path: a wrong path must never read as "no change"
        raise ApiError(problem)
    package = PythonPackage(ctx.gate.api.python)
    touched = package.touched_by(changed)
    if not touched:
        return changes, True
    return [*changes, *python_changes(ctx.root, base.sha, package, touched)], False


def _bump(ctx: GateContext[SemverGate], base: Base) -> Bump:
    from mergegate.semver.versions import (
        bump_between,
        parse,
        read_at_ref,
        read_in_tree,
        scheme_for,
        source_of,
    )

    source = source_of(ctx.gate.version)
    where = f"base {base.ref} ({base.sha[:10]})"
    base_text = read_at_ref(ctx.root, base.sha, source, where)
    head_text = read_in_tree(ctx.root, source)
    scheme = scheme_for(source, base_text, head_text)
    return bump_between(
        parse(base_text, scheme, f"{source.file} at {where}"),
        parse(head_text, scheme, f"{source.file} in the working tree"),
    )


def _unmatched_api_paths(ctx: GateContext[SemverGate], changed: Sequence[str]) -> list[str]:
    globs = ctx.gate.api.paths
    if not globs:
        return []
    universe = sorted(set(candidate_files(ctx.root)) | set(changed))
    return [g for g in globs if not filter_paths(universe, [g])]


def _judge_all(
    gate: SemverGate, changes: Sequence[ApiChange], *, below_one: bool
) -> list[Judgement]:
    from mergegate.semver.kinds import Level, judge

    paths_level = Level.named(gate.api.level)
    out = [
        Judgement(
            c, judge(c.kind, policy=gate.policy, paths_level=paths_level, below_one=below_one)
        )
        for c in changes
    ]
    return sorted(out, key=lambda j: (-j.level, j.change.kind, j.change.subject))


def _verdict(base: Base, bump: Bump, judged: list[Judgement], *, fast_path: bool) -> Outcome:
    from mergegate.semver.kinds import Level

    needs = max((j.level for j in judged), default=Level.NONE)
    details = _details(base, bump, judged, needs, fast_path=fast_path)
    shift = " (below 1.0.0 each level shifts down one)" if bump.base.below_one and judged else ""
    counted = [j for j in judged if j.level]
    if not counted:
        what = (
            "no API change" if not judged else f"{len(judged)} API change(s), all ignored by policy"
        )
        return Outcome.passed(
            f"{what} since {base.ref}; version {bump.describe()}", details=details
        )
    if bump.level >= needs:
        return Outcome.passed(
            f"{bump.describe()} covers {len(counted)} API change(s) needing {needs.label}{shift}",
            details=details,
        )
    short = [j for j in counted if j.level > bump.level]
    listed = ", ".join(j.change.located() for j in short[:REASON_ITEMS])
    more = f" … and {len(short) - REASON_ITEMS} more" if len(short) > REASON_ITEMS else ""
    return Outcome.failed(
        f"{bump.describe()}; needs {needs.label}{shift}: {listed}{more}",
        details=details,
        annotations=_annotations(short, bump, needs),
    )


def _annotations(short: Sequence[Judgement], bump: Bump, needs: Level) -> tuple[Annotation, ...]:
    notes = [
        Annotation(
            f"{j.change.message}: needs a {j.level.label} bump, but the version went "
            f"{bump.describe()} (bump it to at least the {needs.label} level)",
            path=j.change.file,
            line=j.change.line,
        )
        for j in short[:MAX_ANNOTATIONS]
    ]
    return tuple(notes)


def _details(
    base: Base, bump: Bump, judged: Sequence[Judgement], needs: Level, *, fast_path: bool
) -> dict[str, JSONValue]:
    return {
        "base": {"ref": base.ref, "sha": base.sha, "source": base.source},
        "version": {
            "base": bump.base.text,
            "head": bump.head.text,
            "scheme": bump.base.scheme,
            "bump": "lowered" if bump.lowered else bump.level.label,
        },
        "needs": needs.label,
        "below_one": bump.base.below_one,
        "griffe": not fast_path,
        "change_count": len(judged),
        "changes": [j.to_dict() for j in judged[:MAX_DETAILS]],
    }


# -- dry run ------------------------------------------------------------------------


def plan(ctx: PlanContext[SemverGate]) -> PlanInfo:
    from mergegate.semver.versions import VersionError, read_at_ref, read_in_tree

    gate = ctx.gate
    lines: list[str] = []
    problems: list[str] = []
    source = _plan_source(gate, problems)
    if source is not None:
        try:
            lines.append(f"version: {source.describe()} = {read_in_tree(ctx.root, source)}")
        except VersionError as exc:
            problems.append(str(exc))
    try:
        base = ctx.base.get()
        lines.append(f"base: {base.ref} ({base.sha[:10]}, from {base.source})")
        if source is not None:
            where = f"base {base.ref}"
            lines.append(f"version at base: {read_at_ref(ctx.root, base.sha, source, where)}")
    except (GitError, VersionError) as exc:
        problems.append(str(exc))
    lines.extend(_plan_api(ctx, problems))
    return PlanInfo(lines=lines, problems=problems)


def _plan_source(gate: SemverGate, problems: list[str]) -> VersionSource | None:
    from mergegate.semver.versions import VersionError, source_of

    try:
        return source_of(gate.version)
    except VersionError as exc:
        problems.append(str(exc))
        return None


def _plan_api(ctx: PlanContext[SemverGate], problems: list[str]) -> list[str]:
    from mergegate.semver.api import missing_python_path

    api = ctx.gate.api
    lines = []
    if api.python:
        lines.append(f"api.python: {api.python} (griffe, only when its Python sources changed)")
        problem = missing_python_path(ctx.root, api.python)
        if problem:
            problems.append(problem)
    if api.paths:
        lines.append(f"api.paths: {', '.join(api.paths)} (any change needs {api.level})")
        try:
            files = candidate_files(ctx.root)
        except GitError as exc:
            problems.append(str(exc))
            return lines
        problems.extend(
            f"api.paths glob {g!r} matches no file{untracked_only(ctx.root, [g])}"
            for g in api.paths
            if not filter_paths(files, [g])
        )
    if ctx.gate.policy:
        rules = ", ".join(f"{k}: {v}" for k, v in sorted(ctx.gate.policy.items()))
        lines.append(f"policy: {rules}")
    return lines


def untracked_only(root: Path, globs: Sequence[str]) -> str:
    """Why globs that match no file git would commit still match files on disk, or ""."""
    from mergegate import filematch

    ignored = [m.rel for m in filematch.find(root, list(globs)).files]
    if not ignored:
        return ""
    shown = ", ".join(ignored[:3]) + (f" and {len(ignored) - 3} more" if len(ignored) > 3 else "")
    return (
        f"; only files git ignores match ({shown}): semver compares the files git tracks "
        "at the base and now, so point api.paths at tracked sources (e.g. src/index.ts)"
    )


# -- the kind's registration (mergegate.gates.Kind) -----------------------------------


@record(frozen=True)
class VersionPatternSpec:
    file: str
    pattern: str


@record(frozen=True)
class ApiSpecSpec:
    python: str | None = None
    paths: tuple[str, ...] = ()
    level: str = "minor"


@record(frozen=True)
class SemverSpec(GateSpec):
    kind: ClassVar[str] = "semver"
    version: str | VersionPatternSpec = ""  # nested specs: compiled from the field's type
    api: ApiSpecSpec = field(default_factory=ApiSpecSpec)
    policy: Mapping[str, str] = field(default_factory=dict)


SemverGate = SemverSpec  # the name this module's code reads its spec by
SPEC: type[SemverSpec] = SemverSpec
VERSION_FILES = ("pyproject.toml", "package.json", "Cargo.toml")


@functools.cache
def model() -> type[GateBase]:
    """The pydantic model of this kind's gates.yaml entries (built when the validator asks)."""
    from typing import Literal

    from pydantic import Field, field_validator, model_validator

    from mergegate.config import GateBase, Globs, Model, RelPath, check_regex
    from mergegate.config import Level as LevelName

    class VersionPattern(Model):
        file: RelPath
        pattern: str

        @field_validator("pattern")
        @classmethod
        def _one_group(cls, value: str) -> str:
            return check_regex(value, groups=1)

    class ApiSpec(Model):
        python: RelPath | None = None
        paths: Globs = ()
        level: LevelName = "minor"

    class SemverGate(GateBase):
        kind: Literal["semver"]
        version: RelPath | VersionPattern
        api: ApiSpec
        policy: dict[str, LevelName | Literal["ignore"]] = Field(default_factory=dict)

        @field_validator("version")
        @classmethod
        def _known_file(cls, value: str | VersionPattern) -> str | VersionPattern:
            if isinstance(value, str):
                _check_version_file(value)
            return value

        @field_validator("policy")
        @classmethod
        def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
            for key in value:
                _check_change_kind(key)
            return value

        @model_validator(mode="after")
        def _has_api(self) -> SemverGate:
            if not self.api.python and not self.api.paths:
                raise ValueError("`api` needs `python` (a package directory) or `paths` (globs)")
            return self

    return SemverGate


def _check_version_file(value: str) -> None:
    from pathlib import PurePosixPath

    if PurePosixPath(value).name not in VERSION_FILES:
        raise ValueError(
            f"version file must be one of {', '.join(VERSION_FILES)}, "
            "or {file, pattern} with one capture group"
        )


def _check_change_kind(key: str) -> None:
    import difflib

    from mergegate.errors import shorten
    from mergegate.semver.kinds import CHANGE_KINDS

    if key not in CHANGE_KINDS:
        close = difflib.get_close_matches(key, list(CHANGE_KINDS), n=1)
        hint = f"did you mean {close[0]}?" if close else f"kinds: {', '.join(CHANGE_KINDS)}"
        raise ValueError(f"unknown change kind {shorten(key)} ({hint})")


if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.gates import Kind
    from mergegate.gates import semver as _self

    _checked: Kind = _self
