"""The benchmark cases of issue 8, in the order the report shows them.

Each module has ``run(ctx: Context) -> Section``.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.section import Context, Section

from cases import kinds, output, sleep, startup, trivial

CASES: dict[int, Callable[[Context], Section]] = {
    1: startup.run,
    2: trivial.run,
    3: sleep.run,
    4: output.run,
    5: kinds.run,
}
