"""The details a witness gate records, typed: the gate writes them, reports read them.

Kept apart from the gate (which imports the crypto) so the Markdown summary can
read the same names without importing it.
"""

from __future__ import annotations

from typing import TypedDict


class EntryDetails(TypedDict, total=False):
    """One manifest entry (``verify.EntrySummary.to_dict``); the statement fields when read."""

    entry: int  # 1-based position in the manifest
    sha256: str
    keyids: list[str]
    message: str
    timestamp: str
    commit: str
    files: int
    patterns: list[str]


class BaseDetails(TypedDict):
    ref: str
    sha: str
    entries: int  # entries the manifest had on the base


class WitnessDetails(TypedDict, total=False):
    manifest: str
    paths: list[str]
    entries: int
    newest: EntryDetails  # the entry that was verified
    previous: EntryDetails | None  # the rollback point
    signature: str
    public_key: str | None
    key_source: str | None
    trusted_keyid: str | None
    files: int
    base: BaseDetails  # with require_new_entry
    new_entries: int


# entry key -> the label the summary shows it under, in the order shown
ENTRY_LABELS = (
    ("entry", "entry"),
    ("message", "message"),
    ("timestamp", "time"),
    ("commit", "commit"),
    ("sha256", "digest"),
    ("files", "files"),
    ("keyids", "signed by"),
)
