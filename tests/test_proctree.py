"""No process a gate starts outlives it, or mergegate: pass, timeout, SIGINT, SIGTERM, SIGKILL.

Every case starts real processes that try to escape (a `setsid -f` child, a
double-forking daemon, a daemon that cleared its environment, one that ignores
SIGTERM) and checks through /proc that none is left. Deadlines here only bound
a hang; nothing races a grace against the clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from mergegate import proctree
from mergegate.proc import ProcessManager, shell_argv
from mergegate.proctree import TOKEN_VAR, start_guardian
from tests.helpers import GIT_IDENTITY, gate_json, load_json, parse_junit, write_config
from tests.test_proc import assert_gone, is_alive, wait_for_file

pytestmark = pytest.mark.skipif(
    not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
    reason="process containment beyond the process group needs Linux /proc",
)

DAEMON = """
import os, signal, sys, time
path, ignore_term = sys.argv[1], sys.argv[2] == "stubborn"
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
if ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(path + ".tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.rename(path + ".tmp", path)
while True:
    time.sleep(1)
"""

# each escapes the gate's process group its own way; all write their pid
ESCAPES = {
    "setsid": "setsid -f sh -c 'echo $$ > {d}/setsid.pid; exec sleep 300'",
    "daemon": "python3 {d}/daemon.py {d}/daemon.pid polite",
    "stubborn": "python3 {d}/daemon.py {d}/stubborn.pid stubborn",
    "clean-env": "setsid -f env -i /bin/sh -c 'echo $$ > {d}/clean-env.pid; exec sleep 300'",
    "background": "nohup sleep 300 >/dev/null 2>&1 & echo $! > {d}/background.pid",
}


def spawn_script(d: Path, then: str, names: tuple[str, ...] = tuple(ESCAPES)) -> str:
    """A bash script that starts the escapes, waits for their pids, then runs ``then``."""
    (d / "daemon.py").write_text(DAEMON)
    lines = [ESCAPES[name].format(d=d) for name in names]
    waits = " ".join(f"{d}/{name}.pid" for name in names)
    lines.append(f"for f in {waits}; do while [ ! -s $f ]; do sleep 0.02; done; done")
    lines.append(f"echo $$ > {d}/leader.pid")
    lines.append(then)
    return "\n".join(lines)


def escaped_pids(d: Path, names: tuple[str, ...] = tuple(ESCAPES)) -> list[int]:
    return [int(wait_for_file(d / f"{name}.pid", timeout=60)) for name in (*names, "leader")]


def write_spawning_config(
    repo: Path, then: str, timeout: str = "10m", names: tuple[str, ...] = tuple(ESCAPES)
) -> None:
    script = repo / "spawn.sh"
    script.write_text(spawn_script(repo, then, names))
    write_config(
        repo,
        f"""
        version: 1
        gates:
          spawn: {{run: "bash {script}", timeout: {timeout}}}
        """,
    )


def start_mergegate(repo: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mergegate", "run"],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


# -- the five process cases, end to end ---------------------------------------------------


@pytest.mark.slow
def test_nothing_survives_a_passing_gate(repo: Path) -> None:
    write_spawning_config(repo, "exit 0")
    proc = start_mergegate(repo)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert_gone(*escaped_pids(repo), within=30)


@pytest.mark.slow
def test_nothing_survives_a_gate_that_times_out(repo: Path) -> None:
    # the timeout leaves the escapes ample time to start first, even on a busy machine
    write_spawning_config(repo, "trap '' TERM; while :; do sleep 1; done", timeout="20")
    proc = start_mergegate(repo)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    spawn = gate_json(load_json(repo / "reports" / "gates.json"), "spawn")
    assert spawn["status"] == "timeout"
    assert "abandoned" not in spawn["reason"]  # the TERM-ignoring leader was SIGKILLed
    assert_gone(*escaped_pids(repo), within=30)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_nothing_survives_an_interrupted_run(repo: Path, sig: signal.Signals) -> None:
    write_spawning_config(repo, f"echo 1 > {repo}/ready; sleep 300")
    proc = start_mergegate(repo)
    pids = escaped_pids(repo)
    wait_for_file(repo / "ready", timeout=60)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert_gone(*pids, within=30)


@pytest.mark.slow
def test_nothing_survives_mergegate_being_sigkilled(repo: Path) -> None:
    # the token-less orphan is left out: the guardian learns of it only when mergegate
    # next looks (test_the_guardian_kills_reported_orphans covers what it does then)
    names = tuple(n for n in ESCAPES if n != "clean-env")
    write_spawning_config(repo, f"echo 1 > {repo}/ready; sleep 300", names=names)
    proc = start_mergegate(repo)
    pids = escaped_pids(repo, names)
    wait_for_file(repo / "ready", timeout=60)
    proc.kill()
    proc.communicate(timeout=60)
    assert_gone(*pids, within=30)  # the guardian saw the pipe close and killed them


# -- the hostile cases from the campaign ---------------------------------------------------


@pytest.mark.slow
def test_a_term_ignoring_smoke_script_cannot_keep_mergegate_alive(repo: Path) -> None:
    (repo / "smoke").mkdir()
    (repo / "smoke" / "stuck.sh").write_text(
        f'echo $$ > {repo}/stuck.pid\ntrap "" TERM; while :; do sleep 1; done\n'
    )
    write_config(
        repo,
        """
        version: 1
        gates:
          smoke: {kind: smoke, scripts: "smoke/*.sh", timeout: 5}
        """,
    )
    proc = start_mergegate(repo)
    out, err = proc.communicate(timeout=120)  # it hung for good before
    assert proc.returncode == 1, out + err
    smoke = gate_json(load_json(repo / "reports" / "gates.json"), "smoke")
    assert smoke["status"] == "timeout"
    assert "abandoned" not in smoke["reason"]  # SIGKILLed, not left running
    assert_gone(int(wait_for_file(repo / "stuck.pid")), within=30)


@pytest.mark.slow
def test_a_survivor_cannot_rewrite_the_reports(repo: Path) -> None:
    """A daemon that writes a green report when told to stop is gone before reports are written."""
    green = '<?xml version="1.0"?><testsuites tests="1" failures="0" errors="0"/>'
    sneak = repo / "sneak.sh"
    (repo / "green.xml").write_text(green)
    sneak.write_text(
        f"trap 'cp {repo}/green.xml {repo}/reports/gates.xml; exit 0' TERM\n"
        f"echo $$ > {repo}/sneak.pid\nwhile :; do sleep 0.1; done\n"
    )
    wait = f"while [ ! -s {repo}/sneak.pid ]; do sleep 0.02; done"
    write_config(
        repo,
        f"""
        version: 1
        gates:
          sneaky: {{run: "mkdir -p reports; setsid -f bash {sneak}; {wait}; exit 1", timeout: 60}}
        """,
    )
    proc = start_mergegate(repo)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    assert_gone(int(wait_for_file(repo / "sneak.pid")), within=30)
    junit = parse_junit(repo / "reports" / "gates.xml")
    assert junit.get("failures") == "1"


# -- the process manager alone --------------------------------------------------------------


def test_children_carry_the_token_and_leave_no_zombie(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5)
    result = pm.run(
        shell_argv(f'echo "${TOKEN_VAR}"; (sleep 0.2 & echo $! > {tmp_path}/orphan.pid)'),
        cwd=tmp_path,
        env=os.environ,
        timeout=60,
    )
    pm.close()
    assert result.ok
    tokens = result.output.text().split()
    assert len(tokens) == 2
    assert tokens[1].startswith(tokens[0] + ".")
    orphan = int(wait_for_file(tmp_path / "orphan.pid"))
    assert_gone(orphan)
    assert _state(orphan) == "gone" or _ppid(orphan) != os.getpid()  # reaped, not a zombie


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return -1


ZOMBIE_MAKER = """
import os, sys, time
if os.fork() == 0:
    os._exit(0)  # stays in the gate's group as a zombie: its parent never waits for it
os.setsid()  # the parent leaves the group, so only the zombie is left in it
open(sys.argv[1], "w").write("ready")
time.sleep(300)
"""


@pytest.mark.slow
def test_leftover_zombies_do_not_cost_the_grace(tmp_path: Path) -> None:
    """A zombie left in a gate's group is reaped; the (huge) grace is never waited."""
    (tmp_path / "zombie.py").write_text(ZOMBIE_MAKER)
    pm = ProcessManager(grace=600)
    results = []

    def many() -> None:
        for i in range(10):
            ready = tmp_path / f"ready-{i}"
            script = (
                f"python3 {tmp_path}/zombie.py {ready} & "
                f"until [ -s {ready} ]; do sleep 0.02; done; (sleep 0.05 &); exit 0"
            )
            results.append(pm.run(shell_argv(script), cwd=tmp_path, env=os.environ, timeout=60))

    zombies_before = _zombie_children()
    worker = threading.Thread(target=many)
    worker.start()
    worker.join(timeout=300)  # bounds a hang: waiting the grace even once would take 600 s
    assert not worker.is_alive()
    pm.close()
    assert len(results) == 10
    assert all(r.ok for r in results)
    assert _zombie_children() <= zombies_before


def _zombie_children() -> set[int]:
    return {p for p in _children_of(os.getpid()) if _state(p) == "Z"}


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_close_stops_what_is_still_running(tmp_path: Path) -> None:
    pm = ProcessManager(grace=0.5)
    pidfile = tmp_path / "daemon.pid"
    (tmp_path / "daemon.py").write_text(DAEMON)
    done = threading.Event()

    def run() -> None:
        argv = shell_argv(f"python3 {tmp_path}/daemon.py {pidfile} stubborn; sleep 300")
        pm.run(argv, cwd=tmp_path, env=os.environ, timeout=600)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    daemon = int(wait_for_file(pidfile, timeout=60))
    pm.close()
    assert done.wait(60)
    assert_gone(daemon)
    refused = pm.run(["true"], cwd=tmp_path, env=os.environ, timeout=10)
    assert refused.cancelled  # nothing starts after close


def test_the_guardian_kills_a_dead_runs_processes(tmp_path: Path) -> None:
    """What the guardian does when mergegate dies: every tokened process, and below it."""
    token = "t0k3n"
    (tmp_path / "daemon.py").write_text(DAEMON)
    script = textwrap.dedent(
        f"""
        python3 {tmp_path}/daemon.py {tmp_path}/d.pid stubborn
        env -i /bin/sh -c 'echo $$ > {tmp_path}/clean.pid; exec sleep 300' &
        sleep 300
        """
    )
    env = {**os.environ, TOKEN_VAR: f"other {token}"}
    victim = subprocess.Popen(["bash", "-c", script], env=env, start_new_session=True)
    pids = [int(wait_for_file(tmp_path / n, timeout=60)) for n in ("d.pid", "clean.pid")]
    guardian = start_guardian(token)
    assert guardian is not None
    assert guardian.stdin is not None
    guardian.stdin.close()  # as if mergegate had been SIGKILLed
    assert guardian.wait(60) == 0
    assert victim.wait(60) == -signal.SIGKILL
    # the env -i child lost the token but was below a tokened process: killed too
    assert_gone(*pids, within=30)
    assert not is_alive(victim.pid)


def test_the_guardian_kills_reported_orphans(tmp_path: Path) -> None:
    """An orphan that cleared its environment is found by the pid mergegate reported."""
    lost = subprocess.Popen(["sleep", "300"], env={}, start_new_session=True)
    bystander = subprocess.Popen(["sleep", "300"], env={}, start_new_session=True)
    guardian = start_guardian("t0k3n")
    assert guardian is not None
    assert guardian.stdin is not None
    (found,) = [p for p in proctree.descendants(os.getpid()) if p.pid == lost.pid]
    proctree.tell_guardian(guardian, [found])
    guardian.stdin.close()
    assert guardian.wait(60) == 0
    assert lost.wait(60) == -signal.SIGKILL
    assert is_alive(bystander.pid)  # not reported, no token: not ours to kill
    bystander.kill()
    bystander.wait()


def test_stopping_the_guardian_is_a_goodbye_and_never_waits_for_its_start() -> None:
    """Stopped at once (even mid start-up), it is collected and kills nothing of ours."""
    token = "g00dby3"
    tokened = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, TOKEN_VAR: token}, start_new_session=True
    )
    guardian = start_guardian(token)
    assert guardian is not None
    proctree.stop_guardian(guardian)
    assert guardian.returncode is not None  # collected: no zombie left behind
    assert tokened.poll() is None  # a goodbye, not a sweep
    tokened.kill()
    tokened.wait(60)
