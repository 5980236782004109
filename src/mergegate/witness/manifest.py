"""The manifest format: DSSE envelopes around in-toto Statements v1, linked in a hash chain.

``verification.md.json`` is a JSON array of entries, oldest first. Each entry
is a DSSE envelope (``payload`` base64, ``payloadType``
``application/vnd.in-toto+json``, ``signatures`` — empty for an unsigned entry).
The payload is an in-toto Statement v1: one subject per file (name relative to
the root, sha256 digest) and a predicate of type ``PREDICATE_TYPE`` holding the
message, UTC time, git commit, patterns, mergegate version and the digest of the
previous entry.

An entry's digest is the SHA-256 of its DSSE pre-authentication encoding
``PAE(payloadType, payload)``: exactly the bytes a signature covers, independent
of JSON layout, base64 flavour or later co-signatures. Each predicate records
the previous entry's digest, so deleting, reordering or editing history breaks
the chain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mergegate.witness import WitnessError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://mergegate.dev/witness/v1"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_B64_RE = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")


class ManifestError(WitnessError):
    """The manifest (or one entry of it) cannot be read as this format."""


@dataclass(frozen=True)
class Layout:
    """Where a footprint lives: the root, the manifest (relative) and the patterns."""

    root: Path
    manifest: str = "verification.md.json"
    patterns: tuple[str, ...] = ("dist/**",)

    @property
    def markdown(self) -> str:
        return markdown_name(self.manifest)

    @property
    def label(self) -> str:
        return footprint_label(self.patterns)

    @property
    def own_files(self) -> frozenset[str]:
        """The manifest and its Markdown: never part of the footprint they describe."""
        return frozenset({_norm(self.manifest), _norm(self.markdown)})


def _norm(rel: str) -> str:
    return rel.removeprefix("./")


def footprint_label(patterns: Sequence[str]) -> str:
    """What the footprint is called in messages: `dist` for dist/**, else the patterns."""
    firsts = {_norm(p).split("/", 1)[0] for p in patterns}
    if len(firsts) == 1 and (first := firsts.pop()) and not any(c in first for c in "*?["):
        return first
    return ", ".join(patterns)


def markdown_name(manifest: str) -> str:
    """verification.md.json -> verification.md; x.json -> x.md; x -> x.md."""
    if manifest.endswith(".md.json"):
        return manifest.removesuffix(".json")
    if manifest.endswith(".json"):
        return manifest.removesuffix(".json") + ".md"
    return manifest + ".md"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a signature signs."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload: bytes
    payload_type: str
    signatures: tuple[Signature, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.pae()).hexdigest()

    @property
    def keyids(self) -> tuple[str, ...]:
        return tuple(s.keyid for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        """The stored form; an entry read from disk keeps its fields as they were."""
        if self.raw:
            return dict(self.raw)
        return {
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii")}
                for s in self.signatures
            ],
        }


@dataclass(frozen=True)
class Subject:
    name: str
    sha256: str  # as written; verify checks its form


@dataclass(frozen=True)
class Statement:
    subjects: tuple[Subject, ...]
    message: str
    timestamp: str
    commit: str | None
    patterns: tuple[str, ...]
    version: str
    previous: str | None  # digest of the previous entry; None for the first

    def to_payload(self) -> bytes:
        document = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": s.name, "digest": {"sha256": s.sha256}} for s in self.subjects],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "message": self.message,
                "timestamp": self.timestamp,
                "commit": self.commit,
                "patterns": list(self.patterns),
                "mergegateVersion": self.version,
                "previous": {"sha256": self.previous} if self.previous else None,
            },
        }
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")


# -- reading ----------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ManifestError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ManifestError(f"{name} is not valid JSON")


def strict_json(data: bytes, what: str) -> Any:
    """JSON with duplicate keys and NaN/Infinity refused: two readers must never disagree."""
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ManifestError(f"{what} is not UTF-8") from None
    except RecursionError:
        raise ManifestError(f"{what} is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except ManifestError as exc:
        raise ManifestError(f"{what}: {exc}") from None


def b64decode(value: str, what: str) -> bytes:
    """Standard or URL-safe base64, as DSSE allows; anything else is refused."""
    if not _B64_RE.match(value):
        raise ManifestError(f"{what} is not base64")
    padded = value + "=" * (-len(value) % 4)
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ManifestError(f"{what} is not base64") from None


def _signature(item: object, where: str) -> Signature:
    if not isinstance(item, dict) or not isinstance(item.get("sig"), str):
        raise ManifestError(f"{where}: a signature must be an object with a base64 `sig`")
    keyid = item.get("keyid", "")
    if not isinstance(keyid, str):
        raise ManifestError(f"{where}: `keyid` must be a string")
    return Signature(keyid, b64decode(item["sig"], f"{where}.sig"))


def envelope_from_dict(item: object, where: str) -> Envelope:
    if not isinstance(item, dict):
        raise ManifestError(f"{where} is not a DSSE envelope (a JSON object)")
    payload, kind, sigs = item.get("payload"), item.get("payloadType"), item.get("signatures")
    if not isinstance(payload, str) or not isinstance(kind, str):
        raise ManifestError(f"{where} needs string fields `payload` and `payloadType`")
    if not isinstance(sigs, list):
        raise ManifestError(f"{where} needs `signatures` (a list, empty when unsigned)")
    signatures = tuple(_signature(s, f"{where}.signatures[{i}]") for i, s in enumerate(sigs))
    return Envelope(b64decode(payload, f"{where}.payload"), kind, signatures, raw=item)


def parse_manifest(data: bytes, shown: str = "manifest") -> list[Envelope]:
    """Every entry, oldest first; ManifestError when the file is not this format."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{shown} is larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    document = strict_json(data, shown)
    if not isinstance(document, list):
        raise ManifestError(f"{shown} must be a JSON array of DSSE envelopes")
    return [envelope_from_dict(item, f"entry #{i + 1}") for i, item in enumerate(document)]


def _subject(item: object, where: str) -> Subject:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ManifestError(f"{where} must be an object with a string `name`")
    digest = item.get("digest")
    sha = digest.get("sha256") if isinstance(digest, dict) else None
    return Subject(item["name"], sha if isinstance(sha, str) else "")


def _optional_str(value: object, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ManifestError(f"{what} must be a string or null")


def _previous(value: object) -> str | None:
    if value is None:
        return None
    sha = value.get("sha256") if isinstance(value, dict) else None
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise ManifestError("predicate.previous must be null or {sha256: <64 hex digits>}")
    return sha


def parse_statement(payload: bytes, where: str = "entry") -> Statement:
    """The statement inside an envelope's payload; ManifestError when it is not ours."""
    doc = strict_json(payload, f"{where} payload")
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise ManifestError(f"{where} payload is not an in-toto Statement v1")
    if doc.get("predicateType") != PREDICATE_TYPE:
        raise ManifestError(f"{where} predicateType is not {PREDICATE_TYPE}")
    subjects, pred = doc.get("subject"), doc.get("predicate")
    if not isinstance(subjects, list) or not isinstance(pred, dict):
        raise ManifestError(f"{where} needs a `subject` list and a `predicate` object")
    patterns = pred.get("patterns", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ManifestError(f"{where} predicate.patterns must be a list of strings")
    try:
        previous = _previous(pred.get("previous"))
    except ManifestError as exc:
        raise ManifestError(f"{where} {exc}") from None
    return Statement(
        subjects=tuple(_subject(s, f"{where} subject[{i}]") for i, s in enumerate(subjects)),
        message=_optional_str(pred.get("message"), f"{where} message") or "",
        timestamp=_optional_str(pred.get("timestamp"), f"{where} timestamp") or "",
        commit=_optional_str(pred.get("commit"), f"{where} commit"),
        patterns=tuple(patterns),
        version=_optional_str(pred.get("mergegateVersion"), f"{where} mergegateVersion") or "",
        previous=previous,
    )


# -- writing ----------------------------------------------------------------------


def dump_manifest(entries: Sequence[Envelope]) -> bytes:
    text = json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
