"""The words every report shares: durations, status words and the reproduce line.

Each output (console, GitHub log, step summary, dry run) says these the same
way because they all ask here. The reproduce line names the configuration with
``-c FILE`` whenever it is not ``gates.yaml`` in the current directory; the run
sets that once (``reproducing_with``) so every report's line agrees.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

DEFAULT_CONFIG = "gates.yaml"
# results of these kinds come from the run as a whole, not from one gate to re-run
WHOLE_RUN_KINDS = frozenset({"tree"})

_config: ContextVar[str | None] = ContextVar("mergegate_reproduce_config", default=None)


@contextmanager
def reproducing_with(config: str | None) -> Iterator[None]:
    """Within the block, reproduce lines name ``config`` (when it is not the default)."""
    token = _config.set(config)
    try:
        yield
    finally:
        _config.reset(token)


def reproduce(name: str, kind: str, config: str | None = None) -> str:
    """The command that re-runs one gate: ``mergegate run [-c FILE] --only NAME``."""
    config = config or _config.get()
    flag = f" -c {config}" if config and config != DEFAULT_CONFIG else ""
    if kind in WHOLE_RUN_KINDS:
        return f"mergegate run{flag}"
    return f"mergegate run{flag} --only {name}"


def duration(seconds: float) -> str:
    """A measured time: 0.4s, 59.9s, 1m05s, 1h02m03s."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


def span(seconds: float) -> str:
    """A configured time (a timeout) as gates.yaml would write it: 90s, 15m, 1h30m."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or f"{seconds:g}s"
