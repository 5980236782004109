"""Counting tests in JUnit XML reports: streamed, hardened, every entry counted.

The rules (DESIGN §2):

- every ``testcase`` at any depth counts: under ``testsuite`` elements nested to
  any level, directly under ``testsuites`` (``node --test``), or under a bare
  ``testsuite`` root (Maven Surefire);
- a test's identity is (file, enclosing ``testsuite`` path, classname, name). The
  suite path is part of it because ``node --test`` gives every case the classname
  ``test`` and tells describe blocks apart only by their suites;
- **a pass never hides a failure**: an identity that occurs more than once
  (vitest's type-check copies, jest ``it.each`` rows with one title, appended rerun
  attempts) counts once per occurrence, and the tally says how many identities
  repeat. Only two things fold attempts together: a passing entry that reports its
  earlier attempts (``flakyFailure``/``rerunFailure``/``flakyError``/``rerunError``,
  Surefire and nextest) is one pass, flagged flaky; and ``Tally(last_wins=True)``
  (the gate's ``retries: last-wins``) lets an identity's last occurrence decide and
  count once, listing every identity that passed only on a later attempt as flaky
  (an attempt is repeated because it failed, even where the report writes the failed
  attempt as a bare entry, as pytest-rerunfailures does). Even then a skipped
  attempt never clears a failure;
- an entry's outcome is its worst direct child: ``error`` > ``failure`` >
  ``skipped`` > passed;
- attribute totals (``tests=``, ``failures=``) are never read.

Parsing uses expat with the guards defusedxml installs (DOCTYPE, entity
declarations and external references raise at once), driven by plain start/end
callbacks instead of building elements: nothing of the document is kept but
the open-element path, so memory does not grow with the file. What grows is one
small dict entry per distinct test (about 100 bytes). Two more guards for hostile
files: only the encodings expat decodes itself are read (UTF-8, UTF-16, US-ASCII,
ISO-8859-1; anything else would go through a Python codec, and multi-byte ones fail
inside pyexpat), and one token (a tag, comment or processing instruction, which
expat must hold whole) may not exceed ``MAX_TOKEN_BYTES``: expat 2.5 rescans an
unfinished token on every chunk fed, so the chunks grow with the token to keep that
linear, and the token is refused at the limit. Text and CDATA stream through.
defusedxml's own ``iterparse`` runs on the pure-Python ``XMLParser`` and costs
about 1.9x a standard-library iterparse loop; this costs less than one
(bench/bench_junit.py).
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any, BinaryIO

MAX_REPORT_BYTES = 1024**3  # a JUnit file larger than this is refused, not parsed
MAX_TOKEN_BYTES = 16 * 1024**2  # one tag, comment or processing instruction
MAX_MESSAGE_CHARS = 500
MAX_NESTING = 256  # elements deep; JUnit writers nest a handful
MAX_ENTRIES = 5_000_000  # testcase elements over all reports: a bound on memory
_CHUNK = 1 << 18
KEEP_FAILURES = 20  # failing (and flaky) tests listed in a result; the counts cover all

PASSED, SKIPPED, FAILED, ERROR = 0, 1, 2, 3
# an identity's state: its outcome in the low two bits, and these flags
_OUTCOME = 3
_FAILED_ONCE = 4  # some attempt failed: it failed, was retried, or reported failed attempts
_REPEATED = 8  # the identity occurred more than once
_OUTCOME_OF = {"skipped": SKIPPED, "failure": FAILED, "error": ERROR}
# Surefire and nextest: earlier attempts of this very entry, not outcomes of their own
_RERUN_MARKERS = frozenset({"flakyFailure", "flakyError", "rerunFailure", "rerunError"})
_ROOTS = ("testsuites", "testsuite")
# go-junit-report writes message="Failed" and the useful text in the body
_EMPTY_MESSAGES = frozenset({"", "failed", "error", "failure"})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRACKED_LIMIT = 5 * KEEP_FAILURES  # failing tests remembered by name (reruns may clear some)
# the encodings expat decodes itself; any other goes through a Python codec (or fails)
_ENCODINGS = frozenset({"utf-8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "iso-8859-1"})
_ENCODINGS_SHOWN = "UTF-8, UTF-16, US-ASCII or ISO-8859-1"
_DECLARED = re.compile(r"""^<\?xml\s[^>]*?\bencoding\s*=\s*(["'])(.*?)\1""")
_EBCDIC_DECLARATION = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC


class JUnitError(Exception):
    """A report cannot be counted: unreadable, not well-formed, hostile or not JUnit."""


@dataclass(frozen=True)
class FailedTest:
    test: str  # classname::name (the name alone when the classname adds nothing)
    message: str
    outcome: str  # "failure" or "error" ("flaky" for a test that passed on a rerun)
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
    entries: int = 0  # testcase elements read (every attempt)
    failures: tuple[FailedTest, ...] = ()  # the first KEEP_FAILURES failing tests
    flaky: int = 0  # passed after failed attempts (rerun markers, or last-wins reruns)
    flaky_tests: tuple[FailedTest, ...] = ()  # the first KEEP_FAILURES of them
    repeated: int = 0  # identities that occurred more than once
    last_wins: bool = False  # counted with `retries: last-wins`

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


Key = tuple[object, ...]


class Tally:
    """Outcomes of the tests seen so far, across every report added.

    ``last_wins``: an identity's last occurrence decides and counts once (the
    gate's ``retries: last-wins``); otherwise every occurrence counts.
    """

    def __init__(self, keep: int = KEEP_FAILURES, *, last_wins: bool = False) -> None:
        self.keep = keep
        self.last_wins = last_wins
        self.entries = 0
        # state of each identity: scope (file attribute + suite path) -> group
        # (classname) -> name -> state. Small inner dicts are several times faster to
        # fill than one flat dict of joined keys, and hold nothing more.
        self.scopes: dict[str, dict[str, dict[str, int]]] = {}
        self.by_outcome = [0, 0, 0, 0]  # tests per PASSED, SKIPPED, FAILED, ERROR
        self.flaky = 0
        self.repeated = 0
        # named failing and flaky tests, in order of first failure
        self.failing: dict[Key, FailedTest] = {}
        self.flaky_named: dict[Key, FailedTest] = {}

    def add_file(self, path: Path, shown: str | None = None) -> None:
        """Count one report; JUnitError says why it cannot be counted."""
        label = shown or str(path)
        try:
            # O_NONBLOCK: a FIFO swapped in for the report must not hang the gate
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise JUnitError(f"{label}: cannot open: {exc.strerror or exc}") from None
        try:
            fh = _regular_file(fd, label)
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
        _Reader(self, shown).parse_file(io.BytesIO(data))

    def scope(self, key: str) -> dict[str, dict[str, int]]:
        found = self.scopes.get(key)
        if found is None:
            found = self.scopes[key] = {}
        return found

    def note(self, into: dict[Key, FailedTest], key: Key, test: FailedTest) -> None:
        """Remember a failing or flaky test by name, up to a bound (the counts are exact)."""
        if key in into or len(into) < _TRACKED_LIMIT:
            into[key] = test

    def counts(self) -> Counts:
        passed, skipped, failed, errors = self.by_outcome
        return Counts(
            passed=passed,
            failed=failed,
            errors=errors,
            skipped=skipped,
            entries=self.entries,
            failures=tuple(list(self.failing.values())[: self.keep]),
            flaky=self.flaky,
            flaky_tests=tuple(list(self.flaky_named.values())[: self.keep]),
            repeated=self.repeated,
            last_wins=self.last_wins,
        )


def _regular_file(fd: int, label: str) -> BinaryIO:
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
    return os.fdopen(fd, "rb")


def count_reports(paths: Iterable[Path], *, last_wins: bool = False) -> Counts:
    tally = Tally(last_wins=last_wins)
    for path in paths:
        tally.add_file(path)
    return tally.counts()


def count_bytes(data: bytes, *, last_wins: bool = False) -> Counts:
    tally = Tally(last_wins=last_wins)
    tally.add_bytes(data)
    return tally.counts()


def declared_encoding(head: bytes) -> str | None:
    """The encoding the XML declaration at the start of ``head`` names, if any.

    Read the way XML 1.0 Appendix F autodetects it: a byte order mark or the
    byte pattern of ``<?xm`` says how to decode the declaration itself.
    """
    if head.startswith(_EBCDIC_DECLARATION):
        return "EBCDIC"
    if head.startswith((b"\xff\xfe", b"<\x00?\x00")):
        text = head[:1024].decode("utf-16-le", "replace").lstrip("\ufeff")
    elif head.startswith((b"\xfe\xff", b"\x00<\x00?")):
        text = head[:1024].decode("utf-16-be", "replace").lstrip("\ufeff")
    else:
        text = head[:512].decode("latin-1").removeprefix("\xef\xbb\xbf")
    found = _DECLARED.match(text)
    return found[2] if found else None


def check_encoding(head: bytes, shown: str) -> None:
    """JUnitError unless the report is in an encoding expat decodes itself."""
    name = declared_encoding(head)
    if name is not None and name.strip().lower() not in _ENCODINGS:
        raise JUnitError(
            f"{shown}:1: declares encoding {clean_text(name, 40)!r}; a JUnit report is read "
            f"only in {_ENCODINGS_SHOWN}"
        )


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
        # open testcases: [attributes, depth, outcome, message, earlier attempts'
        # message or None]; nested ones are rare
        self.cases: list[list[Any]] = []
        # body text of a failure whose message attribute says nothing, while it is read
        self.text: list[str] = []
        self.text_size = 0
        self.text_depth = 0
        self.text_slot = 3  # the case's field the text is for: 3 outcome, 4 earlier attempt
        self.record = self._record_last if tally.last_wins else self._record_each
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
            fed, size = 0, _CHUNK
            while chunk := fh.read(size):
                if not fed:
                    check_encoding(chunk, self.shown)
                parser.Parse(chunk, False)
                fed += len(chunk)
                # bytes expat holds for a token it has not finished (it reports
                # text as it goes, so this is one tag, comment or instruction)
                pending = fed - max(parser.CurrentByteIndex, 0)
                if pending > MAX_TOKEN_BYTES:
                    self._token_too_large()
                # expat 2.5 rescans an unfinished token from its start on every
                # Parse: feeding at least as much as it holds keeps that linear; and
                # never so much that a token over the limit could end inside the chunk
                size = min(max(_CHUNK, pending), MAX_TOKEN_BYTES + 1 - pending)
            parser.Parse(b"", True)

        self._guard(feed)

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
        except (ValueError, LookupError) as exc:  # pyexpat asked a Python codec and failed
            raise JUnitError(f"{self.shown}: cannot be decoded: {exc}") from None

    # -- guards (the ones defusedxml installs, and a bound on one token) --------

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

    def _token_too_large(self) -> None:
        raise JUnitError(
            f"{self.shown}:{self._line()}: one tag, comment or processing instruction is "
            f"larger than {MAX_TOKEN_BYTES // 1024**2} MiB; no test runner writes that"
        )

    def _line(self) -> int:
        return int(self.parser.CurrentLineNumber)

    # -- structure ------------------------------------------------------------

    def _root(self, tag: str, attrs: dict[str, str]) -> None:
        if tag not in _ROOTS:
            raise JUnitError(
                f"{self.shown}: the root element is <{clean_text(tag, 80)}>, not <testsuites> "
                "or <testsuite>: not a JUnit report"
            )
        self.parser.StartElementHandler = self._start
        self._start(tag, attrs)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        depth = self.depth = self.depth + 1
        if depth > MAX_NESTING:
            self._too_deep()
        if tag == "testcase":
            self.cases.append([attrs, depth, PASSED, "", None])
        elif tag in _OUTCOME_OF:
            if self.cases and self.cases[-1][1] == depth - 1:
                self._outcome(self.cases[-1], _OUTCOME_OF[tag], attrs)
        elif tag == "testsuite":
            self._enter_suite(attrs)
        elif tag in _RERUN_MARKERS and self.cases and self.cases[-1][1] == depth - 1:
            self._earlier_attempt(self.cases[-1], attrs)

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
            self._start_text(3)

    def _earlier_attempt(self, case: list[Any], attrs: Mapping[str, str]) -> None:
        if case[4]:
            return  # the first attempt's message is kept
        case[4] = attrs.get("message", "")
        if case[4].strip().lower() in _EMPTY_MESSAGES and not self.text_depth:
            self._start_text(4)  # nextest writes the panic as text

    def _start_text(self, slot: int) -> None:
        self.text, self.text_size, self.text_depth, self.text_slot = [], 0, self.depth, slot
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
            self.cases[-1][self.text_slot] = first

    # -- counting -------------------------------------------------------------

    def _finish(self, case: list[Any]) -> None:
        attrs = case[0]
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
        self.record(group, group_key, case)

    def _record_each(self, group: dict[str, int], group_key: str, case: list[Any]) -> None:
        """Every occurrence counts on its own; repeats are only counted as such."""
        name = case[0].get("name", "")
        outcome = case[2]
        tally = self.tally
        tally.by_outcome[outcome] += 1
        previous = group.get(name)
        if previous is None:
            group[name] = outcome
        elif not previous & _REPEATED:
            group[name] = previous | _REPEATED
            tally.repeated += 1
        if outcome >= FAILED:
            tally.note(tally.failing, (tally.entries,), self._test(case))
        elif outcome == PASSED and case[4] is not None:
            tally.flaky += 1
            tally.note(tally.flaky_named, (tally.entries,), self._test(case, flaky=True))

    def _record_last(self, group: dict[str, int], group_key: str, case: list[Any]) -> None:
        """The identity's last occurrence decides; a skipped rerun keeps a failure."""
        name = case[0].get("name", "")
        outcome = case[2]
        tally = self.tally
        counts = tally.by_outcome
        previous = group.get(name)
        state = outcome | (_FAILED_ONCE if outcome >= FAILED or case[4] is not None else 0)
        if previous is not None:
            if not previous & _REPEATED:
                tally.repeated += 1
                group[name] = previous | _REPEATED
            if outcome == SKIPPED and previous & _OUTCOME >= FAILED:
                return  # the failure stands
            # an attempt is repeated because it failed, whatever the report shows of it:
            # pytest-rerunfailures writes failed attempts as bare, passing-looking entries
            state |= _REPEATED | _FAILED_ONCE
            counts[previous & _OUTCOME] -= 1
            tally.flaky -= _is_flaky(previous)
        group[name] = state
        counts[outcome] += 1
        tally.flaky += _is_flaky(state)
        self._name_last(group_key, case, state)

    def _name_last(self, group_key: str, case: list[Any], state: int) -> None:
        tally = self.tally
        key = (self.suites[-1][0], group_key, case[0].get("name", ""))
        if state & _OUTCOME >= FAILED:
            tally.flaky_named.pop(key, None)
            tally.note(tally.failing, key, self._test(case))
            return
        earlier = tally.failing.pop(key, None)
        if not _is_flaky(state):
            tally.flaky_named.pop(key, None)
        elif key not in tally.flaky_named:
            if earlier is not None:
                earlier = FailedTest(earlier.test, earlier.message, "flaky", earlier.suite)
            tally.note(tally.flaky_named, key, earlier or self._test(case, flaky=True))

    def _test(self, case: list[Any], *, flaky: bool = False) -> FailedTest:
        attrs, _, outcome, message, earlier = case
        name = display_name(attrs.get("classname", ""), attrs.get("name", ""))
        return FailedTest(
            test=clean_text(name, 300),
            message=clean_text((earlier or "") if flaky else message),
            outcome="flaky" if flaky else "error" if outcome == ERROR else "failure",
            suite=clean_text(self.suites[-1][2], 300),
        )


def _is_flaky(state: int) -> int:
    """1 when the state is a pass after a failed attempt, else 0."""
    return int(state & _OUTCOME == PASSED and bool(state & _FAILED_ONCE))
