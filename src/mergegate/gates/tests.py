"""kind: tests — run the suite, count its JUnit reports (or summary line), hold the thresholds.

It blocks when fewer than ``min_passed`` tests passed, more than ``max_failed``
failed or errored, more than ``max_skipped`` were skipped, no report matched, a
report is not valid JUnit, or the command failed while the reports show no
failing test (the suite crashed). With a ``run``, only reports this run wrote
count: a file that was already there unchanged, or whose mtime is older than
the gate's start, is stale and ignored, so last week's green report cannot
pass a broken suite. Before ``run`` starts, the directory of each literal
``junit`` path (the part before any glob character) is created, because
``node --test --test-reporter-destination`` does not create it.

Reasons say what the reports hold: failing tests by name, flaky tests (passed
on a rerun) by name, how many test ids repeat (each entry counted, DESIGN §2),
and "crashed" only when the command failed and no attempt of any test failed.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mergegate.gates import GateContext, PlanContext, PlanInfo, missing_executable
from mergegate.proc import ProcResult, display_command
from mergegate.record import record
from mergegate.results import JSONValue, Outcome, Status
from mergegate.spec import GateSpec
from mergegate.spec import RunValue as RunSpec

if TYPE_CHECKING:  # loaded when a tests gate runs, not when a cached plan names its spec
    from mergegate import filematch
    from mergegate.junit_count import Counts, FailedTest
    from mergegate.summary_lines import TextCounts

NAMES_IN_REASON = 5
_GLOB_META = re.compile(r"[*?\[]")  # as mergegate.filematch reads a pattern
# A report written during the run may carry an mtime a little before the gate's
# start: coarse filesystem timestamps (FAT: 2 s, HFS+/ext3: 1 s) and the kernel's
# coarse clock both round down.
MTIME_SLACK_NS = 2_000_000_000

Signature = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


@record(frozen=True)
class Tested:
    """What was counted, from JUnit or from text, ready for the thresholds."""

    counts: Counts
    details: dict[str, JSONValue]
    source_note: str = ""  # appended to the reason: where the counts came from


def run(ctx: GateContext[TestsGate]) -> Outcome:
    from mergegate import baseline

    floors = baseline.floors(ctx.name, ctx.gate, ctx.root, ctx.base)
    if isinstance(floors, str):  # `baseline` that cannot be read blocks before the suite runs
        return _outcome(Status.ERROR, floors, None, {})
    return floors.mark(_run(ctx, floors.gate))


def _run(ctx: GateContext[TestsGate], gate: TestsGate) -> Outcome:
    writes_junit = gate.run is not None and gate.count_from == "junit"
    before = _snapshot(ctx) if writes_junit else {}
    if writes_junit and (problem := make_report_dirs(ctx.root, gate.junit)) is not None:
        return _outcome(Status.ERROR, problem, None, {})
    result = ctx.run_spec(gate.run) if gate.run is not None else None
    if result is not None and (stopped := _stopped(result)) is not None:
        return stopped
    tested = _from_output(result) if gate.count_from == "output" else _from_junit(ctx, before)
    if isinstance(tested, str):
        return _outcome(Status.ERROR, tested, result, {})
    status, reason = judge(gate, tested.counts, result)
    details = {**tested.details, **_count_details(gate, tested.counts)}
    return _outcome(status, reason + tested.source_note, result, details)


def plan(ctx: PlanContext[TestsGate]) -> PlanInfo:
    gate = ctx.gate
    lines: list[str] = []
    problems: list[str] = []
    if gate.run is not None:
        lines.append(f"run: {display_command(gate.run)}")
        if missing := missing_executable(gate.run, ctx.env, ctx.cwd):
            problems.append(f"executable not found on PATH: {missing}")
    if not ctx.cwd.is_dir():
        problems.append(f"working directory does not exist: {ctx.cwd}")
    if gate.count_from == "output":
        lines.append(
            "counts read from the command's output (the summary of pytest, jest, vitest, "
            "node --test, go test -v or cargo test)"
        )
    else:
        from mergegate import filematch

        found = filematch.find(ctx.root, gate.junit)
        now = f"{_plural(len(found.files), 'file')} there now" if found.files else "none there now"
        retries = "; retries: last-wins" if gate.retries else ""
        lines.append(f"junit: {', '.join(gate.junit)} ({now}{retries})")
        problems.extend(f"JUnit report refused: {why}" for why in found.refused)
        if gate.run is None and not found.files:
            problems.append(
                f"no JUnit file matches {', '.join(gate.junit)} and no `run` writes one"
            )
    lines.append(f"requires: {_requirements(gate)}")
    return PlanInfo(lines=lines, problems=problems)


# -- deciding -----------------------------------------------------------------------


def judge(gate: TestsGate, counts: Counts, result: ProcResult | None) -> tuple[Status, str]:
    from mergegate import baseline

    """Status and one-line reason for ``counts`` against the gate's thresholds."""
    problems: list[str] = []
    below = counts.passed < baseline.floor_of(gate)
    if below:
        problems.append(f"{counts.passed} passed < {gate.min_passed} required")
    if counts.broken > gate.max_failed:
        limit = f" (max_failed: {gate.max_failed})" if gate.max_failed else ""
        problems.append(f"{_broken_phrase(counts)}{limit}: {_names(counts)}")
    if (ceiling := baseline.ceiling_of(gate)) is not None and counts.skipped > ceiling:
        problems.append(f"{counts.skipped} skipped > {gate.max_skipped} allowed")
    if result is not None and result.returncode != 0 and counts.broken == 0:
        problems.append(_failed_without_failures(result, counts))
    notes = _notes(counts)
    if problems:
        lead = [] if below else [f"{counts.passed} passed"]
        return Status.FAILED, "; ".join(lead + problems + notes)
    return Status.PASSED, "; ".join([_passing_reason(gate, counts), *notes])


def _failed_without_failures(result: ProcResult, counts: Counts) -> str:
    failed = f"`{result.command}` failed ({result.describe_exit()})"
    if counts.flaky:
        return (
            f"{failed} though every test passed in the end: the reports hold failed attempts "
            "only of the flaky tests; see its output"
        )
    return (
        f"{failed} but the reports show no failing test: the suite crashed or did not "
        "report every test; see its output"
    )


def _notes(counts: Counts) -> list[str]:
    """What the reader needs to trust the numbers: flaky tests, repeated test ids."""
    notes = []
    if counts.flaky:
        names = _listing_of(counts.flaky_tests, counts.flaky)
        notes.append(f"{counts.flaky} flaky (passed on a rerun): {names}")
    if counts.repeated and counts.last_wins:
        notes.append(
            f"retries: last-wins: {_plural(counts.repeated, 'test')} ran more than once, "
            "each counted once"
        )
    elif counts.repeated:
        verb = "occurs" if counts.repeated == 1 else "occur"
        notes.append(
            f"{_plural(counts.repeated, 'test id')} {verb} more than once in the reports, "
            "every entry counted"
        )
    return notes


def _passing_reason(gate: TestsGate, counts: Counts) -> str:
    parts = [f"{counts.passed} passed (≥ {gate.min_passed} required)"]
    if counts.broken:
        parts.append(f"{_broken_phrase(counts)} (≤ {gate.max_failed} allowed): {_names(counts)}")
    if counts.skipped:
        parts.append(f"{counts.skipped} skipped")
    return "; ".join(parts)


def _broken_phrase(counts: Counts) -> str:
    words = []
    if counts.failed:
        words.append(f"{counts.failed} failed")
    if counts.errors:
        words.append(f"{counts.errors} error{'s' if counts.errors != 1 else ''}")
    return ", ".join(words)


def _names(counts: Counts) -> str:
    return _listing_of(counts.failures, counts.broken)


def _listing_of(tests: Sequence[FailedTest], total: int) -> str:
    """The first few names, a repeated one once with its count, and how many more."""
    seen: dict[str, int] = {}
    for test in tests:
        seen[test.short] = seen.get(test.short, 0) + 1
    shown = list(seen.items())[:NAMES_IN_REASON]
    if not shown:
        return "see the output for which"
    listed = sum(n for _, n in shown)
    names = ", ".join(name if n == 1 else f"{name} (×{n})" for name, n in shown)
    more = total - listed
    return names + (f" … (+{more} more)" if more > 0 else "")


def _requirements(gate: TestsGate) -> str:
    parts = [f"≥ {gate.min_passed} passed", f"≤ {gate.max_failed} failed"]
    if gate.max_skipped is not None:
        parts.append(f"≤ {gate.max_skipped} skipped")
    return ", ".join(parts)


# -- the command ----------------------------------------------------------------------


def _stopped(result: ProcResult) -> Outcome | None:
    """The run did not finish on its own: nothing it wrote can be trusted."""
    if result.timed_out:
        return _outcome(Status.TIMEOUT, f"`{result.command}` timed out", result, {})
    if result.start_error or result.cancelled or result.output_overflow:
        return _outcome(Status.ERROR, f"`{result.command}`: {result.describe_exit()}", result, {})
    return None


def _outcome(
    status: Status, reason: str, result: ProcResult | None, details: Mapping[str, JSONValue]
) -> Outcome:
    return Outcome(
        status,
        reason,
        details={"exit_code": result.returncode if result else None, **details},
        output_tail=result.output.tail_text() if result else "",
        commands=(result.command,) if result else (),
    )


def _count_details(gate: TestsGate, counts: Counts) -> dict[str, JSONValue]:
    return {
        "passed": counts.passed,
        "failed": counts.failed,
        "errors": counts.errors,
        "skipped": counts.skipped,
        "total": counts.total,
        "min_passed": gate.min_passed,
        "max_failed": gate.max_failed,
        "max_skipped": gate.max_skipped,
        "failures": [f.to_dict() for f in counts.failures],
        "failures_not_listed": max(0, counts.broken - len(counts.failures)),
        "flaky": counts.flaky,
        "flaky_tests": [f.to_dict() for f in counts.flaky_tests],
        "flaky_not_listed": max(0, counts.flaky - len(counts.flaky_tests)),
        "repeated_ids": counts.repeated,
        "retries": gate.retries,
    }


# -- counting from JUnit ------------------------------------------------------------


def report_dir(pattern: str) -> str:
    """The directory a ``junit`` pattern names before any glob character ('' for none)."""
    literal: list[str] = []
    for segment in pattern.removeprefix("./").split("/"):
        if _GLOB_META.search(segment):
            return "/".join(literal)
        literal.append(segment)
    return "/".join(literal[:-1])  # a plain path: the directory of its file


def make_report_dirs(root: Path, patterns: Sequence[str]) -> str | None:
    """Create the literal report directories (node's reporter does not); a problem, or None.

    Never below a symlink: an existing directory is used as it is, a symlinked one
    is left to the runner (the report is then refused if it lands outside the project).
    """
    for rel in dict.fromkeys(filter(None, map(report_dir, patterns))):
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            here = "/".join(parts[:depth])
            try:
                if not _ensure_dir(root / here):
                    break
            except OSError as exc:
                return f"cannot create {rel}/ for the JUnit report: {here}: {exc.strerror or exc}"
    return None


def _ensure_dir(path: Path) -> bool:
    """True when ``path`` is (now) a real directory to go on below; OSError when it cannot be."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        path.mkdir()
        return True
    if stat.S_ISLNK(mode):
        return False
    if not stat.S_ISDIR(mode):
        raise NotADirectoryError(20, "exists and is not a directory")
    return True


def _snapshot(ctx: GateContext[TestsGate]) -> dict[str, Signature]:
    from mergegate import filematch

    found = filematch.find(ctx.root, ctx.gate.junit)
    return {m.rel: sig for m in found.files if (sig := _signature(m.path)) is not None}


def _signature(path: os.PathLike[str] | str) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _is_fresh(match: filematch.Match, before: Mapping[str, Signature], started_ns: int) -> bool:
    sig = _signature(match.path)
    if sig is None or before.get(match.rel) == sig:
        return False  # untouched since before the run
    return sig[2] >= started_ns - MTIME_SLACK_NS


def _from_junit(ctx: GateContext[TestsGate], before: Mapping[str, Signature]) -> Tested | str:
    from mergegate import filematch
    from mergegate.junit_count import JUnitError, Tally

    gate = ctx.gate
    globs_shown = ", ".join(gate.junit)
    found = filematch.find(ctx.root, gate.junit)
    if found.refused:
        return "JUnit report refused: " + "; ".join(found.refused)
    if not found.files:
        hint = f"; did `{display_command(gate.run)}` write its report there?" if gate.run else ""
        return f"no JUnit file matches {globs_shown} (relative to {ctx.root}){hint}"
    files = list(found.files)
    stale: list[str] = []
    if gate.run is not None:
        started_ns = int(ctx.started_wall * 1e9)
        stale = [m.rel for m in files if not _is_fresh(m, before, started_ns)]
        files = [m for m in files if m.rel not in stale]
        if not files:
            return _all_stale(stale, globs_shown, gate.run)
    tally = Tally(last_wins=gate.retries == "last-wins")
    for match in files:
        try:
            tally.add_file(match.path, match.rel)
        except JUnitError as exc:
            return f"not a valid JUnit report: {exc}"
    details: dict[str, JSONValue] = {
        "source": "junit",
        "reports": [m.rel for m in files],
        "stale_reports": stale,
        "entries": tally.entries,
    }
    note = f" (ignored {_plural(len(stale), 'stale report')})" if stale else ""
    return Tested(tally.counts(), details, note)


def _all_stale(stale: Sequence[str], globs_shown: str, run: RunSpec) -> str:
    none, what = (
        ("it was not", "a stale report") if len(stale) == 1 else ("none was", "stale reports")
    )
    return (
        f"{_plural(len(stale), 'JUnit file')} matched {globs_shown} but {none} written by "
        f"this run ({_listing(stale)}): {what} from an earlier run; check that "
        f"`{display_command(run)}` writes its report there"
    )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listing(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit} more)" if len(items) > limit else "")


# -- counting from text -------------------------------------------------------------


def _from_output(result: ProcResult | None) -> Tested | str:
    if result is None:  # the config requires `run` with count_from: output
        return "`count_from: output` needs `run`"
    from mergegate.summary_lines import parse_summary

    text = result.output.text()
    summary = parse_summary(text)
    if summary is None:
        return (
            f"no test summary found in the output of `{result.command}` (looked for pytest, "
            "jest, vitest, node --test, go test -v and cargo test summaries); write JUnit "
            "and use `junit:` instead"
        )
    if summary.needs_full_output and result.output.dropped:
        return (
            f"the output of `{result.command}` was too long to keep whole "
            f"({result.output.total} bytes), and {summary.runner} counts must add up every "
            "line; write JUnit (go-junit-report, gotestsum --junitfile, cargo nextest) and "
            "use `junit:` instead"
        )
    note = f" (read from {summary.runner}'s output text, not JUnit)"
    return Tested(_text_counts(summary), _text_details(summary), note)


def _text_counts(summary: TextCounts) -> Counts:
    from mergegate.junit_count import Counts, FailedTest

    failing = tuple(FailedTest(name, "", "failure") for name in summary.failing)
    return Counts(
        passed=summary.passed,
        failed=summary.failed,
        errors=summary.errors,
        skipped=summary.skipped,
        failures=failing,
    )


def _text_details(summary: TextCounts) -> dict[str, JSONValue]:
    return {"source": "output", "runner": summary.runner, "summary_line": summary.summary}


# -- the kind's registration (mergegate.gates.Kind) -----------------------------------


@record(frozen=True)
class TestsSpec(GateSpec):
    __test__: ClassVar[bool] = False  # a spec, not a pytest test class
    kind: ClassVar[str] = "tests"
    run: RunSpec | None = None
    junit: tuple[str, ...] = ()
    min_passed: int | str = 1  # or "baseline"
    max_failed: int = 0
    max_skipped: int | str | None = None  # or "baseline"
    count_from: str = "junit"
    retries: str | None = None


TestsGate = TestsSpec  # the name this module's code reads its spec by
SPEC: type[TestsSpec] = TestsSpec


@functools.cache
def model() -> type[GateBase]:
    """The pydantic model of this kind's gates.yaml entries (built when the validator asks)."""
    from typing import Annotated, Literal

    from pydantic import Field, model_validator

    from mergegate.config import GateBase, Globs
    from mergegate.config import RunSpec as RunModel

    class TestsGate(GateBase):
        __test__: ClassVar[bool] = False  # a model, not a pytest test class

        kind: Literal["tests"]
        run: RunModel | None = None
        junit: Globs = ()
        min_passed: Annotated[int, Field(ge=0)] | Literal["baseline"] = 1
        max_failed: Annotated[int, Field(ge=0)] = 0
        max_skipped: Annotated[int, Field(ge=0)] | Literal["baseline"] | None = None
        count_from: Literal["junit", "output"] = "junit"
        retries: Literal["last-wins"] | None = Field(
            default=None,
            description="last-wins: the runner appends rerun attempts (gotestsum --rerun-fails, "
            "pytest-rerunfailures); a test's last entry decides and counts once.",
        )

        @model_validator(mode="after")
        def _source(self) -> TestsGate:
            if self.count_from == "junit" and not self.junit:
                raise ValueError("a tests gate needs `junit` (globs of the JUnit files to count)")
            if self.count_from == "output" and self.run is None:
                raise ValueError(
                    "`count_from: output` needs `run` (the command whose output is read)"
                )
            return self

    return TestsGate


if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.gates import Kind
    from mergegate.gates import tests as _self

    _checked: Kind = _self
