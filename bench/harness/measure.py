"""Measuring commands: wall time and peak RSS of one run, and alternating rounds of many.

Peak RSS is the largest resident set reached by any single process of the command's
tree (``ru_maxrss`` of the waited-for children, as ``wait4`` reports it). It is read
through GNU time when /usr/bin/time exists, because a child forked straight from this
harness would inherit the harness's own high-water mark and report at least that. Without
GNU time a fresh ``python -I -S`` wrapper reads ``RUSAGE_CHILDREN``; its interpreter
(about 10 MiB) is then the floor of every RSS figure, and the report says so.

Every variant of a case runs once per round, in an order rotated each round, so drift on
a shared machine hits all of them alike; a ratio is the median of per-round ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")

# the fallback wrapper: run argv, report "exit-code max-rss-kib wall-seconds" into a file
_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(f'{rc} {rss} {wall}\\n')\n"
)


def rss_method() -> str:
    if _has_gnu_time():
        return "GNU time (%M: ru_maxrss of the command's process tree)"
    return "a fresh `python -I -S` wrapper (RUSAGE_CHILDREN); figures include its ~10 MiB"


def _has_gnu_time() -> bool:
    return GNU_TIME.is_file() and os.access(GNU_TIME, os.X_OK)


@dataclass(frozen=True)
class Variant:
    """One command of a case: ``key`` names it in pairs, ``label`` in the table."""

    key: str
    label: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(repr=False)
    tool: str = "mergegate"  # mergegate | pre-commit | lefthook | floor


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    peak_rss_kib: int
    returncode: int


@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    rss_mib: float
    runs: int


@dataclass
class Measured:
    """Samples per variant key, by round; a variant that failed has a message instead."""

    variants: list[Variant]
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def stats(self, key: str) -> Stats | None:
        runs = self.samples.get(key, [])
        if key in self.failures or not runs:
            return None
        walls = [s.wall for s in runs]
        rss = statistics.median(s.peak_rss_kib for s in runs) / 1024
        return Stats(statistics.median(walls), min(walls), max(walls), rss, len(runs))

    def paired(self, a: str, b: str) -> list[tuple[Sample, Sample]]:
        """Samples of a and b taken in the same round."""
        if a in self.failures or b in self.failures:
            return []
        return list(zip(self.samples.get(a, []), self.samples.get(b, []), strict=False))

    def ratio(self, a: str, b: str) -> float | None:
        """Median over rounds of wall(a) / wall(b)."""
        pairs = self.paired(a, b)
        if not pairs:
            return None
        return statistics.median(x.wall / y.wall for x, y in pairs)


class MeasureError(Exception):
    """The harness itself could not measure (not: the measured command failed)."""


def run_once(variant: Variant, scratch: Path) -> tuple[Sample, str]:
    """Run the variant once; returns the sample and its stderr (for failure messages)."""
    report, err = scratch / "rusage.txt", scratch / "stderr.txt"
    report.unlink(missing_ok=True)
    if _has_gnu_time():
        argv = [str(GNU_TIME), "-o", str(report), "-f", "%x %M", *variant.argv]
    else:
        argv = [sys.executable, "-I", "-S", "-c", _WRAPPER, str(report), *variant.argv]
    with err.open("wb") as err_fh:
        started = time.perf_counter()
        subprocess.run(
            argv,
            cwd=variant.cwd,
            env=dict(variant.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_fh,
            check=False,
        )
        wall = time.perf_counter() - started
    return _parse_report(report, wall), err.read_text("utf-8", "replace")


def _parse_report(report: Path, wall: float) -> Sample:
    try:
        last = report.read_text().strip().splitlines()[-1].split()
        rc, rss = int(last[0]), int(last[1])
    except (OSError, IndexError, ValueError) as exc:
        raise MeasureError(f"no usable resource report in {report}: {exc}") from None
    if len(last) > 2:  # the Python wrapper timed the command itself, without its own start-up
        wall = float(last[2])
    return Sample(wall, rss, rc)


def measure(variants: Sequence[Variant], rounds: int, warmup: int, scratch: Path) -> Measured:
    """Warm-up passes (discarded), then ``rounds`` rounds in a rotating order.

    A variant whose command exits non-zero is dropped at once with its stderr tail:
    a failed run is never reported as a time.
    """
    result = Measured(list(variants))
    for key in (v.key for v in variants):
        result.samples[key] = []
    for index in range(warmup + rounds):
        shift = index % len(variants) if variants else 0
        for variant in [*variants[shift:], *variants[:shift]]:
            if variant.key in result.failures:
                continue
            sample, stderr = run_once(variant, scratch)
            if sample.returncode != 0:
                result.failures[variant.key] = _failure(sample, stderr)
            elif index >= warmup:
                result.samples[variant.key].append(sample)
    return result


def _failure(sample: Sample, stderr: str) -> str:
    tail = " | ".join(line.strip() for line in stderr.strip().splitlines()[-3:] if line.strip())
    return f"exit {sample.returncode}" + (f": {tail[-300:]}" if tail else "")
