"""Developer sessions: tests, lint, type, and gates (mergegate gating this repository).

Every session runs on the Python that runs nox (any Python >= 3.11, as pyproject.toml
requires); a session that asks for an interpreter that is not there fails, never skips.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "src"))

import mergegate.nox  # importable only once src is on the path

nox.options.sessions = ["gates"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True  # a skipped session would exit 0

PYTHON = None  # the interpreter running nox


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (real processes, real git repositories)."""
    mergegate.nox.install_once(session, ["-e", ".[dev]"])
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    mergegate.nox.install_once(session, ["ruff"])
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, name="type")
def type_check(session: nox.Session) -> None:
    mergegate.nox.install_once(session, ["-e", ".[dev]"])
    session.run("mypy", *session.posargs)


# `nox -s gates`: mergegate gating this repository with its own gates.yaml; posargs are
# forwarded (`nox -s gates -- --dry-run`). The same helper a user's noxfile calls.
mergegate.nox.register(python=PYTHON, install=["-e", ".[dev]"], requirement=None)
