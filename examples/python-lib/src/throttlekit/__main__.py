"""`python -m throttlekit RATE [--burst N] [--requests N]`: how a burst of requests fares."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from throttlekit.bucket import TokenBucket
from throttlekit.rates import RateError, parse_rate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="throttlekit", description=__doc__)
    parser.add_argument("rate", help='e.g. "10/s" or "500/min"')
    parser.add_argument("--burst", type=int, default=None, help="bucket capacity")
    parser.add_argument("--requests", type=int, default=1, help="requests sent at once")
    args = parser.parse_args(argv)
    try:
        bucket = TokenBucket(parse_rate(args.rate), args.burst, clock=lambda: 0.0)
    except RateError as exc:
        print(f"throttlekit: {exc}", file=sys.stderr)
        return 2
    allowed = sum(bucket.try_acquire() for _ in range(args.requests))
    print(f"rate {bucket.rate}: {allowed} of {args.requests} allowed at once")
    print(f"next request in {bucket.wait_time():.3f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
