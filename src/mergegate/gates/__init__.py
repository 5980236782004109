"""Gate kinds: one module per kind, and ``KINDS``, the one registry of them.

A kind module provides (the ``Kind`` protocol; each module checks itself
against it for mypy, since the registry imports nothing until a kind is used):

    SPEC: type[GateSpec]
        The frozen dataclass its gates compile to, defined in the kind's module
        (a subclass of mergegate.spec.GateSpec); the run path reads only this.
        A field may hold a nested spec (a dataclass named in the field's type,
        as semver's `api`): the compiler finds it there.

    def model() -> type[GateBase]
        The pydantic model that validates its gates.yaml entries, built inside
        the function (cached) from config.py's toolkit, so importing the kind
        never imports pydantic; called only by the validator (config.py derives
        the gate union and the schema from the registry), never on a warm run.

    def run(ctx: GateContext) -> Outcome
        Decide the gate. Start processes only through ``ctx.run_process`` /
        ``ctx.run_spec`` (they honour the gate's deadline, env, cwd and
        cancellation). Return an Outcome; raise nothing on purpose — an
        exception becomes an ``error`` result with a crash log.

    def plan(ctx: PlanContext) -> PlanInfo
        For --dry-run: what the gate would do (``lines``) and what would
        certainly block it (``problems``). Runs nothing.

Adding a kind is one module (here or anywhere importable) and one line in
``KINDS``: config, schema, plan cache, runner and --dry-run all find it
through this registry; config.py and spec.py name no kind.
"""

from __future__ import annotations

import importlib
import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from mergegate.proc import ProcessManager, ProcResult, display_command, shell_argv
from mergegate.record import record

if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.git import LazyBase
    from mergegate.results import Outcome
    from mergegate.spec import GateSpec, LoadedConfig

KINDS: dict[str, str] = {  # kind name -> its module, imported when first used
    "command": "mergegate.gates.command",
    "tests": "mergegate.gates.tests",
    "smoke": "mergegate.gates.smoke",
    "witness": "mergegate.gates.witness",
    "semver": "mergegate.gates.semver",
    "forbid": "mergegate.gates.forbid",
}
DEFAULT_KIND = "command"  # the kind of a gate written without `kind:`

G = TypeVar("G", bound="GateSpec", covariant=True)


class Kind(Protocol):
    """What a kind module provides; ``_: Kind = <module>`` in each lets mypy check it."""

    @property
    def SPEC(self) -> type[GateSpec]: ...
    def model(self) -> type[GateBase]: ...
    def run(self, ctx: GateContext[Any]) -> Outcome: ...
    def plan(self, ctx: PlanContext[Any]) -> PlanInfo: ...


def kind_module(kind: str) -> Kind:
    """The module implementing ``kind`` (a KeyError for a kind that is not registered)."""
    return cast("Kind", importlib.import_module(KINDS[kind]))


@record(frozen=True)
class PlanInfo:
    lines: Sequence[str] = ()  # resolved commands, files found, versions read
    problems: Sequence[str] = ()  # what would certainly block: missing exe, empty glob


@record
class PlanContext(Generic[G]):
    name: str
    gate: G
    loaded: LoadedConfig
    base: LazyBase
    env: Mapping[str, str]  # the full environment a child would get
    cwd: Path

    @property
    def root(self) -> Path:
        return self.loaded.root


@record
class GateContext(Generic[G]):
    """Everything a gate needs to decide, and the only way it starts processes."""

    name: str
    gate: G
    loaded: LoadedConfig
    base: LazyBase
    env: Mapping[str, str]
    cwd: Path
    timeout: float
    procs: ProcessManager
    cancel: threading.Event
    started_wall: float = field(default_factory=time.time)
    started_mono: float = field(default_factory=time.monotonic)

    @property
    def root(self) -> Path:
        return self.loaded.root

    @property
    def remaining(self) -> float:
        return max(0.0, self.started_mono + self.timeout - time.monotonic())

    def run_process(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        timeout: float | None = None,
        label: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> ProcResult:
        """Run argv in its own process group; the deadline is the gate's unless given."""
        env = {**self.env, **(extra_env or {})}
        return self.procs.run(
            argv,
            cwd=cwd or self.cwd,
            env=env,
            timeout=self.remaining if timeout is None else timeout,
            cancel=self.cancel,
            label=label,
        )

    def run_spec(
        self,
        run: str | Sequence[str],
        *,
        cwd: Path | None = None,
        timeout: float | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> ProcResult:
        """Run a gates.yaml `run:` value: a string through bash, a list directly."""
        argv = shell_argv(run) if isinstance(run, str) else list(run)
        return self.run_process(
            argv, cwd=cwd, timeout=timeout, label=display_command(run), extra_env=extra_env
        )


def proc_outcome_status(result: ProcResult) -> str:
    """passed / failed / timeout / error for a finished process, as a Status value."""
    if result.timed_out:
        return "timeout"
    if result.start_error or result.cancelled or result.output_overflow:
        return "error"
    return "passed" if result.returncode == 0 else "failed"


def missing_executable(run: str | Sequence[str], env: Mapping[str, str], cwd: Path) -> str | None:
    """For dry-run: the executable a command names that is not on PATH (or None)."""
    if isinstance(run, str):
        import shlex

        try:
            words = shlex.split(run, comments=True)
        except ValueError:
            return None
        if not words or any(c in run for c in "|;&$`()<>\n") or "=" in words[0]:
            return None  # not a simple command: bash decides
        exe = words[0]
        if exe in _BASH_BUILTINS:
            return None
    else:
        exe = run[0]
    if "/" in exe:
        path = Path(exe) if os.path.isabs(exe) else cwd / exe
        return None if os.access(path, os.X_OK) else exe
    return None if shutil.which(exe, path=env.get("PATH")) else exe


_BASH_BUILTINS = frozenset(
    "cd echo exit export false printf pwd read set shift source test true type ulimit umask "
    "unset wait [ . : command eval exec".split()
)
