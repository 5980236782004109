"""Parsing rates: the forms users write, and the ones refused with a clear message."""

from __future__ import annotations

import pytest

from throttlekit import Rate, RateError, parse_rate


@pytest.mark.parametrize(
    ("text", "count", "per"),
    [
        ("10/s", 10, 1.0),
        ("500/min", 500, 60.0),
        ("5/2h", 5, 7200.0),
        ("1/day", 1, 86400.0),
        (" 3 / 10 seconds ", 3, 10.0),
        ("7/0.5s", 7, 0.5),
        ("100/MIN", 100, 60.0),
    ],
)
def test_parses(text: str, count: int, per: float) -> None:
    assert parse_rate(text) == Rate(count, per)


@pytest.mark.parametrize("text", ["", "10", "ten/s", "10/", "-1/s", "10/s/s"])
def test_refuses_malformed(text: str) -> None:
    with pytest.raises(RateError, match="cannot parse rate"):
        parse_rate(text)


def test_unknown_unit_lists_the_known_ones() -> None:
    with pytest.raises(RateError, match=r"unknown unit 'fortnight'.*units: d, day"):
        parse_rate("1/fortnight")


def test_zero_count_is_refused() -> None:
    with pytest.raises(RateError, match="at least one event"):
        parse_rate("0/s")


def test_zero_period_is_refused() -> None:
    with pytest.raises(RateError, match="period must be positive"):
        Rate(1, 0.0)


def test_per_second_and_str() -> None:
    rate = parse_rate("120/min")
    assert rate.per_second == 2.0
    assert str(rate) == "120/60s"
