"""The process chokepoint: process groups, timeouts, grandchildren, bounded output."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from mergegate.proc import ProcessManager, shell_argv


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
