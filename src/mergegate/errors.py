"""The few exception types, and the one boundary that maps them to exit codes.

Gate failures are results, never exceptions. Exceptions here mean the run
could not start (usage, configuration) or that mergegate itself is broken.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

from mergegate.record import record
from mergegate.results import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE


class MergegateError(Exception):
    """Base of the errors mergegate reports without a traceback."""

    exit_code = EXIT_USAGE


class UsageError(MergegateError):
    """Bad command line: unknown gate in --only, missing file, bad flag value."""


@record(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    col: int | None
    key: str  # dotted path, e.g. gates.unit-tests.min_passed ("" for the document)
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


_SCOPED_MASK: ContextVar[Callable[[str], str] | None] = ContextVar("scoped_mask", default=None)
MAX_SHOWN_ISSUES = 50  # a config error prints at most this many problems
SHOWN_CHARS = 80  # a value echoed in a message is cut to this many characters


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` for a message: secrets masked first, then cut with an ellipsis.

    Masking before cutting matters: a secret cut in half no longer matches the
    masks the error boundary applies, and its first half would be printed.
    """
    text = _mask_secret_looking(_redact_text(text))
    scoped = _SCOPED_MASK.get()
    text = scoped(text) if scoped is not None else text
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@contextlib.contextmanager
def masking(mask: Callable[[str], str]) -> Iterator[None]:
    """Within the block, ``clip`` also applies ``mask`` (secrets known only to the caller)."""
    token = _SCOPED_MASK.set(mask)
    try:
        yield
    finally:
        _SCOPED_MASK.reset(token)


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """``value`` clipped and quoted, the way a message echoes what the user wrote."""
    return repr(clip(value if isinstance(value, str) else repr(value), limit))


def _mask_secret_looking(text: str) -> str:
    """Well-known credential formats (the forbid gate's built-ins), whatever the env says."""
    import re

    from mergegate.forbid_patterns import SECRETS
    from mergegate.redact import MASK

    for builtin in SECRETS.values():
        text = re.sub(builtin.regex, MASK, text)
    return text


class ConfigError(MergegateError):
    """gates.yaml is invalid; carries every problem found, each located."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        lines = [str(i) for i in self.issues[:MAX_SHOWN_ISSUES]]
        if len(self.issues) > MAX_SHOWN_ISSUES:  # thousands of lines would bury the first ones
            lines.append(f"... and {len(self.issues) - MAX_SHOWN_ISSUES} more problems")
        super().__init__("\n".join(lines))


class GitError(Exception):
    """A git question could not be answered (unknown ref, not a repository).

    Raised inside gates and turned into an ``error`` result: it blocks.
    """


def crash_log_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "mergegate"


def write_crash_log(text: str) -> Path:
    """Write a crash log and return its path; falls back to the temp dir."""
    import datetime as _dt
    import tempfile

    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    for directory in (crash_log_dir(), Path(tempfile.gettempdir())):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"crash-{stamp}-", suffix=".log", dir=directory)
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(crash_header() + text)
        return Path(name)
    raise OSError("no writable directory for the crash log")


def crash_header() -> str:
    """What a bug report needs before the traceback: versions, platform, the command."""
    import platform

    from mergegate import __version__
    from mergegate.git import git_version

    lines = [
        f"mergegate: {__version__}",
        f"python: {sys.version.split()[0]} ({sys.implementation.name}, {sys.executable})",
        f"git: {git_version()}",
        f"platform: {platform.platform()}",
        f"command: {_redact_text(' '.join(sys.argv))}",
        "",
    ]
    return "\n".join(lines) + "\n"


def _redact_text(text: str) -> str:
    from mergegate.redact import Redactor

    return Redactor.from_environ(os.environ).redact(text)


@contextlib.contextmanager
def error_boundary(write: Callable[[str], object] | None = None) -> Iterator[list[int]]:
    """Map what escapes a command to an exit code; the caller reads ``box[0]``.

    Known errors print a short message; Ctrl-C is 130; anything else is a bug:
    a one-line message, a crash log with the traceback, and exit 3.
    """
    if write is None:
        write = sys.stderr.write  # looked up now, so a redirected stderr is honoured
    box = [0]
    try:
        yield box
    except ConfigError as exc:
        write(_redact_text(f"mergegate: invalid configuration\n{exc}\n"))
        if os.environ.get("GITHUB_ACTIONS") == "true":  # the problems, on the PR's diff too
            sys.stdout.write(_redact_text(github_annotations(exc.issues)))
            sys.stdout.flush()
        box[0] = exc.exit_code
    except MergegateError as exc:
        write(_redact_text(f"mergegate: {exc}\n"))
        box[0] = exc.exit_code
    except KeyboardInterrupt:
        write("mergegate: interrupted\n")
        box[0] = EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:
        missing = _missing_dependency(exc)
        if missing is None:
            box[0] = _crashed(exc, write)
        else:
            write(missing)
            box[0] = EXIT_INTERNAL
    except Exception as exc:  # the one place that catches everything: a bug, exit 3
        box[0] = _crashed(exc, write)


def github_annotations(issues: Sequence[ConfigIssue]) -> str:
    """Each problem as a GitHub Actions error annotation at its line and column.

    GitHub shows ten per step: past ten, the tenth counts the rest.
    """
    from mergegate.report.github import MAX_PER_LEVEL, command

    shown = issues if len(issues) <= MAX_PER_LEVEL else issues[: MAX_PER_LEVEL - 1]
    lines = [
        command(
            "error",
            _redact_text(f"{issue.key}: {issue.message}" if issue.key else issue.message),
            {
                "title": "mergegate: invalid configuration",
                "file": _workspace_path(issue.file),
                "line": issue.line,
                "col": issue.col if issue.line is not None else None,
            },
        )
        for issue in shown
    ]
    if len(issues) > len(shown):
        more = f"… and {len(issues) - len(shown)} more problems (the log lists them)"
        lines.append(command("error", more, {"title": "mergegate: invalid configuration"}))
    return "".join(line + "\n" for line in lines)


def _workspace_path(shown: str) -> str:
    """The file as GitHub resolves annotation paths: from the repository's top level."""
    from mergegate.discovery import repo_top

    path = Path(shown).absolute()
    top = repo_top(path.parent)
    if top is None:
        return shown
    try:
        return path.relative_to(top).as_posix()
    except ValueError:
        return shown


# import name -> distribution, as pyproject.toml lists them (a test keeps the two equal)
DEPENDENCIES = {
    "pydantic": "pydantic",
    "rich": "rich",
    "junit_xml": "junit-xml",
    "yaml": "pyyaml",
    "defusedxml": "defusedxml",
    "packaging": "packaging",
    "semver": "semver",
    "cryptography": "cryptography",
    "griffe": "griffe",
    "regex": "regex",
}


def _missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """The message for a dependency missing from this Python: an install problem, not a bug."""
    top = (exc.name or "").partition(".")[0]
    if top not in DEPENDENCIES:
        return None
    return (
        f"mergegate: the package {DEPENDENCIES[top]!r} it needs is not installed for "
        f"{sys.executable}; install mergegate with its dependencies "
        "(`pip install .` in a checkout, or its wheel); the merge is blocked\n"
    )


def _crashed(exc: BaseException, write: Callable[[str], object]) -> int:
    """A bug: a one-line message and a crash log with the traceback."""
    import traceback

    detail = _redact_text("".join(traceback.format_exception(exc)))
    try:
        log = str(write_crash_log(detail))
    except OSError:
        log = "(could not be written)"
    write(
        _redact_text(f"mergegate: unexpected error: {type(exc).__name__}: {exc}\n")
        + f"mergegate: this is a bug; the crash log is at {log}\n"
    )
    return EXIT_INTERNAL
