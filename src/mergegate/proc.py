"""The one place that starts processes.

Each child runs in its own session (its own process group) with stdin from
/dev/null. Its stdout and stderr go straight to a spool file (the kernel
writes, mergegate copies nothing), and only a bounded head and tail are read
back, so a gate printing gigabytes costs no memory. One watchdog thread owns
every deadline: on timeout, cancellation or runaway output it sends SIGTERM to
the group, waits a shared grace period, then SIGKILLs what is left,
grandchildren included.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mergegate.excerpt import HEAD_BYTES, TAIL_BYTES, Captured  # noqa: F401 (re-exported)
from mergegate.excerpt import read_captured as _read_captured

DEFAULT_GRACE = 3.0
DEFAULT_MAX_OUTPUT = 2 * 1024**3  # a gate printing more is stopped: it would fill the disk
POLL = 0.05


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
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._watchdog: threading.Thread | None = None
        self._closed = False

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
        """Run ``argv`` to completion (or deadline) and return its bounded result."""
        command = label or display_command(list(argv))
        started = time.monotonic()
        if not cwd.is_dir():
            return ProcResult(
                command, None, 0.0, start_error=f"working directory {cwd} does not exist"
            )
        if cancel is not None and cancel.is_set():
            return ProcResult(command, None, 0.0, cancelled=True)
        fd, spool_name = tempfile.mkstemp(prefix="out-", suffix=".log", dir=self.spool_dir)
        spool = Path(spool_name)
        try:
            try:
                proc = self._start(argv, cwd, env, fd)
            except OSError as exc:
                return ProcResult(command, None, 0.0, start_error=_start_error(argv, exc))
            finally:
                os.close(fd)
            live = _Live(proc, proc.pid, started + timeout, spool, cancel, self.max_output)
            self._register(live)
            try:
                returncode = proc.wait()
            finally:
                self._unregister(live)
            self._reap_group(live.pgid)
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
        """SIGTERM every live group now; the watchdog SIGKILLs stragglers after one grace."""
        now = time.monotonic()
        with self._lock:
            for live in self._live.values():
                live.cancelled = True
                self._term(live, now)
            self._wake.notify_all()

    def live_pgids(self) -> list[int]:
        with self._lock:
            return [live.pgid for live in self._live.values()]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        if self._own_spool:
            shutil.rmtree(self.spool_dir, ignore_errors=True)

    # -- internals --------------------------------------------------------------

    def _start(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], fd: int
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )

    def _register(self, live: _Live) -> None:
        with self._lock:
            self._live[live.pgid] = live
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(
                    target=self._watch, name="mergegate-watchdog", daemon=True
                )
                self._watchdog.start()
            self._wake.notify_all()

    def _unregister(self, live: _Live) -> None:
        with self._lock:
            self._live.pop(live.pgid, None)

    def _reap_group(self, pgid: int) -> None:
        """Stop what the leader left behind in its group (background grandchildren)."""
        if not _killpg(pgid, 0):
            return
        _killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            if not _killpg(pgid, 0):
                return
            time.sleep(0.02)
        _killpg(pgid, signal.SIGKILL)

    def _term(self, live: _Live, now: float) -> None:
        if live.kill_at is None:
            _killpg(live.pgid, signal.SIGTERM)
            live.kill_at = now + self.grace

    def _watch(self) -> None:
        with self._lock:
            while not self._closed:
                now = time.monotonic()
                for live in list(self._live.values()):
                    self._check(live, now)
                self._wake.wait(POLL if self._live else 1.0)

    def _check(self, live: _Live, now: float) -> None:
        if live.kill_at is not None:
            if now >= live.kill_at:
                _killpg(live.pgid, signal.SIGKILL)
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
