"""The token bucket, driven by a fake clock so every assertion is exact."""

from __future__ import annotations

import pytest

from throttlekit import RateError, TokenBucket, parse_rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_starts_full_and_allows_a_burst(clock: FakeClock) -> None:
    bucket = TokenBucket(parse_rate("5/s"), clock=clock)
    assert [bucket.try_acquire() for _ in range(6)] == [True] * 5 + [False]


def test_refills_at_the_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(parse_rate("2/s"), clock=clock)
    assert bucket.try_acquire(2)
    clock.now += 0.5
    assert bucket.available == pytest.approx(1.0)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_never_refills_beyond_capacity(clock: FakeClock) -> None:
    bucket = TokenBucket(parse_rate("10/s"), capacity=3, clock=clock)
    clock.now += 3600
    assert bucket.available == 3.0


def test_wait_time_is_exact(clock: FakeClock) -> None:
    bucket = TokenBucket(parse_rate("4/s"), clock=clock)
    assert bucket.try_acquire(4)
    assert bucket.wait_time() == pytest.approx(0.25)
    assert bucket.wait_time(2) == pytest.approx(0.5)


def test_wait_time_is_zero_when_tokens_are_there(clock: FakeClock) -> None:
    assert TokenBucket(parse_rate("1/min"), clock=clock).wait_time() == 0.0


def test_clock_going_backwards_does_not_add_tokens(clock: FakeClock) -> None:
    bucket = TokenBucket(parse_rate("1/s"), clock=clock)
    assert bucket.try_acquire()
    clock.now -= 50
    assert not bucket.try_acquire()


@pytest.mark.parametrize("tokens", [0, -1])
def test_refuses_non_positive_tokens(clock: FakeClock, tokens: int) -> None:
    bucket = TokenBucket(parse_rate("1/s"), clock=clock)
    with pytest.raises(RateError, match="tokens must be positive"):
        bucket.try_acquire(tokens)


def test_refuses_more_tokens_than_capacity(clock: FakeClock) -> None:
    bucket = TokenBucket(parse_rate("3/s"), clock=clock)
    with pytest.raises(RateError, match="can never fit"):
        bucket.wait_time(4)


def test_refuses_zero_capacity(clock: FakeClock) -> None:
    with pytest.raises(RateError, match="capacity must be positive"):
        TokenBucket(parse_rate("3/s"), capacity=0, clock=clock)
