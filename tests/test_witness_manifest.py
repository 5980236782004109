"""The manifest format: DSSE envelope, in-toto Statement v1, the chain, strict parsing, Markdown."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from mergegate import __version__
from mergegate.witness import manifest as manifest_mod
from mergegate.witness.manifest import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Layout,
    ManifestError,
    footprint_label,
    markdown_name,
    pae,
    parse_manifest,
    parse_statement,
)
from mergegate.witness.markdown import cell, render
from mergegate.witness.sign import sign
from tests.helpers import commit_all, init_repo
from tests.witness_helpers import crafted_entry, load_entries, new_key, payload_of, write_tree


def test_pae_is_the_dsse_v1_encoding() -> None:
    # the test vector of the DSSE protocol document
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "


def test_entry_is_a_dsse_envelope_around_an_in_toto_statement(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "p", {"dist/app.js": "console.log(1)\n", "dist/lib/x.css": "a{}"})
    head = commit_all(root, "build")
    key = new_key(tmp_path / "keys")
    signed = sign(Layout(root), "merge: #7 — fix", key, commit=head)

    entry = load_entries(root / "verification.md.json")[0]
    assert set(entry) == {"payload", "payloadType", "signatures"}
    assert entry["payloadType"] == PAYLOAD_TYPE == "application/vnd.in-toto+json"
    assert entry["signatures"] == [{"keyid": key.keyid, "sig": entry["signatures"][0]["sig"]}]
    statement = payload_of(entry)
    assert statement["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"] == [
        {
            "name": "dist/app.js",
            "digest": {"sha256": hashlib.sha256(b"console.log(1)\n").hexdigest()},
        },
        {"name": "dist/lib/x.css", "digest": {"sha256": hashlib.sha256(b"a{}").hexdigest()}},
    ]
    predicate = statement["predicate"]
    assert predicate["message"] == "merge: #7 — fix"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", predicate["timestamp"])
    assert predicate["commit"] == head
    assert predicate["patterns"] == ["dist/**"]
    assert predicate["mergegateVersion"] == __version__
    assert predicate["previous"] is None
    # the signature is over PAE(payloadType, payload)
    raw = base64.b64decode(entry["payload"])
    sig = base64.b64decode(entry["signatures"][0]["sig"])
    key.public.key.verify(sig, pae(PAYLOAD_TYPE, raw))
    assert signed.entry.digest == hashlib.sha256(pae(PAYLOAD_TYPE, raw)).hexdigest()


def test_each_entry_records_the_digest_of_the_one_before(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(root, {"dist/a": "1"})
    first = sign(Layout(root), "one", None, commit=None)
    (root / "dist/a").write_text("2")
    second = sign(Layout(root), "two", None, commit=None)

    entries = load_entries(root / "verification.md.json")
    assert len(entries) == 2
    assert entries[0]["signatures"] == []  # unsigned entries carry no signatures
    assert payload_of(entries[1])["predicate"]["previous"] == {"sha256": first.entry.digest}
    assert second.statement.previous == first.entry.digest
    # older entries are kept byte for byte
    assert parse_manifest((root / "verification.md.json").read_bytes())[0].digest == (
        first.entry.digest
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (b"not json", "not valid JSON"),
        (b'{"payload": "x"}', "JSON array"),
        (
            b'[{"payload": "", "payloadType": "t", "payloadType": "u", "signatures": []}]',
            "duplicate key 'payloadType'",
        ),
        (b'[{"payload": "", "payloadType": "t", "signatures": [], "n": NaN}]', "NaN"),
        (b'[{"payload": "%%%", "payloadType": "t", "signatures": []}]', "not base64"),
        (b'[{"payload": "", "payloadType": "t"}]', "signatures"),
        (b'[{"payload": "", "payloadType": "t", "signatures": [{"keyid": "k"}]}]', "sig"),
        (b"[1]", "not a DSSE envelope"),
        (b"\xff\xfe[]", "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    ],
)
def test_malformed_manifests_are_refused_with_a_reason(text: bytes, needle: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(needle)):
        parse_manifest(text)


def test_oversized_manifest_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_mod, "MAX_MANIFEST_BYTES", 16)
    with pytest.raises(ManifestError, match="larger than"):
        parse_manifest(b"[" + b" " * 32 + b"]")


def test_url_safe_base64_is_accepted_as_dsse_allows() -> None:
    payload = b"\xfb\xff\xfe"  # encodes to +//+ in standard, -__- in url-safe base64
    doc = [
        {
            "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
            "payloadType": "t",
            "signatures": [],
        }
    ]
    assert parse_manifest(json.dumps(doc).encode())[0].payload == payload


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        ({"_type": "https://in-toto.io/Statement/v0.1"}, "not an in-toto Statement v1"),
        (
            {"_type": STATEMENT_TYPE, "predicateType": "https://slsa.dev/provenance/v1"},
            "predicateType",
        ),
        ({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "subject": {}}, "subject"),
        (
            {
                "_type": STATEMENT_TYPE,
                "predicateType": PREDICATE_TYPE,
                "subject": [],
                "predicate": {"previous": {"sha256": "abc"}},
            },
            "previous",
        ),
        (
            {
                "_type": STATEMENT_TYPE,
                "predicateType": PREDICATE_TYPE,
                "subject": [{"digest": {}}],
                "predicate": {},
            },
            "name",
        ),
    ],
)
def test_statements_that_are_not_ours_are_refused(statement: object, needle: str) -> None:
    with pytest.raises(ManifestError, match=needle):
        parse_statement(json.dumps(statement).encode())


def test_footprint_label_and_markdown_name() -> None:
    assert footprint_label(["dist/**"]) == "dist"
    assert footprint_label(["build/**", "build/x.txt"]) == "build"
    assert footprint_label(["**/*.js"]) == "**/*.js"
    assert footprint_label(["a/**", "b/**"]) == "a/**, b/**"
    assert markdown_name("verification.md.json") == "verification.md"
    assert markdown_name("witness/manifest.json") == "witness/manifest.md"
    assert markdown_name("manifest") == "manifest.md"


def test_markdown_lists_entries_newest_first_and_escapes_messages(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(root, {"dist/a": "1"})
    sign(Layout(root), "first | <script>alert(1)</script>", None, commit=None)
    key = new_key(tmp_path / "keys")
    sign(Layout(root), "second *bold*", key, commit=None)

    text = (root / "verification.md").read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == ["2", "1"]
    assert "second \\*bold\\*" in rows[0]
    assert f"`{key.keyid[:16]}`" in rows[0]
    assert "first \\| \\<script\\>" in rows[1]
    assert rows[1].endswith("| unsigned |")
    assert "<script>" not in text
    assert "Verification passed — dist matches audited footprint" in text


def test_markdown_survives_an_unreadable_entry() -> None:
    good = crafted_entry({"dist/a": "0" * 64}, None)
    bad = type(good)(b"not json", PAYLOAD_TYPE)
    text = render([good, bad], "verification.md.json", ["dist/**"])
    assert "(unreadable entry)" in text
    assert "crafted" in text


def test_table_cells_are_one_line() -> None:
    assert cell("a\nb\tc") == "a b c"
    assert cell("") == " "
