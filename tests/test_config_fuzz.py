"""Config loading never crashes: mutated configs in-process, and a corpus through the real CLI.

Every outcome must be a loaded config or a ConfigError whose every issue starts
with file:line:column, in plain words. The in-process cases are bounded one by
one with an interval timer, so a hang fails its case instead of stalling the
suite. The corpus holds one file per shape that once crashed (exit 3), hung,
or printed an unlocated or pydantic-worded message.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from tests.config_mutator import JARGON, cases, outcome_of
from tests.helpers import run_cli

CORPUS = Path(__file__).parent / "fixtures" / "config_corpus"
CASE_BOUND = 30.0  # seconds: bounds a hang on a loaded machine, never a speed assertion
LOCATED = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): ", re.MULTILINE)


class CaseHung(Exception):
    pass


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Raise CaseHung in the main thread if the block runs longer than ``seconds``."""

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise CaseHung

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _fuzz(count: int, seed: int) -> dict[str, int]:
    outcomes = {"loaded": 0, "config-error": 0}
    for number, data in cases(count, seed):
        try:
            with bounded(CASE_BOUND):
                outcomes[outcome_of(data)] += 1
        except Exception as exc:
            raise AssertionError(f"seed {seed} case {number}: {exc!r}\n{data[:300]!r}") from exc
    return outcomes


def test_fuzz_quick_sample_loads_or_reports_located_errors() -> None:
    outcomes = _fuzz(300, seed=1)
    # the mutator must exercise both sides, or the test proves nothing
    assert outcomes["loaded"] > 0, outcomes
    assert outcomes["config-error"] > 0, outcomes


@pytest.mark.slow
def test_fuzz_2000_mutated_configs_never_crash_or_hang() -> None:
    outcomes = _fuzz(2000, seed=12)
    assert sum(outcomes.values()) == 2000
    assert outcomes["loaded"] > 0, outcomes
    assert outcomes["config-error"] > 0, outcomes


def test_the_case_bound_really_stops_a_hang() -> None:
    stop = threading.Event()
    with pytest.raises(CaseHung), bounded(0.2):
        stop.wait(60)  # interrupted by the alarm, not by the timeout


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix == ".yaml")


def test_corpus_is_present() -> None:
    assert len(_corpus()) >= 15


@pytest.mark.slow
@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.stem)
def test_corpus_file_exits_2_with_a_located_plain_message(path: Path, tmp_path: Path) -> None:
    proc = run_cli(["run", "--dry-run", "-c", str(path)], cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "unexpected error" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "mergegate: invalid configuration", proc.stderr
    for line in lines[1:]:
        found = LOCATED.match(line)
        assert found, line
        assert found["file"] == str(path), line
        assert not [word for word in JARGON if word in line], line
    expected = (CORPUS / f"{path.stem}.expect").read_text().strip()
    assert expected in proc.stderr, proc.stderr


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "gates.yaml"
    os.mkfifo(fifo)
    proc = run_cli(["run", "--dry-run", "-c", str(fifo)], cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert f"{fifo}: not a regular file" in proc.stderr


def test_a_device_is_refused(tmp_path: Path) -> None:
    proc = run_cli(["run", "--dry-run", "-c", "/dev/zero"], cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "/dev/zero: not a regular file" in proc.stderr


def test_a_directory_is_refused(tmp_path: Path) -> None:
    proc = run_cli(["run", "--dry-run", "-c", str(tmp_path)], cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert f"{tmp_path}: a directory" in proc.stderr


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "gates.yaml"
    big.write_bytes(b"version: 1\n" + b"# padding\n" * 110_000)
    proc = run_cli(["run", "--dry-run", "-c", str(big)], cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "larger than 1024 KiB" in proc.stderr
