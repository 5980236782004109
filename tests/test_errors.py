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


def test_the_dependency_table_is_pyprojects() -> None:
    import re
    import tomllib

    from mergegate.errors import DEPENDENCIES

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    declared = {re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0].lower() for d in
                pyproject["project"]["dependencies"]}  # fmt: skip
    assert set(DEPENDENCIES.values()) == declared


MISSING_RICH = """
import sys
sys.modules["rich"] = None  # as if rich were not installed: importing it fails
sys.argv = ["mergegate", "run", "--dry-run"]
from mergegate.__main__ import main
raise SystemExit(main())
"""


def test_a_missing_dependency_is_named_not_called_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gates.yaml").write_text("version: 1\ngates:\n  lint: {run: 'true'}\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-c", MISSING_RICH],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stdout + proc.stderr  # still blocks
    assert "the package 'rich' it needs is not installed" in proc.stderr
    assert "this is a bug" not in proc.stderr
    assert not (tmp_path / "cache" / "mergegate").exists() or not list(
        (tmp_path / "cache" / "mergegate").glob("crash-*")
    )
