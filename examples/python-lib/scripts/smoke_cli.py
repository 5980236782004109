"""Smoke: the command-line entry point runs as a user would call it, from the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "throttlekit", "10/s", "--burst", "4", "--requests", "6"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    expected = "rate 10/1s: 4 of 6 allowed at once"
    if done.returncode != 0 or expected not in done.stdout:
        print(f"smoke cli: FAILED (exit {done.returncode})\n{done.stdout}{done.stderr}")
        return 1
    print(f"smoke cli: ok — {expected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
