"""The guardian: kills a run's processes when mergegate dies without cleaning up (Linux).

Started by ``proctree.start_guardian`` as ``python -I -S _guardian.py VAR TOKEN``
in its own session, with a pipe from mergegate on stdin. mergegate writes
``done`` when it has stopped everything itself, and ``PID STARTTIME`` for each
orphan it adopted that carries no token (it cleared its environment); end of
file without ``done`` means mergegate was killed (SIGKILL, OOM killer). Then
every process whose environment carries TOKEN in VAR, every reported orphan
still alive (same start time: not a reused pid), and everything below them, is
frozen with SIGSTOP (so nothing forks away while we look), looked for again
until no new one appears, and SIGKILLed.

Standard library only, imported by path: it must start fast and must not
depend on mergegate's own imports working.
"""

from __future__ import annotations

import os
import signal
import sys
import time

ROUNDS_LIMIT = 200  # bounds a fork bomb; each round freezes what it finds


def _snapshot() -> dict[int, tuple[int, bytes]]:
    """pid -> (ppid, start time) for every process we can see."""
    table: dict[int, tuple[int, bytes]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            table[int(name)] = (int(fields[1]), fields[19])
        except (OSError, IndexError, ValueError):
            continue
    return table


def _tokened(pid: int, needle: bytes, token: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:
        return False
    for entry in environ.split(b"\0"):
        if entry.startswith(needle):
            return token in entry[len(needle) :].decode("ascii", "replace").split()
    return False


def _targets(var: str, token: str, me: int, adopted: dict[int, bytes]) -> set[int]:
    table = _snapshot()
    needle = var.encode() + b"="
    found = {pid for pid in table if pid != me and _tokened(pid, needle, token)}
    found |= {pid for pid, start in adopted.items() if table.get(pid, (0, b""))[1] == start}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = list(found)
    while stack:  # everything below a tokened process, tokened or not
        for child in children.get(stack.pop(), ()):
            if child not in found and child != me:
                found.add(child)
                stack.append(child)
    return found


def _signal(pids: set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            continue


def sweep(var: str, token: str, adopted: dict[int, bytes]) -> None:
    me = os.getpid()
    frozen: set[int] = set()
    for _ in range(ROUNDS_LIMIT):
        new = _targets(var, token, me, adopted) - frozen
        if not new:
            break
        _signal(new, signal.SIGSTOP)
        frozen |= new
        time.sleep(0.01)  # let the stops land before looking for what they forked
    _signal(frozen, signal.SIGKILL)
    _signal(frozen, signal.SIGCONT)  # a stopped process still dies of SIGKILL; belt and braces


def main(argv: list[str]) -> int:
    var, token = argv[1], argv[2]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    adopted: dict[int, bytes] = {}
    for line in sys.stdin.buffer:
        words = line.split()
        if words == [b"done"]:
            return 0
        if len(words) == 2 and words[0].isdigit():
            adopted[int(words[0])] = words[1]
    sweep(var, token, adopted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
