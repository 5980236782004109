"""Counting tests in JUnit XML reports: streamed, hardened, each logical test once.

The rules (DESIGN §2):

- every ``testcase`` at any depth counts: under ``testsuite`` elements nested to
  any level, directly under ``testsuites`` (``node --test``), or under a bare
  ``testsuite`` root (Maven Surefire);
- a logical test is keyed by (file, classname, name) within its enclosing
  ``testsuite`` path, and the last entry for a key wins, so the earlier attempts
  that pytest-rerunfailures and gotestsum write do not count twice. The suite
  path is part of the key because ``node --test`` gives every case the classname
  ``test`` and tells describe blocks apart only by their suites;
- an entry's outcome is its worst direct child: ``error`` > ``failure`` >
  ``skipped`` > passed. ``flakyFailure``/``rerunFailure`` (Surefire, nextest) are
  information about earlier attempts, not outcomes;
- attribute totals (``tests=``, ``failures=``) are never read.

Parsing uses expat with the guards defusedxml installs (DOCTYPE, entity
declarations and external references raise at once), driven by plain start/end
callbacks instead of building elements: nothing of the document is kept but
the open-element path, so memory does not grow with the file. What grows is one
16-byte digest per distinct test (about 100 bytes each with the dict).
defusedxml's own ``iterparse`` runs on the pure-Python ``XMLParser`` and costs
about 1.9x a standard-library iterparse loop; this costs less than one
(bench/bench_junit.py).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any, BinaryIO

MAX_REPORT_BYTES = 1024**3  # a JUnit file larger than this is refused, not parsed
MAX_MESSAGE_CHARS = 500
MAX_NESTING = 256  # elements deep; JUnit writers nest a handful
MAX_ENTRIES = 5_000_000  # testcase elements over all reports: a bound on memory
_CHUNK = 1 << 18
KEEP_FAILURES = 20  # failing tests listed in a result; the counts cover all of them

PASSED, SKIPPED, FAILED, ERROR = 0, 1, 2, 3
_OUTCOME_OF = {"skipped": SKIPPED, "failure": FAILED, "error": ERROR}
_ROOTS = ("testsuites", "testsuite")
# go-junit-report writes message="Failed" and the useful text in the body
_EMPTY_MESSAGES = frozenset({"", "failed", "error", "failure"})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRACKED_LIMIT = 5 * KEEP_FAILURES  # failing tests remembered by name (reruns may clear some)


class JUnitError(Exception):
    """A report cannot be counted: unreadable, not well-formed, hostile or not JUnit."""


@dataclass(frozen=True)
class FailedTest:
    test: str  # classname::name (the name alone when the classname adds nothing)
    message: str
    outcome: str  # "failure" or "error"
    suite: str = ""  # the innermost enclosing testsuite, when there is one

    @property
    def short(self) -> str:
        return self.test.rsplit("::", 1)[-1]

    def to_dict(self) -> dict[str, str]:
        return {"test": self.test, "message": self.message}


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    entries: int = 0  # testcase elements read, earlier attempts of reruns included
    failures: tuple[FailedTest, ...] = ()  # the first KEEP_FAILURES failing tests

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def broken(self) -> int:
        return self.failed + self.errors


def clean_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Control characters dropped, surrounding blank space trimmed, length capped."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def display_name(classname: str, name: str) -> str:
    return f"{classname}::{name}" if classname and classname != name else name


class Tally:
    """Outcomes of the logical tests seen so far, across every report added."""

    def __init__(self, keep: int = KEEP_FAILURES) -> None:
        self.keep = keep
        self.entries = 0
        # latest outcome of each logical test: scope (report file attribute + suite path)
        # -> group (classname) -> name -> outcome. Small inner dicts are several times
        # faster to fill than one flat dict of joined keys, and hold nothing more.
        self.scopes: dict[str, dict[str, dict[str, int]]] = {}
        self.by_outcome = [0, 0, 0, 0]  # logical tests per PASSED, SKIPPED, FAILED, ERROR
        # named failing tests, in order of first failure
        self.failing: dict[tuple[str, str, str], FailedTest] = {}

    def add_file(self, path: Path, shown: str | None = None) -> None:
        """Count one report; JUnitError says why it cannot be counted."""
        label = shown or str(path)
        try:
            # O_NONBLOCK: a FIFO swapped in for the report must not hang the gate
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise JUnitError(f"{label}: cannot open: {exc.strerror or exc}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise JUnitError(f"{label}: not a regular file")
            if info.st_size > MAX_REPORT_BYTES:
                raise JUnitError(
                    f"{label}: {info.st_size} bytes is over the "
                    f"{MAX_REPORT_BYTES // 1024**2} MiB limit for a JUnit report; "
                    "does the glob match the right file?"
                )
            if info.st_size == 0:
                raise JUnitError(f"{label}: empty file (the test run wrote no report?)")
            fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with fh:
            try:
                _Reader(self, label).parse_file(fh)
            except OSError as exc:
                raise JUnitError(f"{label}: cannot read: {exc.strerror or exc}") from None

    def add_bytes(self, data: bytes, shown: str = "<report>") -> None:
        if not data:
            raise JUnitError(f"{shown}: empty report")
        _Reader(self, shown).parse_bytes(data)

    def scope(self, key: str) -> dict[str, dict[str, int]]:
        found = self.scopes.get(key)
        if found is None:
            found = self.scopes[key] = {}
        return found

    def failing_test(
        self,
        key: tuple[str, str, str],
        classname: str,
        name: str,
        outcome: int,
        message: str,
        suite: str,
    ) -> None:
        if key not in self.failing and len(self.failing) >= _TRACKED_LIMIT:
            return
        self.failing[key] = FailedTest(
            test=clean_text(display_name(classname, name), 300),
            message=clean_text(message),
            outcome="error" if outcome == ERROR else "failure",
            suite=clean_text(suite, 300),
        )

    def counts(self) -> Counts:
        passed, skipped, failed, errors = self.by_outcome
        return Counts(
            passed=passed,
            failed=failed,
            errors=errors,
            skipped=skipped,
            entries=self.entries,
            failures=tuple(list(self.failing.values())[: self.keep]),
        )


def count_reports(paths: Iterable[Path]) -> Counts:
    tally = Tally()
    for path in paths:
        tally.add_file(path)
    return tally.counts()


def count_bytes(data: bytes) -> Counts:
    tally = Tally()
    tally.add_bytes(data)
    return tally.counts()


def _telling(line: str) -> bool:
    """A body line worth showing as the message: not blank, not go test's framing."""
    return bool(line) and not line.startswith(("=== RUN", "=== PAUSE", "=== CONT", "--- FAIL"))


class _Reader:
    """Drives one expat parser over one report and feeds finished test cases to a Tally.

    Hot path: the handlers run once per element of a file that may hold hundreds
    of thousands of them, so they keep their state in plain attributes and lists.
    """

    def __init__(self, tally: Tally, shown: str) -> None:
        from xml.parsers import expat

        self.tally = tally
        self.shown = shown
        self.depth = 0
        # enclosing testsuites, innermost last: (scope key, file attribute, suite name)
        self.suites: list[tuple[str, str, str]] = [("\x1d", "", "")]
        self.scope = tally.scope("\x1d")
        # open testcases: [attributes, depth, outcome, message]; nested ones are rare
        self.cases: list[list[Any]] = []
        # body text of a failure whose message attribute says nothing, while it is read
        self.text: list[str] = []
        self.text_size = 0
        self.text_depth = 0
        self.parser = parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = 1 << 16
        parser.StartElementHandler = self._root
        parser.EndElementHandler = self._end
        parser.StartDoctypeDeclHandler = self._forbid_doctype
        parser.EntityDeclHandler = self._forbid_entity
        parser.UnparsedEntityDeclHandler = self._forbid_entity
        parser.ExternalEntityRefHandler = self._forbid_external

    # -- driving --------------------------------------------------------------

    def parse_file(self, fh: BinaryIO) -> None:
        parser = self.parser

        def feed() -> None:
            while chunk := fh.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)

        self._guard(feed)

    def parse_bytes(self, data: bytes) -> None:
        self._guard(lambda: self.parser.Parse(data, True))

    def _guard(self, action: Callable[[], object]) -> None:
        from xml.parsers.expat import ExpatError, errors

        try:
            action()
        except ExpatError as exc:
            where = f"{self.shown}:{exc.lineno}:{exc.offset + 1}"
            reason = errors.messages.get(exc.code, str(exc))
            if reason == errors.XML_ERROR_NO_ELEMENTS:
                reason += " (the file is truncated or holds no element)"
            raise JUnitError(f"{where}: not well-formed XML: {reason}") from None

    # -- guards (the ones defusedxml installs) ---------------------------------

    def _forbid_doctype(self, name: str, *_: object) -> None:
        raise JUnitError(
            f"{self.shown}:{self._line()}: a DOCTYPE declaration (<!DOCTYPE {name}>) is refused: "
            "JUnit reports need none, and a DTD's entities can expand to exhaust memory"
        )

    def _forbid_entity(self, name: str, *_: object) -> None:
        raise JUnitError(f"{self.shown}:{self._line()}: entity declaration {name!r} refused")

    def _forbid_external(self, *_: object) -> int:
        raise JUnitError(f"{self.shown}:{self._line()}: external entity reference refused")

    def _too_deep(self) -> None:
        raise JUnitError(f"{self.shown}:{self._line()}: elements nested deeper than {MAX_NESTING}")

    def _line(self) -> int:
        return int(self.parser.CurrentLineNumber)

    # -- structure ------------------------------------------------------------

    def _root(self, tag: str, attrs: dict[str, str]) -> None:
        if tag not in _ROOTS:
            raise JUnitError(
                f"{self.shown}: the root element is <{tag}>, not <testsuites> or <testsuite>: "
                "not a JUnit report"
            )
        self.parser.StartElementHandler = self._start
        self._start(tag, attrs)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        depth = self.depth = self.depth + 1
        if depth > MAX_NESTING:
            self._too_deep()
        if tag == "testcase":
            self.cases.append([attrs, depth, PASSED, ""])
        elif tag in _OUTCOME_OF:
            if self.cases and self.cases[-1][1] == depth - 1:
                self._outcome(self.cases[-1], _OUTCOME_OF[tag], attrs)
        elif tag == "testsuite":
            self._enter_suite(attrs)

    def _end(self, tag: str) -> None:
        depth = self.depth
        self.depth = depth - 1
        if tag == "testcase":
            if self.text_depth:
                self._stop_text()
            self._finish(self.cases.pop())
        elif tag == "testsuite":
            self.suites.pop()
            self.scope = self.tally.scope(self.suites[-1][0])
        elif depth == self.text_depth:
            self._stop_text()

    def _enter_suite(self, attrs: Mapping[str, str]) -> None:
        parent, file, _ = self.suites[-1]
        name = attrs.get("name", "")
        file = attrs.get("file") or file
        # a digest of the parent's key, the file attribute and the name: a fixed size
        # however deep or long the names (\x1d and \x1f never occur in XML text)
        joined = f"{parent}\x1d{file}\x1f{name}".encode("utf-8", "surrogatepass")
        scope = blake2b(joined, digest_size=16).hexdigest()
        self.suites.append((scope, file, name))
        self.scope = self.tally.scope(scope)

    def _outcome(self, case: list[Any], outcome: int, attrs: Mapping[str, str]) -> None:
        if outcome <= case[2]:
            return
        message = attrs.get("message", "")
        case[2], case[3] = outcome, message
        if outcome >= FAILED and message.strip().lower() in _EMPTY_MESSAGES:
            self.text, self.text_size, self.text_depth = [], 0, self.depth
            self.parser.CharacterDataHandler = self._text

    def _text(self, data: str) -> None:
        # enough for a first line; the rest is skipped (the handler stays: swapping it
        # here would make pyexpat flush its buffer into this very handler)
        if self.text_size <= 4 * MAX_MESSAGE_CHARS:
            self.text.append(data)
            self.text_size += len(data)

    def _stop_text(self) -> None:
        self.parser.CharacterDataHandler = None
        self.text_depth = 0
        body = "".join(self.text)
        self.text = []
        first = next((line for line in map(str.strip, body.splitlines()) if _telling(line)), "")
        if first and self.cases:
            self.cases[-1][3] = first

    def _finish(self, case: list[Any]) -> None:
        attrs, _, outcome, message = case
        classname = attrs.get("classname", "")
        name = attrs.get("name", "")
        file = attrs.get("file")
        # jest-junit repeats the full title as classname: grouping by it would make one
        # dict per test (\x1e never occurs in XML text, so this group is no classname's)
        group_key = "\x1e" if classname == name else classname
        if file and file != self.suites[-1][1]:
            group_key = f"{file}\x1e{group_key}"
        group = self.scope.get(group_key)
        if group is None:
            group = self.scope[group_key] = {}
        tally = self.tally
        tally.entries += 1
        if tally.entries > MAX_ENTRIES:
            raise JUnitError(f"{self.shown}: more than {MAX_ENTRIES} test cases; refusing to count")
        previous = group.get(name)
        group[name] = outcome
        counts = tally.by_outcome
        counts[outcome] += 1
        if previous is not None:
            counts[previous] -= 1
        if outcome >= FAILED:
            scope, _, suite = self.suites[-1]
            tally.failing_test((scope, group_key, name), classname, name, outcome, message, suite)
        elif previous is not None and previous >= FAILED:
            tally.failing.pop((self.suites[-1][0], group_key, name), None)
