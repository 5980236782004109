"""Verification: the files on disk against the newest manifest entry, its signature and the chain.

The order is what makes it safe. The newest entry's signature is checked first
(when a trusted key is given) and its payload is parsed only after it verified.
The files are found by walking the tree (``tree.scan``), never by opening a
name the manifest gives, and the two dictionaries are compared. Older entries
are parsed only once the entry after them vouches for their digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mergegate.witness.keys import PublicKey
from mergegate.witness.manifest import (
    PAYLOAD_TYPE,
    SHA256_RE,
    Envelope,
    Layout,
    ManifestError,
    Statement,
    parse_manifest,
    parse_statement,
)
from mergegate.witness.tree import Footprint, StopCheck, display_name, name_problem, scan

# every class a problem can have, in the order they are shown ("new-entry" is the gate's)
CLASSES = (
    "new-entry",
    "signature",
    "chain",
    "bad-manifest",
    "changed",
    "missing",
    "extra",
    "unsafe",
)
SHOWN_PER_CLASS = 20


@dataclass(frozen=True)
class Problem:
    kind: str  # one of CLASSES
    message: str
    path: str | None = None
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"message": self.message}
        for key in ("path", "expected", "actual"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class EntrySummary:
    index: int  # 1-based position in the manifest
    digest: str
    keyids: tuple[str, ...]
    statement: Statement | None = None  # None when it could not be (or must not be) read

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "entry": self.index,
            "sha256": self.digest,
            "keyids": list(self.keyids),
        }
        if self.statement:
            s = self.statement
            out.update(
                message=s.message,
                timestamp=s.timestamp,
                commit=s.commit,
                files=len(s.subjects),
                patterns=list(s.patterns),
            )
        return out


@dataclass(frozen=True)
class Report:
    problems: tuple[Problem, ...]
    entries: int
    newest: EntrySummary
    signature: str  # how the newest entry's signature stands, in words
    signed_by: str | None = None  # keyid of the trusted key that verified it
    files: int = 0  # files found on disk
    compared: bool = False  # False when the files could not be compared at all
    previous: EntrySummary | None = None  # the entry before the newest (the rollback point)
    footprint: Footprint | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.compared and not self.problems

    def by_kind(self) -> dict[str, list[Problem]]:
        return group(self.problems)


# -- the steps --------------------------------------------------------------------


def signature_problem(entry: Envelope, index: int, key: PublicKey) -> Problem | None:
    """None when a signature on the entry verifies with ``key``; keyids are only hints."""
    if not entry.signatures:
        return Problem(
            "signature",
            f"entry #{index} (the newest) is unsigned, but a signature "
            f"by key {key.keyid[:16]} is required; sign with --key",
        )
    data = entry.pae()
    if any(key.verifies(s.sig, data) for s in entry.signatures):
        return None
    if key.keyid in entry.keyids:
        return Problem(
            "signature",
            f"the signature on entry #{index} by key {key.keyid[:16]} "
            "does not verify: its payload or payloadType changed after signing",
        )
    others = ", ".join(k[:16] or "(no keyid)" for k in entry.keyids)
    return Problem(
        "signature",
        f"entry #{index} (the newest) is signed by {others}, not by the "
        f"trusted key {key.keyid[:16]}",
    )


def name_issue(name: str) -> str | None:
    """Why a manifest name is unacceptable: absolute, `..`, empty parts, control bytes."""
    if not name:
        return "empty name"
    if "\0" in name or "\n" in name or "\r" in name:
        return "name contains NUL or a newline"
    if name.startswith("/"):
        return "absolute name"
    parts = name.split("/")
    if ".." in parts:
        return "name leaves the root with '..'"
    if "" in parts or "." in parts:
        return "name has an empty or '.' component"
    for part in parts:
        if why := name_problem(part):
            return why.replace("its name", "name")
    return None


def expected_files(statement: Statement) -> tuple[dict[str, str], list[Problem]]:
    """Valid names -> digests, and a bad-manifest problem for every other subject."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for subject in statement.subjects:
        shown = subject.name.encode("unicode_escape").decode("ascii")
        why = name_issue(subject.name)
        if why is None and subject.name in files:
            why = "duplicate name"
        if why is None and not SHA256_RE.match(subject.sha256):
            why = "digest is not a sha256 of 64 lowercase hex digits"
        if why:
            problems.append(Problem("bad-manifest", f"{shown!r}: {why}", path=shown))
        else:
            files[subject.name] = subject.sha256
    return files, problems


def _covered(path: str, unsafe: set[str]) -> bool:
    return any(path == u or path.startswith(u + "/") for u in unsafe)


def compare(expected: Mapping[str, str], found: Footprint) -> list[Problem]:
    """changed / missing / extra / unsafe: two dictionaries, nothing opened by name."""
    unsafe = {u.path for u in found.unsafe}
    problems = [
        Problem("unsafe", f"{display_name(u.path)}: {u.why}", path=display_name(u.path))
        for u in found.unsafe
    ]
    for name, digest in expected.items():
        if _covered(name, unsafe):
            continue
        actual = found.files.get(name)
        if actual is None:
            problems.append(Problem("missing", name, path=name, expected=digest))
        elif actual != digest:
            problems.append(Problem("changed", name, path=name, expected=digest, actual=actual))
    for name in sorted(found.files.keys() - expected.keys()):
        problems.append(Problem("extra", name, path=name, actual=found.files[name]))
    return problems


def chain_problems(entries: Sequence[Envelope], newest: Statement) -> list[Problem]:
    """Walk back from the newest entry; each link vouches for the digest of the one before."""
    previous = newest.previous
    for i in range(len(entries) - 1, 0, -1):
        before = entries[i - 1]
        if previous is None:
            return [
                Problem(
                    "chain",
                    f"entry #{i + 1} records no previous entry, yet entry #{i} "
                    "comes before it: entries were inserted or reordered",
                )
            ]
        if previous != before.digest:
            return [
                Problem(
                    "chain",
                    f"entry #{i + 1} follows an entry with sha256 "
                    f"{previous[:16]}…, but entry #{i} is {before.digest[:16]}…: "
                    "an entry was deleted or edited",
                    expected=previous,
                    actual=before.digest,
                )
            ]
        try:
            previous = parse_statement(before.payload, f"entry #{i}").previous
        except ManifestError as exc:
            return [Problem("chain", f"{exc}")]
    if previous is not None:
        return [
            Problem(
                "chain",
                f"the oldest entry follows an entry with sha256 {previous[:16]}… "
                "that is no longer in the manifest: history was deleted",
                expected=previous,
            )
        ]
    return []


def pattern_problem(statement: Statement, patterns: Sequence[str]) -> Problem | None:
    if tuple(statement.patterns) == tuple(patterns):
        return None
    return Problem(
        "bad-manifest",
        f"the newest entry covers {list(statement.patterns)}, but the "
        f"footprint is {list(patterns)}: sign a new entry for these paths",
    )


# -- the whole verification -------------------------------------------------------


def verify(
    layout: Layout,
    manifest: bytes,
    key: PublicKey | None,
    *,
    stop: StopCheck | None = None,
) -> Report:
    """Check the tree against the newest entry. ManifestError when there is no entry to check."""
    entries = parse_manifest(manifest, layout.manifest)
    if not entries:
        raise ManifestError(f"{layout.manifest} has no entries")
    newest, index = entries[-1], len(entries)
    summary = EntrySummary(index, newest.digest, newest.keyids)
    problems: list[Problem] = []
    if newest.payload_type != PAYLOAD_TYPE:
        problems.append(
            Problem(
                "bad-manifest",
                f"entry #{index} has payloadType {newest.payload_type!r}, not {PAYLOAD_TYPE!r}",
            )
        )
    if key is not None and (bad := signature_problem(newest, index, key)):
        return Report((*problems, bad), len(entries), summary, "not verified")
    if problems:
        return Report(tuple(problems), len(entries), summary, _signature_words(newest, key))
    try:
        statement = parse_statement(newest.payload, f"entry #{index}")
    except ManifestError as exc:
        return Report(
            (Problem("bad-manifest", str(exc)),),
            len(entries),
            summary,
            _signature_words(newest, key),
        )
    return _compare_statement(layout, entries, statement, key, stop)


def _compare_statement(
    layout: Layout,
    entries: Sequence[Envelope],
    statement: Statement,
    key: PublicKey | None,
    stop: StopCheck | None,
) -> Report:
    newest = entries[-1]
    expected, problems = expected_files(statement)
    if bad := pattern_problem(statement, layout.patterns):
        problems.insert(0, bad)
    found = scan(layout.root, layout.patterns, exclude=layout.own_files, stop=stop)
    broken_chain = chain_problems(entries, statement)
    problems += broken_chain
    problems += compare(expected, found)
    if not expected and not found.files:  # nothing signed, nothing there: nothing was checked
        problems.append(
            Problem(
                "bad-manifest",
                f"entry #{len(entries)} lists no files and nothing matches "
                f"{', '.join(layout.patterns)}: there is no footprint to verify",
            )
        )
    return Report(
        problems=tuple(problems),
        entries=len(entries),
        newest=EntrySummary(len(entries), newest.digest, newest.keyids, statement),
        signature=_signature_words(newest, key),
        signed_by=key.keyid if key else None,
        files=len(found.files),
        compared=True,
        footprint=found,
        previous=None if broken_chain else _previous_summary(entries),
    )


def _previous_summary(entries: Sequence[Envelope]) -> EntrySummary | None:
    """The entry before the newest, read only once the chain has vouched for it."""
    if len(entries) < 2:
        return None
    before = entries[-2]
    try:
        statement = parse_statement(before.payload, f"entry #{len(entries) - 1}")
    except ManifestError:
        return EntrySummary(len(entries) - 1, before.digest, before.keyids)
    return EntrySummary(len(entries) - 1, before.digest, before.keyids, statement)


def _signature_words(entry: Envelope, key: PublicKey | None) -> str:
    if key is not None:
        return f"signed by trusted key {key.keyid[:16]} (verified)"
    if entry.signatures:
        return "signed, but not checked: no trusted public key was given"
    return "unsigned"


# -- words ------------------------------------------------------------------------


def group(problems: Sequence[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {k: [] for k in CLASSES}
    for problem in problems:
        grouped.setdefault(problem.kind, []).append(problem)
    return {k: v for k, v in grouped.items() if v}


def problem_line(problem: Problem) -> str:
    if problem.kind == "changed":
        return f"{problem.path}: expected sha256 {problem.expected}, actual {problem.actual}"
    if problem.kind == "missing":
        return f"{problem.path} (expected sha256 {problem.expected})"
    if problem.kind == "extra":
        return f"{problem.path} (sha256 {problem.actual}, not in the manifest)"
    return problem.message


def problem_lines(problems: Sequence[Problem], cap: int = SHOWN_PER_CLASS) -> list[str]:
    """Every problem by class, at most ``cap`` per class, then a count of the rest."""
    lines: list[str] = []
    for kind, items in group(problems).items():
        lines.append(f"{kind} ({len(items)}):")
        lines += [f"  {problem_line(p)}" for p in items[:cap]]
        if len(items) > cap:
            lines.append(f"  … and {len(items) - cap} more {kind}")
    return lines


def counts(problems: Sequence[Problem]) -> str:
    """'2 changed, 1 missing' in class order."""
    return ", ".join(f"{len(v)} {k}" for k, v in group(problems).items())


def next_step(problems: Sequence[Problem]) -> str:
    kinds = {p.kind for p in problems}
    if kinds & {"changed", "missing", "extra"} and not kinds - {"changed", "missing", "extra"}:
        return (
            "if these changes are intended, record them: "
            'mergegate witness sign -m "merge: #<PR> — <what changed>"'
        )
    if "unsafe" in kinds:
        return "remove the symlinks and special files from the footprint, then sign again"
    if "signature" in kinds:
        return "sign a new entry with the trusted key: mergegate witness sign --key <witness.key>"
    return "restore the manifest's history from the base branch, then sign a new entry"
