"""Ed25519 keys: keygen files and modes, loading from --key and the environment, refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]  # no __all__

from mergegate.witness import WitnessError
from mergegate.witness.keys import (
    ENV_KEY,
    keyid_of,
    load_public_key,
    load_signing_key,
    public_key_from_pem,
    signing_key_from_pem,
)
from tests.witness_helpers import cli


def test_keygen_writes_a_private_key_0600_and_a_public_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    old = os.umask(0o077)  # the modes are set explicitly, whatever the umask
    try:
        code, out, _ = cli(["witness", "keygen", "keys"], tmp_path, monkeypatch, capfd)
    finally:
        os.umask(old)
    assert code == 0
    private, public = tmp_path / "keys/witness.key", tmp_path / "keys/witness.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    key = load_signing_key(str(private), {})
    assert key is not None
    assert load_public_key(public).keyid == key.keyid
    assert f"keyid {key.keyid}" in out
    assert private.read_text() not in out


def test_keygen_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/witness.pub").write_text("old public key")
    code, _, err = cli(["witness", "keygen", "keys"], tmp_path, monkeypatch, capfd)
    assert code == 1
    assert "refusing to overwrite" in err
    assert "witness.pub" in err
    assert (tmp_path / "keys/witness.pub").read_text() == "old public key"
    assert not (tmp_path / "keys/witness.key").exists()


def test_keyid_is_the_one_securesystemslib_computes() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    theirs = SSlibKey.from_crypto(private.public_key())
    assert keyid_of(private.public_key()) == theirs.keyid
    assert theirs.keytype == theirs.scheme == "ed25519"
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert theirs.keyval == {"public": raw.hex()}


def _pem(private: ed25519.Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_signing_key_from_env_as_pem_text_or_path(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    expected = keyid_of(private.public_key())
    pem = _pem(private)
    from_text = load_signing_key(None, {ENV_KEY: pem.decode()})
    path = tmp_path / "k.pem"
    path.write_bytes(pem)
    from_path = load_signing_key(None, {ENV_KEY: f" {path}\n"})
    assert from_text is not None
    assert from_path is not None
    assert from_text.keyid == from_path.keyid == expected
    assert load_signing_key(None, {}) is None
    assert load_signing_key(None, {ENV_KEY: "  "}) is None


def test_key_flag_wins_over_the_environment(tmp_path: Path) -> None:
    flag, env = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "flag.pem"
    path.write_bytes(_pem(flag))
    key = load_signing_key(str(path), {ENV_KEY: _pem(env).decode()})
    assert key is not None
    assert key.keyid == keyid_of(flag.public_key())


def test_encrypted_key_is_refused_without_showing_it() -> None:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(WitnessError, match="encrypted") as info:
        load_signing_key(None, {ENV_KEY: pem.decode()})
    assert "BEGIN" not in str(info.value)


def test_non_ed25519_and_garbage_keys_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(WitnessError, match="not an Ed25519 private key"):
        signing_key_from_pem(ec_pem, "k")
    with pytest.raises(WitnessError, match="not a PEM private key"):
        signing_key_from_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n", "k")
    ec_pub = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(WitnessError, match="not an Ed25519 public key"):
        public_key_from_pem(ec_pub, "p")
    with pytest.raises(WitnessError, match="not a PEM public key"):
        public_key_from_pem(b"hello", "p")


def test_missing_or_huge_key_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(WitnessError, match="does not exist"):
        load_signing_key(str(tmp_path / "nope.pem"), {})
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * 200_000)
    with pytest.raises(WitnessError, match="larger than"):
        load_public_key(big)


def test_sign_with_an_unreadable_key_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist/a").write_text("a")
    code, _, err = cli(
        ["witness", "sign", "-m", "m", "--key", "missing.pem"], tmp_path, monkeypatch, capfd
    )
    assert code == 2
    assert "missing.pem does not exist" in err
    assert not (tmp_path / "verification.md.json").exists()
