"""Appending an entry: hash the footprint, extend the chain, sign, rewrite both files atomically.

Signing refuses rather than record something verification could not check
again: a tree holding symlinks, FIFOs or other special files, names that do not
round-trip, an empty footprint, or an existing manifest whose chain is broken.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from dataclasses import dataclass

from mergegate import __version__
from mergegate.report.write import write_atomic
from mergegate.witness import WitnessError
from mergegate.witness.keys import SigningKey
from mergegate.witness.manifest import (
    MAX_MANIFEST_BYTES,
    PAYLOAD_TYPE,
    Envelope,
    Layout,
    ManifestError,
    Signature,
    Statement,
    Subject,
    dump_manifest,
    parse_manifest,
    parse_statement,
)
from mergegate.witness.markdown import render
from mergegate.witness.tree import Footprint, StopCheck, Unsafe, read_regular, scan
from mergegate.witness.verify import chain_problems

MAX_MESSAGE = 1000


class SignRefused(WitnessError):
    """The tree holds what a manifest cannot describe safely."""

    def __init__(self, unsafe: tuple[Unsafe, ...]) -> None:
        self.unsafe = unsafe
        super().__init__(f"refusing to sign: {len(unsafe)} unsafe path(s) in the footprint")


@dataclass(frozen=True)
class Signed:
    index: int  # 1-based position of the new entry
    entry: Envelope
    statement: Statement
    footprint: Footprint
    keyid: str | None


def check_message(message: str) -> str:
    text = message.strip()
    if not text:
        raise WitnessError('the message is empty: say what is merged, e.g. -m "merge: #123 — fix"')
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise WitnessError("the message must be one line without control characters")
    if len(text) > MAX_MESSAGE:
        raise WitnessError(f"the message is longer than {MAX_MESSAGE} characters")
    return text


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_entries(layout: Layout) -> list[Envelope]:
    """The existing entries (none when the manifest does not exist yet)."""
    data = read_regular(layout.root, layout.manifest, MAX_MANIFEST_BYTES, "manifest")
    return [] if data is None else parse_manifest(data, layout.manifest)


def _check_history(layout: Layout, entries: list[Envelope]) -> None:
    if not entries:
        return
    try:
        newest = parse_statement(entries[-1].payload, f"entry #{len(entries)}")
    except ManifestError as exc:
        raise WitnessError(f"cannot extend {layout.manifest}: {exc}") from None
    broken = chain_problems(entries, newest)
    if broken:
        raise WitnessError(
            f"cannot extend {layout.manifest}: {broken[0].message}; restore its history "
            "from git first (e.g. `git checkout origin/main -- " + layout.manifest + "`)"
        )


def envelope_for(statement: Statement, key: SigningKey | None) -> Envelope:
    unsigned = Envelope(statement.to_payload(), PAYLOAD_TYPE)
    if key is None:
        return unsigned
    return Envelope(
        unsigned.payload, PAYLOAD_TYPE, (Signature(key.keyid, key.sign(unsigned.pae())),)
    )


def sign(
    layout: Layout,
    message: str,
    key: SigningKey | None,
    *,
    commit: str | None,
    public_key: str | None = None,
    stop: StopCheck | None = None,
) -> Signed:
    text = check_message(message)
    entries = read_entries(layout)
    _check_history(layout, entries)
    found = scan(layout.root, layout.patterns, exclude=layout.own_files, stop=stop)
    if found.unsafe:
        raise SignRefused(found.unsafe)
    if not found.files:
        raise WitnessError(
            f"no files match {', '.join(layout.patterns)} under {layout.root}: build first, "
            "or set `paths` of the witness gate"
        )
    statement = Statement(
        subjects=tuple(Subject(name, digest) for name, digest in found.files.items()),
        message=text,
        timestamp=utc_now(),
        commit=commit,
        patterns=layout.patterns,
        version=__version__,
        previous=entries[-1].digest if entries else None,
    )
    entry = envelope_for(statement, key)
    entries.append(entry)
    write_atomic(layout.root / layout.manifest, dump_manifest(entries).decode("utf-8"))
    markdown = render(entries, layout.manifest, layout.patterns, public_key)
    write_atomic(layout.root / layout.markdown, markdown)
    return Signed(len(entries), entry, statement, found, key.keyid if key else None)
