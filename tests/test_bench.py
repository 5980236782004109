"""The benchmark harness still runs (tiny sizes) and reports honestly; no timing is asserted."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from harness.markdown import render  # noqa: E402
from harness.measure import Variant, measure  # noqa: E402
from harness.section import Section  # noqa: E402
from harness.tools import find_lefthook  # noqa: E402

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every table (runs of lines starting with '|'), as rows of stripped cells."""
    tables: list[list[list[str]]] = []
    current: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
            continue
        if current:
            assert len(current) >= 3, f"a table without rows: {current}"
            assert _SEPARATOR.match(current[1]), f"bad separator row: {current[1]!r}"
            rows = [[c.strip() for c in _CELL_SPLIT.split(r)[1:-1]] for r in current]
            widths = {len(r) for r in rows}
            assert len(widths) == 1, f"rows of different widths in {current}"
            tables.append([r for i, r in enumerate(rows) if i != 1])
            current = []
    return tables


def _first_cells(markdown: str) -> set[str]:
    return {row[0] for table in _tables(markdown) for row in table[1:]}


@pytest.mark.slow
def test_tiny_run_writes_a_well_formed_report_with_every_case(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert proc.stdout == text
    for header in (
        "## 1. Start-up",
        "## 2. 2 and 4 trivial gates",
        "## 3. 4 × `sleep 0.2`",
        "## 4. One gate printing 1 MiB",
        "## 5. Per-kind cases",
        "## Targets",
    ):
        assert header in text
    rows = _first_cells(text)
    expected = {
        "floor: python -c pass",
        "mergegate --version",
        "mergegate --help",
        "mergegate --jobs 1, 2 gates",
        "mergegate --jobs 1, 4 gates",
        "floor: sh, 4 × /bin/true",
        "mergegate (default --jobs)",
        "mergegate (default --jobs), 4 gates",
        "floor: python, guardian + 2 × git status + 4 × posix_spawn at once",
        "floor: bash, 4 × `sleep 0.2 &`, `wait`",
        "mergegate run",
        "floor: sh, `cat > /dev/null`",
        "mergegate run, same gate silent",
        "marginal cost per check, mergegate --jobs 1",
        "heavy packages imported by `--version`",
    }
    if importlib.util.find_spec("pre_commit") is not None:
        expected |= {"pre-commit run --all-files, 2 hooks", "pre-commit (serial)", "pre-commit"}
    if find_lefthook() is not None:
        expected |= {
            "lefthook parallel, 2 commands",
            "lefthook serial, 4 commands",
            "lefthook parallel",
            "lefthook",
        }
    assert expected <= rows, sorted(expected - rows)
    assert "FAILED (" not in text
    assert "| heavy packages imported by `--version` | none |" in text
    assert "not evaluated" in text  # tiny sizes are never judged against the targets


def test_a_failing_command_is_reported_not_timed(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    variants = [
        Variant("ok", "true", ("true",), tmp_path, env),
        Variant("bad", "exits 3", ("sh", "-c", "echo broken >&2; exit 3"), tmp_path, env),
    ]
    measured = measure(variants, rounds=2, warmup=0, scratch=tmp_path)
    assert measured.stats("bad") is None
    assert measured.failures["bad"].startswith("exit 3: broken")
    stats = measured.stats("ok")
    assert stats is not None
    assert stats.runs == 2
    section = Section(9, "check", measured)
    assert not section.ok
    assert "| exits 3 | FAILED (exit 3: broken) |  |  |" in render([section], {}, [])


def test_peak_rss_is_the_child_tree_not_the_harness(tmp_path: Path) -> None:
    ballast = bytearray(96 * 1024 * 1024)  # a large harness must not inflate a small child
    env = {"PATH": "/usr/bin:/bin"}
    grow = "b = bytearray(64 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    variants = [
        Variant("small", "true", ("true",), tmp_path, env),
        Variant("big", "python, 64 MiB", (sys.executable, "-I", "-S", "-c", grow), tmp_path, env),
    ]
    measured = measure(variants, rounds=1, warmup=0, scratch=tmp_path)
    small, big = measured.stats("small"), measured.stats("big")
    assert small is not None
    assert big is not None
    assert big.rss_mib >= 64
    assert small.rss_mib < 32, "the harness's own memory leaked into the child's peak RSS"
    assert len(ballast) > 0
