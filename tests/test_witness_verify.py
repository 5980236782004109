"""`mergegate witness sign` / `verify`: every problem class, hostile trees and hostile manifests."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mergegate.witness import WitnessError
from mergegate.witness.keys import SigningKey
from mergegate.witness.manifest import Layout, parse_manifest
from mergegate.witness.sign import sign
from mergegate.witness.verify import Report, verify
from tests.helpers import run_cli, write_config
from tests.witness_helpers import (
    cli,
    crafted_entry,
    load_entries,
    new_key,
    payload_of,
    save_entries,
    with_payload,
    write_manifest,
    write_tree,
)

SUCCESS = "Verification passed — dist matches audited footprint\n"
FILES = {
    "dist/app.js": "console.log('app')\n",
    "dist/lib/util.js": "export const x = 1\n",
    "dist/index.html": "<html></html>\n",
}

Cli = Callable[..., tuple[int, str, str]]


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_tree(root, FILES)
    return root


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    return new_key(tmp_path / "keys")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Cli:
    def runner(root: Path, *args: str) -> tuple[int, str, str]:
        return cli(["witness", *args], root, monkeypatch, capfd)

    return runner


def signed_project(root: Path, key: SigningKey | None, message: str = "merge: #1 — first") -> None:
    sign(Layout(root), message, key, commit=None)


def check(root: Path, key: SigningKey | None) -> Report:
    data = (root / "verification.md.json").read_bytes()
    return verify(Layout(root), data, key.public if key else None)


def kinds(report: Report) -> dict[str, list[str]]:
    return {k: [p.message for p in v] for k, v in report.by_kind().items()}


def in_thread(func: Callable[[], object], fifo_to_release: Path, seconds: float = 20) -> object:
    """Run func; if it blocks (on a FIFO it must never open), unblock it and fail."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(func()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(fifo_to_release, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(5)
        pytest.fail(f"blocked opening {fifo_to_release}")
    return box[0] if box else None


# -- the happy path, through the real entry point -----------------------------------


def test_sign_then_verify_through_the_real_cli(project: Path, tmp_path: Path) -> None:
    keys = tmp_path / "clikeys"
    assert run_cli(["witness", "keygen", str(keys)], cwd=project).returncode == 0
    signed = run_cli(
        [
            "witness",
            "sign",
            "--message",
            "merge: #12 — fix the footprint",
            "--key",
            str(keys / "witness.key"),
        ],
        cwd=project,
    )
    assert signed.returncode == 0, signed.stderr
    assert "Entry #1 appended to verification.md.json: 3 files" in signed.stdout
    assert (project / "verification.md").is_file()

    verified = run_cli(
        ["witness", "verify", "--public-key", str(keys / "witness.pub")], cwd=project
    )
    assert (verified.returncode, verified.stdout) == (0, SUCCESS)


def test_key_from_the_environment_and_unsigned_entries_say_so(
    project: Path, key: SigningKey, run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(project, "sign", "-m", "unsigned one")
    assert code == 0
    assert "UNSIGNED (no key" in out
    (project / "dist/app.js").write_text("v2")
    monkeypatch.setenv("MERGEGATE_WITNESS_KEY", key.pem().decode())
    code, out, _ = run(project, "sign", "-m", "signed one")
    assert code == 0
    assert f"signed by key {key.keyid}" in out
    entries = load_entries(project / "verification.md.json")
    assert [len(e["signatures"]) for e in entries] == [0, 1]
    assert check(project, key).ok


# -- changed, missing, extra: each named -----------------------------------------------


@pytest.mark.parametrize(
    ("edit", "kind", "line"),
    [
        (
            lambda r: (r / "dist/app.js").write_text("tampered"),
            "changed",
            f"  dist/app.js: expected sha256 {sha(FILES['dist/app.js'])}, actual {sha('tampered')}",
        ),
        (
            lambda r: (r / "dist/lib/util.js").unlink(),
            "missing",
            f"  dist/lib/util.js (expected sha256 {sha(FILES['dist/lib/util.js'])})",
        ),
        (
            lambda r: (r / "dist/lib/new.js").write_text("new"),
            "extra",
            f"  dist/lib/new.js (sha256 {sha('new')}, not in the manifest)",
        ),
    ],
)
def test_a_changed_deleted_or_added_file_is_named(
    project: Path,
    key: SigningKey,
    run: Cli,
    tmp_path: Path,
    edit: Callable[[Path], object],
    kind: str,
    line: str,
) -> None:
    signed_project(project, key)
    edit(project)
    code, out, _ = run(project, "verify", "--public-key", str(tmp_path / "keys/witness.pub"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "Verification failed — dist does not match audited footprint"
    assert lines[1:3] == [f"{kind} (1):", line]
    assert "Verification passed" not in out


def test_all_three_at_once_are_all_reported(project: Path, key: SigningKey) -> None:
    signed_project(project, key)
    (project / "dist/app.js").write_text("tampered")
    (project / "dist/lib/util.js").unlink()
    (project / "dist/extra.js").write_text("x")
    problems = kinds(check(project, key))
    assert problems == {
        "changed": ["dist/app.js"],
        "missing": ["dist/lib/util.js"],
        "extra": ["dist/extra.js"],
    }


def test_problems_are_capped_per_class_with_a_count(project: Path, run: Cli) -> None:
    signed_project(project, None)
    for i in range(30):
        (project / f"dist/extra{i:02}.js").write_text(str(i))
    code, out, _ = run(project, "verify")
    assert code == 1
    assert "extra (30):" in out
    assert sum(line.startswith("  dist/extra") for line in out.splitlines()) == 20
    assert "  … and 10 more extra" in out
    assert "30 problem(s): 30 extra" in out


# -- hostile names in the manifest -----------------------------------------------------


def test_traversal_and_absolute_names_are_refused_and_never_opened(
    project: Path, key: SigningKey, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.fifo"
    os.mkfifo(outside)  # opening it would block: proof that verification never does
    hostile = {
        "../outside.fifo": sha(""),
        str(outside): sha(""),
        "dist/../../outside.fifo": sha(""),
        "": sha(""),
        "dist/./app.js": sha(FILES["dist/app.js"]),
        "dist//app.js": sha(FILES["dist/app.js"]),
        "dist/a\nb.js": sha(""),
        "dist/nul\0.js": sha(""),
        "dist/bad-digest.js": "not-a-digest",
        **{name: sha(text) for name, text in FILES.items()},
    }
    entry = crafted_entry(hostile, key)
    write_manifest(project / "verification.md.json", [entry])

    report = in_thread(lambda: check(project, key), outside)
    assert isinstance(report, Report)
    bad = report.by_kind()["bad-manifest"]
    assert len(bad) == 9
    text = "\n".join(p.message for p in bad)
    for needle in (
        "'../outside.fifo': name leaves the root with '..'",
        f"'{outside}': absolute name",
        "'': empty name",
        "'dist/./app.js': name has an empty or '.' component",
        "'dist/a\\\\nb.js': name contains NUL or a newline",
        "'dist/bad-digest.js': digest is not a sha256",
    ):
        assert needle in text
    assert set(report.by_kind()) == {"bad-manifest"}  # the real files still match
    assert not report.ok


def test_duplicate_names_are_refused(project: Path) -> None:
    entry = crafted_entry({name: sha(text) for name, text in FILES.items()}, None)
    doc = json.loads(entry.payload)
    doc["subject"].append({"name": "dist/app.js", "digest": {"sha256": sha("other")}})
    raw = [with_payload(entry.to_dict(), lambda s: s.update(subject=doc["subject"]))]
    save_entries(project / "verification.md.json", raw)
    assert kinds(check(project, None)) == {"bad-manifest": ["'dist/app.js': duplicate name"]}


# -- hostile trees ---------------------------------------------------------------------


def test_symlink_to_a_file_outside_the_tree_is_unsafe_not_followed(
    project: Path, key: SigningKey, tmp_path: Path, run: Cli
) -> None:
    signed_project(project, key)
    secret = tmp_path / "outside.js"
    secret.write_text(FILES["dist/app.js"])  # same bytes: following it would "pass"
    (project / "dist/app.js").unlink()
    (project / "dist/app.js").symlink_to(secret)

    assert kinds(check(project, key)) == {"unsafe": ["dist/app.js: a symlink (not followed)"]}
    code, _, err = run(project, "sign", "-m", "again")
    assert code == 1
    assert "dist/app.js: a symlink (not followed)" in err


def test_symlinked_directory_is_unsafe_not_walked(
    project: Path, key: SigningKey, tmp_path: Path
) -> None:
    signed_project(project, key)
    elsewhere = tmp_path / "elsewhere"
    write_tree(elsewhere, {"util.js": FILES["dist/lib/util.js"]})
    (project / "dist/lib/util.js").unlink()
    (project / "dist/lib").rmdir()
    (project / "dist/lib").symlink_to(elsewhere, target_is_directory=True)

    assert kinds(check(project, key)) == {"unsafe": ["dist/lib: a symlink (not followed)"]}
    with pytest.raises(WitnessError, match="refusing to sign"):
        signed_project(project, key, "again")


def test_the_footprint_root_itself_as_a_symlink_is_unsafe(project: Path, tmp_path: Path) -> None:
    signed_project(project, None)
    real = tmp_path / "realdist"
    (project / "dist").rename(real)
    (project / "dist").symlink_to(real, target_is_directory=True)
    assert kinds(check(project, None)) == {"unsafe": ["dist: a symlink (not followed)"]}


def test_a_fifo_is_unsafe_and_never_blocks(project: Path, run: Cli) -> None:
    signed_project(project, None)
    fifo = project / "dist/pipe"
    os.mkfifo(fifo)
    report = in_thread(lambda: check(project, None), fifo)
    assert isinstance(report, Report)
    assert kinds(report) == {"unsafe": ["dist/pipe: a FIFO"]}
    result = in_thread(lambda: run(project, "sign", "-m", "with fifo"), fifo)
    assert isinstance(result, tuple)
    assert result[0] == 1
    assert "dist/pipe: a FIFO" in result[2]


@pytest.mark.parametrize(
    "name", [b"dist/new\nline.js", b"dist/tab\tname.js", b"dist/\xff\xfe.js", b"dist/back\\slash"]
)
def test_sign_refuses_names_that_cannot_round_trip(project: Path, run: Cli, name: bytes) -> None:
    with open(os.path.join(os.fsencode(project), name), "wb") as fh:
        fh.write(b"x")
    code, out, err = run(project, "sign", "-m", "m")
    assert code == 1
    assert "refusing to sign" in err
    assert "its name" in err
    assert "\n" not in err.split("  ", 1)[1].split(": its name")[0]  # the name is shown escaped
    assert not (project / "verification.md.json").exists()
    assert out == ""


def test_verify_reports_a_bad_name_on_disk_as_unsafe(project: Path) -> None:
    signed_project(project, None)
    with open(os.path.join(os.fsencode(project), b"dist/\xff.js"), "wb") as fh:
        fh.write(b"x")
    problems = kinds(check(project, None))
    assert problems == {"unsafe": ["dist/\\udcff.js: its name is not valid UTF-8"]}


# -- signatures --------------------------------------------------------------------------


def test_a_tampered_payload_fails_the_signature_and_is_not_read(
    project: Path, key: SigningKey, run: Cli, tmp_path: Path
) -> None:
    signed_project(project, key)
    (project / "dist/app.js").write_text("evil")
    path = project / "verification.md.json"

    def forge(statement: Any) -> None:
        for subject in statement["subject"]:
            if subject["name"] == "dist/app.js":
                subject["digest"]["sha256"] = sha("evil")

    save_entries(path, [with_payload(load_entries(path)[0], forge)])
    report = check(project, key)
    assert not report.compared  # the forged payload was never parsed
    assert kinds(report) == {
        "signature": [
            f"the signature on entry #1 by key {key.keyid[:16]} does not verify: its payload or "
            "payloadType changed after signing"
        ]
    }
    code, out, _ = run(project, "verify", "--public-key", str(tmp_path / "keys/witness.pub"))
    assert code == 1
    assert "signature (1):" in out
    assert "changed (" not in out


def test_a_swapped_payload_type_is_caught(project: Path, key: SigningKey) -> None:
    signed_project(project, key)
    path = project / "verification.md.json"
    entries = load_entries(path)
    entries[0]["payloadType"] = "application/json"
    save_entries(path, entries)
    with_key = kinds(check(project, key))
    assert set(with_key) == {"signature", "bad-manifest"}
    assert "payloadType 'application/json'" in with_key["bad-manifest"][0]
    assert set(kinds(check(project, None))) == {"bad-manifest"}


def test_the_wrong_key_is_refused(project: Path, key: SigningKey, tmp_path: Path) -> None:
    signed_project(project, key)
    other = new_key(tmp_path / "other")
    problems = kinds(check(project, other))
    assert problems == {
        "signature": [
            f"entry #1 (the newest) is signed by {key.keyid[:16]}, not by the trusted key "
            f"{other.keyid[:16]}"
        ]
    }


def test_a_forged_keyid_does_not_help(project: Path, key: SigningKey, tmp_path: Path) -> None:
    other = new_key(tmp_path / "other")
    signed_project(project, other)
    path = project / "verification.md.json"
    entries = load_entries(path)
    entries[0]["signatures"][0]["keyid"] = key.keyid  # claim the trusted key's id
    save_entries(path, entries)
    assert "does not verify" in kinds(check(project, key))["signature"][0]


def test_an_unsigned_entry_on_top_of_signed_ones_fails_when_a_key_is_required(
    project: Path, key: SigningKey, run: Cli, tmp_path: Path
) -> None:
    signed_project(project, key)
    (project / "dist/app.js").write_text("v2")
    signed_project(project, None, "sneaky unsigned")
    code, out, _ = run(project, "verify", "--public-key", str(tmp_path / "keys/witness.pub"))
    assert code == 1
    assert "entry #2 (the newest) is unsigned, but a signature by key" in out
    code, out, err = run(project, "verify")  # no key required: it passes, and says so
    assert (code, out) == (0, SUCCESS)
    assert "unsigned" in err


# -- the chain ---------------------------------------------------------------------------


def _three_entries(root: Path, key: SigningKey) -> Path:
    for i in range(3):
        (root / "dist/app.js").write_text(f"v{i}")
        signed_project(root, key, f"entry {i + 1}")
    return root / "verification.md.json"


def test_a_deleted_middle_entry_breaks_the_chain(project: Path, key: SigningKey, run: Cli) -> None:
    path = _three_entries(project, key)
    entries = load_entries(path)
    digests = [e.digest for e in parse_manifest(path.read_bytes())]
    save_entries(path, [entries[0], entries[2]])
    report = check(project, key)
    assert set(kinds(report)) == {"chain"}
    problem = report.problems[0]
    assert "entry #2 follows an entry with sha256" in problem.message
    assert "an entry was deleted or edited" in problem.message
    assert (problem.expected, problem.actual) == (digests[1], digests[0])
    code, out, _ = run(project, "verify")
    assert code == 1
    assert "chain (1):" in out


def test_a_deleted_first_entry_or_edited_history_breaks_the_chain(
    project: Path, key: SigningKey
) -> None:
    path = _three_entries(project, key)
    entries = load_entries(path)
    save_entries(path, entries[1:])
    assert "history was deleted" in kinds(check(project, key))["chain"][0]

    edited = with_payload(entries[0], lambda s: s["predicate"].update(message="rewritten"))
    save_entries(path, [edited, *entries[1:]])
    assert "entry #2 follows an entry" in kinds(check(project, key))["chain"][0]


def test_sign_refuses_to_extend_a_broken_chain(project: Path, key: SigningKey) -> None:
    path = _three_entries(project, key)
    entries = load_entries(path)
    save_entries(path, [entries[0], entries[2]])
    with pytest.raises(WitnessError, match=r"cannot extend verification\.md\.json"):
        signed_project(project, key, "launder")
    assert len(load_entries(path)) == 2


def test_a_reordered_first_entry_is_caught(project: Path, key: SigningKey) -> None:
    path = _three_entries(project, key)
    entries = load_entries(path)
    first_again = crafted_entry({n: sha(t) for n, t in FILES.items()}, key)
    save_entries(path, [*entries, first_again.to_dict()])
    assert "records no previous entry" in kinds(check(project, key))["chain"][0]


# -- the manifest itself ----------------------------------------------------------------


def test_missing_empty_or_malformed_manifest_fails(project: Path, run: Cli) -> None:
    code, out, _ = run(project, "verify")
    assert code == 1
    assert "verification.md.json does not exist" in out
    (project / "verification.md.json").write_text("[]")
    code, out, _ = run(project, "verify")
    assert code == 1
    assert "has no entries" in out
    (project / "verification.md.json").write_text("{")
    code, out, _ = run(project, "verify")
    assert code == 1
    assert "bad-manifest: " in out
    assert "not valid JSON" in out


def test_a_symlinked_manifest_is_refused(project: Path, tmp_path: Path, run: Cli) -> None:
    signed_project(project, None)
    real = tmp_path / "real.json"
    (project / "verification.md.json").rename(real)
    (project / "verification.md.json").symlink_to(real)
    code, _, err = run(project, "verify")
    assert code == 1
    assert "symlink" in err


def test_a_payload_that_is_not_a_statement_is_bad_manifest(project: Path) -> None:
    signed_project(project, None)
    path = project / "verification.md.json"
    entries = load_entries(path)
    save_entries(path, [with_payload(entries[0], lambda s: s.update(_type="something else"))])
    assert "not an in-toto Statement v1" in kinds(check(project, None))["bad-manifest"][0]


def test_empty_footprint_is_refused(tmp_path: Path, run: Cli) -> None:
    (tmp_path / "p").mkdir()
    code, _, err = run(tmp_path / "p", "sign", "-m", "nothing")
    assert code == 1
    assert "no files match dist/**" in err


def test_message_must_be_one_line(project: Path, run: Cli) -> None:
    code, _, err = run(project, "sign", "-m", "two\nlines")
    assert code == 1
    assert "one line" in err
    code, _, err = run(project, "sign", "-m", "   ")
    assert code == 1
    assert "empty" in err


# -- gates.yaml decides the footprint ----------------------------------------------------


def test_the_witness_gate_in_gates_yaml_sets_manifest_paths_and_key(
    tmp_path: Path, run: Cli, key: SigningKey
) -> None:
    root = tmp_path / "repo"
    write_tree(root, {"build/out.bin": "bin", "dist/ignored.js": "x"})
    (root / "keys").mkdir()
    (root / "keys/witness.pub").write_bytes(key.public.pem())
    write_config(
        root,
        """
        version: 1
        gates:
          witness:
            kind: witness
            manifest: audit/manifest.json
            paths: ["build/**"]
            public_key: keys/witness.pub
        """,
    )
    code, _, err = run(root, "sign", "-m", "unsigned")
    assert code == 0, err
    assert (root / "audit/manifest.json").is_file()
    assert (root / "audit/manifest.md").is_file()
    assert [
        s["name"] for s in payload_of(load_entries(root / "audit/manifest.json")[0])["subject"]
    ] == ["build/out.bin"]
    code, out, _ = run(root, "verify")  # the gate's public_key is required
    assert code == 1
    assert "is unsigned, but a signature" in out
    assert run(root, "sign", "-m", "signed", "--key", str(tmp_path / "keys/witness.key"))[0] == 0
    code, out, _ = run(root, "verify")
    assert (code, out) == (0, "Verification passed — build matches audited footprint\n")


def test_gate_selection_errors_are_usage_errors(tmp_path: Path, run: Cli) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write_config(
        root,
        """
        version: 1
        gates:
          one: {kind: witness, paths: ["a/**"], manifest: a.json}
          two: {kind: witness, paths: ["b/**"], manifest: b.json}
          lint: {run: "true"}
        """,
    )
    code, _, err = run(root, "verify")
    assert code == 2
    assert "several witness gates (one, two)" in err
    code, _, err = run(root, "verify", "--gate", "lint")
    assert code == 2
    assert "no witness gate named 'lint'" in err
    code, _, err = run(root, "verify", "--gate", "on")
    assert code == 2
    assert "did you mean one?" in err
    code, _, err = run(root, "verify", "-c", "missing.yaml")
    assert code == 2
    assert "missing.yaml not found" in err


def test_whole_tree_footprint_leaves_out_its_own_manifest_and_git(tmp_path: Path, run: Cli) -> None:
    root = tmp_path / "repo"
    write_tree(root, {"a.txt": "a", "sub/b.txt": "b", ".git/HEAD": "ref: x"})
    write_config(
        root,
        """
        version: 1
        gates:
          witness: {kind: witness, paths: ["**"]}
        """,
    )
    assert run(root, "sign", "-m", "all")[0] == 0
    names = [
        s["name"] for s in payload_of(load_entries(root / "verification.md.json")[0])["subject"]
    ]
    assert names == ["a.txt", "gates.yaml", "sub/b.txt"]
    (root / ".git/HEAD").write_text("changed")
    assert run(root, "verify")[1] == "Verification passed — ** matches audited footprint\n"


def test_a_footprint_changed_since_the_entry_is_reported(project: Path) -> None:
    signed_project(project, None)
    data = (project / "verification.md.json").read_bytes()
    report = verify(Layout(project, patterns=("dist/**", "extra/**")), data, None)
    assert "sign a new entry for these paths" in kinds(report)["bad-manifest"][0]


def test_an_empty_entry_over_an_empty_footprint_does_not_pass(
    tmp_path: Path, key: SigningKey
) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    write_manifest(root / "verification.md.json", [crafted_entry({}, key)])
    report = check(root, key)
    assert not report.ok
    assert "there is no footprint to verify" in "\n".join(kinds(report)["bad-manifest"])
