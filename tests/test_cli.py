"""The command line: start-up cost, usage errors, dry-run, the error boundary."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from mergegate import __version__
from mergegate.errors import ConfigError, ConfigIssue, UsageError, error_boundary
from mergegate.report.text import strip_ansi
from tests.helpers import run_cli, write_config


def test_version_and_help_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from mergegate.__main__ import main\n"
        "for argv in (['--version'], ['--help'], ['run', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('pydantic', 'rich', 'yaml', 'junit_xml') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"mergegate {__version__}" in out.stdout
    assert "HEAVY []" in out.stdout


def test_no_command_prints_help_and_exits_2(tmp_path: Path) -> None:
    proc = run_cli([], cwd=tmp_path)
    assert proc.returncode == 2
    assert "usage: mergegate" in proc.stderr


def test_bad_flag_value_exits_2(tmp_path: Path) -> None:
    proc = run_cli(["run", "--jobs", "0"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "--jobs" in proc.stderr


def test_dry_run_runs_nothing_and_prints_the_plan(repo: Path) -> None:
    write_config(
        repo,
        """
        version: 1
        gates:
          build: {run: "touch built-by-build"}
          test: {run: [python3, -c, "open('built-by-test', 'w')"], needs: build}
    """,
    )
    proc = run_cli(["run", "--dry-run"], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (repo / "built-by-build").exists()
    assert not (repo / "built-by-test").exists()
    assert not (repo / "reports").exists()
    assert "order: build → test" in proc.stdout
    assert "run: touch built-by-build" in proc.stdout
    assert "test (command) needs build" in proc.stdout
    assert "preflight: runnable" in proc.stdout


def test_dry_run_preflight_finds_missing_executables(repo: Path) -> None:
    write_config(
        repo,
        """
        version: 1
        gates:
          a: {run: "no-such-linter-xyz --fix"}
          b: {run: [no-such-binary-xyz]}
          c: {run: "echo ok | cat"}
          d: {run: "true", cwd: missing-dir}
    """,
    )
    proc = run_cli(["run", "--dry-run"], cwd=repo)
    assert proc.returncode == 1
    assert "executable not found on PATH: no-such-linter-xyz" in proc.stdout
    assert "executable not found on PATH: no-such-binary-xyz" in proc.stdout
    assert "working directory does not exist" in proc.stdout
    assert "problem(s) would block" in proc.stdout


def test_dry_run_config_error_exits_2(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  a: {rn: x}\n")
    proc = run_cli(["run", "--dry-run"], cwd=repo)
    assert proc.returncode == 2


def _raise(exc: BaseException) -> None:
    raise exc


def _boundary(exc: BaseException) -> tuple[int, str]:
    out = io.StringIO()
    with error_boundary(out.write) as box:
        _raise(exc)
    return box[0], out.getvalue()


def test_error_boundary_maps_known_errors() -> None:
    code, text = _boundary(UsageError("bad flag"))
    assert (code, text) == (2, "mergegate: bad flag\n")
    code, text = _boundary(ConfigError([ConfigIssue("g.yaml", 1, 2, "gates.a", "oops")]))
    assert code == 2
    assert "g.yaml:1:2: gates.a: oops" in text
    code, text = _boundary(KeyboardInterrupt())
    assert code == 130


def test_error_boundary_turns_a_bug_into_exit_3_with_a_redacted_crash_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SOME_TOKEN", "crash-secret-value")
    code, text = _boundary(RuntimeError("boom crash-secret-value"))
    assert code == 3
    assert "unexpected error: RuntimeError: boom ***" in text
    log = Path(text.split("the crash log is at ")[1].strip())
    assert log.parent == tmp_path / "mergegate"
    content = log.read_text()
    assert "RuntimeError" in content
    assert "crash-secret-value" not in content


@pytest.mark.parametrize(
    ("env", "coloured"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)],
)
def test_colour_policy_in_logs(repo: Path, env: dict[str, str], coloured: bool) -> None:
    write_config(repo, "version: 1\ngates:\n  a: {run: 'exit 1'}\n")
    proc = run_cli(["run"], cwd=repo, env=env)
    assert proc.returncode == 1
    assert ("\x1b[" in proc.stdout) == coloured
    plain = strip_ansi(proc.stdout)
    assert "→ a (command) started" in plain  # plain start lines, not a live display


def test_dry_run_masks_secrets_in_the_plan(repo: Path) -> None:
    write_config(
        repo,
        """
        version: 1
        gates:
          deploy: {run: "curl -H 'Authorization: hunter2-secret-value' https://example.invalid"}
    """,
    )
    proc = run_cli(["run", "--dry-run"], cwd=repo, env={"DEPLOY_TOKEN": "hunter2-secret-value"})
    assert "hunter2-secret-value" not in proc.stdout + proc.stderr
    assert "Authorization: ***" in proc.stdout
