"""Text cleaning shared by the report writers: whatever a gate printed, the report stays valid."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mergegate.redact import Mask, clean
from mergegate.results import GateResult, RunResult

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


def masked_result(result: GateResult, mask: Mask) -> GateResult:
    """Every text of a result through ``mask``, before a writer shapes it (it masks again last)."""
    if mask is str:
        return result
    return replace(
        result,
        reason=mask(result.reason),
        details=_masked_json(result.details, mask),
        output_tail=mask(result.output_tail),
        commands=tuple(map(mask, result.commands)),
        annotations=tuple(
            replace(a, message=mask(a.message), path=mask(a.path) if a.path else a.path)
            for a in result.annotations
        ),
        description=mask(result.description),
    )


def masked_run(run: RunResult, mask: Mask) -> RunResult:
    if mask is str:
        return run
    gates = tuple(masked_result(g, mask) for g in run.gates)
    return replace(run, gates=gates, warnings=tuple(map(mask, run.warnings)))


def _masked_json(value: Any, mask: Mask) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {mask(str(k)): _masked_json(v, mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_json(v, mask) for v in value]
    return value
