"""errors.py: a crash log says what a bug report needs before the traceback."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from mergegate import __version__
from mergegate.errors import write_crash_log


def test_a_crash_log_records_versions_platform_and_the_redacted_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("API_TOKEN", "s3cret-in-argv")
    monkeypatch.setattr(sys, "argv", ["mergegate", "run", "--only", "s3cret-in-argv"])
    log = write_crash_log("Traceback (most recent call last):\nBoom\n")
    header, _, trace = log.read_text().partition("\n\n")
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)
    assert header.splitlines() == [
        f"mergegate: {__version__}",
        f"python: {sys.version.split()[0]} ({sys.implementation.name}, {sys.executable})",
        f"git: {git.stdout.strip()}",
        f"platform: {platform.platform()}",
        "command: mergegate run --only ***",
    ]
    assert trace == "Traceback (most recent call last):\nBoom\n"
