"""kind: forbid — no file matching ``paths`` may match a forbidden pattern.

Files are those git would commit (tracked, untracked and not ignored), listed
once at run start for every forbid gate (``LazyBase.files_to_commit``), or with
``changed_only`` those changed since base; filtered by ``paths`` and
``exclude``. The text of each file is scanned as UTF-8, or UTF-16/32 when a BOM
or the NUL pattern says so (other NULs in the first 8 KiB: binary, skipped), in
blocks of whole lines (a huge file costs bounded memory); a symlink's target
text is scanned, never followed; special files are never opened; and every
file and directory name is scanned too. A finding names file:line:column and
the pattern, never the matched text: at most a masked preview (``AKIA***``),
and a path holding a match is shown masked the same way.

The config file itself is not checked against the named ``patterns`` (it
spells them out), only against the built-in sets.

The project's own patterns run on the ``regex`` engine with a timeout and the
GIL released: a pattern that backtracks catastrophically on some file is
stopped at the gate's deadline and named, instead of hanging the run. The
built-in patterns are linear and use ``re``.
"""

from __future__ import annotations

import codecs
import errno
import functools
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from mergegate.errors import GitError
from mergegate.gates import GateContext, PlanContext, PlanInfo
from mergegate.globs import filter_paths
from mergegate.record import record
from mergegate.results import Annotation, JSONValue, Outcome, Status
from mergegate.spec import GateSpec

SNIFF_BYTES = 8 * 1024
BLOCK_BYTES = 1024 * 1024
OVERLAP_BYTES = 4 * 1024  # a line longer than a block is cut with this much overlap
MAX_KEPT = 1000
MAX_DETAILS = 200
MAX_ANNOTATIONS = 50
_NO_PREFILTER = re.compile(r"\\[AZz]")


class PatternTimeout(Exception):
    """A project pattern ran past the gate's deadline on one text (catastrophic backtracking)."""

    def __init__(self, pattern: str, path: str = "") -> None:
        super().__init__(pattern, path)
        self.pattern = pattern
        self.path = path


@record(frozen=True)
class Rule:
    name: str
    line: Any  # re.Pattern (built-in) or regex.Pattern (project): one line at a time
    block: Any  # the same over many lines: a fast "any hit here?" test, or None
    builtin: bool
    anchors: tuple[str, ...] = ()  # literal text every match holds: cheaper than `block`
    fold: bool = False  # anchors are sought in the lower-cased text

    def _bounded(self, method: str, text: str, timeout: float | None) -> Any:
        call = getattr(self.line if method == "finditer" else self.block, method)
        if self.builtin or timeout is None:
            return call(text)
        try:
            return call(text, timeout=max(timeout, 0.001), concurrent=True)
        except TimeoutError:
            raise PatternTimeout(self.name) from None

    def finditer(self, text: str, timeout: float | None = None) -> list[Any]:
        try:  # regex raises the timeout while iterating, not when finditer is called
            return list(self._bounded("finditer", text, timeout))
        except TimeoutError:
            raise PatternTimeout(self.name) from None

    def worth_a_look(
        self, text: str, lowered: Callable[[], str], timeout: float | None = None
    ) -> bool:
        """False only when no line of ``text`` can match."""
        if self.anchors:
            haystack = lowered() if self.fold else text
            if not any(anchor in haystack for anchor in self.anchors):
                return False
        return self.block is None or self._bounded("search", text, timeout) is not None


CONTENT, NAME, LINK = "content", "file name", "symlink target"


@record(frozen=True)
class Finding:
    path: str  # as shown: a match in the path itself is masked there too
    line: int  # 1 for a symlink's target, 0 for a file name (no line)
    col: int
    pattern: str
    preview: str
    found_in: str = CONTENT

    @property
    def where(self) -> str:
        if self.found_in == NAME:
            return f"{self.path} (file name, column {self.col})"
        spot = f"{self.path}:{self.line}:{self.col}"
        return spot if self.found_in == CONTENT else f"{spot} ({self.found_in})"

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "pattern": self.pattern,
            "preview": self.preview,
            "found_in": self.found_in,
        }


@record
class Scan:
    """What one gate run saw; findings beyond MAX_KEPT are counted, not kept."""

    files: int = 0
    binary: int = 0
    links: int = 0  # symlinks: their target text is scanned, never followed
    decoded: Counter[str] = field(default_factory=Counter)  # files read as UTF-16/32
    skipped: list[str] = field(default_factory=list)  # special files, vanished
    unreadable: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    files_with_findings: set[str] = field(default_factory=set)
    masked: set[str] = field(default_factory=set)  # shown paths whose name held a match

    def add(self, finding: Finding) -> None:
        self.counts[finding.pattern] += 1
        self.files_with_findings.add(finding.path)
        if len(self.findings) < MAX_KEPT:
            self.findings.append(finding)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class RuleError(Exception):
    """A pattern cannot be used (does not compile, matches the empty string)."""


# -- rules --------------------------------------------------------------------------


def compile_rules(gate: ForbidGate) -> list[Rule]:
    from mergegate.forbid_patterns import builtin_patterns  # only when the gate runs

    rules = [
        _rule(name, b.regex, builtin=True, anchors=b.anchors, fold=b.fold)
        for name, b in builtin_patterns(gate.builtin).items()
    ]
    rules += [_rule(name, src, builtin=False) for name, src in gate.patterns.items()]
    return rules


def _rule(
    name: str, source: str, *, builtin: bool, anchors: tuple[str, ...] = (), fold: bool = False
) -> Rule:
    import regex

    engine: Any = re if builtin else regex
    try:
        line = engine.compile(source)
        block = None if _NO_PREFILTER.search(source) else engine.compile(source, engine.MULTILINE)
    except (re.error, regex.error) as exc:
        raise RuleError(f"pattern {name!r} is not a valid regular expression: {exc}") from None
    if not builtin and needs_newline(source):
        raise RuleError(
            f"pattern {name!r} needs a newline (`\\n`), but text is matched one line at a "
            "time, so it could never match and would pass every file; match a line's end "
            "with `$`, or split it into one pattern per line"
        )
    if line.search("") is not None:
        raise RuleError(
            f"pattern {name!r} matches the empty string, so it would flag every line; "
            "make it require at least one character"
        )
    return Rule(name, line, block, builtin, anchors, fold)


_VERBOSE = re.compile(r"\(\?[a-zA-Z]*x")


def needs_newline(source: str) -> bool:
    """A required `\\n` (or a literal newline outside verbose mode) outside a class.

    `\\n?`, `\\n*` and `[^\\n]` may match within one line and are left alone.
    """
    verbose = _VERBOSE.search(source) is not None
    i, in_class = 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            if not in_class and source[i + 1 : i + 2] == "n" and not _optional(source, i + 2):
                return True
            i += 2
        elif in_class:
            in_class, i = ch != "]", i + 1
        elif ch == "[":
            i += 2 if source[i + 1 : i + 2] == "^" else 1
            i += 1 if source[i : i + 1] == "]" else 0  # a leading `]` is a literal
            in_class = True
        else:
            if ch == "\n" and not verbose and not _optional(source, i + 1):
                return True
            i += 1
    return False


def _optional(source: str, at: int) -> bool:
    return source.startswith(("?", "*", "{0"), at)


def preview(matched: str) -> str:
    """A few leading characters and ``***``: enough to find it, never the secret."""
    keep = min(4, len(matched) // 2)
    return matched[:keep] + "***"


# -- files --------------------------------------------------------------------------


def select_files(ctx: GateContext[ForbidGate] | PlanContext[ForbidGate]) -> tuple[list[str], str]:
    """The files to scan and a description of the selection; GitError if git cannot tell."""
    gate = ctx.gate
    matched = filter_paths(ctx.base.files_to_commit(), gate.paths, gate.exclude)
    if not matched:
        excluded = f" (after exclude {', '.join(gate.exclude)})" if gate.exclude else ""
        raise _Empty(f"paths {', '.join(gate.paths)} match no file{excluded}; fix the globs")
    if not gate.changed_only:
        return matched, f"{len(matched)} file(s)"
    changed = set(ctx.base.changed_files())
    chosen = [p for p in matched if p in changed]
    return chosen, f"{len(chosen)} changed file(s) since {ctx.base.get().ref}"


class _Empty(Exception):
    """The globs select nothing: the gate would check nothing (fail closed)."""


def _open_regular(root: Path, real_root: str, rel: str) -> BinaryIO | None:
    """Open a regular file inside the tree; None for symlinks, special or vanished files."""
    path = root / rel
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        if os.path.commonpath([real_root, os.path.realpath(path.parent)]) != real_root:
            return None  # a directory on the way is a symlink out of the tree
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None  # deleted since git listed it
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None  # the last component became a symlink
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


# -- scanning -----------------------------------------------------------------------


_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def sniff_encoding(head: bytes) -> str | None:
    """How to decode a file from its first bytes: a BOM, else UTF-8 unless NULs say
    UTF-16/32 (where ASCII-range text leaves NULs at fixed places); None for binary."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\0" not in head:
        return "utf-8"
    return _utf32(head) or _utf16(head)


def _utf32(head: bytes) -> str | None:
    """Every 4-byte unit a code point (≤ U+10FFFF), at least half of them not NUL."""
    units = [head[i : i + 4] for i in range(0, len(head) - len(head) % 4, 4)]
    if len(units) < 2:
        return None
    for name, top, plane, low in (("utf-32-le", 3, 2, 0), ("utf-32-be", 0, 1, 3)):
        texty = sum(1 for u in units if u[low] != 0)
        if all(u[top] == 0 and u[plane] <= 0x10 for u in units) and texty * 2 >= len(units):
            return name
    return None


def _utf16(head: bytes) -> str | None:
    """NULs mostly on one side of each 2-byte unit: the high byte of ASCII-range text.

    Erring towards decoding is safe: binary read as UTF-16 is noise no pattern matches.
    """
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= 2 and odd >= 4 * even:
        return "utf-16-le"
    if even >= 2 and even >= 4 * odd:
        return "utf-16-be"
    return None


def blocks(fh: BinaryIO, head: bytes, encoding: str = "utf-8") -> Iterator[tuple[str, int, int]]:
    """(text, first line number, column offset of the text on that line), bounded in size.

    An incremental decoder keeps a character cut between two reads whole.
    """
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    line, col, pending = 1, 0, decoder.decode(head)
    while True:
        chunk = fh.read(BLOCK_BYTES)
        text = pending + decoder.decode(chunk, final=not chunk)
        if not chunk:
            if text:
                yield text, line, col
            return
        newline = text.rfind("\n")
        if newline >= 0:
            yield text[: newline + 1], line, col
            line += text.count("\n", 0, newline + 1)
            col, pending = 0, text[newline + 1 :]
        elif len(text) > BLOCK_BYTES:  # one very long line: scan it in overlapping pieces
            # scan it all, then go on from OVERLAP characters before the end: a key cut
            # here is whole in the next piece (findings seen twice are dropped by the caller)
            yield text, line, col
            cut = len(text) - OVERLAP_BYTES
            col, pending = col + cut, text[cut:]
        else:
            pending = text


def scan_text(
    text: str,
    first_line: int,
    col0: int,
    rules: Sequence[Rule],
    deadline: float | None = None,
) -> Iterator[Finding]:
    """Findings in a block of whole lines (path left empty: the caller fills it in).

    ``deadline`` (time.monotonic) bounds the project's patterns: PatternTimeout past it.
    """
    import time

    def left() -> float | None:
        return None if deadline is None else deadline - time.monotonic()

    lines: list[str] | None = None
    folded: list[str] = []

    def lowered() -> str:
        if not folded:
            folded.append(text.lower())
        return folded[0]

    for rule in rules:
        if not rule.worth_a_look(text, lowered, left()):
            continue
        lines = text.split("\n") if lines is None else lines
        for index, raw in enumerate(lines):
            content = raw[:-1] if raw.endswith("\r") else raw
            offset = col0 if index == 0 else 0
            for match in rule.finditer(content, left()):
                if match.end() > match.start():
                    yield Finding(
                        "",
                        first_line + index,
                        offset + match.start() + 1,
                        rule.name,
                        preview(match.group()),
                    )


def scan_file(
    fh: BinaryIO, path: str, rules: Sequence[Rule], scan: Scan, deadline: float | None = None
) -> None:
    head = fh.read(SNIFF_BYTES)
    encoding = sniff_encoding(head)
    if encoding is None:
        scan.binary += 1
        return
    scan.files += 1
    if encoding.startswith(("utf-16", "utf-32")):
        scan.decoded[encoding[:6].upper()] += 1
    seen: set[tuple[str, int, int]] = set()  # overlapping pieces of one long line
    for text, line, col in blocks(fh, head, encoding):
        if col == 0:
            seen.clear()  # a fresh line: nothing before it can be seen twice
        for finding in scan_text(text, line, col, rules, deadline):
            key = (finding.pattern, finding.line, finding.col)
            if key not in seen:
                seen.add(key)
                scan.add(Finding(path, finding.line, finding.col, finding.pattern, finding.preview))


def _scan_all(ctx: GateContext[ForbidGate], files: Sequence[str], rules: Sequence[Rule]) -> Scan:
    """Scan every file; PatternTimeout naming the file when a pattern runs past the deadline."""
    import time

    deadline = time.monotonic() + ctx.remaining
    scan = Scan()
    real_root = os.path.realpath(ctx.root)
    config_rel = _config_rel(ctx)
    builtin_only = [r for r in rules if r.builtin]
    seen_names: set[str] = set()
    for rel in files:
        if ctx.cancel.is_set() or ctx.remaining <= 0:
            break
        shown = rel
        try:
            shown = scan_name(rel, rules, scan, seen_names, deadline)
            file_rules = builtin_only if rel == config_rel else rules
            _scan_one(ctx.root, real_root, rel, shown, file_rules, scan, deadline)
        except PatternTimeout as exc:
            raise PatternTimeout(exc.pattern, shown) from None
        except OSError as exc:
            scan.unreadable.append(f"{shown} ({exc.strerror or exc})")
    return scan


def _scan_one(
    root: Path,
    real_root: str,
    rel: str,
    shown: str,
    rules: Sequence[Rule],
    scan: Scan,
    deadline: float,
) -> None:
    """One path: a symlink's target text, or a regular file's content."""
    target = _link_target(root / rel)
    if target is not None:
        scan.links += 1
        for f in scan_text(target, 1, 0, rules, deadline):
            scan.add(replace(f, path=shown, found_in=LINK))
        return
    fh = _open_regular(root, real_root, rel)
    if fh is None:
        scan.skipped.append(shown)
        return
    with fh:
        scan_file(fh, shown, rules, scan, deadline)


def _link_target(path: Path) -> str | None:
    """The text of a symlink (never followed); None when ``path`` is not one."""
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return None
        return os.readlink(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def scan_name(
    rel: str, rules: Sequence[Rule], scan: Scan, seen: set[str], deadline: float | None = None
) -> str:
    """Findings in the path's names (each directory once); returns the path as it may be
    shown: every match masked like a finding's preview."""
    spans = []
    for f in scan_text(rel, 0, 0, rules, deadline):
        end = rel.find("/", f.col - 1)
        owner = rel if end < 0 else rel[:end]  # the directory or file the match starts in
        spans.append((f.col - 1, f.preview, f, owner))
    if not spans:
        return rel
    shown = _masked(rel, spans)
    scan.masked.add(shown)
    for _, _, f, owner in spans:
        if owner not in seen:
            seen.add(owner)
            scan.add(replace(f, path=_masked(owner, spans), found_in=NAME))
    return shown


def _masked(text: str, spans: Sequence[tuple[int, str, Finding, str]]) -> str:
    """``text`` with every match that starts in it cut to its preview up to the next '/'."""
    out, at = [], 0
    for start, preview_text, _, _ in sorted(spans, key=lambda sp: sp[0]):
        if start < at or start >= len(text):
            continue
        stop = text.find("/", start)
        out += [text[at:start], preview_text]
        at = len(text) if stop < 0 else stop
    return "".join([*out, text[at:]])


def _config_rel(ctx: GateContext[ForbidGate] | PlanContext[ForbidGate]) -> str | None:
    try:
        return Path(ctx.loaded.path).resolve().relative_to(ctx.root.resolve()).as_posix()
    except ValueError:
        return None


# -- the gate -----------------------------------------------------------------------


def run(ctx: GateContext[ForbidGate]) -> Outcome:
    try:
        rules = compile_rules(ctx.gate)
        files, selection = select_files(ctx)
    except (RuleError, _Empty, GitError) as exc:
        return Outcome.error(str(exc))
    try:
        scan = _scan_all(ctx, files, rules)
    except PatternTimeout as exc:
        return Outcome(
            Status.TIMEOUT,
            f"pattern {exc.pattern!r} did not finish on {exc.path} within the gate's timeout: "
            "it backtracks catastrophically; simplify it",
            annotations=(Annotation(f"pattern {exc.pattern!r} is too slow here", path=exc.path),),
        )
    done = scan.files + scan.binary + scan.links + len(scan.skipped) + len(scan.unreadable)
    if ctx.cancel.is_set():
        return Outcome.error(f"cancelled after {done} of {len(files)} file(s)")
    if done < len(files):
        return Outcome(Status.TIMEOUT, f"timed out after {done} of {len(files)} file(s)")
    return _verdict(scan, selection, rules)


def _verdict(scan: Scan, selection: str, rules: Sequence[Rule]) -> Outcome:
    details = _details(scan, selection, rules)
    if scan.unreadable:
        listed = ", ".join(scan.unreadable[:3])
        more = f" … and {len(scan.unreadable) - 3} more" if len(scan.unreadable) > 3 else ""
        return Outcome.error(
            f"cannot read {listed}{more}: fix the permissions or add it to `exclude`",
            details=details,
        )
    if not scan.total:
        links = f" and {scan.links} symlink target(s)" if scan.links else ""
        skipped = f"; {scan.binary} binary skipped" if scan.binary else ""
        return Outcome.passed(
            f"no forbidden pattern in {scan.files}{links} of {selection}{skipped}",
            details=details,
        )
    per_pattern = ", ".join(f"{name} ×{n}" for name, n in scan.counts.most_common())
    first = scan.findings[0]
    return Outcome.failed(
        f"{scan.total} finding(s) in {len(scan.files_with_findings)} file(s): {per_pattern}; "
        f"first at {first.where} ({first.pattern})",
        details=details,
        annotations=_annotations(scan, rules),
    )


def _annotations(scan: Scan, rules: Sequence[Rule]) -> tuple[Annotation, ...]:
    builtin = {r.name for r in rules if r.builtin}
    notes = []
    for f in scan.findings[:MAX_ANNOTATIONS]:
        advice = (
            "remove it and revoke the credential: it is in the change's history"
            if f.pattern in builtin
            else "remove it: the project's policy forbids it"
        )
        placed = f.found_in != NAME and f.path not in scan.masked  # a real, secret-free path
        notes.append(
            Annotation(
                f"forbidden pattern {f.pattern} ({f.preview}) in {f.where}: {advice}",
                path=f.path if placed else None,
                line=f.line if placed else None,
                col=f.col if placed else None,
            )
        )
    return tuple(notes)


def _details(scan: Scan, selection: str, rules: Sequence[Rule]) -> dict[str, JSONValue]:
    return {
        "selection": selection,
        "files_scanned": scan.files,
        "binary_skipped": scan.binary,
        "symlinks_scanned": scan.links,
        "decoded": dict(scan.decoded),
        "not_regular_skipped": scan.skipped[:MAX_DETAILS],
        "unreadable": scan.unreadable[:MAX_DETAILS],
        "patterns": [r.name for r in rules],
        "finding_count": scan.total,
        "counts": dict(scan.counts.most_common()),
        "findings": [f.to_dict() for f in scan.findings[:MAX_DETAILS]],
    }


def plan(ctx: PlanContext[ForbidGate]) -> PlanInfo:
    gate = ctx.gate
    lines = []
    problems: list[str] = []
    try:
        rules = compile_rules(gate)
        lines.append(f"patterns: {', '.join(r.name for r in rules)}")
    except RuleError as exc:
        problems.append(str(exc))
    try:
        _, selection = select_files(ctx)
        excluded = f", excluding {', '.join(gate.exclude)}" if gate.exclude else ""
        lines.append(f"scan {selection} matching {', '.join(gate.paths)}{excluded}")
    except (_Empty, GitError) as exc:
        problems.append(str(exc))
    return PlanInfo(lines=lines, problems=problems)


# -- the kind's registration (mergegate.gates.Kind) -----------------------------------


@record(frozen=True)
class ForbidSpec(GateSpec):
    kind: ClassVar[str] = "forbid"
    paths: tuple[str, ...] = ("**/*",)
    exclude: tuple[str, ...] = ()
    patterns: Mapping[str, str] = field(default_factory=dict)
    builtin: tuple[str, ...] = ()
    changed_only: bool = False


ForbidGate = ForbidSpec  # the name this module's code reads its spec by
SPEC: type[ForbidSpec] = ForbidSpec


@functools.cache
def model() -> type[GateBase]:
    """The pydantic model of this kind's gates.yaml entries (built when the validator asks)."""
    from typing import Literal

    from pydantic import Field, field_validator, model_validator

    from mergegate.config import GateBase, Globs, check_regex

    class ForbidGate(GateBase):
        kind: Literal["forbid"]
        paths: Globs = ("**/*",)
        exclude: Globs = ()
        patterns: dict[str, str] = Field(default_factory=dict)
        builtin: tuple[Literal["secrets"], ...] = ()
        changed_only: bool = False

        @field_validator("patterns")
        @classmethod
        def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
            for pattern in value.values():
                check_regex(pattern)
            return value

        @model_validator(mode="after")
        def _has_rules(self) -> ForbidGate:
            if not self.patterns and not self.builtin:
                raise ValueError("a forbid gate needs `patterns` or `builtin: [secrets]`")
            return self

    return ForbidGate


if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.gates import Kind
    from mergegate.gates import forbid as _self

    _checked: Kind = _self
