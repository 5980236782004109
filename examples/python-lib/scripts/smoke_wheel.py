"""Smoke: the built wheel in dist/ imports and works on its own (zipimport, no install)."""

from __future__ import annotations

import sys
from pathlib import Path

DIST = Path(__file__).resolve().parent.parent / "dist"


def main() -> int:
    wheels = sorted(DIST.glob("throttlekit-*-py3-none-any.whl"))
    if len(wheels) != 1:
        print(f"smoke wheel: FAILED — expected one wheel in {DIST}, found {len(wheels)}")
        return 1
    sys.path.insert(0, str(wheels[0]))  # a pure-Python wheel is importable as a zip
    import throttlekit

    if not str(throttlekit.__file__).startswith(str(wheels[0])):
        print(f"smoke wheel: FAILED — imported {throttlekit.__file__}, not the wheel")
        return 1
    bucket = throttlekit.TokenBucket(throttlekit.parse_rate("2/s"), clock=lambda: 0.0)
    taken = [bucket.try_acquire() for _ in range(3)]
    if taken != [True, True, False]:
        print(f"smoke wheel: FAILED — a 2/s bucket allowed {taken}")
        return 1
    print(f"smoke wheel: ok — {wheels[0].name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
