"""kind: smoke — run every script matching ``scripts``; each must exit 0.

Scripts are found on disk (sorted by path) and run concurrently, each through
``ctx.run_process`` (own process group, the gate's deadline, cancellation),
with the interpreter its suffix names: .js/.mjs/.cjs → node, .py → the project's
Python (``python`` on the gate's PATH, else ``python3``: an active venv, never the
interpreter running mergegate), .sh → bash, anything else executed directly;
``interpreter:`` overrides per suffix. No matching script is an error unless ``allow_empty``.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, ClassVar

from mergegate.excerpt import shorten
from mergegate.gates import GateContext, PlanContext, PlanInfo, proc_outcome_status
from mergegate.proc import ProcResult
from mergegate.record import record
from mergegate.results import JSONValue, Outcome, Status
from mergegate.spec import GateSpec, RunValue

BUILTIN: Mapping[str, tuple[str, ...]] = {
    ".js": ("node",),
    ".mjs": ("node",),
    ".cjs": ("node",),
    ".py": ("python",),  # resolved on the gate's PATH by project_python()
    ".sh": ("bash",),
}
SCRIPT_TAIL_CHARS = 4000  # of each script's output, kept in details
OUTPUT_TAIL_CHARS = 16000  # of the gate's combined output tail
_SEVERITY = {Status.ERROR: 3, Status.TIMEOUT: 2, Status.FAILED: 1, Status.PASSED: 0}


@record(frozen=True)
class Script:
    rel: str
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        return shlex.join((*self.argv[:-1], self.rel))


@record(frozen=True)
class Ran:
    script: Script
    result: ProcResult

    @property
    def status(self) -> Status:
        return Status(proc_outcome_status(self.result))

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "script": self.script.rel,
            "command": self.script.command,
            "status": self.status.value,
            "exit_code": self.result.returncode,
            "exit": self.result.describe_exit(),
            "duration": round(self.result.duration, 3),
            "output_tail": _tail(self.result.output.tail_text(), SCRIPT_TAIL_CHARS),
        }


def run(ctx: GateContext[SmokeGate]) -> Outcome:
    scripts, refused = find_scripts(ctx.gate, ctx.root, ctx.env.get("PATH"))
    if refused:
        return Outcome.error("smoke script refused: " + "; ".join(refused))
    if not scripts:
        globs_shown = ", ".join(ctx.gate.scripts)
        if ctx.gate.allow_empty:
            return Outcome.passed(f"no smoke script matches {globs_shown} (allow_empty)")
        return Outcome.error(
            f"no smoke script matches {globs_shown} (relative to {ctx.root}); "
            "fix the glob, or set `allow_empty: true` if none is expected"
        )
    ran = run_all(ctx, scripts)
    return _outcome(ran)


def plan(ctx: PlanContext[SmokeGate]) -> PlanInfo:
    scripts, refused = find_scripts(ctx.gate, ctx.root, ctx.env.get("PATH"))
    problems = [f"smoke script refused: {why}" for why in refused]
    lines = [f"script: {s.command}" for s in scripts]
    if not scripts and not refused:
        globs_shown = ", ".join(ctx.gate.scripts)
        if ctx.gate.allow_empty:
            lines.append(f"no smoke script matches {globs_shown} (allow_empty)")
        else:
            problems.append(f"no smoke script matches {globs_shown}")
    for exe in sorted({s.argv[0] for s in scripts if len(s.argv) > 1}):
        if not os.path.isabs(exe) and shutil.which(exe, path=ctx.env.get("PATH")) is None:
            problems.append(f"interpreter not found on PATH: {exe}")
    for script in scripts:
        if len(script.argv) == 1 and not os.access(script.argv[0], os.X_OK):
            problems.append(f"{script.rel} is not executable: chmod +x it or set `interpreter`")
    if not ctx.cwd.is_dir():
        problems.append(f"working directory does not exist: {ctx.cwd}")
    return PlanInfo(lines=lines, problems=problems)


# -- finding and starting -------------------------------------------------------------


def project_python(path: str | None) -> str:
    """The project's Python: ``python`` on ``path`` (a venv has it), else ``python3``.

    When neither is there, ``python`` stays, so the preflight and the run say it is missing.
    """
    for name in ("python", "python3"):
        if shutil.which(name, path=path) is not None:
            return name
    return "python"


def find_scripts(
    gate: SmokeGate, root: os.PathLike[str], path: str | None = None
) -> tuple[list[Script], list[str]]:
    """The scripts ``gate`` runs; ``path`` is the gate's PATH (it picks the .py interpreter)."""
    from pathlib import Path

    from mergegate import filematch

    found = filematch.find(Path(root), gate.scripts)
    overrides = {suffix.lower(): spec for suffix, spec in gate.interpreter.items()}
    overrides.setdefault(".py", (project_python(path),))
    scripts, refused = [], list(found.refused)
    for match in found.files:
        try:
            prefix = interpreter_for(match.rel, overrides)
        except ValueError as exc:
            refused.append(f"{match.rel}: {exc}")
            continue
        scripts.append(Script(match.rel, (*prefix, str(match.path))))
    return scripts, refused


def interpreter_for(rel: str, overrides: Mapping[str, str | Sequence[str]]) -> tuple[str, ...]:
    """The argv prefix that runs ``rel``: () when the script is executed directly."""
    name = rel.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name.lstrip(".") else ""
    spec = overrides.get(suffix)
    if spec is None:
        return BUILTIN.get(suffix, ())
    if isinstance(spec, str):
        words = tuple(shlex.split(spec))
        if not words:
            raise ValueError(f"the interpreter for {suffix} is empty")
        return words
    return tuple(spec)


def run_all(ctx: GateContext[SmokeGate], scripts: Sequence[Script]) -> list[Ran]:
    """Run every script concurrently; results in the scripts' order."""
    workers = min(len(scripts), max(4, os.cpu_count() or 1))

    def one(script: Script) -> Ran:
        return Ran(script, ctx.run_process(script.argv, label=script.command))

    from concurrent.futures import ThreadPoolExecutor  # only when scripts run

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"smoke-{ctx.name}") as pool:
        return list(pool.map(one, scripts))


# -- judging ------------------------------------------------------------------------


def _outcome(ran: Sequence[Ran]) -> Outcome:
    bad = [r for r in ran if r.status is not Status.PASSED]
    details: dict[str, JSONValue] = {
        "scripts": [r.to_dict() for r in ran],
        "failures": [{"script": r.script.rel, "message": r.result.describe_exit()} for r in bad],
    }
    commands = tuple(r.script.command for r in ran)
    if not bad:
        total = sum(r.result.duration for r in ran)
        reason = f"{_plural(len(ran), 'smoke script')} passed ({total:.1f}s of script time)"
        return Outcome.passed(reason, details=details, commands=commands)
    status = max((r.status for r in bad), key=lambda s: _SEVERITY[s])
    named = ", ".join(f"{r.script.rel} ({r.result.describe_exit()})" for r in bad)
    reason = f"{len(bad)} of {_plural(len(ran), 'smoke script')} failed: {named}"
    return Outcome(
        status, reason, details=details, output_tail=_combined_tail(bad), commands=commands
    )


def _combined_tail(bad: Sequence[Ran]) -> str:
    share = max(1000, OUTPUT_TAIL_CHARS // len(bad))
    blocks = []
    for r in bad:
        tail = _tail(r.result.output.tail_text(), share).rstrip("\n")
        blocks.append(f"── {r.script.command}: {r.result.describe_exit()} ──\n{tail}".rstrip())
    return _tail("\n".join(blocks) + "\n", OUTPUT_TAIL_CHARS)


def _tail(text: str, limit: int) -> str:
    """Head and tail of ``text``; the marker at the cut lets the redactor mask a split value."""
    return shorten(text, limit)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# -- the kind's registration (mergegate.gates.Kind) -----------------------------------


@record(frozen=True)
class SmokeSpec(GateSpec):
    kind: ClassVar[str] = "smoke"
    scripts: tuple[str, ...] = ()
    interpreter: Mapping[str, RunValue] = field(default_factory=dict)
    allow_empty: bool = False


SmokeGate = SmokeSpec  # the name this module's code reads its spec by
SPEC: type[SmokeSpec] = SmokeSpec


@functools.cache
def model() -> type[GateBase]:
    """The pydantic model of this kind's gates.yaml entries (built when the validator asks)."""
    from typing import Annotated, Any, Literal

    from pydantic import Field, field_validator

    from mergegate.config import GateBase, Globs, RunSpec
    from mergegate.errors import shorten as shown

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
                    raise ValueError(
                        f"interpreter keys are file suffixes like '.py', not {shown(suffix)}"
                    )
            return value

    return SmokeGate


if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.gates import Kind
    from mergegate.gates import smoke as _self

    _checked: Kind = _self
