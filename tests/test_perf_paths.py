"""The fast paths taken for speed print exactly what the slower general paths printed."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest
from rich.console import Console

from mergegate import __version__
from mergegate.cli import build_parser, dispatch
from mergegate.report.console import ConsoleReporter
from mergegate.results import GateResult, SkipCause, Status


def test_version_without_argparse_prints_what_argparse_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert dispatch(["--version"]) == 0
    fast = capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    slow = capsys.readouterr()
    assert exited.value.code == 0
    assert (fast.out, fast.err) == (slow.out, slow.err) == (f"mergegate {__version__}\n", "")


def test_version_in_a_fresh_interpreter_imports_no_argparse() -> None:
    code = (
        "import sys\n"
        "from mergegate.cli import dispatch\n"
        "code = dispatch(['--version'])\n"
        "print(code, 'argparse' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out == f"mergegate {__version__}\n0 False\n"


def _results() -> list[GateResult]:
    now = time.time()
    long_reason = "exit code 1: " + " ".join(f"word{i}" for i in range(60))
    return [
        GateResult("lint", "command", Status.PASSED, True, 0.21, "exit code 0", started=now),
        GateResult(
            "unit-tests", "tests", Status.FAILED, True, 75.0, "3 of 2,000 failed", started=now
        ),
        GateResult(
            "smoke", "smoke", Status.TIMEOUT, True, 900.0, "timed out after 15m", started=now
        ),
        GateResult("docs", "command", Status.FAILED, False, 1.5, "exit code 2", started=now),
        GateResult("wide", "command", Status.ERROR, True, 0.0, "ログ出力 " * 30, started=now),
        GateResult("long", "command", Status.FAILED, True, 3.0, long_reason, started=now),
        GateResult(
            "after",
            "command",
            Status.SKIPPED,
            True,
            0.0,
            "needs lint, which did not pass",
            skip_cause=SkipCause.NEEDS,
        ),
    ]


def _plain_console(width: int, *, record: bool = False) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        highlight=False,
        emoji=False,
        soft_wrap=False,
        force_terminal=False,
        record=record,
    )


@pytest.mark.parametrize("width", [120, 40])
def test_plain_status_lines_are_byte_for_byte_what_rich_prints(width: int) -> None:
    fast = ConsoleReporter(_plain_console(width))
    slow = ConsoleReporter(_plain_console(width, record=True))  # record keeps rich's own path
    for reporter in (fast, slow):
        for result in _results():
            reporter.started(result.name, result.kind)
            reporter.finished(result)
    fast_out = fast.console.file.getvalue()  # type: ignore[attr-defined]
    slow_out = slow.console.file.getvalue()  # type: ignore[attr-defined]
    assert fast_out == slow_out
    assert "\x1b" not in fast_out
    line = "✘ unit-tests failed in 1m15s — 3 of 2,000 failed\n"
    assert (line in fast_out) is (width == 120)  # at 40 columns rich wraps it, as before


def test_colour_still_goes_through_rich() -> None:
    console = Console(
        file=io.StringIO(),
        width=120,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        emoji=False,
    )
    reporter = ConsoleReporter(console)
    reporter.live_mode = False  # a CI log with FORCE_COLOR: colour, line by line
    reporter.started("lint", "command")
    reporter.finished(_results()[1])
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[" in out
    assert "unit-tests" in out
