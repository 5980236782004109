"""Rates: how many events per how many seconds, parsed from strings like "10/s" or "5/2min"."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([a-z]+?)s?\s*$")


class RateError(ValueError):
    """A rate string that cannot be parsed, or a rate that makes no sense."""


@dataclass(frozen=True)
class Rate:
    """``count`` events every ``per`` seconds."""

    count: int
    per: float

    def __post_init__(self) -> None:
        if self.count <= 0:
            raise RateError(f"a rate needs at least one event, got {self.count}")
        if self.per <= 0:
            raise RateError(f"a rate's period must be positive, got {self.per}")

    @property
    def per_second(self) -> float:
        return self.count / self.per

    def __str__(self) -> str:
        return f"{self.count}/{self.per:g}s"


def parse_rate(text: str) -> Rate:
    """ "10/s", "500/min", "5/2h", "1/day" -> Rate."""
    match = _RATE.match(text.lower())
    if not match:
        raise RateError(f"cannot parse rate {text!r}: use COUNT/UNIT such as 10/s or 500/min")
    count, multiple, unit = match.groups()
    if unit not in _UNITS:
        known = ", ".join(sorted(_UNITS))
        raise RateError(f"unknown unit {unit!r} in {text!r}; units: {known}")
    factor = float(multiple) if multiple else 1.0
    return Rate(int(count), factor * _UNITS[unit])
