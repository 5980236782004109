"""A console for logs that does not import rich unless it must.

Off a terminal, without colour, most of what ``ConsoleReporter`` prints is
lines that fit the width and a summary table whose cells fit their natural
widths. ``PlainConsole`` writes exactly those bytes itself (tests compare them
with rich's); anything else (a line to wrap, a rule, a wide character) goes to
a rich Console made on first need, writing to the same stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# characters rich counts as one cell that the console prints; anything else non-ASCII
# (CJK, emoji, ⏱) is measured by rich
_NARROW = frozenset("✔✘–—→…≥≤×·‘’“”⏱•≠─§")


def plain_width(text: str) -> int | None:
    """The cells ``text`` takes on one line, or None when rich must measure or wrap it."""
    if "\t" in text or "\n" in text:
        return None
    for char in text:
        if not (" " <= char <= "~") and char not in _NARROW:
            return None
    return len(text)


class PlainConsole:
    """Duck-types the rich Console attributes ConsoleReporter reads; ``print`` is rich's."""

    color_system = None
    record = False
    is_interactive = False

    def __init__(self, file: IO[str], width: int) -> None:
        self.file = file
        self.width = width
        self._rich: Console | None = None

    def line(self, text: str) -> bool:
        """Write ``text`` as rich would, when it fits on one line; False when it does not."""
        cells = plain_width(text)
        if cells is None or cells > self.width:
            return False
        self.file.write(text + "\n")
        self.file.flush()
        return True

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
        """A rich Table (HEAVY_HEAD, no edge, padding 1) whose columns keep their natural widths."""
        widths = [plain_width(h) for h in header]
        for row in rows:
            widths = [
                max(w, c) if w is not None and c is not None else None
                for w, c in zip(widths, map(plain_width, row), strict=True)
            ]
        if any(w is None for w in widths):
            return False
        sizes = [w for w in widths if w is not None]
        if sum(sizes) + 3 * len(sizes) - 1 > self.width:
            return False  # rich would shrink and fold columns
        lines = [self._row(header, sizes, "┃"), "╇".join("━" * (w + 2) for w in sizes)]
        lines.extend(self._row(row, sizes, "│") for row in rows)
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()
        return True

    @staticmethod
    def _row(cells: Sequence[str], sizes: Sequence[int], bar: str) -> str:
        return bar.join(f" {cell.ljust(size)} " for cell, size in zip(cells, sizes, strict=True))

    def rich(self) -> Console:
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(
                file=self.file,
                width=self.width,
                highlight=False,
                emoji=False,
                soft_wrap=False,
                force_terminal=False,
                color_system=None,
            )
        return self._rich

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.rich().print(*objects, **kwargs)
