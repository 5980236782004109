"""The command line: start-up cost, usage errors, dry-run, the error boundary."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mergegate import __version__
from mergegate.errors import ConfigError, ConfigIssue, UsageError, error_boundary
from mergegate.report.text import strip_ansi
from tests.helpers import load_json, parse_junit, run_cli, write_config


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


# -- conventions: list, positional gates, partial verdict, -q/-v, colour, completion -----

FIVE = """
version: 1
gates:
  lint: {run: "echo lint-output-line"}
  type-check: {run: "echo types-ok", needs: lint}
  unit: {run: "echo unit-output", if_changed: ["src/**"], blocking: false}
  broken: {run: "echo broken-output; exit 3"}
  docs: {run: "true"}
"""


def test_list_prints_name_kind_needs_if_changed_blocking(repo: Path) -> None:
    write_config(repo, FIVE)
    proc = run_cli(["list"], cwd=repo)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[0] == ["name", "kind", "needs", "if_changed", "blocking"]
    assert rows[2] == ["type-check", "command", "lint", "-", "yes"]
    assert rows[3] == ["unit", "command", "-", "src/**", "no"]
    listed = json.loads(run_cli(["list", "--json"], cwd=repo).stdout)
    assert listed[1] == {
        "name": "type-check",
        "kind": "command",
        "needs": ["lint"],
        "if_changed": [],
        "blocking": True,
    }
    names = run_cli(["list", "--names"], cwd=repo).stdout
    assert names == "lint\ntype-check\nunit\nbroken\ndocs\n"


def test_positional_gates_select_like_only_and_the_verdict_says_partial(repo: Path) -> None:
    write_config(repo, FIVE)
    proc = run_cli(["run", "type-check", "docs"], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✔ selected gates passed — not a merge verdict (3 passed; 2 not run)" in proc.stdout
    assert "merge allowed" not in proc.stdout
    report = load_json(repo / "reports" / "gates.json")
    assert report["verdict"] == "allowed"  # the exit code and verdict field are unchanged
    assert (report["partial"], report["not_run"]) == (True, ["unit", "broken"])
    props = {
        p.get("name"): p.get("value")
        for p in parse_junit(repo / "reports" / "gates.xml").iter("property")
    }
    assert props == {"partial": "true", "not_run": "unit,broken"}


def test_a_full_run_is_not_partial(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  a: {run: 'true'}\n")
    proc = run_cli(["run"], cwd=repo)
    assert "✔ merge allowed (1 passed)" in proc.stdout
    assert load_json(repo / "reports" / "gates.json")["partial"] is False
    assert not list(parse_junit(repo / "reports" / "gates.xml").iter("property"))


def test_a_partial_run_that_fails_still_blocks(repo: Path) -> None:
    write_config(repo, FIVE)
    proc = run_cli(["run", "broken"], cwd=repo)
    assert proc.returncode == 1
    assert "✘ merge blocked by broken (1 failed; 4 not run)" in proc.stdout


def test_unknown_positional_gate_is_a_usage_error(repo: Path) -> None:
    write_config(repo, FIVE)
    proc = run_cli(["run", "lnt"], cwd=repo)
    assert proc.returncode == 2
    assert "mergegate run: unknown gate 'lnt' (did you mean lint?)" in proc.stderr


def test_quiet_prints_failures_and_the_verdict_only(repo: Path) -> None:
    write_config(repo, FIVE)
    proc = run_cli(["run", "-q", "--skip", "unit"], cwd=repo)
    assert proc.returncode == 1
    out = proc.stdout
    assert "broken-output" in out  # the failure with its tail
    assert "reproduce: mergegate run --only broken" in out
    assert "✘ merge blocked by broken" in out
    for noise in ("started", "lint", "┃", "gate(s) from"):
        assert noise not in out, noise


def test_verbose_prints_the_output_of_passing_gates(repo: Path) -> None:
    write_config(repo, FIVE)
    quiet_default = run_cli(["run", "lint"], cwd=repo).stdout
    assert "lint-output-line" not in quiet_default
    proc = run_cli(["run", "lint", "type-check", "-v", "--no-cache"], cwd=repo)  # lint reruns
    assert proc.returncode == 0
    assert "lint-output-line" in proc.stdout
    assert "types-ok" in proc.stdout


def test_quiet_and_verbose_exclude_each_other(repo: Path) -> None:
    proc = run_cli(["run", "-q", "-v"], cwd=repo)
    assert proc.returncode == 2
    assert "not allowed with argument" in proc.stderr


SGR = re.compile(r"\x1b\[[0-9;]*m")


def run_on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """The real CLI with stdout and stderr on a pseudo-terminal; returns all it wrote."""
    leader, follower = pty.openpty()
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", **env}
    with subprocess.Popen(
        [sys.executable, "-m", "mergegate", *args],
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    ) as child:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        child.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("env", "args"),
    [({"NO_COLOR": "1"}, []), ({}, ["--no-color"]), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, [])],
)
def test_no_color_on_a_terminal_leaves_no_styling_at_all(
    repo: Path, env: dict[str, str], args: list[str]
) -> None:
    write_config(repo, "version: 1\ngates:\n  a: {run: 'exit 1'}\n  b: {run: 'true'}\n")
    styled = run_on_terminal(["run", "--skip", "b"], repo, {"TTY_INTERACTIVE": "0"})
    assert SGR.search(styled)  # the control: a terminal does get bold/dim/colour
    plain = run_on_terminal(["run", "--skip", "b", *args], repo, {"TTY_INTERACTIVE": "0", **env})
    assert "merge blocked by a" in plain
    assert not SGR.search(plain), repr(plain[:300])


def test_no_color_keeps_the_live_display_on_a_terminal(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  a: {run: 'true'}\n")
    out = run_on_terminal(["run", "--no-color"], repo, {"TTY_INTERACTIVE": "1"})
    assert "merge allowed" in out
    assert not SGR.search(out)
    assert "\x1b[?25l" in out  # the live display still hides the cursor while it draws
