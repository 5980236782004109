"""The smoke gate: real .mjs/.py/.sh scripts run concurrently, failures named, timeouts,
finding scripts safely, the dry-run plan, and the CLI reports."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mergegate import filematch, globs
from mergegate.config import load_config
from mergegate.gates import GateContext, PlanContext
from mergegate.gates import smoke as smoke_gate
from mergegate.gates.smoke import SmokeSpec as SmokeGate
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.results import Outcome, Status
from tests.helpers import gate_json, init_repo, load_json, parse_junit, run_cli, write_files

OK_MJS = "console.log('mjs ok');\n"
OK_PY = "import sys\nprint('py ok', sys.executable)\n"
OK_SH = "echo sh ok\n"
FAILING_PY = (
    "import sys\nprint('checking the health endpoint')\nsys.exit('health check returned 503')\n"
)


@pytest.fixture
def procs() -> Iterator[ProcessManager]:
    manager = ProcessManager(grace=1.0)
    yield manager
    manager.close()


def project(tmp_path: Path, gate: str, files: Mapping[str, str] | None = None) -> Path:
    """A git repository whose gates.yaml has one smoke gate named `smoke`."""
    config = "version: 1\ngates:\n  smoke:\n    kind: smoke\n" + "".join(
        f"    {line}\n" for line in gate.strip().splitlines()
    )
    return init_repo(tmp_path / "repo", {"gates.yaml": config, **(files or {})})


def context(root: Path, procs: ProcessManager, timeout: float = 60.0) -> GateContext[SmokeGate]:
    loaded = load_config(root / "gates.yaml")
    gate = loaded.gates["smoke"]
    assert isinstance(gate, SmokeGate)
    base = LazyBase(root, None, None, {})
    env = {**os.environ, **loaded.env_of(gate)}
    return GateContext("smoke", gate, loaded, base, env, root, timeout, procs, threading.Event())


def run_gate(root: Path, procs: ProcessManager, timeout: float = 60.0) -> Outcome:
    return smoke_gate.run(context(root, procs, timeout))


def scripts_by_name(outcome: Outcome) -> dict[str, dict[str, object]]:
    return {s["script"]: s for s in outcome.details["scripts"]}


# -- running ------------------------------------------------------------------------


def test_mjs_py_sh_scripts_with_one_failing(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "scripts: scripts/smoke-*",
        {
            "scripts/smoke-a.mjs": OK_MJS,
            "scripts/smoke-b.py": FAILING_PY,
            "scripts/smoke-c.sh": OK_SH,
            "scripts/smoke-d.py": OK_PY,
        },
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == "1 of 4 smoke scripts failed: scripts/smoke-b.py (exit code 1)"
    scripts = scripts_by_name(outcome)
    assert list(scripts) == [f"scripts/smoke-{c}" for c in ("a.mjs", "b.py", "c.sh", "d.py")]
    assert [s["exit_code"] for s in scripts.values()] == [0, 1, 0, 0]
    assert scripts["scripts/smoke-a.mjs"]["output_tail"] == "mjs ok\n"
    assert scripts["scripts/smoke-c.sh"]["command"] == "bash scripts/smoke-c.sh"
    assert "health check returned 503" in str(scripts["scripts/smoke-b.py"]["output_tail"])
    assert all(isinstance(s["duration"], float) for s in scripts.values())
    # the .py runs with the project's `python` (first on PATH), not mergegate's interpreter
    assert scripts["scripts/smoke-d.py"]["command"] == "python scripts/smoke-d.py"
    assert outcome.details["failures"] == [
        {"script": "scripts/smoke-b.py", "message": "exit code 1"}
    ]
    assert "── " in outcome.output_tail
    assert "health check returned 503" in outcome.output_tail
    assert "mjs ok" not in outcome.output_tail  # only failing scripts' output
    assert len(outcome.commands) == 4


def test_all_passing(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "scripts: [scripts/*.mjs, scripts/*.sh]",
        {"scripts/a.mjs": OK_MJS, "scripts/b.sh": OK_SH, "scripts/ignored.py": FAILING_PY},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert outcome.reason.startswith("2 smoke scripts passed")
    assert outcome.details["failures"] == []


def test_scripts_run_concurrently(tmp_path: Path, procs: ProcessManager) -> None:
    # each script records when it started and ended; run one after another, no two
    # intervals could overlap, however slow the machine
    script = 'date +%s.%N > "times/$1.start"\nsleep 1\ndate +%s.%N > "times/$1.end"\n'
    files = {f"smoke/s{i}.sh": script.replace("$1", f"s{i}") for i in range(4)}
    root = project(tmp_path, "scripts: smoke/*.sh", {**files, "times/.keep": ""})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    starts = [float((root / f"times/s{i}.start").read_text()) for i in range(4)]
    ends = [float((root / f"times/s{i}.end").read_text()) for i in range(4)]
    assert max(starts) < min(ends), "the scripts ran one after another"


def test_a_script_that_times_out_is_named_and_stopped(
    tmp_path: Path, procs: ProcessManager
) -> None:
    # the script's own child would outlive it without process-group handling
    root = project(
        tmp_path,
        "scripts: smoke/*.sh",
        {"smoke/fast.sh": OK_SH, "smoke/hangs.sh": "sleep 60 &\nsleep 60\n"},
    )
    started = time.monotonic()
    outcome = run_gate(root, procs, timeout=1.0)
    assert outcome.status is Status.TIMEOUT
    assert outcome.reason == "1 of 2 smoke scripts failed: smoke/hangs.sh (timed out)"
    assert time.monotonic() - started < 8
    assert procs.live_pgids() == []


def test_exit_codes_and_signals_are_reported(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "scripts: smoke/*.sh",
        {"smoke/a.sh": "exit 3\n", "smoke/b.sh": "kill -TERM $$\n"},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason == (
        "2 of 2 smoke scripts failed: smoke/a.sh (exit code 3), smoke/b.sh (killed by SIGTERM)"
    )


def test_interpreter_override(tmp_path: Path, procs: ProcessManager) -> None:
    py = json.dumps(sys.executable)
    root = project(
        tmp_path,
        f"scripts: checks/*\ninterpreter: {{.py: [{py}, -I], .txt: cat}}",
        {
            "checks/a.py": "import sys\nprint('isolated', sys.flags.isolated)\n",
            "checks/b.txt": "hi\n",
        },
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    scripts = scripts_by_name(outcome)
    assert scripts["checks/a.py"]["output_tail"] == "isolated 1\n"
    assert scripts["checks/b.txt"]["command"] == "cat checks/b.txt"
    assert scripts["checks/b.txt"]["output_tail"] == "hi\n"


def test_other_files_are_executed_directly(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "scripts: bin/smoke-*",
        {"bin/smoke-direct": "#!/bin/sh\necho direct ok\n", "bin/smoke-noexec": "#!/bin/sh\n"},
    )
    (root / "bin/smoke-direct").chmod(0o755)
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason == (
        "1 of 2 smoke scripts failed: bin/smoke-noexec "
        "(not executable (permission denied): " + str(root / "bin/smoke-noexec") + ")"
    )
    assert scripts_by_name(outcome)["bin/smoke-direct"]["output_tail"] == "direct ok\n"


def test_a_missing_interpreter_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "scripts: s/*.rb\ninterpreter: {.rb: no-such-ruby-xyz}",
        {"s/a.rb": "puts 1\n"},
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert "executable not found: no-such-ruby-xyz" in outcome.reason


def test_scripts_run_in_the_gate_cwd_with_its_env(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(
        tmp_path,
        "scripts: smoke/*.sh\ncwd: app\nenv: {SMOKE_TARGET: staging}",
        {"smoke/where.sh": 'echo "$(basename "$PWD") $SMOKE_TARGET"\n', "app/.keep": ""},
    )
    loaded = load_config(root / "gates.yaml")
    gate = loaded.gates["smoke"]
    assert isinstance(gate, SmokeGate)
    ctx = GateContext(
        "smoke",
        gate,
        loaded,
        LazyBase(root, None, None, {}),
        {**os.environ, **loaded.env_of(gate)},
        loaded.cwd_of(gate),
        60.0,
        procs,
        threading.Event(),
    )
    outcome = smoke_gate.run(ctx)
    assert outcome.status is Status.PASSED, outcome.reason
    assert scripts_by_name(outcome)["smoke/where.sh"]["output_tail"] == "app staging\n"


def test_cancellation_stops_the_scripts(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(tmp_path, "scripts: smoke/*.sh", {"smoke/slow.sh": "sleep 30\n"})
    ctx = context(root, procs)
    threading.Timer(0.5, ctx.cancel.set).start()
    started = time.monotonic()
    outcome = smoke_gate.run(ctx)
    assert outcome.status is Status.ERROR
    assert "stopped (run interrupted)" in outcome.reason
    assert time.monotonic() - started < 8


# -- nothing to run ---------------------------------------------------------------------


def test_no_script_matched_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(tmp_path, "scripts: scripts/smoke-*.mjs", {"scripts/other.mjs": OK_MJS})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith("no smoke script matches scripts/smoke-*.mjs")
    assert "allow_empty: true" in outcome.reason


def test_allow_empty(tmp_path: Path, procs: ProcessManager) -> None:
    root = project(tmp_path, "scripts: scripts/smoke-*.mjs\nallow_empty: true")
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED
    assert outcome.reason == "no smoke script matches scripts/smoke-*.mjs (allow_empty)"


# -- finding scripts (and reports): filematch ----------------------------------------------


def test_a_symlink_out_of_the_project_is_refused(tmp_path: Path, procs: ProcessManager) -> None:
    outside = tmp_path / "evil.sh"
    outside.write_text("echo should not run\n")
    root = project(tmp_path, "scripts: smoke/*.sh", {"smoke/ok.sh": OK_SH})
    (root / "smoke/evil.sh").symlink_to(outside)
    outcome = run_gate(root, procs)
    assert outcome.status is Status.ERROR
    target = outside.resolve()
    assert outcome.reason == (
        f"smoke script refused: smoke/evil.sh: a symlink to {target}, outside the project"
    )
    assert outcome.commands == ()


def test_find_follows_links_inside_and_skips_directories(tmp_path: Path) -> None:
    write_files(tmp_path, {"tools/real.sh": OK_SH, "smoke/a.sh": OK_SH, "smoke/dir.sh/x": ""})
    (tmp_path / "smoke/link.sh").symlink_to(tmp_path / "tools/real.sh")
    (tmp_path / "smoke/loop").symlink_to(tmp_path / "smoke")  # never walked into
    found = filematch.find(tmp_path, ["smoke/**/*.sh"])
    assert [m.rel for m in found.files] == ["smoke/a.sh", "smoke/link.sh"]
    assert found.files[1].path == (tmp_path / "tools/real.sh").resolve()
    assert found.refused == ()


def test_find_refuses_special_files_and_odd_names(tmp_path: Path) -> None:
    write_files(tmp_path, {"r/ok.xml": "", "r/\x1b[31mred.xml": ""})
    os.mkfifo(tmp_path / "r/fifo.xml")
    (tmp_path / "r/broken.xml").symlink_to(tmp_path / "nowhere")
    found = filematch.find(tmp_path, ["r/*.xml"])
    assert [m.rel for m in found.files] == ["r/ok.xml"]
    assert sorted(found.refused) == [
        "'r/\\x1b[31mred.xml': control characters in the file name",
        "r/broken.xml: a broken symlink",
        "r/fifo.xml: a FIFO, not a regular file",
    ]


def test_find_refuses_a_literal_path_through_a_symlinked_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_files(outside, {"junit.xml": "<testsuites/>"})
    root = tmp_path / "root"
    root.mkdir()
    (root / "reports").symlink_to(outside)
    found = filematch.find(root, ["reports/junit.xml"])
    assert found.files == ()
    assert found.refused == (
        f"reports/junit.xml: resolves to {outside / 'junit.xml'}, outside the project",
    )
    globbed = filematch.find(root, ["reports/*.xml"])
    assert globbed.refused == ("reports: a symlink to a directory outside the project",)


def test_find_does_not_enter_git_or_unrelated_directories(tmp_path: Path) -> None:
    write_files(tmp_path, {".git/x.sh": "", "a/b/c.sh": "", "d/e.sh": "", "f.sh": ""})
    assert [m.rel for m in filematch.find(tmp_path, ["**/*.sh"]).files] == [
        "a/b/c.sh",
        "d/e.sh",
        "f.sh",
    ]
    assert globs.could_match_below("a/*/c.sh", "a/b")
    assert not globs.could_match_below("a/*/c.sh", "d")
    assert not globs.could_match_below("a/*/c.sh", "a/b/c")
    assert globs.could_match_below("dist/**", "dist/x/y")


# -- dry-run plan -------------------------------------------------------------------------


def plan_of(root: Path) -> tuple[list[str], list[str]]:
    loaded = load_config(root / "gates.yaml")
    gate = loaded.gates["smoke"]
    assert isinstance(gate, SmokeGate)
    ctx = PlanContext("smoke", gate, loaded, LazyBase(root, None, None, {}), dict(os.environ), root)
    info = smoke_gate.plan(ctx)
    return list(info.lines), list(info.problems)


def test_plan_lists_scripts_with_their_interpreters(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "scripts: s/*\ninterpreter: {.rb: no-such-ruby-xyz}",
        {"s/a.mjs": OK_MJS, "s/b.sh": OK_SH, "s/c.rb": "", "s/d": ""},
    )
    lines, problems = plan_of(root)
    assert lines == [
        "script: node s/a.mjs",
        "script: bash s/b.sh",
        "script: no-such-ruby-xyz s/c.rb",
        "script: s/d",
    ]
    assert problems == [
        "interpreter not found on PATH: no-such-ruby-xyz",
        "s/d is not executable: chmod +x it or set `interpreter`",
    ]


def test_plan_reports_no_scripts(tmp_path: Path) -> None:
    root = project(tmp_path, "scripts: s/*.mjs")
    assert plan_of(root) == ([], ["no smoke script matches s/*.mjs"])


# -- through the CLI ----------------------------------------------------------------------


def test_cli_run_names_the_failing_script_in_every_report(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "scripts: scripts/smoke-*",
        {
            "scripts/smoke-a.mjs": OK_MJS,
            "scripts/smoke-b.py": FAILING_PY,
            ".gitignore": "reports/\n",
        },
    )
    proc = run_cli(["run"], cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "scripts/smoke-b.py (exit code 1)" in proc.stdout
    gate = gate_json(load_json(root / "reports/gates.json"), "smoke")
    assert gate["status"] == "failed"
    assert [s["exit_code"] for s in gate["details"]["scripts"]] == [0, 1]
    failure = parse_junit(root / "reports/gates.xml").find(".//testcase[@name='smoke']/failure")
    assert failure is not None
    assert failure.get("message") == "1 of 2 smoke scripts failed: scripts/smoke-b.py (exit code 1)"
    assert "- scripts/smoke-b.py: exit code 1" in (failure.text or "")


def test_py_runs_with_the_python_on_the_gates_path(tmp_path: Path, procs: ProcessManager) -> None:
    venv_bin = tmp_path / "project-venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)  # a project venv's python, first on PATH
    path = json.dumps(f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
    code = "import sys\nprint(sys.executable)\n"
    root = project(tmp_path, f"scripts: s.py\nenv: {{PATH: {path}}}", {"s.py": code})
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert scripts_by_name(outcome)["s.py"]["output_tail"] == f"{venv_bin / 'python'}\n"


def test_without_python_on_path_python3_runs_the_py(tmp_path: Path, procs: ProcessManager) -> None:
    only3 = tmp_path / "bin"
    only3.mkdir()
    (only3 / "python3").symlink_to(sys.executable)
    root = project(
        tmp_path, f"scripts: s.py\nenv: {{PATH: {json.dumps(str(only3))}}}", {"s.py": ""}
    )
    outcome = run_gate(root, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert scripts_by_name(outcome)["s.py"]["command"] == "python3 s.py"
