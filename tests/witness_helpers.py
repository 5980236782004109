"""Shared pieces for the witness tests: trees, keys, the CLI in-process, hand-edited manifests."""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mergegate.cli import build_parser
from mergegate.config import load_config
from mergegate.errors import error_boundary
from mergegate.gates import GateContext
from mergegate.gates.witness import WitnessSpec as WitnessGate
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.witness.keys import SigningKey, load_signing_key, write_keypair
from mergegate.witness.manifest import Envelope, Statement, Subject, dump_manifest
from mergegate.witness.sign import envelope_for

Json = Any


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def new_key(directory: Path) -> SigningKey:
    return write_keypair(directory)


def key_from(path: Path) -> SigningKey:
    key = load_signing_key(str(path), {})
    assert key is not None
    return key


def cli(
    args: Sequence[str],
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """The real parser, command and error boundary, in-process (a subprocess costs ~0.5 s).

    Returns the exit code, stdout and stderr. The boundary is given the current
    stderr: its default was bound when pytest's capture held another stream.
    """
    from mergegate.commands.witness import main

    monkeypatch.chdir(cwd)
    capfd.readouterr()
    parsed = build_parser().parse_args(list(args))
    with error_boundary(sys.stderr.write) as box:
        box[0] = main(parsed)
    out, err = capfd.readouterr()
    return box[0], out, err


def load_entries(path: Path) -> list[Json]:
    entries: list[Json] = json.loads(path.read_text(encoding="utf-8"))
    return entries


def save_entries(path: Path, entries: Sequence[Json]) -> None:
    path.write_text(json.dumps(list(entries), indent=2), encoding="utf-8")


def payload_of(entry: Json) -> Json:
    return json.loads(base64.b64decode(entry["payload"]))


def with_payload(entry: Json, edit: Callable[[Json], None]) -> Json:
    """The entry with its statement edited and re-encoded; signatures left as they were."""
    statement = payload_of(entry)
    edit(statement)
    raw = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    return {**entry, "payload": base64.b64encode(raw).decode()}


def crafted_entry(
    subjects: Mapping[str, str],
    key: SigningKey | None,
    *,
    previous: str | None = None,
    patterns: tuple[str, ...] = ("dist/**",),
) -> Envelope:
    """A well-formed (and, with a key, validly signed) entry naming whatever subjects we like."""
    statement = Statement(
        subjects=tuple(Subject(n, d) for n, d in subjects.items()),
        message="crafted",
        timestamp="2024-01-01T00:00:00Z",
        commit=None,
        patterns=patterns,
        version="0",
        previous=previous,
    )
    return envelope_for(statement, key)


def write_manifest(path: Path, entries: Sequence[Envelope]) -> None:
    path.write_bytes(dump_manifest(entries))


@contextmanager
def gate_context(
    root: Path,
    name: str = "witness",
    *,
    cli_base: str | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[GateContext[WitnessGate]]:
    """A real GateContext for the gate ``name`` of root/gates.yaml."""
    loaded = load_config(root / "gates.yaml")
    gate = loaded.gates[name]
    assert isinstance(gate, WitnessGate)
    env = dict(environ if environ is not None else os.environ)
    procs = ProcessManager()
    try:
        yield GateContext(
            name=name,
            gate=gate,
            loaded=loaded,
            base=LazyBase(loaded.root, cli_base, loaded.config.base, env),
            env=env,
            cwd=loaded.root,
            timeout=timeout,
            procs=procs,
            cancel=threading.Event(),
        )
    finally:
        procs.close()
