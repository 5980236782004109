"""`mergegate baseline update`: write the current test counts to .mergegate/baseline.json.

By default it runs every tests gate (thresholds that read the baseline are
set aside for this run, so a first baseline or a legitimate removal can be
recorded) and keeps the counts of those that passed; ``--from REPORT`` reads
them from a JSON report of an earlier `mergegate run` instead. A gate that did
not pass, or has no counts, is an error and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mergegate.baseline import BASELINE_PATH, BaselineError, Counts, parse, render
from mergegate.config import load_config
from mergegate.errors import UsageError
from mergegate.gates.tests import TestsSpec as TestsGate
from mergegate.results import EXIT_BLOCKED, GateResult, Status
from mergegate.spec import LoadedConfig


def main(args: argparse.Namespace) -> int:
    from mergegate.discovery import config_arg

    loaded = load_config(Path(config_arg(args)))  # -c, $MERGEGATE_CONFIG, or the nearest
    names = _tests_gates(loaded, args.gate)
    if args.from_report:
        found = _from_report(Path(args.from_report), names)
    else:
        found = _by_running(loaded, names, args.base)
    problems = [f"{name}: {why}" for name, why in found.items() if isinstance(why, str)]
    if problems:
        for line in problems:
            sys.stderr.write(f"mergegate: {line}\n")
        sys.stderr.write(f"mergegate: {BASELINE_PATH} not written\n")
        return EXIT_BLOCKED
    counts = {name: c for name, c in found.items() if not isinstance(c, str)}
    _write(loaded.root / BASELINE_PATH, counts)
    return 0


def _tests_gates(loaded: LoadedConfig, wanted: Sequence[str]) -> list[str]:
    tests = [n for n, g in loaded.gates.items() if isinstance(g, TestsGate)]
    unknown = [n for n in wanted if n not in tests]
    if unknown:
        raise UsageError(f"not a tests gate in {loaded.path}: {', '.join(unknown)}")
    if not tests:
        raise UsageError(f"{loaded.path} has no tests gate to take a baseline of")
    return list(wanted) or tests


def counts_of(details: Mapping[str, Any]) -> Counts | str:
    passed, skipped = details.get("passed"), details.get("skipped")
    if not isinstance(passed, int) or not isinstance(skipped, int):
        return "no test counts in its result"
    return {"passed": passed, "skipped": skipped}


# -- where the counts come from -----------------------------------------------------------


def _from_report(path: Path, names: Sequence[str]) -> dict[str, Counts | str]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        gates = {g["name"]: g for g in report["gates"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read the JSON report {path}: {exc}") from None
    found: dict[str, Counts | str] = {}
    for name in names:
        gate = gates.get(name)
        if not isinstance(gate, dict) or not isinstance(gate.get("details"), dict):
            found[name] = f"not in {path}"
        elif gate.get("status") != Status.PASSED.value:
            found[name] = f"did not pass in {path} ({gate.get('status')}): {gate.get('reason')}"
        else:
            found[name] = counts_of(gate["details"])
    return found


def _by_running(
    loaded: LoadedConfig, names: Sequence[str], cli_base: str | None
) -> dict[str, Counts | str]:
    from mergegate.commands.run import make_redactor
    from mergegate.git import LazyBase
    from mergegate.plan import select
    from mergegate.proc import ProcessManager
    from mergegate.runner import Runner, RunOptions

    environ = dict(os.environ)
    counting = _without_baseline(loaded, names)
    base = LazyBase(counting.root, cli_base, counting.config.base, environ)
    procs = ProcessManager()
    try:
        runner = Runner(
            counting,
            select(counting, only=names),
            base,
            environ,
            procs,
            make_redactor(counting, environ),
            RunOptions(jobs=1, cache=False),
        )
        run = runner.run()
    finally:
        procs.close()
    return {g.name: _counted(g) for g in run.gates if g.name in names}


def _without_baseline(loaded: LoadedConfig, names: Sequence[str]) -> LoadedConfig:
    """The config with every `baseline` threshold set aside: this run is what sets them."""
    gates = dict(loaded.config.gates)
    for name in names:
        gate = gates[name]
        assert isinstance(gate, TestsGate)
        update: dict[str, Any] = {}
        if gate.min_passed == "baseline":
            update["min_passed"] = 0
        if gate.max_skipped == "baseline":
            update["max_skipped"] = None
        gates[name] = replace(gate, **update)
    config = replace(loaded.config, gates=gates)
    return LoadedConfig(config, loaded.path, loaded.root)


def _counted(result: GateResult) -> Counts | str:
    if result.status is not Status.PASSED:
        return f"did not pass ({result.status.value}): {result.reason}"
    return counts_of(result.details)


# -- writing ----------------------------------------------------------------------------------


def _write(path: Path, counts: Mapping[str, Counts]) -> None:
    from mergegate.report.write import write_atomic

    try:
        old = parse(path.read_bytes(), BASELINE_PATH) if path.exists() else {}
    except BaselineError as exc:
        raise UsageError(f"{exc}; fix or delete it, then update again") from None
    for name, now in counts.items():
        before = old.get(name)
        was = f"{before['passed']} → " if before else ""
        sys.stderr.write(
            f"mergegate: {name}: {was}{now['passed']} passed, {now['skipped']} skipped\n"
        )
    write_atomic(path, render({**old, **counts}))
    sys.stderr.write(f"mergegate: wrote {path}; commit it\n")
