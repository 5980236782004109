"""Ed25519 witness keys: PEM in and out, generation, and the securesystemslib keyid.

Private keys are PKCS#8 PEM (unencrypted: they live in a CI secret), public
keys SubjectPublicKeyInfo PEM. The keyid is what securesystemslib computes for
an ed25519 key: the SHA-256 of the canonical JSON of
``{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": <hex of the
raw 32-byte key>}}``, so in-toto tooling names our keys the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mergegate.witness import WitnessError

ENV_KEY = "MERGEGATE_WITNESS_KEY"
PRIVATE_FILE = "witness.key"
PUBLIC_FILE = "witness.pub"
MAX_KEY_BYTES = 64 * 1024
KEYTYPE = SCHEME = "ed25519"


@dataclass(frozen=True)
class PublicKey:
    key: Ed25519PublicKey
    keyid: str

    def verifies(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class SigningKey:
    key: Ed25519PrivateKey
    public: PublicKey

    @property
    def keyid(self) -> str:
        return self.public.keyid

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    def pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def raw_public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def keyid_of(key: Ed25519PublicKey) -> str:
    """securesystemslib's default keyid for an ed25519 key."""
    document = {"keytype": KEYTYPE, "keyval": {"public": raw_public_hex(key)}, "scheme": SCHEME}
    # every value is ASCII, so sorted compact JSON is exactly securesystemslib's canonical form
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _public(key: Ed25519PublicKey) -> PublicKey:
    return PublicKey(key, keyid_of(key))


def generate() -> SigningKey:
    key = Ed25519PrivateKey.generate()
    return SigningKey(key, _public(key.public_key()))


def public_key_from_pem(data: bytes, source: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise WitnessError(
            f"{source} is not a PEM public key (expected SubjectPublicKeyInfo, "
            "as `mergegate witness keygen` writes)"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise WitnessError(f"{source} is not an Ed25519 public key ({type(key).__name__})")
    return _public(key)


def signing_key_from_pem(data: bytes, source: str) -> SigningKey:
    # the key's bytes never reach a message: errors name only the source
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise WitnessError(
            f"{source} is an encrypted private key; mergegate needs an unencrypted PKCS#8 key "
            "(keep it in a CI secret instead)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise WitnessError(
            f"{source} is not a PEM private key (expected PKCS#8, as `mergegate witness keygen` "
            "writes)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise WitnessError(f"{source} is not an Ed25519 private key")
    return SigningKey(key, _public(key.public_key()))


def read_key_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise WitnessError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise WitnessError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > MAX_KEY_BYTES:
        raise WitnessError(f"{what} {path} is larger than {MAX_KEY_BYTES} bytes: not a key")
    return data


def load_signing_key(key_file: str | None, environ: Mapping[str, str]) -> SigningKey | None:
    """--key FILE, else $MERGEGATE_WITNESS_KEY (PEM text or a path), else None (unsigned)."""
    if key_file:
        return signing_key_from_pem(read_key_file(Path(key_file), "key file"), key_file)
    value = environ.get(ENV_KEY, "")
    if not value.strip():
        return None
    if "-----BEGIN" in value:
        return signing_key_from_pem(value.encode("utf-8"), f"${ENV_KEY}")
    data = read_key_file(Path(value.strip()), f"key file (from ${ENV_KEY})")
    return signing_key_from_pem(data, f"${ENV_KEY} ({value.strip()})")


def load_public_key(path: Path) -> PublicKey:
    return public_key_from_pem(read_key_file(path, "public key"), str(path))


def _create_exclusive(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow what we promise
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_keypair(directory: Path) -> SigningKey:
    """Write witness.key (0600) and witness.pub into directory; never overwrite either."""
    private, public = directory / PRIVATE_FILE, directory / PUBLIC_FILE
    existing = [str(p) for p in (private, public) if os.path.lexists(p)]
    if existing:
        raise WitnessError(
            f"refusing to overwrite {' and '.join(existing)}: move the old key away first "
            "(entries it signed stay valid only against its public key)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    key = generate()
    try:
        _create_exclusive(private, key.pem(), 0o600)
    except FileExistsError:
        raise WitnessError(f"refusing to overwrite {private}") from None
    try:
        _create_exclusive(public, key.public.pem(), 0o644)
    except FileExistsError:
        with contextlib.suppress(OSError):
            private.unlink()
        raise WitnessError(f"refusing to overwrite {public}") from None
    return key
