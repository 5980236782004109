"""The token bucket: tokens refill at a steady rate up to a capacity; each event takes some."""

from __future__ import annotations

import time
from collections.abc import Callable

from throttlekit.rates import Rate, RateError

Clock = Callable[[], float]


class TokenBucket:
    """A bucket that starts full; ``capacity`` defaults to the rate's count (its burst)."""

    def __init__(
        self, rate: Rate, capacity: int | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.rate = rate
        self.capacity = rate.count if capacity is None else capacity
        if self.capacity <= 0:
            raise RateError(f"capacity must be positive, got {self.capacity}")
        self._clock = clock
        self._tokens = float(self.capacity)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.rate.per_second)
        self._last = now

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens

    def try_acquire(self, tokens: int = 1) -> bool:
        """Take ``tokens`` if the bucket holds them; never blocks."""
        self._check(tokens)
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    def wait_time(self, tokens: int = 1) -> float:
        """Seconds until ``tokens`` would be available (0.0 when they are now)."""
        self._check(tokens)
        self._refill()
        missing = tokens - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate.per_second

    def _check(self, tokens: int) -> None:
        if tokens <= 0:
            raise RateError(f"tokens must be positive, got {tokens}")
        if tokens > self.capacity:
            raise RateError(f"{tokens} tokens can never fit a bucket of capacity {self.capacity}")
