"""Counting tests from a runner's printed summary, for ``count_from: output``.

For users whose runner writes no JUnit: the counts are read from the text the
command printed. Recognised, each by its documented final summary:

- pytest: ``== 2 failed, 1998 passed, 3 skipped in 12.3s ==`` (``-q`` prints it bare);
- jest: ``Tests:       1 failed, 2 skipped, 40 passed, 43 total``;
- vitest: ``Tests  1 failed | 40 passed | 2 skipped (43)``;
- node --test: the ``# pass 7`` / ``# fail 2`` block (``ℹ`` instead of ``#`` from the
  spec reporter);
- go test -v: every ``--- PASS:``/``--- FAIL:``/``--- SKIP:`` line (go prints no totals);
- cargo test: the sum of every ``test result: ok. 5 passed; 0 failed; 1 ignored; …`` line
  (one per test binary).

When several appear (a wrapper script running two tools), the summary printed
last wins. go and cargo counts need the whole output; a caller holding only a
head and tail of it must not trust them (``TextCounts.needs_full_output``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_NAMES = 20

_ITEM = r"\d+ [a-z]+(?: [a-z]+)*"  # "3 passed", "2 subtests passed"
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_PYTEST = re.compile(
    rf"^=*\s*(?P<body>{_ITEM}(?:, {_ITEM})*|no tests ran)"
    r" in [\d.]+s(?: \([\d:]+\))?\s*=*$"
)
_JEST = re.compile(r"^Tests:\s+(?P<body>(?:\d+ [a-z]+, )*)(?P<total>\d+) total$")
_VITEST = re.compile(rf"^Tests\s+(?P<body>{_ITEM}(?: \| {_ITEM})*)\s+\((?P<total>\d+)\)$")
_NODE = re.compile(
    r"^(?:#|ℹ)\s+(?P<key>tests|suites|pass|fail|cancelled|skipped|todo)\s+(?P<n>\d+)$"
)
_GO = re.compile(r"^\s*--- (?P<verdict>PASS|FAIL|SKIP): (?P<name>\S+)")
_CARGO = re.compile(
    r"^test result: (?:ok|FAILED)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; "
    r"(?P<ignored>\d+) ignored;"
)
_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<name>\S+)(?: - .*)?$")
_CARGO_FAILED = re.compile(r"^test (?P<name>\S+) \.\.\. FAILED$")
_NODE_FAILED = re.compile(r"^\s*not ok \d+ - (?P<name>.+?)(?: # .*)?$")

# word in a summary -> which count it adds to; other words (deselected, warnings,
# rerun, total, todo in pytest plugins) add to none
_WORDS = {
    "passed": "passed",
    "xpassed": "passed",
    "failed": "failed",
    "error": "errors",
    "errors": "errors",
    "skipped": "skipped",
    "xfailed": "skipped",
    "todo": "skipped",
    "pending": "skipped",
}


@dataclass(frozen=True)
class TextCounts:
    runner: str  # "pytest", "jest", "vitest", "node --test", "go test", "cargo test"
    passed: int
    failed: int
    errors: int
    skipped: int
    summary: str  # the line (or block) the counts were read from
    failing: tuple[str, ...] = ()  # names of failing tests, when the runner prints them
    needs_full_output: bool = False  # counts add up lines from the whole output

    @property
    def broken(self) -> int:
        return self.failed + self.errors


@dataclass(frozen=True)
class _Found:
    at: int  # index of the last line read: the summary printed last wins
    counts: TextCounts


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_summary(text: str) -> TextCounts | None:
    """The counts of the last recognised summary in ``text``, or None when there is none."""
    lines = [line.rstrip() for line in re.split(r"\r\n|\r|\n", strip_ansi(text))]
    found = [f for parse in _PARSERS if (f := parse(lines)) is not None]
    if not found:
        return None
    return max(found, key=lambda f: f.at).counts


def _make(
    runner: str,
    counts: dict[str, int],
    summary: str,
    failing: tuple[str, ...] = (),
    *,
    needs_full_output: bool = False,
) -> TextCounts:
    return TextCounts(
        runner,
        passed=counts["passed"],
        failed=counts["failed"],
        errors=counts["errors"],
        skipped=counts["skipped"],
        summary=summary,
        failing=failing,
        needs_full_output=needs_full_output,
    )


def _zero() -> dict[str, int]:
    return {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}


def _tally(items: Sequence[str]) -> dict[str, int] | None:
    """'3 passed', '1 failed' ... -> counts; None when no item is a known word."""
    counts = _zero()
    known = False
    for item in items:
        number, _, word = item.strip().partition(" ")
        target = _WORDS.get(word.strip())
        if target is not None and number.isdigit():
            counts[target] += int(number)
            known = True
    return counts if known else None


def _names(lines: Sequence[str], pattern: re.Pattern[str]) -> tuple[str, ...]:
    names: list[str] = []
    for line in lines:
        if (m := pattern.match(line)) and m["name"] not in names:
            names.append(m["name"])
            if len(names) == MAX_NAMES:
                break
    return tuple(names)


def _last(lines: Sequence[str], pattern: re.Pattern[str]) -> tuple[int, re.Match[str]] | None:
    for index in range(len(lines) - 1, -1, -1):
        if m := pattern.match(lines[index].strip()):
            return index, m
    return None


def _pytest(lines: Sequence[str]) -> _Found | None:
    hit = _last(lines, _PYTEST)
    if hit is None:
        return None
    index, m = hit
    body = m["body"]
    counts = _zero()
    if body != "no tests ran":
        tallied = _tally(body.split(", "))
        if tallied is None:
            return None
        counts = tallied
    failing = _names(lines[:index], _PYTEST_FAILED)
    return _Found(index, _make("pytest", counts, lines[index].strip(), failing))


def _jest(lines: Sequence[str]) -> _Found | None:
    hit = _last(lines, _JEST)
    if hit is None:
        return None
    index, m = hit
    counts = _tally(m["body"].rstrip(", ").split(", ")) if m["body"] else None
    return _Found(index, _make("jest", counts or _zero(), lines[index].strip()))


def _vitest(lines: Sequence[str]) -> _Found | None:
    hit = _last(lines, _VITEST)
    if hit is None:
        return None
    index, m = hit
    counts = _tally(m["body"].split(" | "))
    if counts is None:
        return None
    return _Found(index, _make("vitest", counts, lines[index].strip()))


def _node(lines: Sequence[str]) -> _Found | None:
    block: dict[str, int] = {}
    last: dict[str, int] = {}
    start = end = -1
    for index, line in enumerate(lines):
        m = _NODE.match(line.strip())
        if m is None:
            continue
        if m["key"] == "tests":  # every summary block starts with its total
            block, start = {}, index
        block[m["key"]] = int(m["n"])
        if "pass" in block and "fail" in block and start >= 0:
            end = index
            last = dict(block)
    if end < 0:
        return None
    counts = {
        "passed": last.get("pass", 0),
        "failed": last.get("fail", 0),
        "errors": last.get("cancelled", 0),
        "skipped": last.get("skipped", 0) + last.get("todo", 0),
    }
    block_lines = (line.strip() for line in lines[start : end + 1])
    summary = "; ".join(line for line in block_lines if _NODE.match(line))
    failing = _names(lines[:start], _NODE_FAILED)
    return _Found(end, _make("node --test", counts, summary, failing))


def _go(lines: Sequence[str]) -> _Found | None:
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    failing: list[str] = []
    last = -1
    for index, line in enumerate(lines):
        if (m := _GO.match(line)) is None:
            continue
        counts[m["verdict"]] += 1
        last = index
        if m["verdict"] == "FAIL" and len(failing) < MAX_NAMES:
            failing.append(m["name"])
    if last < 0:
        return None
    summary = ", ".join(f"{counts[v]} --- {v}" for v in ("PASS", "FAIL", "SKIP")) + " lines"
    return _Found(
        last,
        TextCounts(
            "go test",
            passed=counts["PASS"],
            failed=counts["FAIL"],
            errors=0,
            skipped=counts["SKIP"],
            summary=summary,
            failing=tuple(failing),
            needs_full_output=True,
        ),
    )


def _cargo(lines: Sequence[str]) -> _Found | None:
    passed = failed = ignored = 0
    last, seen = -1, 0
    for index, line in enumerate(lines):
        if (m := _CARGO.match(line.strip())) is None:
            continue
        passed += int(m["passed"])
        failed += int(m["failed"])
        ignored += int(m["ignored"])
        last, seen = index, seen + 1
    if last < 0:
        return None
    return _Found(
        last,
        TextCounts(
            "cargo test",
            passed=passed,
            failed=failed,
            errors=0,
            skipped=ignored,
            summary=f"{seen} `test result:` line{'' if seen == 1 else 's'}: {passed} passed; "
            f"{failed} failed; "
            f"{ignored} ignored",
            failing=_names(lines[:last], _CARGO_FAILED),
            needs_full_output=True,
        ),
    )


_PARSERS: tuple[Callable[[Sequence[str]], _Found | None], ...] = (
    _pytest,
    _jest,
    _vitest,
    _node,
    _go,
    _cargo,
)
