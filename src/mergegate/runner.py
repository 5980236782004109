"""Scheduling: gates in parallel up to --jobs, in needs order, with fail-fast and interrupt.

The main thread schedules, and results come back to it through one queue;
they come out in config order whatever finished first.

A `command` gate costs no thread: the main thread decides what it can
without running anything (`if_changed`, the result cache), hands the command
to the process manager's one loop (``ProcessManager.start``: posix_spawn, a
pidfd per leader, the same deadlines, cancellation, output cap and process
tree kills as every command), and judges the result when the loop hands it
back through the queue. Gates that compute in Python between commands
(tests, smoke, witness, semver, forbid), and a cached command gate whose key
needs `version_of` commands run, still run in a daemon thread each: their
commands go through the same loop, their thread waits.

A gate that does not come back is abandoned (recorded as timed out), but
never while the gate is still doing its own timeout handling: its processes
are bounded by the process manager (deadline + kill grace), so a gate with a
command in flight is waited for; work in Python is judged by the gate
thread's own CPU clock, the clock that bounded work (the regex engine's
timeout) also counts in, so a starved thread on a busy machine is never
mistaken for a stuck one. Only a thread that sits idle past deadline + grace
+ margin, or burns more CPU than its whole budget, is abandoned.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import field, replace

from mergegate import __version__
from mergegate.errors import GitError, write_crash_log
from mergegate.git import LazyBase, head_commit
from mergegate.plan import Selection, child_env, match_if_changed
from mergegate.proc import ProcessManager, ProcResult, display_command, shell_argv
from mergegate.record import record
from mergegate.redact import Redactor
from mergegate.results import GateResult, Outcome, RunResult, SkipCause, Status
from mergegate.spec import GateSpec as GateBase  # the run path works on compiled specs
from mergegate.spec import LoadedConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mergegate.cache import GateCache


@record
class Events:
    """Callbacks for a live display; called on the main thread."""

    started: Callable[[str, str], None] = lambda name, kind: None
    finished: Callable[[GateResult], None] = lambda result: None
    # once, when nothing has finished for a while: work the run needs later, done while
    # long gates run (not sooner: it would hold the GIL the gates' own threads need)
    waiting: Callable[[], None] = lambda: None


@record
class RunOptions:
    jobs: int = 1
    fail_fast: bool = False
    cache: bool = False  # reuse passes whose key is unchanged (mergegate.cache)
    commit: str | None = None  # HEAD at run start, when the caller knows it (else asked at the end)


def kind_of(gate: GateBase) -> str:
    return str(getattr(gate, "kind", "command"))


def redact_result(result: GateResult, redactor: Redactor) -> GateResult:
    """The one place where what a gate produced passes the secret filter."""
    r = redactor.redact
    details = redactor.redact_json(dict(result.details))
    return replace(
        result,
        reason=r(result.reason),
        details=details if isinstance(details, dict) else {},
        output_tail=r(result.output_tail),
        commands=tuple(r(c) for c in result.commands),
        annotations=tuple(
            replace(a, message=r(a.message), path=r(a.path) if a.path else a.path)
            for a in result.annotations
        ),
        description=r(result.description),
    )


def overrun_grace(timeout: float) -> float:
    """How long past its timeout (and the kill grace) a stuck gate may take before it is abandoned.

    Process gates come back on their own (the watchdog kills them); this catches
    work stuck in Python, such as a catastrophic regex or a huge API load.
    """
    return max(2.0, min(10.0, timeout / 10))


@record(frozen=True)
class _Ran:
    """A loop-run command gate's finished command, on its way to the main thread."""

    result: ProcResult
    cancel: threading.Event
    wall: float
    mono: float


_Item = GateResult | _Ran


@record
class _Running:
    thread: threading.Thread | None  # None: a command gate run by the process loop
    cancel: threading.Event
    started: float  # epoch seconds
    deadline: float  # monotonic
    abandon_after: float  # monotonic: deadline + kill grace + margin
    cpu_budget: float  # seconds of the thread's own CPU time it may use in all
    margin: float
    last_cpu: float | None = None
    idle_since: float | None = None  # monotonic; since when it has used no CPU and slept


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _thread_sample(thread: threading.Thread | None) -> tuple[float, bool] | None:
    """(CPU seconds used, running or waiting for a CPU) of a live thread, from /proc (Linux).

    None where the platform cannot tell, once the thread is gone, or without one.
    """
    if thread is None:
        return None
    try:
        with open(f"/proc/{os.getpid()}/task/{thread.native_id}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS, fields[0] == b"R"
    except (OSError, IndexError, ValueError):
        return None


@record
class Runner:
    loaded: LoadedConfig
    selection: Selection
    base: LazyBase
    environ: Mapping[str, str]
    procs: ProcessManager
    redactor: Redactor
    options: RunOptions = field(default_factory=RunOptions)
    events: Events = field(default_factory=Events)

    def __post_init__(self) -> None:
        self._done: queue.Queue[tuple[str, _Item]] = queue.Queue()
        self._interrupted = threading.Event()
        self._stopped_by: str | None = None
        self._keys: dict[str, str] = {}  # gate -> cache key, for gates that ran uncached
        self._passes: list[tuple[str, GateResult]] = []
        self._cache = self._open_cache() if self.options.cache else None

    def interrupt(self) -> None:
        """Called from a signal handler: stop everything, keep what finished."""
        self._interrupted.set()

    # -- scheduling -------------------------------------------------------------

    def run(self) -> RunResult:
        started_wall, started = time.time(), time.monotonic()
        gates = self.loaded.gates
        results: dict[str, GateResult] = {
            name: self._unselected(name)
            for name in self.selection.order
            if name not in self.selection.selected
        }
        pending = [n for n in self.selection.order if n in self.selection.selected]
        self._prefetch(pending)
        running: dict[str, _Running] = {}
        waiting: Callable[[], None] | None = self.events.waiting
        while (pending or running) and not self._interrupted.is_set():
            self._start_ready(pending, running, results, gates)
            if not running:
                if pending:  # nothing runs and nothing can start: the needs graph is broken
                    raise RuntimeError(f"scheduler stalled with {pending} pending")
                continue
            try:
                name, item = self._done.get(timeout=0.1)
            except queue.Empty:
                if waiting is not None:
                    waiting()
                    waiting = None
                self._abandon_overdue(running, results)
                continue
            if name in running:  # a result from an abandoned gate arrives too late: ignored
                self._finish(name, self._received(name, item), running, results)
        if self._interrupted.is_set():
            self._stop_everything(pending, running, results)
        base = self.base.resolved()  # never resolved just for the report
        return RunResult(
            gates=tuple(results[n] for n in self.selection.order),
            started=started_wall,
            duration=time.monotonic() - started,
            version=__version__,
            base=base.ref if base else self.base.requested,
            base_sha=base.sha if base else None,
            commit=self.options.commit or head_commit(self.loaded.root),
            interrupted=self._interrupted.is_set(),
            warnings=tuple(self.redactor.warnings()),
        )

    def _start_ready(
        self,
        pending: list[str],
        running: dict[str, _Running],
        results: dict[str, GateResult],
        gates: Mapping[str, GateBase],
    ) -> None:
        for name in list(pending):
            needs = gates[name].needs
            if any(n not in results for n in needs):
                continue  # a need is still pending or running
            failed = [n for n in needs if not _satisfies(results[n])]
            if failed or self._stopped_by:
                pending.remove(name)
                self._record(name, self._not_run(name, failed), results)
                continue
            if len(running) >= self.options.jobs:
                return
            pending.remove(name)
            running[name] = self._launch(name, gates[name])

    def _launch(self, name: str, gate: GateBase) -> _Running:
        cancel = threading.Event()
        self.events.started(name, kind_of(gate))
        timeout = self.loaded.timeout_of(gate)
        margin = overrun_grace(timeout)
        deadline = time.monotonic() + timeout
        entry = _Running(
            None,
            cancel,
            time.time(),
            deadline,
            abandon_after=deadline + self.procs.grace + margin,
            cpu_budget=timeout + self.procs.grace + margin,
            margin=margin,
        )
        if not self._in_loop(gate):
            target, label = self._execute, f"gate-{name}"
        elif self._prelude_waits(gate):  # its key or if_changed waits on git: not on this thread
            target, label = self._loop_command, f"key-{name}"
        else:
            self._loop_command(name, gate, cancel)
            return entry
        entry.thread = threading.Thread(
            target=target, args=(name, gate, cancel), name=label, daemon=True
        )
        entry.thread.start()
        return entry

    def _in_loop(self, gate: GateBase) -> bool:
        """A command gate's process runs in the process loop: no thread waits for it."""
        return kind_of(gate) == "command"

    def _prelude_waits(self, gate: GateBase) -> bool:
        """Deciding whether to run it asks git or runs version_of: a short thread does that
        and hands the command to the loop, so the scheduler keeps starting other gates."""
        return bool(gate.if_changed) or (self._cache is not None and gate.cache)

    def _loop_command(self, name: str, gate: GateBase, cancel: threading.Event) -> None:
        """Decide without running what we can, else start the command; the result is queued."""
        wall, mono = time.time(), time.monotonic()
        try:
            outcome = self._prelude(name, gate, cancel)
            if outcome is None:
                self._start_command(name, gate, cancel, wall, mono)
                return
        except Exception as exc:
            outcome = _crash_outcome(kind_of(gate), exc, self.redactor)
        self._done.put((name, self._conclude(name, gate, cancel, outcome, wall, mono)))

    def _start_command(
        self, name: str, gate: GateBase, cancel: threading.Event, wall: float, mono: float
    ) -> None:
        """What ``GateContext.run_spec`` does for the gate's `run:`, without waiting."""
        run = getattr(gate, "run")  # noqa: B009 - a command gate; GateBase does not declare it
        timeout = self.loaded.timeout_of(gate)
        self.procs.start(
            shell_argv(run) if isinstance(run, str) else list(run),
            cwd=self.loaded.cwd_of(gate),
            env=child_env(self.loaded, gate, self.environ),
            timeout=max(0.0, mono + timeout - time.monotonic()),
            cancel=cancel,
            label=display_command(run),
            done=lambda result: self._done.put((name, _Ran(result, cancel, wall, mono))),
        )

    def _received(self, name: str, item: _Item) -> GateResult:
        """A gate's result as it came back: a loop-run command is judged here."""
        if isinstance(item, GateResult):
            return item
        from mergegate.gates import command

        gate = self.loaded.gates[name]
        try:
            outcome = command.judge(item.result)
        except Exception as exc:
            outcome = _crash_outcome(kind_of(gate), exc, self.redactor)
        return self._conclude(name, gate, item.cancel, outcome, item.wall, item.mono)

    def _finish(
        self,
        name: str,
        result: GateResult,
        running: dict[str, _Running],
        results: dict[str, GateResult],
    ) -> None:
        entry = running.pop(name)
        if entry.cancel.is_set() and self._stopped_by and result.status is not Status.PASSED:
            result = replace(
                result,
                status=Status.SKIPPED,
                skip_cause=SkipCause.STOPPED,
                reason=f"stopped by --fail-fast after {self._stopped_by} failed",
            )
        self._record(name, result, results)
        if self.options.fail_fast and result.blocks and not self._stopped_by:
            self._stopped_by = name
            for other in running.values():
                other.cancel.set()

    def _abandon_overdue(
        self, running: dict[str, _Running], results: dict[str, GateResult]
    ) -> None:
        """A gate stuck far past its timeout is recorded as timed out, never waited for forever."""
        now = time.monotonic()
        for name, entry in list(running.items()):
            if not self._stuck(entry, now):
                continue
            entry.cancel.set()
            del running[name]
            timeout = self.loaded.timeout_of(self.loaded.gates[name])
            result = self._base_result(
                name,
                Status.TIMEOUT,
                f"did not finish within its timeout ({timeout:g}s) and was abandoned",
                started=entry.started,
                duration=time.time() - entry.started,
            )
            self._record(name, result, results)

    def _stuck(self, entry: _Running, now: float) -> bool:
        """Idle (no CPU, not runnable) a margin past deadline + grace, or over its CPU budget."""
        if now < entry.deadline or self.procs.busy(entry.cancel):
            entry.idle_since = None
            return False
        cpu, runnable = _thread_sample(entry.thread) or (None, False)
        if cpu is not None and cpu >= entry.cpu_budget:
            return True  # computing, but far longer than the gate's own bound allows
        if (cpu is not None and cpu != entry.last_cpu) or runnable:
            entry.last_cpu, entry.idle_since = cpu, None
            return False
        entry.idle_since = entry.idle_since or now
        return now >= entry.abandon_after and now - entry.idle_since >= entry.margin

    def _record(self, name: str, result: GateResult, results: dict[str, GateResult]) -> None:
        results[name] = result
        self.events.finished(result)

    def _stop_everything(
        self, pending: list[str], running: dict[str, _Running], results: dict[str, GateResult]
    ) -> None:
        for entry in running.values():
            entry.cancel.set()
        self.procs.stop_all()
        deadline = time.monotonic() + self.procs.grace + 2.0
        while running and time.monotonic() < deadline:
            try:
                name, item = self._done.get(timeout=0.1)
            except queue.Empty:
                continue
            if running.pop(name, None) is None:
                continue
            result = self._received(name, item)
            if result.status is not Status.PASSED:
                result = replace(
                    result,
                    status=Status.ERROR,
                    reason=f"interrupted while running ({result.reason})",
                )
            results[name] = result
        for name, entry in running.items():
            results[name] = self._base_result(
                name,
                Status.ERROR,
                "interrupted while running",
                started=entry.started,
                duration=time.time() - entry.started,
            )
        for name in pending:
            results[name] = self._base_result(name, Status.ERROR, "interrupted before it started")

    # -- one gate (in its thread) ------------------------------------------------

    def _execute(self, name: str, gate: GateBase, cancel: threading.Event) -> None:
        started_wall, started = time.time(), time.monotonic()
        try:
            outcome = self._decide(name, gate, cancel, started_wall, started)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"the gate returned {type(outcome).__name__}, not an Outcome")
        except Exception as exc:
            outcome = _crash_outcome(kind_of(gate), exc, self.redactor)
        self._done.put((name, self._conclude(name, gate, cancel, outcome, started_wall, started)))

    def _conclude(
        self,
        name: str,
        gate: GateBase,
        cancel: threading.Event,
        outcome: Outcome,
        started_wall: float,
        started: float,
    ) -> GateResult:
        """The gate's redacted result; a fresh pass is kept for the cache."""
        skip_cause = SkipCause.FILTER if outcome.status is Status.SKIPPED else None
        result = GateResult(
            name=name,
            kind=kind_of(gate),
            status=outcome.status,
            blocking=gate.blocking,
            duration=time.monotonic() - started,
            reason=outcome.reason,
            details=outcome.details,
            output_tail=outcome.output_tail,
            commands=outcome.commands,
            annotations=outcome.annotations,
            skip_cause=skip_cause,
            started=started_wall,
            description=gate.description,
        )
        redacted = redact_result(result, self.redactor)
        if (key := self._keys.get(name)) and not cancel.is_set():
            self._passes.append((key, redacted))  # kept by keep_passes once the run is judged
        return redacted

    def _decide(
        self, name: str, gate: GateBase, cancel: threading.Event, wall: float, mono: float
    ) -> Outcome:
        from mergegate.gates import GateContext, kind_module

        if (early := self._prelude(name, gate, cancel)) is not None:
            return early
        module = kind_module(kind_of(gate))
        ctx = GateContext(
            name=name,
            gate=gate,
            loaded=self.loaded,
            base=self.base,
            env=child_env(self.loaded, gate, self.environ),
            cwd=self.loaded.cwd_of(gate),
            timeout=self.loaded.timeout_of(gate),
            procs=self.procs,
            cancel=cancel,
            started_wall=wall,
            started_mono=mono,
        )
        outcome: Outcome = module.run(ctx)
        return outcome

    def _prelude(self, name: str, gate: GateBase, cancel: threading.Event) -> Outcome | None:
        """What decides a gate before it runs: no change it cares about, or a cached pass."""
        if gate.if_changed:
            skip = self._if_changed_skip(gate)
            if skip is not None:
                return skip
        return self._cache_lookup(name, gate, cancel)

    def keep_passes(self, final: RunResult) -> None:
        """Store this run's fresh passes, unless a gate changed the tree (then none)."""
        from mergegate.treeguard import RESULT_KIND

        if self._cache is None or self._interrupted.is_set():
            return
        if any(g.kind == RESULT_KIND and g.status is not Status.PASSED for g in final.gates):
            return  # a gate rewrote files: which one's pass would be a lie is not certain
        for key, result in self._passes:
            self._cache.store(key, result)  # only passes are kept

    def _prefetch(self, names: list[str]) -> None:
        """Resolve the base and list the cache's input files from the start, in the
        background, when gates' keys or if_changed will ask anyway (each is asked once,
        then kept, failures too): the first gates then wait for neither."""
        gates = [self.loaded.gates[n] for n in names]
        wanted = any(g.if_changed for g in gates)
        cache = self._cache
        if cache is not None and any(g.cache for g in gates):
            from mergegate.cache import needs_base

            wanted = wanted or any(needs_base(g) for g in gates)
            _background("inputs", cache.files)
        if wanted:
            _background("base", self.base.peek)

    def _open_cache(self) -> GateCache:
        from mergegate.cache import GateCache

        return GateCache(self.loaded, self.base, self.environ, self.procs)

    def _cache_lookup(self, name: str, gate: GateBase, cancel: threading.Event) -> Outcome | None:
        if self._cache is None:
            return None
        env = child_env(self.loaded, gate, self.environ)
        key = self._cache.key(name, gate, env, cancel)
        if key is None:
            return None
        hit = self._cache.lookup(key)
        if hit is None:
            self._keys[name] = key  # stored if it passes
        return hit

    def _if_changed_skip(self, gate: GateBase) -> Outcome | None:
        try:
            match = match_if_changed(gate, self.base)  # the one if_changed decision
        except GitError as exc:
            return Outcome.error(f"if_changed needs the base to tell what changed: {exc}")
        if match.matching:
            return None
        return Outcome(
            Status.SKIPPED,
            f"no change matches if_changed ({', '.join(gate.if_changed)}) "
            f"since {match.ref} ({match.sha[:12]})",
        )

    # -- results for gates that never ran ---------------------------------------

    def _base_result(
        self,
        name: str,
        status: Status,
        reason: str,
        cause: SkipCause | None = None,
        started: float | None = None,
        duration: float = 0.0,
    ) -> GateResult:
        gate = self.loaded.gates[name]
        return GateResult(
            name,
            kind_of(gate),
            status,
            gate.blocking,
            duration,
            reason,
            skip_cause=cause,
            started=started,
            description=gate.description,
        )

    def _unselected(self, name: str) -> GateResult:
        why = self.selection.why_not.get(name, "not selected")
        return self._base_result(name, Status.SKIPPED, why, SkipCause.SELECTION)

    def _not_run(self, name: str, failed_needs: list[str]) -> GateResult:
        if failed_needs:
            return self._base_result(
                name,
                Status.SKIPPED,
                f"needs {', '.join(failed_needs)}, which did not pass",
                SkipCause.NEEDS,
            )
        return self._base_result(
            name,
            Status.SKIPPED,
            f"not started: --fail-fast stopped after {self._stopped_by} failed",
            SkipCause.STOPPED,
        )


def _satisfies(result: GateResult) -> bool:
    """A need is met when it passed, or was skipped by a filter or the selection."""
    if result.status is Status.PASSED:
        return True
    return result.status is Status.SKIPPED and result.skip_cause in (
        SkipCause.FILTER,
        SkipCause.SELECTION,
    )


def _background(name: str, work: Callable[[], object]) -> None:
    """Run ``work`` on a daemon thread for what it keeps; its failure is kept there too."""

    def quietly() -> None:
        with contextlib.suppress(Exception):  # the gate that asks again gets the error
            work()

    threading.Thread(target=quietly, name=name, daemon=True).start()


def _crash_outcome(kind: str, exc: BaseException, redactor: Redactor) -> Outcome:
    import traceback  # only when a gate crashed

    text = redactor.redact("".join(traceback.format_exception(exc)))
    try:
        where = f"; crash log: {write_crash_log(text)}"
    except OSError:
        where = ""
    return Outcome.error(
        f"internal error in the {kind} gate: {type(exc).__name__}: {exc}{where}",
        details={"traceback": text[-4000:]},
    )
