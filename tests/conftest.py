"""Fixtures: a clean environment for every test, and real git repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import init_repo

_SCRUB_PREFIXES = ("GITHUB_", "MERGEGATE_", "RUNNER_")
_SCRUB = ("CI", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name in _SCRUB or name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def plan_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """One compiled-plan cache per session, never the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository on branch main with one commit."""
    return init_repo(tmp_path / "repo")
