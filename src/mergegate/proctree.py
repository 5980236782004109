"""Finding and stopping every process a gate started, wherever it went (Linux).

A process group is not enough: `setsid -f`, a double-forking daemon or
`nohup … &` leave it, and SIGKILL to mergegate leaves everything running.
So, on Linux:

- mergegate makes itself a *child subreaper* (``PR_SET_CHILD_SUBREAPER``):
  an orphan anywhere below it is re-parented to mergegate instead of init, so
  every process a gate started stays a descendant of mergegate and can be
  found by walking ``/proc/<pid>/task/*/children`` down from us;
- every process started through ``ProcessManager.run`` carries a token in its
  environment (``MERGEGATE_PROC_TOKEN``), inherited by its descendants, which
  tells whose an orphan was; a descendant that cleared its environment
  inherits the token of the nearest tokened ancestor in the walk;
- a guardian process (``mergegate/_guardian.py``, in its own session) holds a
  pipe from mergegate: when the pipe closes without a goodbye (mergegate was
  SIGKILLed), it SIGKILLs every process carrying the run's token.

Elsewhere (macOS, or a kernel without ``children`` files) ``available()`` is
False and mergegate falls back to process groups; docs/troubleshooting.md
says what that leaves uncovered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from mergegate.record import record

TOKEN_VAR = "MERGEGATE_PROC_TOKEN"  # noqa: S105 - the name of a marker, not a secret
# Held while mergegate itself starts a helper process (git) and by every scan for leftovers:
# between fork and exec a child still shows mergegate's own environment, without a token,
# and a scan then would take it for a stray and stop it.
SPAWN_LOCK = threading.Lock()
OWN_PIDS: set[int] = set()  # mergegate's own helpers (git): never strays, never reaped here
_PR_SET_CHILD_SUBREAPER = 36


@record(frozen=True)
class Proc:
    """One descendant of mergegate as seen in /proc."""

    pid: int
    ppid: int
    sid: int
    zombie: bool
    tokens: frozenset[str]
    top: int  # the child of the walk's root this process is under (itself for a child)
    top_sid: int  # that child's session: the root's own session marks its own helpers
    start: bytes = b""  # start time in clock ticks since boot: tells a reused pid apart


def become_subreaper() -> bool:
    """Make orphans below us re-parent to us; False where the platform cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def available() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def child_token(environ: dict[str, str], token: str) -> str:
    """The token value for a new child: ours appended to any inherited (nested mergegate)."""
    inherited = environ.get(TOKEN_VAR, "").split()
    return " ".join([*inherited, token])


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (of every thread of it)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                found.extend(int(p) for p in fh.read().split())
        except OSError:
            continue
    return found


def _stat(pid: int) -> tuple[int, int, bool, bytes] | None:
    """(ppid, sid, zombie, start time) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[3]), fields[0] in (b"Z", b"X"), fields[19]


def _tokens(pid: int) -> frozenset[str] | None:
    """The tokens in a process's initial environment; None when unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:
        return None
    prefix = TOKEN_VAR.encode() + b"="
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            return frozenset(entry[len(prefix) :].decode("ascii", "replace").split())
    return frozenset()


def descendants(root: int) -> Iterator[Proc]:
    """Every process below ``root``, parents first; tokens are inherited down the walk."""
    stack: list[tuple[int, frozenset[str], int, int]] = [
        (c, frozenset(), c, -1) for c in children(root)
    ]
    seen: set[int] = set()
    while stack:
        pid, inherited, top, top_sid = stack.pop()
        stat = _stat(pid)
        if stat is None or pid in seen:
            continue
        seen.add(pid)
        ppid, sid, zombie, start = stat
        top_sid = sid if top == pid else top_sid
        tokens = (None if zombie else _tokens(pid)) or inherited
        yield Proc(pid, ppid, sid, zombie, tokens, top, top_sid, start)
        stack.extend((c, tokens, top, top_sid) for c in children(pid))


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue


def reap(pid: int) -> None:
    """Collect an adopted orphan's exit status so zombies do not pile up."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def start_guardian(run_token: str) -> subprocess.Popen[bytes] | None:
    """Start the process that kills our gates' processes if mergegate dies without cleaning up."""
    script = Path(__file__).with_name("_guardian.py")
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(script), TOKEN_VAR, run_token],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C or a kill of our group must not reach it
            close_fds=True,
            # tokened, so no other run's sweep takes it for a stray; inherits an outer run's token
            env={**os.environ, TOKEN_VAR: child_token(dict(os.environ), "guardian")},
        )
    except OSError:
        return None


def tell_guardian(guardian: subprocess.Popen[bytes], procs: Iterable[Proc]) -> None:
    """Name orphans without a token, so the guardian can find them if we die."""
    lines = b"".join(b"%d %s\n" % (p.pid, p.start) for p in procs)
    with contextlib.suppress(OSError, ValueError):
        assert guardian.stdin is not None
        guardian.stdin.write(lines)
        guardian.stdin.flush()


def stop_guardian(guardian: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Say goodbye (everything is already cleaned up) and collect it.

    The goodbye leaves nothing for it to do, so it is not waited for: a
    guardian still starting its interpreter (a short run) would cost the run
    that start-up. SIGKILL ends it at once wherever it is; that is safe, as
    mergegate has stopped every process itself by now.
    """
    with contextlib.suppress(OSError, ValueError):
        assert guardian.stdin is not None
        guardian.stdin.write(b"done\n")
        guardian.stdin.close()
    with contextlib.suppress(OSError):
        guardian.send_signal(signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # after SIGKILL: only a kernel hang
        guardian.wait(timeout)
