"""Which gates.yaml a command uses: `-c`, else $MERGEGATE_CONFIG, else the nearest one.

The search goes from the current directory up to the repository root (the
directory holding `.git`, a directory or a worktree/submodule file), as
pre-commit and lefthook find their config: running from `src/` uses the
project's file instead of asking for a second one. Outside a repository only
the current directory counts, so a stray file in a home directory is never
picked up. Only the standard library: this runs before every command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

from mergegate.errors import UsageError

CONFIG_NAME = "gates.yaml"
ENV_VAR = "MERGEGATE_CONFIG"


def repo_top(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds `.git`, or None."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def search_dirs(start: Path) -> list[Path]:
    """The directories searched, nearest first: up to the repository top, or ``start`` alone."""
    top = repo_top(start)
    if top is None:
        return [start]
    dirs = [start]
    dirs.extend(p for p in start.parents if p.is_relative_to(top))
    return dirs


def find_config(start: Path) -> Path | None:
    for directory in search_dirs(start):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def configs_found(start: Path) -> list[Path]:
    """Every gates.yaml the search passes, nearest first (the first is the one used)."""
    return [d / CONFIG_NAME for d in search_dirs(start) if (d / CONFIG_NAME).is_file()]


def shadow_note(explicit: str | None, environ: Mapping[str, str], cwd: Path) -> str | None:
    """A warning when discovery picks a nested gates.yaml and a file further up goes unrun.

    The nearest file wins (DESIGN §3), but a project's repository-wide gates (a secret
    scan at the root) silently not running from a package's directory would surprise.
    """
    if explicit or environ.get(ENV_VAR):
        return None
    found = configs_found(cwd)
    if len(found) < 2:
        return None
    others = ", ".join(shown(p, cwd) for p in found[1:])
    return (
        f"mergegate: using {shown(found[0], cwd)}, the nearest {CONFIG_NAME}; the gates of "
        f"{others} (further up) are not run: pass -c {shown(found[-1], cwd)} for those\n"
    )


def shown(path: Path, cwd: Path) -> str:
    """The path as a user would type it from ``cwd`` (gates.yaml, ../gates.yaml)."""
    return os.path.relpath(path, cwd)


def not_found_message(start: Path) -> str:
    top = repo_top(start)
    if top is None:
        where = f"{start} (not inside a git repository, so no parent directory was searched)"
        fix = f"run `mergegate init` in the project's root, or pass -c FILE or set {ENV_VAR}"
    else:
        where = (
            str(start) if top == start else f"{start} or a parent up to the repository root {top}"
        )
        fix = f"pass -c FILE or set {ENV_VAR}; to start one, run `mergegate init` in {top}"
    return f"no {CONFIG_NAME} found in {where}; {fix}"


def resolve(
    explicit: str | None, environ: Mapping[str, str], cwd: Path, *, required: bool = True
) -> str | None:
    """The config path to use, as shown to the user; None when none exists and not required."""
    if explicit:
        return explicit
    from_env = environ.get(ENV_VAR, "")
    if from_env:
        if not Path(from_env).is_file():
            raise UsageError(f"{ENV_VAR}={from_env}: no such file")
        return from_env
    found = find_config(cwd)
    if found is not None:
        return shown(found, cwd)
    if required:
        raise UsageError(not_found_message(cwd))
    return None


def config_arg(args: argparse.Namespace, *, required: bool = True) -> str:
    """The file a command uses: its -c, else discovered; gates.yaml when optional and none."""
    found = resolve(args.config, os.environ, Path.cwd(), required=required)
    return found or CONFIG_NAME
