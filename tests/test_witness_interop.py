"""Interop with securesystemslib, the in-toto reference library: both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import (  # type: ignore[attr-defined]  # no __all__
    CryptoSigner,
    SSlibKey,
)

from mergegate.witness.manifest import PAYLOAD_TYPE, Layout, parse_statement
from mergegate.witness.sign import sign
from mergegate.witness.verify import verify
from tests.witness_helpers import crafted_entry, load_entries, new_key, write_tree


def test_securesystemslib_verifies_an_envelope_mergegate_signed(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(root, {"dist/app.js": "a", "dist/x/y.bin": b"\x00\x01"})
    ours = new_key(tmp_path / "keys")
    other = new_key(tmp_path / "other")
    sign(Layout(root), "merge: #1 — interop", ours, commit=None)
    entry = load_entries(root / "verification.md.json")[0]

    public = load_pem_public_key((tmp_path / "keys/witness.pub").read_bytes())
    their_key = SSlibKey.from_crypto(public)
    envelope = SslibEnvelope.from_dict(entry)
    accepted = envelope.verify([their_key], 1)
    assert list(accepted) == [ours.keyid] == [their_key.keyid]
    assert envelope.payload_type == PAYLOAD_TYPE
    statement = parse_statement(envelope.payload)
    assert [s.name for s in statement.subjects] == ["dist/app.js", "dist/x/y.bin"]

    wrong = SSlibKey.from_crypto(other.public.key)
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(load_entries(root / "verification.md.json")[0]).verify([wrong], 1)


def test_mergegate_verifies_an_envelope_securesystemslib_signed(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(root, {"dist/app.js": "a"})
    key = new_key(tmp_path / "keys")
    unsigned = crafted_entry(
        {"dist/app.js": "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
        None,
    )
    envelope = SslibEnvelope(unsigned.payload, PAYLOAD_TYPE, {})
    envelope.sign(CryptoSigner(key.key))
    (root / "verification.md.json").write_text(json.dumps([envelope.to_dict()]))

    report = verify(Layout(root), (root / "verification.md.json").read_bytes(), key.public)
    assert report.ok, report.problems
    assert report.signed_by == key.keyid
