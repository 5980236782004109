"""`mergegate.nox.register()`: one line in a noxfile gives a session that runs the gates.

    # noxfile.py
    import mergegate.nox

    mergegate.nox.register()  # nox -s gates            (all gates)
                              # nox -s gates -- --only lint,unit-tests

The session installs mergegate and the project into its virtualenv (nothing is
installed when nox runs without one: ``--no-venv`` or ``venv_backend="none"``),
then runs ``mergegate run -c CONFIG`` with ``extra_args`` and the session's
positional arguments. nox is imported only when ``register`` is called, so
mergegate does not depend on nox at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mergegate import __version__

if TYPE_CHECKING:
    import nox


def _as_args(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def session_function(
    config: str,
    install: Sequence[str],
    extra_args: Sequence[str],
) -> Any:
    """The function nox runs as the session (kept apart so its behaviour is plain to read)."""

    def gates(session: nox.Session) -> None:
        if install and session.venv_backend != "none":
            session.install(*install)
        session.run("mergegate", "run", "-c", config, *extra_args, *session.posargs)

    gates.__doc__ = f"Run the gates in {config} (arguments after -- go to `mergegate run`)."
    return gates


def register(
    name: str = "gates",
    config: str = "gates.yaml",
    python: str | Sequence[str] | bool | None = None,
    install: str | Sequence[str] | None = ".",
    extra_args: Sequence[str] = (),
    *,
    requirement: str | None = f"mergegate=={__version__}",
    venv_backend: str | None = None,
    venv_params: Sequence[str] = (),
    reuse_venv: bool | None = None,
    tags: Sequence[str] = (),
    default: bool = True,
) -> Any:
    """Register a nox session ``name`` that runs ``mergegate run -c config``.

    ``install`` is what the session installs besides mergegate (the project, so
    gates can import it; ``".[dev]"``; ``["-r", "requirements-dev.txt"]``; or
    None). ``requirement`` pins mergegate itself (default: the version running
    the noxfile); set it to None when ``install`` already brings mergegate.
    Returns nox's session object.
    """
    import nox

    if isinstance(extra_args, str):
        raise TypeError("extra_args is a sequence of arguments, e.g. ['--fail-fast']")
    packages = [*_as_args(requirement), *_as_args(install)]
    function = session_function(config, packages, list(extra_args))
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
