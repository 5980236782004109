"""A console for logs that does not import rich unless it must.

Off a terminal, without colour, most of what ``ConsoleReporter`` prints is
lines that fit the width and a summary table whose cells fit their natural
widths. ``PlainConsole`` writes exactly those bytes itself (tests compare them
with rich's); anything else (a line to wrap, a rule, a wide character) goes to
a rich Console made on first need, writing to the same stream.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# characters rich counts as one cell that the console prints; anything else non-ASCII
# (CJK, emoji, ⏱) is measured by rich
_NARROW = frozenset("✔✘–—→…≥≤×·‘’“”⏱•≠─§")
MIN_FOLD = 12  # cells: a reason column narrower than this is left to rich
_WORD = re.compile(r"\s*\S+\s*")  # rich's word: leading and trailing whitespace included


def plain_width(text: str) -> int | None:
    """The cells ``text`` takes on one line, or None when rich must measure or wrap it."""
    if "\t" in text or "\n" in text:
        return None
    for char in text:
        if not (" " <= char <= "~") and char not in _NARROW:
            return None
    return len(text)


def fold(text: str, width: int) -> list[str]:
    """``text`` wrapped as rich wraps a cell with ``overflow="fold"``, each line padded to
    ``width``: words move to the next line whole, a word longer than a line is cut.

    For text ``plain_width`` accepts: every character is one cell.
    """
    breaks: list[int] = []
    used = 0  # cells on the current line
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - used >= length:
            used += len(word)
        elif length > width:  # longer than any line: cut into line-sized pieces
            pieces = [word[i : i + width] for i in range(0, len(word), width)]
            for piece in pieces:
                if start:
                    breaks.append(start)
                start += len(piece)
            used = len(pieces[-1])
        elif used and start:
            breaks.append(start)
            used = len(word)
    edges = [0, *breaks, len(text)]
    lines = []
    for begin, end in itertools.pairwise(edges):
        line = text[begin:end]
        if len(line) > width:  # trailing whitespace past the width goes first
            excess = len(line) - width
            stripped = line.rstrip()
            line = line[: max(len(stripped), len(line) - excess)]
        lines.append(line[:width].ljust(width))
    return lines


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
        """A rich Table (HEAVY_HEAD, no edge, padding 1), False when rich must lay it out.

        Columns keep their natural widths; when the table is wider than the console,
        the last column alone (the reason, ``overflow="fold"``) narrows and wraps, as
        rich narrows the only column that may wrap. Anything else (another column
        to shrink, a last column narrower than a few cells) is left to rich.
        """
        widths = [plain_width(h) for h in header]
        for row in rows:
            widths = [
                max(w, c) if w is not None and c is not None else None
                for w, c in zip(widths, map(plain_width, row), strict=True)
            ]
        if any(w is None for w in widths):
            return False
        sizes = [w for w in widths if w is not None]
        others = sum(sizes[:-1]) + 3 * len(sizes) - 1  # every cell's padding and each bar
        if others + sizes[-1] > self.width:
            sizes[-1] = self.width - others  # rich takes the excess from the wrapping column
            if sizes[-1] < MIN_FOLD:
                return False
        lines = [*self._row(header, sizes, "┃"), "╇".join("━" * (w + 2) for w in sizes)]
        for row in rows:
            lines.extend(self._row(row, sizes, "│"))
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()
        return True

    @staticmethod
    def _row(cells: Sequence[str], sizes: Sequence[int], bar: str) -> list[str]:
        """A row's lines: the last cell folded to its width, the others on the first line."""
        last = fold(cells[-1], sizes[-1])
        blank = [" " * size for size in sizes[:-1]]
        first = [cell.ljust(size) for cell, size in zip(cells[:-1], sizes[:-1], strict=True)]
        return [
            bar.join(f" {cell} " for cell in [*(first if i == 0 else blank), line])
            for i, line in enumerate(last)
        ]

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
