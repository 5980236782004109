"""`mergegate run` end to end: scheduling, needs, selection, fail-fast, if_changed, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from mergegate.config import load_config
from mergegate.git import LazyBase
from mergegate.plan import select
from mergegate.proc import ProcessManager
from mergegate.redact import Redactor
from mergegate.runner import Events, Runner, RunOptions
from tests.helpers import (
    GIT_IDENTITY,
    commit_all,
    gate_json,
    git,
    load_json,
    parse_junit,
    run_cli,
    write_config,
    write_files,
)
from tests.test_proc import assert_gone, wait_for_file


def run_gates(root: Path, body: str, *args: str, env: dict[str, str] | None = None) -> Any:
    write_config(root, body)
    proc = run_cli(["run", *args], cwd=root, env=env)
    report = load_json(root / "reports" / "gates.json") if (root / "reports").exists() else None
    return proc, report


def statuses(report: Any) -> dict[str, str]:
    return {g["name"]: g["status"] for g in report["gates"]}


def in_process_runner(repo: Path, procs: ProcessManager, events: Events | None = None) -> Runner:
    """A Runner over ``repo/gates.yaml`` in this process (for kinds swapped in by a test)."""
    loaded = load_config(repo / "gates.yaml")
    return Runner(
        loaded,
        select(loaded),
        LazyBase(repo, None, None, {}),
        dict(os.environ),
        procs,
        Redactor(),
        RunOptions(jobs=2),
        events or Events(),
    )


def test_all_pass_exit_0_reports_written(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          a: {run: echo hello}
          b: {run: [python3, -c, "print('list form')"]}
    """,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["verdict"] == "allowed"
    assert statuses(report) == {"a": "passed", "b": "passed"}
    assert gate_json(report, "a")["output_tail"] == "hello\n"
    assert "merge allowed" in proc.stdout
    junit = parse_junit(repo / "reports" / "gates.xml")
    assert [c.get("name") for c in junit.iter("testcase")] == ["a", "b"]


def test_failure_exit_1_with_tail_and_reproduce_command(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          lint: {run: "echo 'src/x.ts:3 unused variable'; exit 2"}
    """,
    )
    assert proc.returncode == 1
    lint = gate_json(report, "lint")
    assert lint["status"] == "failed"
    assert lint["reason"] == "exit code 2"
    assert "src/x.ts:3 unused variable" in proc.stdout
    assert "mergegate run --only lint" in proc.stdout
    assert "merge blocked by lint" in proc.stdout


def test_shell_string_uses_pipefail_and_list_has_no_shell(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          piped: {run: "false | cat"}
          literal: {run: [echo, "$HOME"]}
    """,
    )
    assert proc.returncode == 1
    assert gate_json(report, "piped")["status"] == "failed"
    assert gate_json(report, "literal")["output_tail"] == "$HOME\n"


def test_missing_executable_is_an_error_naming_it(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          tool: {run: [no-such-tool-abc, --flag]}
    """,
    )
    assert proc.returncode == 1
    tool = gate_json(report, "tool")
    assert tool["status"] == "error"
    assert tool["reason"] == "executable not found: no-such-tool-abc"


def test_env_and_cwd_from_defaults_and_gate(repo: Path) -> None:
    (repo / "sub").mkdir()
    proc, report = run_gates(
        repo,
        """
        version: 1
        defaults: {env: {LEVEL: default, KEEP: kept}}
        gates:
          e:
            run: 'echo "$LEVEL $KEEP $(basename "$PWD")"'
            env: {LEVEL: gate}
            cwd: sub
    """,
    )
    assert proc.returncode == 0
    assert gate_json(report, "e")["output_tail"] == "gate kept sub\n"


@pytest.mark.parametrize("args", [[], ["--jobs", "4"]], ids=["default-jobs", "jobs-4"])
def test_gates_that_wait_overlap(repo: Path, args: list[str]) -> None:
    """Four waiting gates run at once by default, even on a 2-CPU machine.

    Each gate waits until all four have started (a barrier): with fewer than
    four running at once they never meet and time out, whatever the load.
    """
    barrier = (
        f"touch {repo}/started-$0; "
        f"until [ $(ls {repo} | grep -c started-) -ge 4 ]; do sleep 0.02; done"
    )
    gates = "".join(
        f"  s{i}: {{run: [bash, -c, '{barrier}', 's{i}'], timeout: 60}}\n" for i in range(4)
    )
    write_config(repo, "version: 1\ngates:\n" + gates)
    proc = run_cli(["run", *args], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = load_json(repo / "reports" / "gates.json")
    spans = [(g["started"], g["started"] + g["duration"]) for g in report["gates"]]
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # all four at once


def test_default_jobs_lets_waiting_gates_overlap_on_two_cpus() -> None:
    from mergegate.plan import default_jobs

    assert default_jobs() >= 8


def test_jobs_1_runs_serially(repo: Path) -> None:
    gates = "".join(f"  s{i}: {{run: sleep 0.3}}\n" for i in range(3))
    write_config(repo, "version: 1\ngates:\n" + gates)
    proc = run_cli(["run", "--jobs", "1"], cwd=repo)
    assert proc.returncode == 0
    report = load_json(repo / "reports" / "gates.json")
    spans = sorted((g["started"], g["started"] + g["duration"]) for g in report["gates"])
    assert all(spans[i][1] <= spans[i + 1][0] + 0.05 for i in range(2))


def test_needs_order_and_failed_need_skips_and_blocks(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          build: {run: "sleep 0.3; touch built"}
          test: {run: "test -f built", needs: build}
          lint: {run: "exit 1", blocking: false}
          docs: {run: "true", needs: [lint]}
    """,
    )
    assert proc.returncode == 1
    assert statuses(report) == {
        "build": "passed",
        "test": "passed",
        "lint": "failed",
        "docs": "skipped",
    }
    docs = gate_json(report, "docs")
    assert docs["skip_cause"] == "needs"
    assert docs["blocks"] is True
    assert "needs lint, which did not pass" in docs["reason"]
    assert gate_json(report, "lint")["blocks"] is False
    # the only blocking problem is a skip: JUnit must still go red (error)
    junit = parse_junit(repo / "reports" / "gates.xml")
    errors = [c.get("name") for c in junit.iter("testcase") if c.find("error") is not None]
    assert errors == ["docs"]


def test_non_blocking_failure_allows_merge(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          ok: {run: "true"}
          advisory: {run: "exit 1", blocking: false}
    """,
    )
    assert proc.returncode == 0
    assert report["verdict"] == "allowed"
    junit = parse_junit(repo / "reports" / "gates.xml")
    advisory = next(c for c in junit.iter("testcase") if c.get("name") == "advisory")
    skipped = advisory.find("skipped")
    assert skipped is not None
    assert "non-blocking failed" in (skipped.get("message") or "")


def test_fail_fast_stops_running_and_unstarted_gates(repo: Path) -> None:
    # a run that did not stop `slow` would outlive run_cli's own deadline (a hang bound)
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          quick-fail: {run: "sleep 0.2; exit 1"}
          slow: {run: sleep 600}
          later: {run: "true", needs: slow}
    """,
        "--fail-fast",
        "--jobs",
        "2",
    )
    assert proc.returncode == 1
    assert statuses(report) == {"quick-fail": "failed", "slow": "skipped", "later": "skipped"}
    assert "fail-fast" in gate_json(report, "slow")["reason"]


def test_only_and_skip(repo: Path) -> None:
    body = """
        version: 1
        gates:
          a: {run: "true"}
          b: {run: "true", needs: a}
          c: {run: "exit 1"}
    """
    proc, report = run_gates(repo, body, "--only", "b")
    assert proc.returncode == 0
    assert statuses(report) == {"a": "passed", "b": "passed", "c": "skipped"}
    assert gate_json(report, "c")["skip_cause"] == "selection"
    proc, report = run_gates(repo, body, "--skip", "c")
    assert proc.returncode == 0
    assert gate_json(report, "c")["reason"] == "skipped by --skip"


def test_unknown_gate_in_only_is_a_usage_error(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  lint: {run: 'true'}\n")
    proc = run_cli(["run", "--only", "lnt"], cwd=repo)
    assert proc.returncode == 2
    assert "unknown gate 'lnt' (did you mean lint?)" in proc.stderr


def test_if_changed_skips_runs_and_errors_without_base(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_files(repo, {"docs/a.md": "x\n", "src/a.py": "x = 1\n"})
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    write_files(repo, {"src/a.py": "x = 2\n"})
    body = """
        version: 1
        gates:
          py: {run: "true", if_changed: ["src/**/*.py"]}
          docs: {run: "exit 1", if_changed: "docs/**"}
    """
    proc, report = run_gates(repo, body)
    assert proc.returncode == 0, proc.stdout
    assert statuses(report) == {"py": "passed", "docs": "skipped"}
    docs = gate_json(report, "docs")
    assert docs["skip_cause"] == "filter"
    assert "no change matches if_changed (docs/**) since main" in docs["reason"]
    assert report["base"] == "main"
    # an unknown base makes the gate an error, never a silent skip
    proc, report = run_gates(repo, body, "--base", "origin/nope")
    assert proc.returncode == 1
    assert gate_json(report, "docs")["status"] == "error"
    assert "fetch-depth: 0" in gate_json(report, "docs")["reason"]


def test_github_base_ref_is_used(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_files(repo, {"a.txt": "1\n"})
    commit_all(repo, "base")
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          x: {run: "true", if_changed: "a.txt"}
    """,
        env={"GITHUB_BASE_REF": "release"},
    )
    assert proc.returncode == 1
    assert "origin/release" in gate_json(report, "x")["reason"]


def test_timeout_status_and_exit_1(repo: Path) -> None:
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          slow: {run: "echo started; sleep 600", timeout: 1}
    """,
    )
    assert proc.returncode == 1
    slow = gate_json(report, "slow")
    assert slow["status"] == "timeout"
    assert slow["duration"] < 120  # bounds a hang: the sleep was killed, not waited for
    junit = parse_junit(repo / "reports" / "gates.xml")
    case = next(iter(junit.iter("testcase")))
    error = case.find("error")
    assert error is not None
    assert error.get("type") == "timeout"


def test_report_paths_from_flags_and_config(repo: Path) -> None:
    write_config(
        repo,
        """
        version: 1
        reports: {junit: out/j.xml, json: out/j.json}
        gates:
          a: {run: "true"}
    """,
    )
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 0
    assert (repo / "out" / "j.xml").is_file()
    assert (repo / "out" / "j.json").is_file()
    proc = run_cli(["run", "--junit", "x.xml", "--json", "x.json"], cwd=repo)
    assert proc.returncode == 0
    assert parse_junit(repo / "x.xml").tag == "testsuites"
    assert load_json(repo / "x.json")["verdict"] == "allowed"


def test_unwritable_report_blocks(repo: Path) -> None:
    (repo / "reports").write_text("a file where a directory should be")
    write_config(repo, "version: 1\ngates:\n  a: {run: 'true'}\n")
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 1
    assert "cannot write a report" in proc.stderr


def test_unimplemented_or_crashing_gate_is_an_error_never_a_pass(repo: Path) -> None:
    # a smoke gate whose glob matches nothing must not pass, whatever implements it
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          smoke: {kind: smoke, scripts: "nothing/*.sh"}
    """,
    )
    assert proc.returncode == 1
    assert gate_json(report, "smoke")["status"] == "error"


@pytest.mark.parametrize(
    "gates",
    [
        {"a": "true"},
        {"a": "exit 1"},
        {"a": "true", "b": "exit 1"},
        {"a": "exit 3", "b": "exit 1"},
    ],
)
def test_junit_agrees_with_exit_code(repo: Path, gates: dict[str, str]) -> None:
    body = "version: 1\ngates:\n" + "".join(f"  {n}: {{run: '{c}'}}\n" for n, c in gates.items())
    proc, _ = run_gates(repo, body)
    junit = parse_junit(repo / "reports" / "gates.xml")
    red = any(
        c.find("failure") is not None or c.find("error") is not None for c in junit.iter("testcase")
    )
    assert red == (proc.returncode == 1)
    assert proc.returncode in (0, 1)


def test_sigint_exits_130_and_leaves_no_process(repo: Path) -> None:
    write_config(
        repo,
        f"""
        version: 1
        gates:
          one: {{run: "sleep 300 & echo $! > {repo}/one.pid; wait"}}
          two: {{run: "echo $$ > {repo}/two.pid; sleep 300"}}
          three: {{run: "true", needs: one}}
    """,
    )
    env = {**os.environ, **GIT_IDENTITY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mergegate", "run", "--jobs", "2"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    pids = [int(wait_for_file(repo / f"{n}.pid")) for n in ("one", "two")]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert_gone(*pids)
    report = load_json(repo / "reports" / "gates.json")
    assert report["interrupted"] is True
    assert report["verdict"] == "blocked"
    assert gate_json(report, "one")["status"] == "error"
    assert "interrupted" in gate_json(report, "one")["reason"]
    assert gate_json(report, "three")["reason"] == "interrupted before it started"
    junit = parse_junit(repo / "reports" / "gates.xml")
    assert junit.get("errors") == "4"  # one, two, three and the `interrupted` testcase


def test_sigterm_also_stops_the_run(repo: Path) -> None:
    write_config(
        repo,
        f"""
        version: 1
        gates:
          one: {{run: "echo $$ > {repo}/one.pid; sleep 300"}}
    """,
    )
    env = {**os.environ, **GIT_IDENTITY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mergegate", "run"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    pid = int(wait_for_file(repo / "one.pid"))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert_gone(pid)


def test_globs_match_names_with_newlines_and_anchor_at_root() -> None:
    from mergegate.globs import match

    assert match("dist/**", "dist/a\nb.js")
    assert match("**/*.py", "a.py")
    assert match("**/*.py", "x/y/a.py")
    assert not match("*.py", "x/a.py")
    assert not match("dist/**", "src/dist/a")
    assert match("src/[ab].txt", "src/a.txt")
    assert not match("src/[!ab].txt", "src/a.txt")


def test_negated_character_class_never_matches_a_slash() -> None:
    from mergegate.globs import match

    assert match("a[!b]c", "axc")
    assert not match("a[!b]c", "a/c")


@pytest.mark.slow
def test_catastrophic_project_pattern_times_out_with_a_reason(repo: Path) -> None:
    (repo / "victim.txt").write_text("a" * 40 + "!\n")
    proc, report = run_gates(
        repo,
        """
        version: 1
        gates:
          slow-regex:
            kind: forbid
            timeout: 2
            patterns: {evil: "^(a|aa)+$"}
          fine: {run: "true"}
    """,
    )
    assert proc.returncode == 1
    slow = gate_json(report, "slow-regex")
    assert slow["status"] == "timeout"
    # on a busy machine the regex engine's own (CPU-time) timeout fires late; the runner
    # must wait for it rather than abandon the gate after a fixed wall-clock grace
    assert "pattern 'evil' did not finish on victim.txt" in slow["reason"]
    assert gate_json(report, "fine")["status"] == "passed"


@pytest.mark.slow
def test_a_gate_stuck_in_python_is_abandoned_as_a_timeout(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kind that never comes back (ignores its deadline) cannot hang the run."""
    import types

    from mergegate import gates as kinds
    from mergegate.gates.smoke import SmokeSpec
    from mergegate.results import Outcome

    stuck = types.ModuleType("stuck_kind")
    release = threading.Event()
    stuck.run = lambda ctx: release.wait(60) and Outcome.passed("too late")  # type: ignore[attr-defined]
    stuck.SPEC = SmokeSpec  # type: ignore[attr-defined]
    sys.modules["stuck_kind"] = stuck
    monkeypatch.setitem(kinds.KINDS, "smoke", "stuck_kind")
    write_config(
        repo,
        """
        version: 1
        gates:
          hangs: {kind: smoke, scripts: "x/*.sh", timeout: 1}
          fine: {run: "true"}
    """,
    )
    procs = ProcessManager()
    runner = in_process_runner(repo, procs)
    result = runner.run()  # returns only because the stuck gate is abandoned
    release.set()
    procs.close()
    del sys.modules["stuck_kind"]
    by_name = {g.name: g for g in result.gates}
    assert by_name["hangs"].status.value == "timeout"
    assert "abandoned" in by_name["hangs"].reason
    assert by_name["fine"].status.value == "passed"
    assert result.exit_code == 1


def test_interrupt_just_as_the_last_gate_passes_is_red(repo: Path) -> None:
    """The signal lands after every gate passed (the handler is called, as a signal would)."""
    from mergegate.report import junit
    from mergegate.results import GateResult

    write_config(repo, "version: 1\ngates:\n  a: {run: 'true'}\n  b: {run: 'true'}\n")
    procs = ProcessManager()
    finished: list[str] = []

    def on_finished(result: GateResult) -> None:
        finished.append(result.name)
        if len(finished) == 2:
            runner.interrupt()

    runner = in_process_runner(repo, procs, Events(finished=on_finished))
    result = runner.run()
    procs.close()
    assert [g.status.value for g in result.gates] == ["passed", "passed"]
    assert result.exit_code == 130
    xml = junit.render(result)
    assert '<testcase name="interrupted" classname="gates.run"' in xml
    assert "<error" in xml


@pytest.mark.slow
def test_a_gate_computing_past_its_cpu_budget_is_abandoned(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kind that burns CPU and ignores its deadline is stopped by its own CPU clock."""
    import types

    from mergegate import gates as kinds
    from mergegate.gates.smoke import SmokeSpec
    from mergegate.results import Outcome

    release = threading.Event()

    def spin(ctx: object) -> Outcome:
        while not release.is_set():
            sum(range(1000))
        return Outcome.passed("too late")

    burner = types.ModuleType("burner_kind")
    burner.run = spin  # type: ignore[attr-defined]
    burner.SPEC = SmokeSpec  # type: ignore[attr-defined]
    sys.modules["burner_kind"] = burner
    monkeypatch.setitem(kinds.KINDS, "smoke", "burner_kind")
    body = "version: 1\ngates:\n  spins: {kind: smoke, scripts: x, timeout: 1}\n"
    write_config(repo, body)
    procs = ProcessManager(grace=0.5)
    runner = in_process_runner(repo, procs)
    result = runner.run()  # returns only because the spinning gate is abandoned
    release.set()
    procs.close()
    del sys.modules["burner_kind"]
    (spins,) = result.gates
    assert spins.status.value == "timeout"
    assert "abandoned" in spins.reason


def test_command_gates_run_in_the_process_loop_without_a_thread_each(repo: Path) -> None:
    """While two command gates run, no gate thread exists; their results are judged as before."""

    wait = "while [ ! -f release ]; do sleep 0.05; done"
    write_config(
        repo,
        f"""
        version: 1
        gates:
          a: {{run: "echo up > a.up; {wait}; echo a-out", timeout: 120}}
          b: {{run: "echo up > b.up; {wait}; exit 3", timeout: 120}}
    """,
    )
    procs = ProcessManager()
    threads_seen: list[str] = []

    def observe() -> None:
        wait_for_file(repo / "a.up")
        wait_for_file(repo / "b.up")
        threads_seen.extend(t.name for t in threading.enumerate())
        (repo / "release").write_text("go")

    observer = threading.Thread(target=observe, daemon=True)
    observer.start()
    runner = in_process_runner(repo, procs)
    result = runner.run()
    procs.close()
    observer.join(timeout=60)
    assert threads_seen  # the observer saw both gates running
    assert not [name for name in threads_seen if name.startswith("gate-")]
    by_name = {g.name: g for g in result.gates}
    assert by_name["a"].status.value == "passed"
    assert by_name["a"].output_tail == "a-out\n"
    assert by_name["b"].status.value == "failed"
    assert by_name["b"].reason == "exit code 3"
    assert by_name["b"].commands == (f"echo up > b.up; {wait}; exit 3",)
