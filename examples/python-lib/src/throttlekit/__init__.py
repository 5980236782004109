"""throttlekit: token-bucket rate limiting with readable rates ("10/s", "500/min")."""

from throttlekit.bucket import TokenBucket
from throttlekit.rates import Rate, RateError, parse_rate

__all__ = ["Rate", "RateError", "TokenBucket", "parse_rate"]
