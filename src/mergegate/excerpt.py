"""Excerpts of a gate's output: the head and the tail, the middle counted and dropped.

Only ``HEAD_BYTES`` and ``TAIL_BYTES`` are ever read back from a spool file,
so a gate printing gigabytes costs no memory. A cut falls on a line boundary
when one is near, else on a character boundary (never inside a UTF-8
sequence), and is shown by a marker that ``CUT_MARKER`` recognises, so the
redactor can mask a secret the cut split in two (DESIGN §6, §7).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mergegate.record import record

HEAD_BYTES = 4 * 1024
TAIL_BYTES = 16 * 1024
# Every marker this module writes: "[… 12 bytes of output omitted …]", "… [12 bytes cut] …",
# "[… 3 lines omitted …]".
CUT_MARKER = re.compile(r"\[… [^\]\n]{1,60} …\]|… \[[^\]\n]{1,60}\] …")


def lines_marker(count: int, unit: str) -> str:
    return f"[… {count} {unit} omitted …]"


def inline_marker(count: int, unit: str) -> str:
    return f"… [{count} {unit} cut] …"


@record(frozen=True)
class Captured:
    """Bounded view of a child's output: head and tail, the middle counted and dropped."""

    head: bytes = b""
    tail: bytes = b""
    total: int = 0

    @property
    def dropped(self) -> int:
        return max(0, self.total - len(self.head) - len(self.tail))

    def text(self) -> str:
        """The output, or its head and tail around a marker when the middle was dropped."""
        if not self.dropped:
            return (self.head + self.tail).decode("utf-8", "replace")
        return join_cut(self.head, self.tail, self.dropped)

    def tail_text(self, max_bytes: int = HEAD_BYTES + TAIL_BYTES) -> str:
        """The excerpt for a report: head and tail, together at most about ``max_bytes``."""
        if self.total <= max_bytes:
            return self.text()
        whole = self.head + self.tail if not self.dropped else b""
        head, tail = (whole, whole) if whole else (self.head, self.tail)
        head_size = max_bytes * HEAD_BYTES // (HEAD_BYTES + TAIL_BYTES)
        head, tail = head[:head_size], tail[-(max_bytes - head_size) :]
        return join_cut(head, tail, self.total - len(head) - len(tail))


def read_captured(path: Path) -> Captured:
    """Head and tail of a spool file; nothing else of it is read."""
    with path.open("rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        if total <= HEAD_BYTES + TAIL_BYTES:
            return Captured(head=fh.read(), total=total)
        head = fh.read(HEAD_BYTES)
        fh.seek(total - TAIL_BYTES)
        return Captured(head=head, tail=fh.read(TAIL_BYTES), total=total)


def _head_cut(head: bytes) -> tuple[int, bool]:
    """Where the head ends: after its last line break if that is in its second half."""
    newline = head.rfind(b"\n")
    if newline >= len(head) // 2:
        return newline + 1, True
    return _char_end(head), False


def _char_end(data: bytes) -> int:
    """Length of ``data`` without a UTF-8 sequence the cut left incomplete at its end."""
    end = len(data)
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte < 0x80:
            return end
        if byte >= 0xC0:  # the lead byte says how long its sequence is
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if back >= need else end - back
    return end


def _tail_cut(tail: bytes) -> tuple[int, bool]:
    """Where the tail starts: after its first line break if that is in its first half."""
    newline = tail.find(b"\n")
    if 0 <= newline < len(tail) // 2:
        return newline + 1, True
    start = 0
    while start < min(3, len(tail)) and 0x80 <= tail[start] < 0xC0:
        start += 1  # a continuation byte: the character began before the cut
    return start, False


def join_cut(head: bytes, tail: bytes, dropped: int) -> str:
    """``head`` + marker + ``tail``, each cut so no partial line or character is kept."""
    head_end, head_at_line = _head_cut(head)
    tail_start, tail_at_line = _tail_cut(tail)
    count = dropped + len(head) - head_end + tail_start
    kept_head = head[:head_end].decode("utf-8", "replace")
    kept_tail = tail[tail_start:].decode("utf-8", "replace")
    if head_at_line and tail_at_line:
        return f"{kept_head}{lines_marker(count, 'bytes of output')}\n{kept_tail}"
    return f"{kept_head}{inline_marker(count, 'bytes')}{kept_tail}"


def shorten(text: str, max_chars: int, max_lines: int | None = None) -> str:
    """``text`` within ``max_chars`` (and ``max_lines``), keeping its first and last lines.

    A quarter of the budget goes to the head, the rest to the tail (where errors are).
    """
    lines = text.split("\n")
    if max_lines is not None and len(lines) > max_lines:
        head_n = max(1, max_lines // 4)
        tail_n = max(1, max_lines - head_n - 1)
        omitted = len(lines) - head_n - tail_n
        lines = [*lines[:head_n], lines_marker(omitted, "lines"), *lines[-tail_n:]]
        text = "\n".join(lines)
    if len(text) <= max_chars:
        return text
    head_n = max_chars // 4
    tail_n = max(0, max_chars - head_n)
    return _cut_chars(text, head_n, tail_n)


def _outside_markers(text: str, head_end: int, tail_start: int) -> tuple[int, int]:
    """Move both cut points out of any marker, so an earlier cut stays recognisable."""
    for found in CUT_MARKER.finditer(text):
        if found.start() < head_end < found.end():
            head_end = found.start()
        if found.start() < tail_start < found.end():
            tail_start = found.end()
    return head_end, max(tail_start, head_end)


def _cut_chars(text: str, head_n: int, tail_n: int) -> str:
    """Cut the middle of ``text``: on line breaks when near, else mid-line with a marker."""
    head_n, tail_from = _outside_markers(text, head_n, len(text) - tail_n)
    head, tail = text[:head_n], text[tail_from:]
    newline = head.rfind("\n")
    head_end = newline + 1 if newline >= len(head) // 2 else len(head)
    newline = tail.find("\n")
    tail_start = newline + 1 if 0 <= newline < len(tail) // 2 else 0
    count = len(text) - head_end - (len(tail) - tail_start)
    kept_head, kept_tail = head[:head_end], tail[tail_start:]
    if kept_head.endswith("\n") and tail_start:
        return f"{kept_head}{lines_marker(count, 'characters')}\n{kept_tail}"
    return f"{kept_head}{inline_marker(count, 'characters')}{kept_tail}"
