"""The ratchet (DESIGN §9): `min_passed: baseline` and `max_skipped: baseline`.

The floor comes from ``.mergegate/baseline.json`` at the base ref, so a suite
cannot shrink unnoticed. A change may lower its own floor (or raise its skip
ceiling) only by editing that file, and then never silently: the gate's
reason, details and a warning annotation name the lowering (from → to).
Everything that cannot be decided (no base, no file at the base, a file that
is not valid) is an error, never a pass.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mergegate.errors import GitError
from mergegate.git import LazyBase, show_file
from mergegate.results import Annotation, JSONValue, Outcome, Status

if TYPE_CHECKING:  # gates.tests imports this module
    from mergegate.gates.tests import TestsSpec as TestsGate

BASELINE_PATH = ".mergegate/baseline.json"
FORMAT = 1
UPDATE_HINT = "run `mergegate baseline update` on the base branch and commit " + BASELINE_PATH

Counts = dict[str, int]  # {"passed": 1999, "skipped": 3}


class BaselineError(Exception):
    """A baseline file that cannot be read as one."""


def parse(text: bytes | str, where: str) -> dict[str, Counts]:
    """{gate: {"passed": n, "skipped": n}} from the file's text; BaselineError otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT:
        raise BaselineError(f'{where} must be an object with "version": {FORMAT}')
    gates = data.get("gates")
    if not isinstance(gates, dict):
        raise BaselineError(f'{where} needs "gates": an object of gate name -> counts')
    return {str(name): _counts(counts, f"{where}: gates.{name}") for name, counts in gates.items()}


def _counts(value: object, where: str) -> Counts:
    if not isinstance(value, dict):
        raise BaselineError(f"{where} must be an object with passed and skipped")
    out: Counts = {}
    for key in ("passed", "skipped"):
        number = value.get(key)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise BaselineError(f"{where}.{key} must be a whole number ≥ 0")
        out[key] = number
    return out


def render(gates: Mapping[str, Counts]) -> str:
    body = {"version": FORMAT, "gates": {k: dict(gates[k]) for k in sorted(gates)}}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


# -- the floors of one gate ---------------------------------------------------------------


@dataclass(frozen=True)
class Floors:
    """The thresholds a tests gate is judged by, with what the change did to them."""

    gate: TestsGate  # the gate with `baseline` replaced by numbers
    lowered: tuple[str, ...] = ()  # "floor lowered 1999 → 1950 in this change"
    details: dict[str, JSONValue] = field(default_factory=dict)

    def mark(self, outcome: Outcome) -> Outcome:
        """The outcome, with the lowering named and the shortfall counted."""
        if not self.details:
            return outcome  # fixed thresholds: nothing to add
        reason = outcome.reason + "".join(f"; {note}" for note in self.lowered)
        reason += _shortfall(self.gate, outcome)
        notes = tuple(
            Annotation(f"{note} ({BASELINE_PATH})", BASELINE_PATH, level="warning")
            for note in self.lowered
        )
        return replace(
            outcome,
            reason=reason,
            details={**outcome.details, "baseline": self.details},
            annotations=(*outcome.annotations, *notes),
        )


def _shortfall(gate: TestsGate, outcome: Outcome) -> str:
    passed = outcome.details.get("passed")
    floor = gate.min_passed
    if outcome.status is not Status.FAILED or not isinstance(passed, int):
        return ""
    if isinstance(floor, int) and passed < floor:
        return f" ({floor - passed} fewer than the baseline floor)"
    return ""


def floor_of(gate: TestsGate) -> int:
    """min_passed as a number; `baseline` must have been resolved by ``floors`` first."""
    if isinstance(gate.min_passed, str):
        raise RuntimeError("min_passed: baseline was not resolved before judging")
    return gate.min_passed


def ceiling_of(gate: TestsGate) -> int | None:
    """max_skipped as a number or None; `baseline` must have been resolved first."""
    if isinstance(gate.max_skipped, str):
        raise RuntimeError("max_skipped: baseline was not resolved before judging")
    return gate.max_skipped


def uses_baseline(gate: TestsGate) -> bool:
    return "baseline" in (gate.min_passed, gate.max_skipped)


def floors(name: str, gate: TestsGate, root: Path, base: LazyBase) -> Floors | str:
    """The gate's thresholds, or an error message (which blocks)."""
    if not uses_baseline(gate):
        return Floors(gate)
    try:
        at_base, ref = _at_base(name, root, base)
        here = _working(name, root)
    except (BaselineError, GitError) as exc:
        return str(exc)
    return _combine(gate, at_base, here, ref)


def _at_base(name: str, root: Path, base: LazyBase) -> tuple[Counts, str]:
    try:
        resolved = base.get()
    except GitError as exc:
        raise GitError(
            f"`baseline` takes its floor from the base ref, which did not resolve: {exc}"
        ) from None
    shown = f"{resolved.ref} ({resolved.sha[:12]})"
    text = show_file(root, resolved.sha, BASELINE_PATH)
    if text is None:
        raise BaselineError(f"no {BASELINE_PATH} at the base {shown}; {UPDATE_HINT}")
    gates = parse(text, f"{BASELINE_PATH} at {shown}")
    if name not in gates:
        raise BaselineError(f"{BASELINE_PATH} at {shown} has no entry for {name}; {UPDATE_HINT}")
    return gates[name], shown


def _working(name: str, root: Path) -> Counts | None:
    """The change's own baseline entry for the gate (None when it has none)."""
    try:
        text = (root / BASELINE_PATH).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BaselineError(f"cannot read {BASELINE_PATH}: {exc}") from None
    return parse(text, BASELINE_PATH).get(name)


def _combine(gate: TestsGate, base: Counts, here: Counts | None, ref: str) -> Floors:
    update: dict[str, Any] = {}
    lowered: list[str] = []
    details: dict[str, JSONValue] = {"base": ref}
    if gate.min_passed == "baseline":
        floor = base["passed"]
        if here is not None and here["passed"] < floor:
            lowered.append(f"floor lowered {floor} → {here['passed']} in this change")
            floor = here["passed"]
        update["min_passed"] = floor
        details["min_passed"] = {"base": base["passed"], "used": floor}
    if gate.max_skipped == "baseline":
        ceiling = base["skipped"]
        if here is not None and here["skipped"] > ceiling:
            lowered.append(f"skip ceiling raised {ceiling} → {here['skipped']} in this change")
            ceiling = here["skipped"]
        update["max_skipped"] = ceiling
        details["max_skipped"] = {"base": base["skipped"], "used": ceiling}
    details["lowered"] = list(lowered)
    return Floors(replace(gate, **update), tuple(lowered), details)
