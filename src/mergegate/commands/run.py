"""`mergegate run`: load, select, run (or plan), report, and reduce to an exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from mergegate import treeguard
from mergegate.git import LazyBase, Started
from mergegate.plan import Selection, check_names, default_jobs, dry_run, select, waves
from mergegate.plancache import load_plan
from mergegate.redact import Redactor
from mergegate.results import EXIT_BLOCKED, EXIT_OK, RunResult
from mergegate.spec import LoadedConfig
from mergegate.words import reproducing_with

if TYPE_CHECKING:
    from mergegate.report.console import ConsoleReporter


class _Early:
    """The git questions every run asks, started before the plan loads so they overlap it.

    The tree guard's `git status` (taken before any gate starts either way) and
    gates.yaml's directory in the repository (the run's identity, annotation paths).
    """

    def __init__(self, root: Path) -> None:
        from mergegate.git import STATUS_ARGS

        self.status = Started(root, *STATUS_ARGS)
        self.prefix = Started(root, "rev-parse", "--show-prefix")

    def repo_prefix(self) -> str:
        from mergegate.errors import GitError

        try:
            return self.prefix.text()
        except GitError:
            return ""

    def close(self) -> None:
        self.status.close()
        self.prefix.close()


def main(args: argparse.Namespace) -> int:
    from mergegate.discovery import config_arg, shadow_note

    environ = dict(os.environ)
    note = shadow_note(args.config, environ, Path.cwd())
    if note:
        sys.stderr.write(note)
    args.config = config_arg(args)  # -c, $MERGEGATE_CONFIG, or the nearest gates.yaml
    if args.dry_run:
        return _plan_only(args, environ)
    early = _Early(Path(args.config).resolve().parent)  # the directory load_plan takes as root
    try:
        return _main(args, environ, early)
    finally:
        early.close()


def _plan_only(args: argparse.Namespace, environ: dict[str, str]) -> int:
    loaded, selection, base = _load(args, environ)
    jobs = args.jobs or default_jobs()
    no_cache = getattr(args, "no_cache", False)
    return _dry_run(loaded, selection, base, environ, jobs, args.config, args.no_color, no_cache)


def _load(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[LoadedConfig, Selection, LazyBase]:
    loaded = load_plan(Path(args.config))  # compiled once, cached: no pydantic when warm
    check_names(args.gates, tuple(loaded.gates), "mergegate run")  # positional: named as typed
    selection = select(loaded, [*args.only, *args.gates], args.skip, args.shard, _durations(args))
    base = LazyBase(loaded.root, args.base, loaded.config.base, environ)
    return loaded, selection, base


def _main(args: argparse.Namespace, environ: dict[str, str], early: _Early) -> int:
    loaded, selection, base = _load(args, environ)
    jobs = args.jobs or default_jobs()
    redactor = make_redactor(loaded, environ)
    identity = config_identity(loaded, early.repo_prefix())  # before any gate touches the file
    with reproducing_with(str(args.config)):  # every report's reproduce line names -c FILE
        run, console = _run(loaded, selection, base, environ, jobs, args, redactor, early)
        run = replace(run, config=identity)
        return _report(run, console, loaded, args, environ, redactor, early)


def config_identity(loaded: LoadedConfig, prefix: str) -> str:
    """Which gates.yaml ran: its path from the repository top and its content's digest.

    `merge` refuses shard reports of different files, so one project's pass can never
    stand in for another project's gate of the same name.
    """
    import hashlib

    text = loaded.path.read_bytes().replace(b"\r\n", b"\n")  # a checkout's line endings
    digest = hashlib.sha256(text).hexdigest()
    return f"{prefix}{loaded.path.name} sha256:{digest}"


def _durations(args: argparse.Namespace) -> dict[str, float] | None:
    """Last measured gate durations for --shard; without a file the split is hashed."""
    if not (args.shard and args.durations):
        return None
    from mergegate.plan import load_durations

    durations = load_durations(args.durations)
    if durations is None:
        sys.stderr.write(
            f"mergegate: --durations {args.durations} not found; shards are split by name\n"
        )
    return durations


def make_redactor(loaded: LoadedConfig, environ: Mapping[str, str]) -> Redactor:
    envs = [environ, loaded.config.defaults.env, *(g.env for g in loaded.gates.values())]
    return Redactor.from_environ(*envs, extra_names=loaded.config.redact)


@contextmanager
def _signals_to(handler: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM stop the run gracefully instead of raising mid-way."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        handler()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run(
    loaded: LoadedConfig,
    selection: Selection,
    base: LazyBase,
    environ: Mapping[str, str],
    jobs: int,
    args: argparse.Namespace,
    redactor: Redactor,
    early: _Early,
) -> tuple[RunResult, ConsoleReporter]:
    from mergegate.proc import ProcessManager
    from mergegate.report.console import ConsoleReporter, make_run_console
    from mergegate.runner import Events, Runner, RunOptions

    github = environ.get("GITHUB_ACTIONS") == "true"
    console = ConsoleReporter(
        make_run_console(no_color=args.no_color),
        show_tails=not github,
        verbosity=verbosity(args),
        mask=redactor.redact,
    )
    guard = _before_gates(loaded, selection, base, args, environ, early.status)
    base.head = guard.commit  # HEAD from the tree's snapshot: base resolution need not ask
    procs = ProcessManager()
    runner = Runner(
        loaded,
        selection,
        base,
        environ,
        procs,
        redactor,
        RunOptions(
            jobs=jobs,
            fail_fast=args.fail_fast,
            cache=not getattr(args, "no_cache", False),
            commit=guard.commit,
        ),
        Events(started=console.started, finished=console.finished, waiting=_import_reports),
    )
    console.begin(len(selection.selected), jobs, str(args.config))
    try:
        with _signals_to(runner.interrupt):
            run = runner.run()
    finally:
        console.end()
        procs.close()
    finished = guard.finish(run, redactor)
    runner.keep_passes(finished)  # after the tree guard: a run that rewrote files keeps nothing
    return finished, console


def _import_reports() -> None:
    """Load the report writers while long gates run, not after the last one ends."""
    from mergegate.report import json_report, junit, write  # noqa: F401


def _before_gates(
    loaded: LoadedConfig,
    selection: Selection,
    base: LazyBase,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    status: Started | None = None,
) -> treeguard.Guard:
    """Report directories (with their .gitignore), the tree snapshot, the forbid file set."""
    from mergegate.report.write import ensure_dir

    for path in report_paths(loaded, args, environ).values():
        with contextlib.suppress(OSError):  # writing the report will say what is wrong
            ensure_dir(path.parent)
    return treeguard.start(loaded, selection, base, status)


def verbosity(args: argparse.Namespace) -> int:
    """-q is -1, -v is 1, neither is 0."""
    return -1 if getattr(args, "quiet", False) else int(bool(getattr(args, "verbose", False)))


def report_paths(
    loaded: LoadedConfig, args: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, Path]:
    """Where each report goes: flags (relative to cwd) beat gates.yaml (relative to its dir)."""
    paths: dict[str, Path] = {}
    reports = loaded.config.reports
    for key, flag, configured in (
        ("junit", args.junit, reports.junit),
        ("json", args.json, reports.json_),
    ):
        if flag:
            paths[key] = Path(flag)
        elif configured:
            paths[key] = loaded.root / configured
    if getattr(args, "summary", None):
        paths["summary"] = Path(args.summary)
    return paths


def write_reports(
    run: RunResult,
    paths: Mapping[str, Path],
    environ: Mapping[str, str],
    config: str | None = None,
    redactor: Redactor | None = None,
) -> list[str]:
    """Write every report; returns the paths written. OSError propagates to the caller."""
    from mergegate.report import json_report, junit
    from mergegate.report.write import write_report

    written = []
    mask = redactor.redact if redactor else str
    renderers: dict[str, Callable[[RunResult], str]] = {
        "junit": lambda r: junit.render(r, mask),
        "json": lambda r: json_report.render(r, mask),
    }
    if "summary" in paths or environ.get("GITHUB_STEP_SUMMARY"):
        from mergegate.report import markdown

        command = "mergegate " + " ".join(sys.argv[1:])
        record = markdown.MergeRecord.from_environ(
            environ,
            command=redactor.redact(command) if redactor else command,
            config=config if config and config != "gates.yaml" else None,
        )
        renderers["summary"] = lambda r: markdown.render(r, record, mask=mask)
    for key, path in paths.items():
        write_report(path, renderers[key](run))
        written.append(_shown(path))
    step_summary = environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:  # GitHub appends per step
            fh.write(renderers["summary"](run))
    return written


def _shown(path: Path) -> str:
    """A report path as the user would type it: relative when it is below the cwd."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _report(
    run: RunResult,
    console: ConsoleReporter,
    loaded: LoadedConfig,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    redactor: Redactor,
    early: _Early,
) -> int:
    code = run.exit_code
    try:
        written = write_reports(
            run,
            report_paths(loaded, args, environ),
            environ,
            config=str(args.config),
            redactor=redactor,
        )
    except OSError as exc:
        written = []
        sys.stderr.write(f"mergegate: cannot write a report: {exc}; the merge is blocked\n")
        code = code or EXIT_BLOCKED
    console.summary(run, written)
    if environ.get("GITHUB_ACTIONS") == "true":
        from mergegate.report import github

        prefix = early.repo_prefix()
        sys.stdout.write(github.render(run, path_prefix=prefix, mask=redactor.redact))
        sys.stdout.flush()
    return code


def _dry_run(
    loaded: LoadedConfig,
    selection: Selection,
    base: LazyBase,
    environ: Mapping[str, str],
    jobs: int,
    config_name: str,
    no_color: bool = False,
    no_cache: bool = False,
) -> int:
    from mergegate.errors import GitError
    from mergegate.report.console import make_console, print_plan

    redactor = make_redactor(loaded, environ)
    redact = redactor.redact
    plans = [
        replace(p, lines=tuple(map(redact, p.lines)), problems=tuple(map(redact, p.problems)))
        for p in dry_run(loaded, selection, base, environ, cache=not no_cache)
    ]
    try:
        resolved = base.get()
        base_line = f"base: {resolved.ref} → {resolved.sha[:12]} (from {resolved.source})"
    except GitError as exc:
        base_line = f"base: unresolved — {exc}"
    order = " → ".join(", ".join(w) for w in waves({p.name: p.needs for p in plans if p.selected}))
    header = [
        f"mergegate dry run: {config_name}, {len(selection.selected)} of {len(plans)} gate(s) "
        f"selected, {jobs} at a time; nothing is run",
        base_line,
        treeguard.plan_line(loaded.root),
        f"order: {order}",
    ]
    console = make_console(no_color=no_color)
    print_plan(console, plans, [redact(line) for line in header], mask=redactor.redact)
    problems = sum(len(p.problems) for p in plans if p.selected)
    console.print()
    if problems:
        console.print(f"preflight: {problems} problem(s) would block this run", style="bold red")
        return EXIT_BLOCKED
    console.print("preflight: runnable", style="bold green")
    return EXIT_OK
