"""mergegate.words: the durations, status words and reproduce line every report shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergegate import words
from mergegate.report import github
from mergegate.results import GateResult, RunResult, Status
from tests.helpers import run_cli, write_config


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.04, "0.0s"), (59.94, "59.9s"), (65.4, "1m05s"), (3599.6, "1h00m00s"), (3723, "1h02m03s")],
)
def test_one_duration_format(seconds: float, shown: str) -> None:
    assert words.duration(seconds) == shown


@pytest.mark.parametrize(("seconds", "shown"), [(90, "1m30s"), (900, "15m"), (5400, "1h30m")])
def test_a_timeout_is_written_as_gates_yaml_would(seconds: float, shown: str) -> None:
    assert words.span(seconds) == shown


def test_reproduce_names_the_config_only_when_it_is_not_the_default() -> None:
    assert words.reproduce("lint", "command") == "mergegate run --only lint"
    assert words.reproduce("lint", "command", "gates.yaml") == "mergegate run --only lint"
    assert words.reproduce("lint", "command", "c/g.yml") == "mergegate run -c c/g.yml --only lint"
    assert words.reproduce("tree-unchanged", "tree", "c/g.yml") == "mergegate run -c c/g.yml"


def test_every_report_says_the_same_reproduce_line_within_a_run() -> None:
    failed = GateResult("lint", "command", Status.FAILED, True, 1.0, "exit code 1", started=1.0)
    run = RunResult(gates=(failed,), started=1.0, duration=1.0, version="0")
    with words.reproducing_with("c/g.yml"):
        assert failed.reproduce == "mergegate run -c c/g.yml --only lint"
        assert "reproduce: mergegate run -c c/g.yml --only lint" in github.render(run)
    assert failed.reproduce == "mergegate run --only lint"


def test_the_console_reproduce_line_keeps_dash_c(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    write_config(tmp_path / "ci", "version: 1\ngates:\n  broken: {run: 'exit 1'}\n")
    proc = run_cli(["run", "-c", "ci/gates.yaml"], tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1
    assert proc.stdout.count("reproduce: mergegate run -c ci/gates.yaml --only broken") >= 2
    assert "reproduce: mergegate run --only broken" not in proc.stdout
