"""What a case gets (Context) and what it hands back (Section) for the Markdown report."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.measure import Measured
from harness.tools import Tools


@dataclass(frozen=True)
class Context:
    tools: Tools
    env: Mapping[str, str]
    scratch: Path
    rounds: int
    warmup: int
    tiny: bool
    jobs: int  # mergegate's default --jobs here (usable CPUs)

    def workdir(self, name: str) -> Path:
        path = self.scratch / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class Pair:
    """A ratio wall(a) ÷ wall(b), the median of per-round ratios."""

    a: str
    b: str
    label: str


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not evaluated (tiny sizes, or a tool missing)


@dataclass
class Section:
    number: int
    title: str
    measured: Measured | None = None
    pairs: list[Pair] = field(default_factory=list)
    metrics: list[tuple[str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    body: str = ""  # Markdown produced elsewhere (the per-kind scripts)
    ok: bool = True

    def __post_init__(self) -> None:
        if self.measured is not None and self.measured.failures:
            self.ok = False


def median_difference(measured: Measured, a: str, b: str) -> float | None:
    """Median over rounds of wall(a) - wall(b), in seconds."""
    pairs = measured.paired(a, b)
    if not pairs:
        return None
    return statistics.median(x.wall - y.wall for x, y in pairs)


def fmt_time(seconds: float) -> str:
    if abs(seconds) < 1.0:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.3f} s"


def fmt_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"
