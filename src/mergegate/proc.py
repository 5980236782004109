"""The one place that starts processes.

Each child runs in its own session (its own process group) with stdin from
/dev/null. Its stdout and stderr go straight to a spool file (the kernel
writes, mergegate copies nothing), and only a bounded head and tail are read
back, so a gate printing gigabytes costs no memory. Children start with
``os.posix_spawn`` (``setsid``, file actions for the redirections, SIGPIPE and
SIGXFSZ back to default as ``subprocess`` does) when they run in our own
working directory; elsewhere, or where posix_spawn cannot, through
``subprocess.Popen`` with the same settings. One difference remains: glibc's
posix_spawn leaves its two internal signals (32 and 33) ignored in the child;
the programs that use them (glibc's own thread cancellation and setxid)
install their handlers when they need them.

One loop, the watchdog thread, owns every process: every deadline (on timeout,
cancellation or runaway output it sends SIGTERM to the group, waits a shared
grace period, then SIGKILLs what is left, grandchildren included) and, for
commands started with ``start``, the leader's exit too: it sleeps in a
selector on one pidfd per leader, so a finished command is noticed at once
and costs no thread. ``run`` is the blocking form for gates that compute in
Python between commands (their own thread waits; the watchdog still bounds it).

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
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path

from mergegate import proctree
from mergegate.excerpt import HEAD_BYTES, TAIL_BYTES, Captured  # noqa: F401 (re-exported)
from mergegate.excerpt import read_captured as _read_captured
from mergegate.record import record

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


@record(frozen=True)
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


Done = Callable[[ProcResult], None]


class _Live:
    """One command in flight (a plain class: a dataclass costs import time on every run)."""

    def __init__(
        self,
        command: str,
        started: float,
        deadline: float,
        spool: Path,
        cancel: threading.Event | None,
        max_output: int,
        done: Done | None,
    ) -> None:
        self.command, self.started, self.deadline = command, started, deadline
        self.spool, self.cancel, self.max_output = spool, cancel, max_output
        self.done = done  # set for ``start``: the watchdog reaps the leader and calls it
        self.pid = 0
        self.popen: subprocess.Popen[bytes] | None = None  # None when started with posix_spawn
        self.token = ""
        self.timed_out = self.cancelled = self.overflow = False
        self.kill_at: float | None = None
        self.pidfd: int | None = None
        self.released = False

    @property
    def pgid(self) -> int:
        return self.pid  # a session leader's group id is its pid

    def wait(self) -> int:
        """The leader's exit status once it exits (negative: killed by that signal)."""
        if self.popen is not None:
            return self.popen.wait()
        return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])

    def poll(self) -> int | None:
        """The leader's exit status, None while it runs."""
        if self.popen is not None:
            return self.popen.poll()
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        return os.waitstatus_to_exitcode(status) if pid else None

    def result(self, returncode: int) -> ProcResult:
        duration = time.monotonic() - self.started
        try:
            output = _read_captured(self.spool)
        except OSError as exc:  # the spool was removed under us: undecidable, so an error
            lost = f"its output could not be read back: {exc.strerror or exc}"
            return ProcResult(self.command, returncode, duration, start_error=lost)
        return ProcResult(
            self.command,
            returncode,
            duration,
            output,
            timed_out=self.timed_out,
            cancelled=self.cancelled,
            output_overflow=self.overflow,
        )


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
        self._watchdog: threading.Thread | None = None
        self._selector: selectors.BaseSelector | None = None  # the watchdog's: pidfds, wake pipe
        self._wake_fd: int | None = None  # write end of the pipe that wakes the watchdog
        self._closed = False
        self._token = os.urandom(8).hex()  # not `secrets`: it costs 6 ms of imports
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
        live = self._launch(argv, cwd, env, timeout, cancel, label, None)
        if isinstance(live, ProcResult):
            return live
        try:
            returncode = live.wait()
        finally:
            self._forget(live)
        return self._finish(live, returncode)

    def start(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        done: Done,
        cancel: threading.Event | None = None,
        label: str | None = None,
    ) -> None:
        """``run`` without waiting: ``done`` gets the same result, on the watchdog's thread.

        It is called at once (on this thread) when the command cannot start,
        and only once every process the command started is gone; it must be
        quick (hand the result to a queue).
        """
        live = self._launch(argv, cwd, env, timeout, cancel, label, done)
        if isinstance(live, ProcResult):
            done(live)

    def stop_all(self) -> None:
        """SIGTERM every live command now; the watchdog SIGKILLs stragglers after one grace."""
        now = time.monotonic()
        with self._lock:
            for live in self._live.values():
                live.cancelled = True
                self._term(live, now)
            self._poke()

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
            self._poke()
        self._stop(lambda: self._scan(self._token), time.monotonic() + self.grace)
        if self._guardian is not None:
            proctree.stop_guardian(self._guardian)
            self._guardian = None
        if self._own_spool:
            shutil.rmtree(self.spool_dir, ignore_errors=True)

    # -- starting and finishing one command ----------------------------------------

    def _launch(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        cancel: threading.Event | None,
        label: str | None,
        done: Done | None,
    ) -> _Live | ProcResult:
        """Start a command, or say at once why it did not start."""
        command = label or display_command(list(argv))
        started = time.monotonic()
        if not cwd.is_dir():
            return ProcResult(
                command, None, 0.0, start_error=f"working directory {cwd} does not exist"
            )
        if (cancel is not None and cancel.is_set()) or self._closed:
            return ProcResult(command, None, 0.0, cancelled=True)
        fd, spool_name = tempfile.mkstemp(prefix="out-", suffix=".log", dir=self.spool_dir)
        spool, deadline = Path(spool_name), started + timeout
        live = _Live(command, started, deadline, spool, cancel, self.max_output, done)
        try:
            self._start(live, argv, cwd, env, fd)
        except OSError as exc:
            _unlink(live.spool)
            return ProcResult(command, None, 0.0, start_error=_start_error(argv, exc))
        finally:
            os.close(fd)
        return live

    def _start(
        self, live: _Live, argv: Sequence[str], cwd: Path, env: Mapping[str, str], fd: int
    ) -> None:
        with self._lock:  # a scan never mistakes a leader that exits at once for an orphan
            self._seq += 1
            live.token = f"{self._token}.{self._seq}"
            child_env = dict(env)
            child_env[proctree.TOKEN_VAR] = proctree.child_token(
                child_env, f"{self._token} {live.token}"
            )
            self._ensure_guardian()
            live.pid, live.popen = _spawn(argv, cwd, child_env, fd)
            self._leaders.add(live.pid)
            if live.cancel is not None:
                self._busy[live.cancel] = self._busy.get(live.cancel, 0) + 1
            self._register(live)

    def _ensure_guardian(self) -> None:
        if self._tree and self._guardian is None:
            self._guardian = proctree.start_guardian(self._token)

    def _forget(self, live: _Live) -> None:
        """The leader is reaped: it is no longer ours to watch or to spare from reaping."""
        with self._lock:
            self._live.pop(live.pgid, None)
            self._leaders.discard(live.pgid)

    def _finish(self, live: _Live, returncode: int, leftovers: bool = True) -> ProcResult:
        """Stop what the reaped leader left behind, then read its output and drop the spool."""
        try:
            if leftovers:
                # they get what is left of the grace, or a grace of their own
                deadline = (
                    live.kill_at if live.kill_at is not None else time.monotonic() + self.grace
                )
                self._stop(lambda: self._unit(live), deadline)
            return live.result(returncode)
        finally:
            self._release(live)

    def _release(self, live: _Live) -> None:
        """The command no longer counts as busy; its spool goes. Once only."""
        if live.released:
            return
        live.released = True
        if live.cancel is not None:
            with self._lock:
                self._busy[live.cancel] -= 1
        _unlink(live.spool)

    def _hand_over(self, live: _Live, result: ProcResult) -> None:
        done, live.done = live.done, None  # once only
        if done is not None:
            done(result)

    def _leader_exited(self, live: _Live) -> None:
        """On the watchdog: a ``start``ed leader's pidfd is readable."""
        returncode = live.poll()
        if returncode is None:
            return
        self._unwatch(live)
        self._forget(live)
        if self._unit(live):  # stopping what it left behind may take a grace: not on this loop
            threading.Thread(target=self._conclude, args=(live, returncode), daemon=True).start()
        else:
            self._conclude(live, returncode, leftovers=False)

    def _exited(self, live: _Live) -> None:
        """``_leader_exited``; the loop survives whatever it raises (every deadline needs it)."""
        try:
            self._leader_exited(live)
        except Exception as exc:  # fail closed: the command's result is an error
            self._unwatch(live)
            self._forget(live)
            self._release(live)
            lost = f"mergegate lost track of the command: {type(exc).__name__}: {exc}"
            duration = time.monotonic() - live.started
            self._hand_over(live, ProcResult(live.command, None, duration, start_error=lost))

    def _conclude(self, live: _Live, returncode: int, leftovers: bool = True) -> None:
        self._hand_over(live, self._finish(live, returncode, leftovers))

    def _wait_apart(self, live: _Live) -> None:
        """Without pidfds, a ``start``ed leader is waited for by a thread of its own."""

        def wait() -> None:
            try:
                returncode = live.wait()
            finally:
                self._forget(live)
            self._conclude(live, returncode)

        threading.Thread(target=wait, name="mergegate-wait", daemon=True).start()

    # -- the watchdog ------------------------------------------------------------------

    def _register(self, live: _Live) -> None:
        with self._lock:
            self._live[live.pgid] = live
            if self._watchdog is None or not self._watchdog.is_alive():
                self._selector = selectors.DefaultSelector()
                read_fd, self._wake_fd = os.pipe()
                os.set_blocking(read_fd, False)
                self._selector.register(read_fd, selectors.EVENT_READ, None)
                self._watchdog = threading.Thread(
                    target=self._watch,
                    args=(self._selector,),
                    name="mergegate-watchdog",
                    daemon=True,
                )
                self._watchdog.start()
            if live.done is not None:
                self._watch_leader(live, self._selector)
            self._poke()

    def _watch_leader(self, live: _Live, selector: selectors.BaseSelector | None) -> None:
        try:
            live.pidfd = os.pidfd_open(live.pid)
        except (AttributeError, OSError):  # no pidfds here (not Linux, or a kernel before 5.3)
            self._wait_apart(live)
            return
        assert selector is not None
        selector.register(live.pidfd, selectors.EVENT_READ, live)

    def _unwatch(self, live: _Live) -> None:
        if live.pidfd is not None and self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(live.pidfd)
            os.close(live.pidfd)
            live.pidfd = None

    def _poke(self) -> None:
        """Wake the watchdog so it looks again now (a new command, a stop, close)."""
        if self._wake_fd is not None:
            with contextlib.suppress(OSError):  # a full pipe already wakes it
                os.write(self._wake_fd, b"x")

    def _unit(self, live: _Live) -> list[int]:
        """Live processes of one command: by token where the platform allows, else its group."""
        if self._tree:
            if self._nothing_adopted():
                return []
            return self._scan(live.token, strays=not self._live)
        return [-live.pgid] if _killpg(live.pgid, 0) else []

    def _nothing_adopted(self) -> bool:
        """True when every child of ours is a leader we still track, or the guardian.

        A dead leader's children are re-parented to us (the subreaper) before
        its exit can be seen, so whatever a finished command left behind is
        below a child we did not start: without one, the walk of the whole
        tree (the costly part of finishing a command) finds nothing.
        """
        with self._lock:
            known = set(self._leaders)
            if self._guardian is not None:
                known.add(self._guardian.pid)
            return set(proctree.children(os.getpid())) <= known

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

    def _watch(self, selector: selectors.BaseSelector) -> None:
        """The loop: check every deadline, then sleep until a leader exits or the next look."""
        try:
            while (wait := self._look()) is not None:
                for key, _ in selector.select(wait):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            os.read(key.fd, 4096)  # drain the wake-ups
                    else:
                        self._exited(key.data)
        finally:
            with self._lock:
                for key in list(selector.get_map().values()):
                    if key.data is None:
                        os.close(key.fd)
                selector.close()
                if self._wake_fd is not None:
                    os.close(self._wake_fd)
                    self._wake_fd = None

    def _look(self) -> float | None:
        """One pass over the live commands; how long to sleep next, None once closed."""
        with self._lock:
            if self._closed:
                return None
            now = time.monotonic()
            for live in list(self._live.values()):
                self._check(live, now)
            if self._tree and self._live and now >= self._next_look:
                self._scan(self._token, strays=False)  # names new strays to the guardian
                self._next_look = now + LOOK_EVERY
            return POLL if self._live else 1.0

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


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


# what ``subprocess`` resets for a child (restore_signals): Python ignores SIGPIPE itself
_DEFAULT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)
# POSIX_SPAWN_SETSID and exec errors reported to the parent: glibc on Linux
_CAN_SPAWN = sys.platform.startswith("linux") and hasattr(os, "posix_spawn")


def _spawn(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], fd: int
) -> tuple[int, subprocess.Popen[bytes] | None]:
    """Start a session leader with stdin from /dev/null and stdout+stderr into ``fd``.

    posix_spawn has no working-directory action, so it serves commands that
    run where we are (the common case: the repository root); Popen the rest.
    """
    if _CAN_SPAWN and argv and _here(cwd):
        inherited = _inherited_fds()
        if inherited is not None:
            try:
                return _posix_spawn(list(argv), env, fd, inherited), None
            except OSError as exc:
                if exc.errno != errno.EBADF:  # an fd closed meanwhile: Popen closes them itself
                    raise
    popen = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=fd,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )
    return popen.pid, popen


def _here(cwd: Path) -> bool:
    try:
        return os.path.samestat(os.stat(cwd), os.stat("."))
    except OSError:
        return False


def _inherited_fds() -> list[int] | None:
    """Descriptors above stderr a child would inherit (close_fds closes them); None: unknown."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    found = []
    for name in names:
        fd = int(name)
        with contextlib.suppress(OSError):  # the listing's own descriptor, or closed since
            if fd > 2 and os.get_inheritable(fd):
                found.append(fd)
    return found


def _posix_spawn(argv: list[str], env: Mapping[str, str], fd: int, inherited: list[int]) -> int:
    """Popen's search: the first candidate that starts wins; else the first telling error."""
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, fd, 1),
        (os.POSIX_SPAWN_DUP2, fd, 2),
        *((os.POSIX_SPAWN_CLOSE, other) for other in inherited if other != fd),
    ]
    telling: OSError | None = None
    missing: OSError = FileNotFoundError(errno.ENOENT, "not found", argv[0])
    for exe in _candidates(argv[0], env):
        try:
            os.stat(exe)  # a PATH entry without it: exec would say ENOENT, so no child for it
            return os.posix_spawn(
                exe, argv, env, file_actions=actions, setsid=True, setsigdef=_DEFAULT_SIGNALS
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            missing = exc
        except OSError as exc:
            if exc.errno == errno.EBADF:
                raise
            telling = telling or exc
    raise telling or missing


def _candidates(name: str, env: Mapping[str, str]) -> list[str]:
    if os.path.dirname(name):
        return [name]
    return [os.path.join(d, name) for d in os.get_exec_path(env)]
