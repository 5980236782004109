"""Text cleaning shared by the report writers: whatever a gate printed, the report stays valid."""

from __future__ import annotations

import re

from mergegate.redact import clean

# characters XML 1.0 forbids, plus C1 controls and noncharacters that break consumers
_XML_BAD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_ansi(text: str) -> str:
    """The redactor's cleaning (escapes, control bytes, ``\\r``), so both see the same text."""
    return clean(text)


def xml_safe(text: str) -> str:
    """Cleaned text, and any character XML 1.0 cannot carry still left replaced by U+FFFD."""
    return _XML_BAD.sub("\ufffd", clean(text))


def json_safe(text: str) -> str:
    """Lone surrogates (from undecodable file names) become U+FFFD so any JSON parser reads it."""
    return _SURROGATE.sub("\ufffd", text)


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(strip_ansi(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
