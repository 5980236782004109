"""kind: command — run a command; it passes when it exits 0."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, ClassVar

from mergegate.gates import (
    GateContext,
    PlanContext,
    PlanInfo,
    missing_executable,
    proc_outcome_status,
)
from mergegate.proc import ProcResult, display_command
from mergegate.record import record
from mergegate.results import Outcome, Status
from mergegate.spec import GateSpec, RunValue


def run(ctx: GateContext[CommandSpec]) -> Outcome:
    return judge(ctx.run_spec(ctx.gate.run))


def judge(result: ProcResult) -> Outcome:
    """The outcome of the finished command (the runner's loop, which starts it, calls this too)."""
    status = Status(proc_outcome_status(result))
    reason = "exit code 0" if status is Status.PASSED else result.describe_exit()
    return Outcome(
        status,
        reason,
        details={"exit_code": result.returncode},
        output_tail=result.output.tail_text(),
        commands=(result.command,),
    )


def plan(ctx: PlanContext[CommandSpec]) -> PlanInfo:
    command = display_command(ctx.gate.run)
    missing = missing_executable(ctx.gate.run, ctx.env, ctx.cwd)
    problems = [f"executable not found on PATH: {missing}"] if missing else []
    if not ctx.cwd.is_dir():
        problems.append(f"working directory does not exist: {ctx.cwd}")
    return PlanInfo(lines=[f"run: {command}"], problems=problems)


# -- the kind's registration (mergegate.gates.Kind) -----------------------------------


@record(frozen=True)
class CommandSpec(GateSpec):
    kind: ClassVar[str] = "command"
    run: RunValue = ""


SPEC: type[CommandSpec] = CommandSpec


@functools.cache
def model() -> type[GateBase]:
    """The pydantic model of this kind's gates.yaml entries (built when the validator asks)."""
    from typing import Literal

    from mergegate.config import GateBase, RunSpec

    class CommandGate(GateBase):
        kind: Literal["command"] = "command"
        run: RunSpec

    return CommandGate


if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.gates import Kind
    from mergegate.gates import command as _self

    _checked: Kind = _self
