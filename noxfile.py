"""Developer sessions: tests, lint, type, and gates (mergegate gating this repository)."""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "src"))

import mergegate.nox  # importable only once src is on the path

nox.options.sessions = ["gates"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (real processes, real git repositories)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, name="type")
def type_check(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy", *session.posargs)


# `nox -s gates`: mergegate gating this repository with its own gates.yaml; posargs are
# forwarded (`nox -s gates -- --dry-run`). The same helper a user's noxfile calls.
mergegate.nox.register(python=PYTHON, install=["-e", ".[dev]"], requirement=None)
