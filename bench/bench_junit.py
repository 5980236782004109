"""Counting a large JUnit report: mergegate's counter against a plain stdlib iterparse loop.

    python bench/bench_junit.py                   # 200,000 testcases, 5 rounds
    python bench/bench_junit.py --cases 2000      # tiny: proves the bench runs (CI)
    python bench/bench_junit.py --markdown        # only the Markdown table

A report of ``--cases`` testcases is generated in a temp dir, shaped like a big CI
run: 500 cases per <testsuite>, 1% failures with a message and a stack trace, 2%
skipped, 3% with <system-out>, and 0.5% rerun entries (pytest-rerunfailures style,
so the counter has duplicates to fold). Then, per round, in alternating order:

- mergegate: ``mergegate.junit_count.count_reports`` with ``retries: last-wins``, its
  busier mode (expat with DTDs refused, encodings and token sizes checked, rerun
  folding, flaky tests named, outcome precedence, failure messages);
- stdlib: ``xml.etree.ElementTree.iterparse`` over "end" events, classifying each
  testcase by its children and clearing it, nothing else (no rerun folding, no
  hardening): the floor a streaming counter is measured against;
- defusedxml (time only): the same loop through ``defusedxml.ElementTree.iterparse``,
  the obvious hardened choice, which runs on the pure-Python XMLParser.

Time is the median of per-round ratios (goal: at most 1.3). Peak memory is measured
in a fresh child process per variant: the Python heap peak (tracemalloc) and the
process's peak RSS above an idle interpreter that imported the same modules. It is
measured twice, on the plain report and on one whose every testcase carries 256 B of
<system-out> (a file about 3x larger): a flat counter holds the same either way.

Exit status 1 when the two counters disagree on what they both count or a child
fails; timings never decide it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SRC = BENCH_DIR.parent / "src"
if str(SRC) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(SRC))

SUITE_SIZE = 500
_OUTCOMES = {"skipped": 1, "failure": 2, "error": 3}


# -- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    path: Path
    entries: int  # testcase elements written
    unique: int  # distinct tests (entries minus rerun attempts)
    size: int  # bytes


def generate(path: Path, cases: int, output_bytes: int = 0) -> Generated:
    """Write a report of ``cases`` distinct tests (plus rerun entries) to ``path``."""
    entries = 0
    padding = ("captured output line\n" * (output_bytes // 21 + 1))[:output_bytes]
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n')
        for first in range(0, cases, SUITE_SIZE):
            fh.write(f'  <testsuite name="suite{first // SUITE_SIZE}" tests="{SUITE_SIZE}">\n')
            for i in range(first, min(cases, first + SUITE_SIZE)):
                if i % 200 == 7:  # a rerun: the failed first attempt, then the final entry
                    fh.write(_case(i, "failure", ""))
                    entries += 1
                kind = "failure" if i % 100 == 3 else "skipped" if i % 50 == 11 else ""
                out = padding if output_bytes else ("some output" if i % 33 == 5 else "")
                fh.write(_case(i, kind, out))
                entries += 1
            fh.write("  </testsuite>\n")
        fh.write("</testsuites>\n")
    return Generated(path, entries, cases, path.stat().st_size)


def _case(i: int, kind: str, output: str) -> str:
    attrs = f'classname="tests.test_module_{i // 40}" name="test_case_{i}[param-{i % 7}]"'
    body = ""
    if kind == "failure":
        body = (
            f'<failure message="AssertionError: expected {i} to equal {i + 1}">'
            f"Traceback (most recent call last):\n  File &quot;tests/test_module_{i // 40}.py&quot;"
            f", line {i % 300}, in test_case_{i}\nAssertionError</failure>"
        )
    elif kind == "skipped":
        body = '<skipped type="pytest.skip" message="needs a database"/>'
    if output:
        body += f"<system-out>{output}</system-out>"
    time_attr = f'time="0.{i % 1000:03d}"'
    if not body:
        return f"    <testcase {attrs} {time_attr}/>\n"
    return f"    <testcase {attrs} {time_attr}>{body}</testcase>\n"


# -- the two counters -----------------------------------------------------------------


def count_mergegate(path: Path) -> tuple[int, int]:
    """(entries read, distinct tests) as mergegate counts them with `retries: last-wins`."""
    from mergegate.junit_count import count_reports

    counts = count_reports([path], last_wins=True)
    return counts.entries, counts.total


def count_stdlib(path: Path) -> tuple[int, int]:
    """A plain iterparse loop: every testcase classified by its children, then cleared."""
    from xml.etree.ElementTree import iterparse

    by_outcome = [0, 0, 0, 0]
    for _, elem in iterparse(path):  # noqa: S314  # the unhardened floor, on our own file
        if elem.tag == "testcase":
            outcome = 0
            for child in elem:
                outcome = max(outcome, _OUTCOMES.get(child.tag, 0))
            by_outcome[outcome] += 1
            elem.clear()
    entries = sum(by_outcome)
    return entries, entries


def count_defusedxml(path: Path) -> tuple[int, int]:
    """The stdlib loop through defusedxml's iterparse (DTDs forbidden): the obvious
    hardened counter, for comparison. defusedxml needs the pure-Python XMLParser."""
    from defusedxml.ElementTree import iterparse

    by_outcome = [0, 0, 0, 0]
    for _, elem in iterparse(path, forbid_dtd=True):
        if elem.tag == "testcase":
            outcome = 0
            for child in elem:
                outcome = max(outcome, _OUTCOMES.get(child.tag, 0))
            by_outcome[outcome] += 1
            elem.clear()
    entries = sum(by_outcome)
    return entries, entries


COUNTERS: dict[str, Callable[[Path], tuple[int, int]]] = {
    "mergegate": count_mergegate,
    "stdlib": count_stdlib,
}
TIMED_ONLY: dict[str, Callable[[Path], tuple[int, int]]] = {"defusedxml": count_defusedxml}


# -- measuring ----------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    mergegate: float  # median seconds
    stdlib: float
    defusedxml: float
    ratio: float  # mergegate / stdlib: median of per-round ratios
    defused_ratio: float  # defusedxml / stdlib, the same way


def time_rounds(path: Path, rounds: int) -> Timing:
    counters = {**COUNTERS, **TIMED_ONLY}
    seconds: dict[str, list[float]] = {name: [] for name in counters}
    order = list(counters)
    for round_no in range(rounds):
        shift = round_no % len(order)  # rotate, so drift on a shared machine hits all alike
        for name in order[shift:] + order[:shift]:
            started = time.perf_counter()
            counters[name](path)
            seconds[name].append(time.perf_counter() - started)

    def ratio(name: str) -> float:
        pairs = zip(seconds[name], seconds["stdlib"], strict=True)
        return statistics.median(a / b for a, b in pairs)

    return Timing(
        statistics.median(seconds["mergegate"]),
        statistics.median(seconds["stdlib"]),
        statistics.median(seconds["defusedxml"]),
        ratio("mergegate"),
        ratio("defusedxml"),
    )


@dataclass(frozen=True)
class Memory:
    heap_peak: int  # bytes, tracemalloc
    rss_above_idle: int  # bytes


def memory_of(name: str, path: Path, idle_rss: int) -> Memory:
    """Peak memory of one counter, in a fresh interpreter (so no high-water mark leaks in)."""
    used = _child(name, path)
    return Memory(int(used["heap_peak"]), max(0, int(used["maxrss"]) - idle_rss))


def _child(name: str, path: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", name, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {name} failed: {proc.stderr.strip()[-500:]}")
    result: dict[str, float] = json.loads(proc.stdout)
    return result


def child_main(name: str, path: Path) -> int:
    import tracemalloc
    import xml.etree.ElementTree  # noqa: F401  # both variants pay the same imports
    from xml.parsers import expat  # noqa: F401

    import mergegate.junit_count  # noqa: F401

    tracemalloc.start()
    if name != "idle":
        COUNTERS[name](path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"heap_peak": peak, "maxrss": maxrss}))
    return 0


# -- reporting ----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    report: Generated
    padded: Generated
    timing: Timing
    memory: dict[str, Memory]  # "<counter>" and "<counter>+output"
    agree: bool


HEADER = (
    "| testcases | file | mergegate | stdlib iterparse | ratio (goal ≤ 1.3) "
    "| defusedxml iterparse (ratio) "
    "| heap peak mergegate / stdlib | RSS above idle mergegate / stdlib "
    "| heap peak with 256 B output per case (file size) |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def markdown_row(r: Result) -> str:
    m, s = r.memory["mergegate"], r.memory["stdlib"]
    mp, sp = r.memory["mergegate+output"], r.memory["stdlib+output"]
    return (
        f"| {r.report.unique:,} (+{r.report.entries - r.report.unique:,} reruns) "
        f"| {_mib(r.report.size)} | {r.timing.mergegate:.3f} s | {r.timing.stdlib:.3f} s "
        f"| {r.timing.ratio:.2f}× "
        f"| {r.timing.defusedxml:.3f} s ({r.timing.defused_ratio:.2f}×) "
        f"| {_mib(m.heap_peak)} / {_mib(s.heap_peak)} "
        f"| {_mib(m.rss_above_idle)} / {_mib(s.rss_above_idle)} "
        f"| {_mib(mp.heap_peak)} / {_mib(sp.heap_peak)} ({_mib(r.padded.size)}) |"
    )


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"


def run_bench(cases: int, rounds: int, workdir: Path) -> Result:
    report = generate(workdir / "report.xml", cases)
    padded = generate(workdir / "padded.xml", cases, output_bytes=256)
    ours = count_mergegate(report.path)
    theirs = count_stdlib(report.path)
    defused = count_defusedxml(report.path)
    from mergegate.junit_count import count_reports

    every = count_reports([report.path]).total  # without last-wins every entry counts
    agree = ours == (report.entries, report.unique) and theirs[0] == defused[0] == every
    timing = time_rounds(report.path, rounds)
    idle = int(_child("idle", report.path)["maxrss"])
    memory = {name: memory_of(name, report.path, idle) for name in COUNTERS}
    memory.update({f"{name}+output": memory_of(name, padded.path, idle) for name in COUNTERS})
    return Result(report, padded, timing, memory, agree)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/bench_junit.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cases", type=int, default=200_000, help="distinct testcases (200,000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per counter (5)")
    parser.add_argument("--markdown", action="store_true", help="print only the Markdown table")
    parser.add_argument("--child", nargs=2, metavar=("COUNTER", "FILE"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(args.child[0], Path(args.child[1]))
    if args.cases < 1 or args.rounds < 1:
        print("bench_junit: --cases and --rounds must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-junit-") as tmp:
        try:
            result = run_bench(args.cases, args.rounds, Path(tmp))
        except RuntimeError as exc:
            print(f"bench_junit: {exc}", file=sys.stderr)
            return 1
    if not args.markdown:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.rounds} rounds")
    print(HEADER)
    print(markdown_row(result))
    if not result.agree:
        print("bench_junit: the counters disagree on the number of entries", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
