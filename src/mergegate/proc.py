"""The one place that starts processes.

Each child runs in its own session (its own process group) with stdin from
/dev/null. Its stdout and stderr go straight to a spool file (the kernel
writes, mergegate copies nothing), and only a bounded head and tail are read
back, so a gate printing gigabytes costs no memory. One watchdog thread owns
every deadline: on timeout, cancellation or runaway output it sends SIGTERM to
the group, waits a shared grace period, then SIGKILLs what is left,
grandchildren included.

No process outlives the command that started it: when the leader exits,
whatever it left behind (in its group or not: `setsid`, daemons; see
``proctree``) gets SIGTERM, and SIGKILL once the grace is over. The grace is
waited only while something is alive, and a command already past its deadline
gets no second one: deadline + grace bounds it. ``close`` stops every process
still left before the caller writes reports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mergegate import proctree
from mergegate.excerpt import HEAD_BYTES, TAIL_BYTES, Captured  # noqa: F401 (re-exported)
from mergegate.excerpt import read_captured as _read_captured

DEFAULT_GRACE = 3.0
DEFAULT_MAX_OUTPUT = 2 * 1024**3  # a gate printing more is stopped: it would fill the disk
POLL = 0.05
LOOK_EVERY = 0.5  # while commands run, how often orphans that dropped their token are sought
KILL_WAIT = 5.0  # after SIGKILL, how long to look for processes still being torn down


def shell_argv(command: str) -> list[str]:
    """A `run:` string runs like a GitHub Actions step: bash, -e, pipefail."""
    return ["bash", "-e", "-o", "pipefail", "-c", command]


def display_command(run: str | Sequence[str]) -> str:
    if isinstance(run, str):
        return run
    import shlex

    return shlex.join(run)


@dataclass(frozen=True)
class ProcResult:
    command: str
    returncode: int | None  # None when the process never started
    duration: float
    output: Captured = field(default_factory=Captured)
    timed_out: bool = False
    cancelled: bool = False
    output_overflow: bool = False
    start_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.cancelled or self.start_error)

    def describe_exit(self) -> str:
        if self.start_error:
            return self.start_error
        if self.timed_out:
            return "timed out"
        if self.cancelled:
            return "stopped (run interrupted)"
        if self.output_overflow:
            return "stopped: output exceeded the limit"
        rc = self.returncode
        if rc is not None and rc < 0:
            try:
                return f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                return f"killed by signal {-rc}"
        return f"exit code {rc}"


@dataclass
class _Live:
    proc: subprocess.Popen[bytes]
    pgid: int
    token: str
    deadline: float
    spool: Path
    cancel: threading.Event | None
    max_output: int
    timed_out: bool = False
    cancelled: bool = False
    overflow: bool = False
    kill_at: float | None = None


def _killpg(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it has no members left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProcessManager:
    """Starts children, tracks the live ones, and stops them on deadline or on demand."""

    def __init__(
        self,
        spool_dir: Path | None = None,
        *,
        grace: float = DEFAULT_GRACE,
        max_output: int = DEFAULT_MAX_OUTPUT,
    ) -> None:
        self._own_spool = spool_dir is None
        self.spool_dir = spool_dir or Path(tempfile.mkdtemp(prefix="mergegate-"))
        self.grace = grace
        self.max_output = max_output
        self._live: dict[int, _Live] = {}
        # re-entrant: the watchdog holds it while a scan (which takes it too) runs
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._watchdog: threading.Thread | None = None
        self._closed = False
        self._inflight = 0  # run() calls between start and reading their spool
        self._token = secrets.token_hex(8)
        self._seq = 0
        self._leaders: set[int] = set()  # started by us and not yet waited for: never reaped here
        self._busy: dict[threading.Event, int] = {}  # commands in flight per cancel event
        self._told: set[int] = set()  # strays already named to the guardian
        self._next_look = 0.0  # monotonic: when the watchdog next looks for strays
        self._tree = proctree.become_subreaper() and proctree.available()
        self._guardian: subprocess.Popen[bytes] | None = None

    # -- public -----------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        cancel: threading.Event | None = None,
        label: str | None = None,
    ) -> ProcResult:
        """Run ``argv`` to completion (or deadline) and return its bounded result.

        Returns only once every process it started is gone.
        """
        command = label or display_command(list(argv))
        started = time.monotonic()
        if not cwd.is_dir():
            return ProcResult(
                command, None, 0.0, start_error=f"working directory {cwd} does not exist"
            )
        with self._lock:  # close() waits for this run to read its spool before removing it
            if (cancel is not None and cancel.is_set()) or self._closed:
                return ProcResult(command, None, 0.0, cancelled=True)
            self._inflight += 1
        try:
            return self._run_spooled(argv, command, cwd, env, started, timeout, cancel)
        finally:
            with self._lock:
                self._inflight -= 1
                self._wake.notify_all()

    def _run_spooled(
        self,
        argv: Sequence[str],
        command: str,
        cwd: Path,
        env: Mapping[str, str],
        started: float,
        timeout: float,
        cancel: threading.Event | None,
    ) -> ProcResult:
        fd, spool_name = tempfile.mkstemp(prefix="out-", suffix=".log", dir=self.spool_dir)
        spool = Path(spool_name)
        try:
            try:
                live = self._start(argv, cwd, env, fd, started + timeout, spool, cancel)
            except OSError as exc:
                return ProcResult(command, None, 0.0, start_error=_start_error(argv, exc))
            finally:
                os.close(fd)
            returncode = self._wait(live)
            return ProcResult(
                command,
                returncode,
                time.monotonic() - started,
                _read_captured(spool),
                timed_out=live.timed_out,
                cancelled=live.cancelled,
                output_overflow=live.overflow,
            )
        finally:
            with contextlib.suppress(OSError):
                spool.unlink()

    def stop_all(self) -> None:
        """SIGTERM every live command now; the watchdog SIGKILLs stragglers after one grace."""
        now = time.monotonic()
        with self._lock:
            for live in self._live.values():
                live.cancelled = True
                self._term(live, now)
            self._wake.notify_all()

    def busy(self, cancel: threading.Event) -> bool:
        """True while a command started with ``cancel`` has not returned (it is bounded here)."""
        with self._lock:
            return self._busy.get(cancel, 0) > 0

    def live_pgids(self) -> list[int]:
        with self._lock:
            return [live.pgid for live in self._live.values()]

    def close(self) -> None:
        """Refuse new commands, stop every process still left (within one grace), clean up.

        Reports are written after this returns, so nothing a gate started can
        rewrite them afterwards.
        """
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        self._stop(lambda: self._scan(self._token), time.monotonic() + self.grace)
        self._await_runs(time.monotonic() + self.grace + KILL_WAIT)
        if self._guardian is not None:
            proctree.stop_guardian(self._guardian)
            self._guardian = None
        if self._own_spool:
            shutil.rmtree(self.spool_dir, ignore_errors=True)

    # -- internals --------------------------------------------------------------

    def _await_runs(self, deadline: float) -> None:
        """Let runs whose processes are gone read their spool files (bounded by ``deadline``)."""
        with self._lock:
            while self._inflight and (left := deadline - time.monotonic()) > 0:
                self._wake.wait(left)

    def _start(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        fd: int,
        deadline: float,
        spool: Path,
        cancel: threading.Event | None,
    ) -> _Live:
        with self._lock:  # a scan never mistakes a leader that exits at once for an orphan
            self._seq += 1
            token = f"{self._token}.{self._seq}"
            child_env = dict(env)
            child_env[proctree.TOKEN_VAR] = proctree.child_token(
                child_env, f"{self._token} {token}"
            )
            self._ensure_guardian()
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
            self._leaders.add(proc.pid)
            if cancel is not None:
                self._busy[cancel] = self._busy.get(cancel, 0) + 1
            live = _Live(proc, proc.pid, token, deadline, spool, cancel, self.max_output)
            self._register(live)
        return live

    def _ensure_guardian(self) -> None:
        if self._tree and self._guardian is None:
            self._guardian = proctree.start_guardian(self._token)

    def _wait(self, live: _Live) -> int:
        try:
            returncode = live.proc.wait()
        finally:
            with self._lock:
                self._live.pop(live.pgid, None)
                self._leaders.discard(live.pgid)
        # what the leader left behind gets what is left of the grace, or a grace of its own
        deadline = live.kill_at if live.kill_at is not None else time.monotonic() + self.grace
        try:
            self._stop(lambda: self._unit(live), deadline)
        finally:
            if live.cancel is not None:
                with self._lock:
                    self._busy[live.cancel] -= 1
        return returncode

    def _register(self, live: _Live) -> None:
        with self._lock:
            self._live[live.pgid] = live
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(
                    target=self._watch, name="mergegate-watchdog", daemon=True
                )
                self._watchdog.start()
            self._wake.notify_all()

    def _unit(self, live: _Live) -> list[int]:
        """Live processes of one command: by token where the platform allows, else its group."""
        if self._tree:
            return self._scan(live.token, strays=not self._live)
        return [-live.pgid] if _killpg(live.pgid, 0) else []

    def _scan(self, token: str, *, strays: bool = True) -> list[int]:
        """Live descendants carrying ``token``; reaps adopted orphans that have exited.

        A stray (an orphan that cleared its environment) has no token: it is
        counted only when no other command could own it (``strays``).
        """
        if not self._tree:
            return []
        me, my_sid = os.getpid(), os.getsid(0)
        guardian = self._guardian.pid if self._guardian else None
        found, new_strays = [], []
        with self._lock, proctree.SPAWN_LOCK:  # no helper of ours is between fork and exec
            for p in proctree.descendants(me):
                if p.pid in proctree.OWN_PIDS:
                    continue  # git started by git.py: it collects its own exit status
                ours = p.top == guardian or p.top_sid == my_sid
                if p.zombie:
                    if p.ppid == me and not ours and p.pid not in self._leaders:
                        proctree.reap(p.pid)
                    continue
                stray = not p.tokens and not ours
                if stray and p.pid not in self._told:
                    new_strays.append(p)
                if token in p.tokens or (strays and stray):
                    found.append(p.pid)
            self._tell(new_strays)
        return found

    def _tell(self, strays: list[proctree.Proc]) -> None:
        """The guardian cannot find a stray by token: give it the pid while we can."""
        if strays and self._guardian is not None:
            proctree.tell_guardian(self._guardian, strays)
            self._told.update(p.pid for p in strays)

    def _stop(self, find: Callable[[], list[int]], deadline: float) -> None:
        """SIGTERM what ``find`` returns until it is empty or the deadline passes, then SIGKILL."""
        termed: set[int] = set()
        pids = find()
        while pids and time.monotonic() < deadline:
            proctree.signal_all(set(pids) - termed, signal.SIGTERM)
            termed.update(pids)
            time.sleep(0.02)
            pids = find()
        give_up = time.monotonic() + KILL_WAIT
        while pids and time.monotonic() < give_up:
            proctree.signal_all(pids, signal.SIGKILL)
            time.sleep(0.01)
            pids = find()

    def _signal_unit(self, live: _Live, sig: int) -> None:
        _killpg(live.pgid, sig)
        if self._tree:
            proctree.signal_all(self._scan(live.token, strays=False), sig)

    def _term(self, live: _Live, now: float) -> None:
        if live.kill_at is None:
            self._signal_unit(live, signal.SIGTERM)
            live.kill_at = now + self.grace

    def _watch(self) -> None:
        with self._lock:
            while not self._closed:
                now = time.monotonic()
                for live in list(self._live.values()):
                    self._check(live, now)
                if self._tree and self._live and now >= self._next_look:
                    self._scan(self._token, strays=False)  # names new strays to the guardian
                    self._next_look = now + LOOK_EVERY
                self._wake.wait(POLL if self._live else 1.0)

    def _check(self, live: _Live, now: float) -> None:
        if live.kill_at is not None:
            if now >= live.kill_at:
                self._signal_unit(live, signal.SIGKILL)
            return
        if now >= live.deadline:
            live.timed_out = True
        elif live.cancel is not None and live.cancel.is_set():
            live.cancelled = True
        elif _size(live.spool) > live.max_output:
            live.overflow = True
        else:
            return
        self._term(live, now)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _start_error(argv: Sequence[str], exc: OSError) -> str:
    exe = argv[0] if argv else "(empty command)"
    if isinstance(exc, FileNotFoundError):
        return f"executable not found: {exe}"
    if isinstance(exc, PermissionError):
        return f"not executable (permission denied): {exe}"
    if exc.errno == errno.ENOEXEC:
        return f"cannot execute {exe}: not a binary and no #! line"
    return f"could not start {exe}: {exc.strerror or exc}"
