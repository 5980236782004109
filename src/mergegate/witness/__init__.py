"""The witness manifest: a hash-chained list of signed statements about the files a merge ships.

``manifest`` owns the format (DSSE envelopes around in-toto Statements v1, the
chain), ``keys`` the Ed25519 keys and their securesystemslib keyid, ``tree`` the
safe walk that hashes the footprint, ``verify`` the comparison, ``sign``
appending an entry, and ``markdown`` the human-readable verification.md.
"""

from __future__ import annotations


class WitnessError(Exception):
    """A manifest, key or tree cannot be used; the message says what to do next."""
