"""report/plain.py: a log written without rich is byte for byte what rich wrote."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from mergegate.report.console import ConsoleReporter
from mergegate.report.plain import PlainConsole
from mergegate.results import GateResult, RunResult, SkipCause, Status

NOW = time.time()


def _gate(name: str, status: Status, reason: str, **kw: object) -> GateResult:
    return GateResult(name, "command", status, True, 0.21, reason, started=NOW, **kw)  # type: ignore[arg-type]


PASSING = [_gate(f"g{i}", Status.PASSED, "exit code 0") for i in range(10)]
MIXED = [
    _gate("lint", Status.PASSED, "exit code 0"),
    _gate("unit-tests", Status.FAILED, "3 of 2,000 failed", output_tail="E  assert 1 == 2\n"),
    GateResult("docs", "command", Status.FAILED, False, 61.5, "exit code 2", started=NOW),
    GateResult("slow", "smoke", Status.TIMEOUT, True, 900.0, "timed out after 15m", started=NOW),
    GateResult(
        "after",
        "command",
        Status.SKIPPED,
        True,
        0.0,
        "needs lint, which did not pass",
        skip_cause=SkipCause.NEEDS,
    ),
    _gate("wide", Status.ERROR, "ログ出力 " * 3),
    _gate("long", Status.FAILED, "exit code 1: " + " ".join(f"word{i}" for i in range(60))),
]


def _rich(width: int) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        highlight=False,
        emoji=False,
        soft_wrap=False,
        force_terminal=False,
        color_system=None,
    )


def _play(
    console: Console | PlainConsole, gates: list[GateResult], warnings: tuple[str, ...]
) -> str:
    reporter = ConsoleReporter(console, verbosity=0)
    reporter.begin(len(gates), 2, "gates.yaml")
    for result in gates:
        reporter.started(result.name, result.kind)
        reporter.finished(result)
    run = RunResult(tuple(gates), NOW, 1.0, "0", warnings=warnings)
    reporter.summary(run, ["reports/gates.xml", "reports/gates.json"])
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


@pytest.mark.parametrize("width", [120, 80, 50, 30])
@pytest.mark.parametrize("gates", [PASSING, MIXED, MIXED[:3]], ids=["passing", "mixed", "few"])
def test_the_plain_console_prints_what_rich_prints(width: int, gates: list[GateResult]) -> None:
    warnings = ("the base was fetched shallowly",) if gates is not PASSING else ()
    plain = PlainConsole(io.StringIO(), width)
    assert _play(plain, gates, warnings) == _play(_rich(width), gates, warnings)


def test_a_passing_run_in_a_log_never_makes_a_rich_console() -> None:
    plain = PlainConsole(io.StringIO(), 120)
    out = _play(plain, PASSING, ())
    assert plain._rich is None
    assert " g9   │ command │ ✔ passed │ 0.2s │ exit code 0 \n" in out
    assert out.endswith(
        "✔ merge allowed (10 passed)\nreports: reports/gates.xml, reports/gates.json\n"
    )


def test_every_character_taken_as_narrow_is_one_cell_for_rich() -> None:
    from rich.cells import cell_len

    from mergegate.report.plain import _NARROW

    assert {c: cell_len(c) for c in _NARROW} == dict.fromkeys(_NARROW, 1)
