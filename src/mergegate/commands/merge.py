"""`mergegate merge`: fold shard JSON reports into one verdict, JUnit, JSON and summary.

Nothing is re-run: each report round-trips into the result objects the runner
produced. A gate that no shard ran (its shard's report is missing) is an error,
so a lost matrix job can never turn into an allowed merge. Reports of different
commits or different gates.yaml files (``RunResult.config``) are refused.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from mergegate.errors import UsageError
from mergegate.results import GateResult, RunResult, SkipCause, Status

OTHER_SHARD = "runs in another shard"


def load_reports(paths: list[str]) -> list[RunResult]:
    from mergegate.report import json_report

    runs = []
    for name in paths:
        try:
            runs.append(json_report.load(Path(name).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UsageError(f"report not found: {name}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"not a mergegate JSON report: {name}: {exc}") from None
    return runs


def _pick(results: list[GateResult]) -> GateResult:
    """One result per gate; a gate two shards ran (shards planned apart) keeps its worst."""
    ran = [r for r in results if r.skip_cause is not SkipCause.SELECTION]
    if ran:
        return next((r for r in ran if r.blocks), ran[0])
    if all(r.reason.startswith(OTHER_SHARD) for r in results):
        return replace(
            results[0],
            status=Status.ERROR,
            skip_cause=None,
            reason="no shard report ran this gate (is a shard's report missing, or did the "
            "shards split with different --durations files?)",
        )
    return results[0]


def fold(runs: list[RunResult]) -> RunResult:
    commits = {r.commit for r in runs}
    if len(commits) > 1:
        raise UsageError(f"reports come from different commits: {', '.join(map(str, commits))}")
    configs = {r.config for r in runs}
    if len(configs) > 1:  # a gate of one project must not stand in for another's
        raise UsageError(
            "reports come from different gates.yaml files (or versions of one): "
            + ", ".join(sorted(map(str, configs)))
        )
    by_name: dict[str, list[GateResult]] = {}
    for run in runs:
        for gate in run.gates:
            by_name.setdefault(gate.name, []).append(gate)
    started = min(r.started for r in runs)
    ended = max(r.started + r.duration for r in runs)
    return replace(
        runs[0],
        gates=tuple(_pick(results) for results in by_name.values()),
        started=started,
        duration=ended - started,
        interrupted=any(r.interrupted for r in runs),
        warnings=tuple(dict.fromkeys(w for r in runs for w in r.warnings)),
    )


def main(args: argparse.Namespace) -> int:
    from mergegate.commands.run import verbosity, write_reports
    from mergegate.redact import Redactor
    from mergegate.report.console import ConsoleReporter, make_console

    run = fold(load_reports(args.reports))
    paths = {"junit": Path(args.junit), "json": Path(args.json)}
    if args.summary:
        paths["summary"] = Path(args.summary)
    redactor = Redactor.from_environ(os.environ)  # this job's secrets, on top of each shard's
    written = write_reports(run, paths, dict(os.environ), redactor=redactor)
    console = ConsoleReporter(
        make_console(no_color=args.no_color),
        show_tails=os.environ.get("GITHUB_ACTIONS") != "true",
        verbosity=verbosity(args),
        mask=redactor.redact,
    )
    console.summary(run, written)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        import sys

        from mergegate.report import github

        sys.stdout.write(github.render(run, mask=redactor.redact))
    return run.exit_code
