"""`python -m mergegate.precommit [ARGS]`: the entry of the pre-commit / prek hook.

pre-commit runs a ``language: python`` hook from its own virtualenv: that
environment's ``bin`` comes first on PATH and VIRTUAL_ENV names it. mergegate
lives there, but the gates are the project's commands and must find the
project's python, pytest, ruff and node, exactly as ``git push`` found them.
So this entry takes the hook's environment out of what the gates inherit and
then runs ``mergegate run ARGS`` in this process (mergegate itself keeps
importing from the hook's environment).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # a PATH entry that does not exist is never the hook's
        return False


def user_environ(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    """``environ`` without the virtualenv at ``prefix``: its bin dir off PATH, VIRTUAL_ENV unset."""
    env = dict(environ)
    if not _same_dir(environ.get("VIRTUAL_ENV", ""), Path(prefix)):
        return env  # the active venv is someone else's (or none): leave it to the gates
    scripts = Path(prefix) / ("Scripts" if os.name == "nt" else "bin")
    kept = [p for p in environ.get("PATH", "").split(os.pathsep) if not _same_dir(p, scripts)]
    env["PATH"] = os.pathsep.join(kept)
    del env["VIRTUAL_ENV"]
    return env


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if sys.prefix != sys.base_prefix:  # running from a virtualenv (the hook's)
        env = user_environ(os.environ, sys.prefix)
        os.environ.clear()
        os.environ.update(env)
    from mergegate.__main__ import main as mergegate_main

    return mergegate_main(["run", *args])


if __name__ == "__main__":
    raise SystemExit(main())
