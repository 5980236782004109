"""Text cleaning shared by the report writers: whatever a gate printed, the report stays valid."""

from __future__ import annotations

import re

# CSI/OSC/other ANSI escape sequences (colours, cursor movement, hyperlinks)
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# characters XML 1.0 forbids, plus C1 controls and noncharacters that break consumers
_XML_BAD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def xml_safe(text: str) -> str:
    """ANSI escapes removed, then every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _XML_BAD.sub("\ufffd", strip_ansi(text))


def json_safe(text: str) -> str:
    """Lone surrogates (from undecodable file names) become U+FFFD so any JSON parser reads it."""
    return _SURROGATE.sub("\ufffd", text)


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(strip_ansi(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
