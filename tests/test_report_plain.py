"""report/plain.py: a log written without rich is byte for byte what rich wrote."""

from __future__ import annotations

import io
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


CACHED = [
    _gate(
        name,
        Status.PASSED,
        f"{reason} (cached from d2532ebc1b61, 2026-11-25 21:40:10 UTC)",
    )
    for name, reason in (
        ("lint", "exit code 0"),
        ("smoke", "2 smoke scripts passed (1.2s of script time)"),
        ("no-secrets", "no forbidden pattern in 150 of 152 file(s); 2 binary skipped"),
        ("api-version", "no API change since origin/main; version 0.2.0 → 0.2.0 (no bump)"),
    )
]


@pytest.mark.parametrize("width", [80, 64, 56])
def test_a_table_wider_than_the_log_folds_its_reasons_as_rich_does(width: int) -> None:
    plain = PlainConsole(io.StringIO(), width)
    out = _play(plain, CACHED, ())
    assert out == _play(_rich(width), CACHED, ())
    assert plain._rich is None  # a cached run's long reasons need no rich
    table = [line for line in out.splitlines() if "│" in line]
    assert len(table) > len(CACHED)  # reasons really were folded onto more lines
    assert {len(line) for line in table} == {width}


def test_a_reason_column_too_narrow_to_fold_is_left_to_rich() -> None:
    from mergegate.report.plain import MIN_FOLD

    wide_name = _gate("n" * 40, Status.PASSED, "exit code 0 " * 4)
    width = 40 + len("command") + len("✔ passed") + len("0.2s") + 3 * 5 - 1 + MIN_FOLD - 1
    plain = PlainConsole(io.StringIO(), width)
    assert _play(plain, [wide_name], ()) == _play(_rich(width), [wide_name], ())
    assert plain._rich is not None


# words as one_line leaves them: single spaces between, any length, narrow symbols in
_WORDS = st.text(st.sampled_from("abcxyz019.,:;()/-_=✔…→"), min_size=1, max_size=40)
_REASONS = st.lists(_WORDS, max_size=12).map(" ".join)
_NAMES = st.text(st.sampled_from("abcdefgh-_"), min_size=1, max_size=24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gates=st.lists(st.tuples(_NAMES, _REASONS), min_size=1, max_size=5, unique_by=lambda g: g[0]),
    width=st.integers(20, 160),
)
def test_any_folded_table_is_byte_for_byte_rich(gates: list[tuple[str, str]], width: int) -> None:
    results = [_gate(name, Status.PASSED, reason) for name, reason in gates]
    plain = PlainConsole(io.StringIO(), width)
    assert _play(plain, results, ()) == _play(_rich(width), results, ())


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
