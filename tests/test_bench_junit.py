"""The JUnit counting benchmark still runs at a tiny size and agrees with its generator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mergegate.junit_count import count_reports

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_junit.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_junit", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_tiny_bench_prints_a_markdown_row(capsys: pytest.CaptureFixture[str]) -> None:
    code = _bench().main(["--cases", "600", "--rounds", "1", "--markdown"])
    out = capsys.readouterr().out
    assert code == 0, out
    header, rule, row = out.strip().splitlines()
    assert header.startswith("| testcases | file | mergegate | stdlib iterparse | ratio")
    assert rule.count("|") == header.count("|") == row.count("|")
    assert row.startswith("| 600 (+3 reruns) |")
    assert "×" in row


def test_generated_report_counts_as_generated(tmp_path: Path) -> None:
    made = _bench().generate(tmp_path / "r.xml", 1000)
    counts = count_reports([made.path], last_wins=True)
    assert (counts.entries, counts.total) == (made.entries, made.unique) == (1005, 1000)
    assert counts.failed == 10  # i % 100 == 3
    assert counts.skipped == 20  # i % 50 == 11
    assert counts.flaky == 5  # i % 200 == 7: a failed attempt, then a pass
    every = count_reports([made.path])
    assert (every.total, every.failed, every.repeated) == (1005, 15, 5)


def test_bad_sizes_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--cases", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
