"""The JSON report (DESIGN §6): RunResult.to_dict, every string made parser-safe."""

from __future__ import annotations

import json
from typing import Any

from mergegate.redact import Mask
from mergegate.report.text import json_safe
from mergegate.results import RunResult


def _clean(value: Any, mask: Mask) -> Any:
    if isinstance(value, str):
        return mask(json_safe(value))
    if isinstance(value, dict):
        return {mask(json_safe(str(k))): _clean(v, mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, mask) for v in value]
    return value


def render(run: RunResult, mask: Mask = str) -> str:
    """``mask`` runs on every string last (numbers are never masked: the file stays valid)."""
    return json.dumps(_clean(run.to_dict(), mask), indent=2, ensure_ascii=False) + "\n"


def load(text: str) -> RunResult:
    """A JSON report back into the result objects (for `mergegate merge`)."""
    return RunResult.from_dict(json.loads(text))
