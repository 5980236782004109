"""The process chokepoint: process groups, timeouts, grandchildren, bounded output."""

from __future__ import annotations

import errno
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mergegate.proc import ProcessManager, ProcResult, shell_argv


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z"


def assert_gone(*pids: int, within: float = 30.0) -> None:
    """Every pid is gone (or a zombie) within ``within`` seconds: a bound on a hang, not a race."""
    deadline = time.monotonic() + within
    while any(is_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if is_alive(p)]


def wait_for_file(path: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written")


def test_exit_code_and_output(tmp_path: Path) -> None:
    pm = ProcessManager(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    result = pm.run(
        shell_argv("echo out; echo err >&2; exit 4"), cwd=tmp_path, env=os.environ, timeout=30
    )
    assert result.returncode == 4
    assert not result.ok
    assert result.output.text() == "out\nerr\n"
    assert result.describe_exit() == "exit code 4"
    assert list((tmp_path / "spool").iterdir()) == []  # spool removed


def test_stdin_is_devnull(tmp_path: Path) -> None:
    pm = ProcessManager()
    result = pm.run(shell_argv("cat; echo done"), cwd=tmp_path, env=os.environ, timeout=60)
    assert result.ok
    assert result.output.text() == "done\n"
    pm.close()


def test_missing_executable_is_a_start_error(tmp_path: Path) -> None:
    pm = ProcessManager()
    result = pm.run(["definitely-not-a-command-xyz"], cwd=tmp_path, env=os.environ, timeout=60)
    assert result.returncode is None
    assert result.start_error == "executable not found: definitely-not-a-command-xyz"
    pm.close()


def test_timeout_kills_the_grandchild(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5)
    pidfile = tmp_path / "grandchild.pid"
    result = pm.run(
        shell_argv(f"sleep 300 & echo $! > {pidfile}; wait"),
        cwd=tmp_path,
        env=os.environ,
        timeout=5.0,  # long enough for bash to write the pid first, even on a busy machine
    )
    assert result.timed_out
    assert result.describe_exit() == "timed out"
    grandchild = int(pidfile.read_text())
    assert_gone(grandchild)
    pm.close()


def test_sigterm_ignoring_group_is_sigkilled_after_grace(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5)
    pidfile = tmp_path / "stubborn.pid"
    script = f"trap '' TERM; (trap '' TERM; sleep 300) & echo $! > {pidfile}; wait"
    result = pm.run(shell_argv(script), cwd=tmp_path, env=os.environ, timeout=5)
    assert result.timed_out
    grandchild = int(pidfile.read_text())
    assert_gone(grandchild)
    pm.close()


def test_background_leftovers_are_stopped_when_the_leader_exits(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5)
    pidfile = tmp_path / "bg.pid"
    result = pm.run(
        shell_argv(f"sleep 300 & echo $! > {pidfile}"), cwd=tmp_path, env=os.environ, timeout=60
    )
    assert result.ok
    leftover = int(pidfile.read_text())
    assert_gone(leftover)
    pm.close()


def test_stop_all_stops_every_group(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5)
    results = []

    def runner(i: int) -> None:
        argv = shell_argv(f"sleep 300 & echo $! > {tmp_path}/{i}.pid; wait")
        results.append(pm.run(argv, cwd=tmp_path, env=os.environ, timeout=300))

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    pids = [int(wait_for_file(tmp_path / f"{i}.pid")) for i in range(3)]
    pm.stop_all()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 3
    assert all(r.cancelled for r in results)
    assert_gone(*pids)
    pm.close()


def test_large_output_keeps_head_and_tail_only(tmp_path: Path) -> None:
    pm = ProcessManager()
    script = "echo FIRST-LINE; seq 1 400000; echo LAST-LINE"
    result = pm.run(shell_argv(script), cwd=tmp_path, env=os.environ, timeout=60)
    assert result.ok
    text = result.output.text()
    assert text.startswith("FIRST-LINE\n")
    assert text.endswith("399999\n400000\nLAST-LINE\n")
    assert "bytes of output omitted" in text
    assert len(text) < 32 * 1024
    assert result.output.total > 2_000_000
    pm.close()


def test_runaway_output_is_stopped_at_the_limit(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5, max_output=5 * 1024 * 1024)
    result = pm.run(["yes", "flood"], cwd=tmp_path, env=os.environ, timeout=60)
    assert result.output_overflow
    assert result.describe_exit() == "stopped: output exceeded the limit"
    pm.close()


# -- how a child is started: posix_spawn in our own directory, Popen elsewhere ----------


@pytest.fixture(params=["posix_spawn", "popen"])
def start_mode(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Runs the test's commands (cwd=tmp_path) both ways, and proves which way was taken."""
    spawned: list[str] = []
    real = os.posix_spawn

    def counting(path: str, *args: Any, **kwargs: Any) -> int:
        spawned.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "posix_spawn", counting)
    if request.param == "posix_spawn":
        monkeypatch.chdir(tmp_path)  # posix_spawn has no working-directory action
    yield str(request.param)
    assert bool(spawned) == (request.param == "posix_spawn"), spawned


CHILD_REPORT = """
import os
print("session-leader", os.getsid(0) == os.getpid())
print("stdin", os.readlink("/proc/self/fd/0"))
print("stdout-is-stderr", os.path.samestat(os.fstat(1), os.fstat(2)))
print("leaked", sorted(int(f) for f in os.listdir("/proc/self/fd") if int(f) in WATCHED))
"""


def test_a_child_starts_the_same_either_way(tmp_path: Path, start_mode: str) -> None:
    """Own session, stdin /dev/null, one spool, no inherited fds, SIGPIPE not ignored."""
    inheritable_r, inheritable_w = os.pipe()
    os.set_inheritable(inheritable_r, True)
    os.set_inheritable(inheritable_w, True)
    pm = ProcessManager()
    try:
        script = CHILD_REPORT.replace("WATCHED", f"({inheritable_r}, {inheritable_w})")
        result = pm.run(["python3", "-c", script], cwd=tmp_path, env=os.environ, timeout=60)
        status = pm.run(["cat", "/proc/self/status"], cwd=tmp_path, env=os.environ, timeout=60)
    finally:
        os.close(inheritable_r)
        os.close(inheritable_w)
        pm.close()
    ignored = int(status.output.text().split("SigIgn:")[1].split()[0], 16)
    # Python ignores both itself; a child must get them back (a pipe's reader may close early)
    assert not ignored & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1))
    assert result.ok, result.output.text()
    assert result.output.text().splitlines() == [
        "session-leader True",
        "stdin /dev/null",
        "stdout-is-stderr True",
        "leaked []",
    ]


def test_start_errors_name_their_cause_either_way(tmp_path: Path, start_mode: str) -> None:
    (tmp_path / "no-shebang").write_text("echo hi\n")
    (tmp_path / "no-shebang").chmod(0o755)
    (tmp_path / "not-executable").write_text("#!/bin/sh\necho hi\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "only-on-gate-path").write_text("#!/bin/sh\necho found on the gate PATH\n")
    (bin_dir / "only-on-gate-path").chmod(0o755)
    pm = ProcessManager()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    try:
        errors = [
            pm.run([argv], cwd=tmp_path, env=env, timeout=60).start_error
            for argv in ("no-such-tool-xyz", f"{tmp_path}/no-shebang", f"{tmp_path}/not-executable")
        ]
        found = pm.run(["only-on-gate-path"], cwd=tmp_path, env=env, timeout=60)
    finally:
        pm.close()
    assert errors == [
        "executable not found: no-such-tool-xyz",
        f"cannot execute {tmp_path}/no-shebang: not a binary and no #! line",
        f"not executable (permission denied): {tmp_path}/not-executable",
    ]
    assert found.ok
    assert found.output.text() == "found on the gate PATH\n"


def test_the_path_search_is_popens(tmp_path: Path, start_mode: str) -> None:
    """Entries without the name are skipped; one holding a non-executable file or a
    directory of that name does not hide a later executable, as with Popen."""
    dirs = [tmp_path / name for name in ("empty", "plain-file", "directory", "real")]
    for d in dirs:
        d.mkdir()
    (dirs[1] / "tool-xyz").write_text("#!/bin/sh\necho wrong one\n")  # not executable
    (dirs[2] / "tool-xyz").mkdir()
    (dirs[3] / "tool-xyz").write_text("#!/bin/sh\necho the real one\n")
    (dirs[3] / "tool-xyz").chmod(0o755)
    env = {**os.environ, "PATH": ":".join(str(d) for d in dirs)}
    pm = ProcessManager()
    try:
        found = pm.run(["tool-xyz"], cwd=tmp_path, env=env, timeout=60)
        (dirs[3] / "tool-xyz").unlink()
        refused = pm.run(["tool-xyz"], cwd=tmp_path, env=env, timeout=60)
    finally:
        pm.close()
    assert found.ok, found.start_error
    assert found.output.text() == "the real one\n"
    assert refused.start_error == "not executable (permission denied): tool-xyz"


# -- start: the result comes back through a callback, from the one loop -----------------


def _started(pm: ProcessManager, argv: list[str], cwd: Path, **kwargs: Any) -> ProcResult:
    """Start a command, wait (bounded) for its result; check it is handed over exactly once."""
    results: queue.Queue[ProcResult] = queue.Queue()
    pm.start(argv, cwd=cwd, env=os.environ, done=results.put, **kwargs)
    result = results.get(timeout=120)  # bounds a hang only
    assert results.empty()
    return result


def test_start_hands_over_the_result_once_everything_is_gone(
    tmp_path: Path, start_mode: str
) -> None:
    pm = ProcessManager(grace=0.5)
    pidfile = tmp_path / "bg.pid"
    alive_when_done: list[bool] = []
    results: queue.Queue[ProcResult] = queue.Queue()

    def done(result: ProcResult) -> None:
        alive_when_done.append(is_alive(int(pidfile.read_text())))
        results.put(result)

    argv = shell_argv(f"sleep 300 & echo $! > {pidfile}; echo leader done")
    pm.start(argv, cwd=tmp_path, env=os.environ, timeout=60, done=done)
    result = results.get(timeout=120)
    pm.close()
    assert result.ok
    assert result.output.text() == "leader done\n"
    assert alive_when_done == [False]  # the leftover was stopped before the result came back


def test_start_bounds_timeouts_cancellation_and_output(tmp_path: Path, start_mode: str) -> None:
    pm = ProcessManager(grace=0.5, max_output=1024 * 1024)
    cancel = threading.Event()
    cancel.set()
    try:
        timed_out = _started(pm, ["sleep", "300"], tmp_path, timeout=1.0)
        flood = _started(pm, ["yes", "flood"], tmp_path, timeout=60)
        cancelled = _started(pm, ["sleep", "300"], tmp_path, timeout=60, cancel=cancel)
        missing = _started(pm, ["no-such-tool-xyz"], tmp_path, timeout=60)
        late: queue.Queue[ProcResult] = queue.Queue()
        stop = threading.Event()
        pm.start(
            shell_argv(f"echo up > {tmp_path}/up; sleep 300"),
            cwd=tmp_path,
            env=os.environ,
            timeout=300,
            cancel=stop,
            done=late.put,
        )
        wait_for_file(tmp_path / "up", timeout=60)
        stop.set()
        stopped = late.get(timeout=120)
    finally:
        pm.close()
    assert timed_out.timed_out
    assert timed_out.describe_exit() == "timed out"
    assert flood.output_overflow
    assert cancelled.cancelled
    assert cancelled.returncode is None
    assert missing.start_error == "executable not found: no-such-tool-xyz"
    assert stopped.cancelled
    assert stopped.describe_exit() == "stopped (run interrupted)"


def test_a_command_that_removes_its_own_spool_is_an_error_and_the_loop_goes_on(
    tmp_path: Path, start_mode: str
) -> None:
    """Its output cannot be read back: undecidable, so an error; later deadlines still hold."""
    pm = ProcessManager(grace=0.5)
    remove_spool = shell_argv('rm "$(readlink /proc/$$/fd/1)"; exit 0')
    try:
        blocking = pm.run(remove_spool, cwd=tmp_path, env=os.environ, timeout=60)
        started = _started(pm, remove_spool, tmp_path, timeout=60)
        later = _started(pm, ["sleep", "300"], tmp_path, timeout=1.0)
    finally:
        pm.close()
    for result in (blocking, started):
        assert not result.ok
        assert result.describe_exit().startswith("its output could not be read back")
    assert later.timed_out


def test_start_without_pidfds_waits_in_a_thread_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel before 5.3 (no pidfd_open): the same result, leftovers stopped, bounds kept."""

    def no_pidfds(pid: int, flags: int = 0) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfds)
    pm = ProcessManager(grace=0.5)
    pidfile = tmp_path / "bg.pid"
    try:
        passed = _started(
            pm, shell_argv(f"sleep 300 & echo $! > {pidfile}; exit 0"), tmp_path, timeout=60
        )
        timed_out = _started(pm, ["sleep", "300"], tmp_path, timeout=1.0)
    finally:
        pm.close()
    assert passed.ok
    assert not is_alive(int(pidfile.read_text()))  # stopped before the result came back
    assert timed_out.timed_out
