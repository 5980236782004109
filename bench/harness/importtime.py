"""Where start-up goes: one run under PYTHONPROFILEIMPORTTIME, self time summed by package.

The environment variable (rather than ``-X importtime``) works through console scripts.
One run is noisy on a shared machine; the table shows shares, not a benchmark.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def by_package(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> tuple[dict[str, float], int]:
    """Self import time in seconds per top-level package, and the command's exit status."""
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.split("|")
        try:
            self_us = int(fields[0].split(":", 1)[1])
        except (IndexError, ValueError):
            continue  # the header line
        package = fields[-1].strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + self_us / 1e6
    return totals, proc.returncode


def top(totals: Mapping[str, float], count: int) -> list[tuple[str, float]]:
    """The ``count`` largest packages, then the rest summed as "other"."""
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    head = ranked[:count]
    rest = sum(seconds for _, seconds in ranked[count:])
    return [*head, ("other (each smaller)", rest)] if rest else head
