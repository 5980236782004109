"""Atomic report files: a temp file in the same directory, then os.replace.

A directory mergegate creates for its reports (``write_report``, ``ensure_dir``)
gets a ``.gitignore`` of ``*`` (as pytest, ruff and mypy do for their caches),
so reports never become files git would commit, nor part of what the forbid gate
scans. Other files (a witness manifest, the schema) are meant to be committed:
their directories get none.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

GITIGNORE = "# created by mergegate: reports are build output\n*\n"


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` and its missing parents; the topmost one created gets a .gitignore."""
    missing = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    directory.mkdir(parents=True, exist_ok=True)
    if missing:
        ignore = missing[-1] / ".gitignore"
        # "x": another writer that got there first keeps its file
        with contextlib.suppress(FileExistsError), open(ignore, "x", encoding="utf-8") as fh:
            fh.write(GITIGNORE)


def write_report(path: Path, text: str) -> None:
    """A report: its directory, when mergegate creates it, is git-ignored."""
    ensure_dir(path.parent)
    write_atomic(path, text)


def write_atomic(path: Path, text: str) -> None:
    """Any file mergegate writes (reports, a witness manifest, the schema)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
