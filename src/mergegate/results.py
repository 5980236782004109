"""Result objects: what a gate decided, and the verdict reduced from all of them.

Everything a report renders comes from here. Results are frozen and serialise
to plain JSON (``to_dict``) and back (``from_dict``) so shard reports can be
folded and re-rendered without re-running anything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any

from mergegate.record import record

JSONValue = Any  # a value json.dumps accepts: dict/list/str/int/float/bool/None


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


class SkipCause(enum.StrEnum):
    """Why a gate was skipped; decides whether the skip blocks."""

    FILTER = "filter"  # if_changed found no matching change: does not block
    SELECTION = "selection"  # --only/--skip/--shard left it out: does not block
    NEEDS = "needs"  # a gate it needs did not pass: blocks
    STOPPED = "stopped"  # --fail-fast stopped the run; the failure that stopped it blocks


@record(frozen=True)
class Annotation:
    """A problem a gate can place in a file (forbid findings, API changes, config errors)."""

    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    level: str = "error"  # "error" | "warning" | "notice"

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "level": self.level,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> Annotation:
        return cls(
            message=str(data["message"]),
            path=data.get("path"),
            line=data.get("line"),
            col=data.get("col"),
            level=str(data.get("level", "error")),
        )


@record(frozen=True)
class Outcome:
    """What a gate implementation returns; the runner adds name, timing and redaction."""

    status: Status
    reason: str
    details: Mapping[str, JSONValue] = field(default_factory=dict)
    output_tail: str = ""
    commands: tuple[str, ...] = ()
    annotations: tuple[Annotation, ...] = ()

    @classmethod
    def passed(cls, reason: str, **kw: Any) -> Outcome:
        return cls(Status.PASSED, reason, **kw)

    @classmethod
    def failed(cls, reason: str, **kw: Any) -> Outcome:
        return cls(Status.FAILED, reason, **kw)

    @classmethod
    def error(cls, reason: str, **kw: Any) -> Outcome:
        return cls(Status.ERROR, reason, **kw)


@record(frozen=True)
class GateResult:
    name: str
    kind: str
    status: Status
    blocking: bool
    duration: float
    reason: str
    details: Mapping[str, JSONValue] = field(default_factory=dict)
    output_tail: str = ""
    commands: tuple[str, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    skip_cause: SkipCause | None = None
    started: float | None = None  # epoch seconds; None when the gate never started
    description: str = ""

    @property
    def blocks(self) -> bool:
        """True when this result alone keeps the merge from being allowed."""
        if not self.blocking or self.status is Status.PASSED:
            return False
        if self.status is Status.SKIPPED:
            return self.skip_cause is SkipCause.NEEDS
        return True

    @property
    def reproduce(self) -> str:
        from mergegate.words import reproduce

        return reproduce(self.name, self.kind)

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "blocking": self.blocking,
            "blocks": self.blocks,
            "duration": round(self.duration, 6),
            "reason": self.reason,
            "details": dict(self.details),
            "output_tail": self.output_tail,
            "commands": list(self.commands),
            "annotations": [a.to_dict() for a in self.annotations],
            "skip_cause": self.skip_cause.value if self.skip_cause else None,
            "started": self.started,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> GateResult:
        cause = data.get("skip_cause")
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            status=Status(data["status"]),
            blocking=bool(data["blocking"]),
            duration=float(data["duration"]),
            reason=str(data["reason"]),
            details=dict(data.get("details") or {}),
            output_tail=str(data.get("output_tail") or ""),
            commands=tuple(str(c) for c in data.get("commands") or ()),
            annotations=tuple(Annotation.from_dict(a) for a in data.get("annotations") or ()),
            skip_cause=SkipCause(cause) if cause else None,
            started=data.get("started"),
            description=str(data.get("description") or ""),
        )


@record(frozen=True)
class RunResult:
    gates: tuple[GateResult, ...]
    started: float  # epoch seconds
    duration: float
    version: str
    base: str | None = None  # the ref as given, e.g. origin/main
    base_sha: str | None = None
    commit: str | None = None
    interrupted: bool = False
    warnings: tuple[str, ...] = ()
    config: str | None = None  # which gates.yaml: "web/gates.yaml sha256:…" (merge compares)

    @property
    def blocked(self) -> bool:
        return self.interrupted or any(g.blocks for g in self.gates)

    @property
    def verdict(self) -> str:
        return "blocked" if self.blocked else "allowed"

    @property
    def not_run(self) -> tuple[str, ...]:
        """Gates left out by --only/--skip/--shard: a run with any is not a merge verdict."""
        return tuple(g.name for g in self.gates if g.skip_cause is SkipCause.SELECTION)

    @property
    def partial(self) -> bool:
        return bool(self.not_run)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.gates, interrupted=self.interrupted)

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "version": self.version,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "interrupted": self.interrupted,
            "base": self.base,
            "base_sha": self.base_sha,
            "commit": self.commit,
            "config": self.config,
            "started": self.started,
            "duration": round(self.duration, 6),
            "warnings": list(self.warnings),
            "partial": self.partial,
            "not_run": list(self.not_run),
            "gates": [g.to_dict() for g in self.gates],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> RunResult:
        return cls(
            gates=tuple(GateResult.from_dict(g) for g in data["gates"]),
            started=float(data["started"]),
            duration=float(data["duration"]),
            version=str(data["version"]),
            base=data.get("base"),
            base_sha=data.get("base_sha"),
            commit=data.get("commit"),
            interrupted=bool(data.get("interrupted", False)),
            warnings=tuple(str(w) for w in data.get("warnings") or ()),
            config=data.get("config"),
        )


EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def exit_code_for(gates: Iterable[GateResult], *, interrupted: bool = False) -> int:
    """The exit code is a reduction over results: 130 beats 1 beats 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_BLOCKED if any(g.blocks for g in gates) else EXIT_OK
