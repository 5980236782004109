"""This repository's own gates.yaml: the cheap `version_of` of type-check says what
`mypy --version` says (version, compiled or not) from the installed dist-info, and fails
(so the gate runs uncached) when the `mypy` on PATH has none next to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = str(Path(sys.executable).parent)  # this venv: mypy is installed next to python


def _version_of() -> str:
    gates = yaml.safe_load((ROOT / "gates.yaml").read_text(encoding="utf-8"))["gates"]
    (command,) = gates["type-check"]["version_of"]
    assert isinstance(command, str)
    return command


def _bash(command: str, path: str) -> subprocess.CompletedProcess[str]:
    """As mergegate runs a string command: bash -e -o pipefail -c."""
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cheap_version_says_what_mypy_version_says() -> None:
    from mergegate.excerpt import HEAD_BYTES

    path = BIN + os.pathsep + os.environ.get("PATH", "")
    real = _bash("mypy --version", path)
    cheap = _bash(_version_of(), path)
    assert real.returncode == 0, real.stderr
    assert cheap.returncode == 0, cheap.stderr
    _, version, compiled = real.stdout.split(maxsplit=2)  # mypy X.Y.Z (compiled: yes|no)
    lines = cheap.stdout.splitlines()
    assert lines[0] == f"mypy-{version}.dist-info"
    tags = [line.removeprefix("Tag: ") for line in lines if line.startswith("Tag: ")]
    assert tags
    assert all(tag.endswith("-none-any") for tag in tags) == (compiled == "(compiled: no)\n")
    assert len(cheap.stdout.encode()) < HEAD_BYTES  # kept whole: a cut output is never keyed


def test_another_mypy_first_on_path_fails_the_version_command(tmp_path: Path) -> None:
    other = tmp_path / "mypy"
    other.write_text("#!/bin/sh\necho 'mypy 0.0.1 (compiled: no)'\n")
    other.chmod(0o755)
    path = os.pathsep.join([str(tmp_path), BIN, os.environ.get("PATH", "")])
    proc = _bash(_version_of(), path)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "dist-info" in proc.stderr  # cd: .../mypy-*.dist-info: No such file or directory
