"""`mergegate.nox.register()`: one line in a noxfile gives a session that runs the gates.

    # noxfile.py
    import mergegate.nox

    mergegate.nox.register()  # nox -s gates            (all gates)
                              # nox -s gates -- --only lint,unit-tests

The session's virtualenv gets the mergegate that runs the noxfile (from the
checkout or wheel it was installed from, or ``mergegate==VERSION`` when it came
from a package index) and the project (``-e .``), then ``mergegate run -c
CONFIG`` runs with ``extra_args`` and the session's positional arguments.

The virtualenv is reused, and the install is skipped while what it would
install is unchanged (a stamp in the virtualenv records the pip arguments and
the content of the files they name); ``nox --reuse-venv=never -s gates``
starts afresh. Nothing is installed without a virtualenv (``--no-venv``).
nox is imported only when ``register`` is called, so mergegate does not depend
on nox at run time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from mergegate import __version__

if TYPE_CHECKING:
    import nox

STAMP_NAME = ".mergegate-install-stamp"
# what decides a directory's installed dependencies (its code is installed editable)
_BUILD_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


class _Running:
    def __repr__(self) -> str:
        return "RUNNING"


RUNNING: Final = _Running()  # `requirement=` default: the mergegate running this noxfile


class RequirementError(Exception):
    """The running mergegate cannot be located for installing; ``requirement=`` is needed."""


def _as_args(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# -- which mergegate to install -----------------------------------------------------------


def _checkout_of(module_file: Path) -> Path | None:
    """The source checkout that ``mergegate/__init__.py`` lives in (src layout), if any."""
    package = module_file.resolve().parent
    root = package.parent.parent
    if package.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


def _file_url_path(url: str) -> Path | None:
    from urllib.parse import unquote, urlparse
    from urllib.request import url2pathname

    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(unquote(parsed.path)))


def _from_direct_url(text: str) -> list[str]:
    """pip arguments for what pip recorded in direct_url.json (PEP 610)."""
    info = json.loads(text)
    url = info.get("url", "")
    path = _file_url_path(url)
    if path is None:
        return [f"mergegate @ {url}"]  # a VCS or https URL installs the same way again
    if not path.exists():
        raise RequirementError(
            f"mergegate was installed from {path}, which no longer exists; pass "
            "requirement='PATH-TO-CHECKOUT-OR-WHEEL' to mergegate.nox.register()"
        )
    editable = bool(info.get("dir_info", {}).get("editable"))
    return ["-e", str(path)] if editable else [str(path)]


def running_requirement() -> list[str]:
    """pip arguments that install the mergegate running now (no package index needed)."""
    import mergegate

    checkout = _checkout_of(Path(mergegate.__file__))
    if checkout is not None:
        return ["-e", str(checkout)]
    from importlib import metadata

    try:
        dist = metadata.distribution("mergegate")
    except metadata.PackageNotFoundError:
        raise RequirementError(
            "the running mergegate is neither installed nor in a checkout; pass "
            "requirement='PATH-TO-CHECKOUT-OR-WHEEL' to mergegate.nox.register()"
        ) from None
    direct_url = dist.read_text("direct_url.json")
    return _from_direct_url(direct_url) if direct_url else [f"mergegate=={dist.version}"]


# -- skipping an unchanged install ---------------------------------------------------------


def _fingerprint(arg: str, cwd: Path) -> str:
    """What in the file system ``arg`` names, as far as installing it goes."""
    path = cwd / arg.split("[", 1)[0]  # ".[dev]" names the directory "."
    try:
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()
        if path.is_dir():
            found = [path / n for n in _BUILD_FILES if (path / n).is_file()]
            return ",".join(hashlib.sha256(f.read_bytes()).hexdigest() for f in found)
    except OSError as exc:
        return f"unreadable: {exc}"
    return ""


def install_stamp(args: Sequence[str], cwd: Path) -> str:
    """A digest of everything that would change what ``pip install ARGS`` puts in the venv."""
    parts = [__version__, *(f"{a}\0{_fingerprint(a, cwd)}" for a in args)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def install_once(session: nox.Session, args: Sequence[str]) -> None:
    """``session.install(*args)``, skipped when the venv already holds exactly that."""
    stamp_file = session.env_dir / STAMP_NAME
    stamp = install_stamp(args, Path.cwd())
    if stamp_file.is_file() and stamp_file.read_text(encoding="utf-8") == stamp:
        session.log(
            f"{' '.join(args)}: installed and unchanged, not installing again "
            "(nox --reuse-venv=never starts afresh)"
        )
        return
    stamp_file.unlink(missing_ok=True)  # a failed install must not leave an old stamp
    session.install(*args)
    stamp_file.write_text(stamp, encoding="utf-8")


# -- the session ---------------------------------------------------------------------------


def _requirement_args(requirement: str | _Running | None) -> list[str]:
    if isinstance(requirement, _Running):
        return running_requirement()
    return _as_args(requirement)


def session_function(
    config: str,
    requirement: str | _Running | None,
    install: Sequence[str],
    extra_args: Sequence[str],
) -> Any:
    """The function nox runs as the session (kept apart so its behaviour is plain to read)."""

    def gates(session: nox.Session) -> None:
        if session.venv_backend != "none":
            try:
                args = [*_requirement_args(requirement), *install]
            except RequirementError as exc:
                session.error(str(exc))
            if args:
                install_once(session, args)
        session.run("mergegate", "run", "-c", config, *extra_args, *session.posargs)

    gates.__doc__ = f"Run the gates in {config} (arguments after -- go to `mergegate run`)."
    return gates


def register(
    name: str = "gates",
    config: str = "gates.yaml",
    python: str | Sequence[str] | bool | None = None,
    install: str | Sequence[str] | None = ("-e", "."),
    extra_args: Sequence[str] = (),
    *,
    requirement: str | _Running | None = RUNNING,
    venv_backend: str | None = None,
    venv_params: Sequence[str] = (),
    reuse_venv: bool | None = True,
    tags: Sequence[str] = (),
    default: bool = True,
) -> Any:
    """Register a nox session ``name`` that runs ``mergegate run -c config``.

    ``install`` is what the session installs besides mergegate (the project,
    editable so the gates see its current code; ``["-e", ".[dev]"]``; ``["-r",
    "requirements-dev.txt"]``; or None). ``requirement`` is how mergegate
    itself is installed: by default the mergegate running the noxfile (its
    checkout, its wheel, or ``mergegate==VERSION`` from an index); a pip
    requirement or path to override; None when ``install`` already brings it.
    Returns nox's session object.
    """
    import nox

    if isinstance(extra_args, str):
        raise TypeError("extra_args is a sequence of arguments, e.g. ['--fail-fast']")
    function = session_function(config, requirement, _as_args(install), list(extra_args))
    return nox.session(
        function,
        name=name,
        python=python,
        venv_backend=venv_backend,
        venv_params=list(venv_params),
        reuse_venv=reuse_venv,
        tags=list(tags),
        default=default,
    )


__all__ = ["RUNNING", "RequirementError", "install_stamp", "register", "running_requirement"]
