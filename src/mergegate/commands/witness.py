"""`mergegate witness sign|verify|keygen`: the witness manifest from the command line.

The footprint comes from the witness gate in gates.yaml (``--gate`` picks one
when there are several); without one, the defaults (verification.md.json,
dist/**) apply relative to the current directory. Exit codes: 0 done or
verified, 1 refused or verification failed, 2 usage (bad flags, unreadable
keys, an unknown gate).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mergegate.discovery import config_arg
from mergegate.errors import UsageError
from mergegate.witness import WitnessError
from mergegate.witness.manifest import Layout

if TYPE_CHECKING:
    from mergegate.witness.keys import PublicKey

DEFAULT_CONFIG = "gates.yaml"


@dataclass(frozen=True)
class Target:
    layout: Layout
    public_key: str | None = None  # the gate's public_key, relative to the root
    gate: str | None = None


def main(args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "sign": sign_command,
        "verify": verify_command,
        "keygen": keygen_command,
    }
    try:
        return handlers[args.witness_command](args)
    except WitnessError as exc:
        print(f"mergegate witness {args.witness_command}: {exc}", file=sys.stderr)
        return 1


# -- where -------------------------------------------------------------------------


def resolve_target(config: str, gate: str | None) -> Target:
    """The witness gate's layout, or the defaults relative to the current directory."""
    from mergegate.config import load_config
    from mergegate.gates.witness import WitnessSpec as WitnessGate

    path = Path(config)
    if not path.exists():
        if gate or config != DEFAULT_CONFIG:
            raise UsageError(f"{config} not found (needed for --gate / -c)")
        return Target(Layout(Path.cwd()))
    loaded = load_config(path)
    witness = {n: g for n, g in loaded.gates.items() if isinstance(g, WitnessGate)}
    if gate is not None:
        chosen = loaded.gates.get(gate)
        if not isinstance(chosen, WitnessGate):
            close = difflib.get_close_matches(gate, list(witness), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            kinds = f"witness gates: {', '.join(witness) or 'none'}"
            raise UsageError(f"{config} has no witness gate named {gate!r}{hint}; {kinds}")
        name = gate
    elif len(witness) > 1:
        raise UsageError(
            f"{config} has several witness gates ({', '.join(witness)}): pick one with --gate NAME"
        )
    elif witness:
        name, chosen = next(iter(witness.items()))
    else:
        return Target(Layout(Path.cwd()))
    layout = Layout(loaded.root, chosen.manifest, tuple(chosen.paths))
    return Target(layout, chosen.public_key, name)


# -- sign --------------------------------------------------------------------------


def sign_command(args: argparse.Namespace) -> int:
    from mergegate.git import head_commit
    from mergegate.witness.keys import ENV_KEY, load_signing_key
    from mergegate.witness.sign import SignRefused, sign

    target = resolve_target(config_arg(args, required=False), args.gate)
    try:
        key = load_signing_key(args.key, os.environ)
    except WitnessError as exc:
        raise UsageError(str(exc)) from None
    layout = target.layout
    try:
        signed = sign(
            layout, args.message, key, commit=head_commit(layout.root), public_key=target.public_key
        )
    except SignRefused as exc:
        print(
            f"mergegate witness sign: {exc}; a manifest can only describe regular files "
            "with names that round-trip:",
            file=sys.stderr,
        )
        from mergegate.witness.tree import display_name

        for unsafe in exc.unsafe:
            print(f"  {display_name(unsafe.path)}: {unsafe.why}", file=sys.stderr)
        return 1
    who = (
        f"signed by key {signed.keyid}"
        if signed.keyid
        else (f"UNSIGNED (no key: pass --key FILE or set {ENV_KEY})")
    )
    print(
        f"Entry #{signed.index} appended to {layout.manifest}: {len(signed.footprint.files)} "
        f"files under {', '.join(layout.patterns)}, {who}"
    )
    print(f"entry sha256 {signed.entry.digest}; {layout.markdown} rewritten")
    return 0


# -- verify ------------------------------------------------------------------------


def _public_key(args: argparse.Namespace, target: Target) -> tuple[PublicKey | None, str]:
    from mergegate.witness.keys import MAX_KEY_BYTES, load_public_key, public_key_from_pem
    from mergegate.witness.tree import read_regular

    try:
        if args.public_key:
            return load_public_key(Path(args.public_key)), args.public_key
        if target.public_key:
            rel = target.public_key
            data = read_regular(target.layout.root, rel, MAX_KEY_BYTES, "public key")
            if data is None:
                raise WitnessError(
                    f"public key {rel} (public_key of gate {target.gate}) does not exist"
                )
            return public_key_from_pem(data, rel), f"{rel} (from gate {target.gate})"
    except WitnessError as exc:
        raise UsageError(str(exc)) from None
    return None, ""


def verify_command(args: argparse.Namespace) -> int:
    from mergegate.witness.manifest import MAX_MANIFEST_BYTES, ManifestError
    from mergegate.witness.tree import read_regular
    from mergegate.witness.verify import counts, next_step, problem_lines, verify

    target = resolve_target(config_arg(args, required=False), args.gate)
    key, key_shown = _public_key(args, target)
    layout = target.layout
    failed = f"Verification failed — {layout.label} does not match audited footprint"
    data = read_regular(layout.root, layout.manifest, MAX_MANIFEST_BYTES, "manifest")
    if data is None:
        print(
            f"{failed}\nthe manifest {layout.manifest} does not exist under {layout.root}: "
            'create it with mergegate witness sign -m "merge: #<PR> — <description>"'
        )
        return 1
    try:
        report = verify(layout, data, key)
    except ManifestError as exc:
        print(f"{failed}\nbad-manifest: {exc}")
        return 1
    if report.ok:
        print(f"Verification passed — {layout.label} matches audited footprint")
        if key is None:
            print(
                f"note: the newest entry is {report.signature}; pass --public-key to require "
                "a signature",
                file=sys.stderr,
            )
        else:
            print(f"note: signature verified with {key_shown}", file=sys.stderr)
        return 0
    print(failed)
    for line in problem_lines(report.problems):
        print(line)
    problems = report.problems
    print(f"{len(problems)} problem(s): {counts(problems)}; {next_step(problems)}")
    return 1


# -- keygen ------------------------------------------------------------------------


def keygen_command(args: argparse.Namespace) -> int:
    from mergegate.witness.keys import ENV_KEY, PRIVATE_FILE, PUBLIC_FILE, write_keypair

    directory = Path(args.dir)
    try:
        key = write_keypair(directory)
    except OSError as exc:
        raise WitnessError(f"cannot write the keys into {directory}: {exc.strerror}") from None
    print(f"wrote {directory / PRIVATE_FILE} (private, mode 0600) and {directory / PUBLIC_FILE}")
    print(f"keyid {key.keyid}")
    print(
        f"next: commit {directory / PUBLIC_FILE} and set `public_key:` of the witness gate to it; "
        f"store {PRIVATE_FILE} as a CI secret ({ENV_KEY}) and never commit it"
    )
    return 0
