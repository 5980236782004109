"""GitHub Actions workflow commands for a run: annotations and folded, inert gate output.

Pure functions of a ``RunResult``: ``render(run)`` returns the text mergegate
writes to stdout when ``GITHUB_ACTIONS=true``. Annotations are ordered most
important first (run-level errors, then blocking gates, then their findings,
then warnings), because GitHub shows only ten of each level per step; the
rest are counted in one last annotation. Each gate's output is folded in a
``::group::`` and fenced by ``::stop-commands::<token>`` so nothing a gate
printed can mask values, set outputs or fake annotations; ``inert(text)``
fences any other text that may hold a gate's output.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from mergegate import words
from mergegate.redact import Mask
from mergegate.report.text import masked_run
from mergegate.results import Annotation, GateResult, RunResult, Status

MAX_PER_LEVEL = 10  # GitHub displays 10 error and 10 warning annotations per step
LEVELS = ("error", "warning", "notice")
_FAILED = frozenset({Status.FAILED, Status.ERROR, Status.TIMEOUT})


def escape_data(text: str) -> str:
    """Escape a workflow command's message (the part after the second ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (``title=…``, ``file=…``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, object] | None = None) -> str:
    """One workflow command line: ``::name k=v,k=v::message``."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in (properties or {}).items()
        if value is not None and value != ""
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


@dataclass(frozen=True)
class Notice:
    """An annotation to emit: level, title, message and where it points."""

    level: str
    title: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def line_text(self) -> str:
        props: dict[str, object] = {"title": self.title}
        if self.file:
            props["file"] = self.file
            if self.line is not None and self.line > 0:
                props["line"] = self.line
                if self.col is not None and self.col > 0:
                    props["col"] = self.col
        return command(self.level, self.message, props)


# -- annotations --------------------------------------------------------------------


def _gate_notice(result: GateResult) -> Notice | None:
    """The gate-level annotation: an error when it blocks, a warning when it failed quietly."""
    if result.blocks:
        level = "error"
    elif result.status in _FAILED:
        level = "warning"
    else:
        return None
    what = "non-blocking, " if level == "warning" else ""
    message = (
        f"{result.status.value} ({what}{result.kind}): {result.reason}\n"
        f"reproduce: {result.reproduce}"
    )
    return Notice(level, result.name, message)


def _finding_level(result: GateResult, annotation: Annotation) -> str:
    level = annotation.level if annotation.level in LEVELS else "error"
    if level == "error" and not result.blocks:
        return "warning"  # a gate that does not block cannot raise a blocking-looking error
    return level


def _finding_notices(result: GateResult, prefix: str) -> Iterator[Notice]:
    for annotation in result.annotations:
        path = annotation.path
        if path and prefix:
            path = f"{prefix.rstrip('/')}/{path}"
        yield Notice(
            _finding_level(result, annotation),
            result.name,
            annotation.message,
            path,
            annotation.line,
            annotation.col,
        )


def notices(run: RunResult, path_prefix: str = "") -> list[Notice]:
    """Every annotation of the run, most important first (uncapped)."""
    found: list[Notice] = []
    if run.interrupted:
        found.append(Notice("error", "mergegate", "the run was interrupted: merge blocked"))
    blocking = [g for g in run.gates if g.blocks]
    quiet = [g for g in run.gates if not g.blocks]
    for group in (blocking, quiet):
        found.extend(n for g in group if (n := _gate_notice(g)) is not None)
        for gate in group:
            found.extend(_finding_notices(gate, path_prefix))
    found.extend(Notice("warning", "mergegate", w) for w in run.warnings)
    order = {level: i for i, level in enumerate(LEVELS)}
    return sorted(found, key=lambda n: order[n.level])  # stable: keeps importance within a level


def capped(found: Iterable[Notice], limit: int = MAX_PER_LEVEL) -> list[Notice]:
    """At most ``limit`` annotations per level, the last one counting what was left out."""
    by_level: dict[str, list[Notice]] = {}
    for notice in found:
        by_level.setdefault(notice.level, []).append(notice)
    shown: list[Notice] = []
    for level in LEVELS:
        items = by_level.get(level, [])
        if len(items) <= limit:
            shown.extend(items)
            continue
        shown.extend(items[: limit - 1])
        rest = len(items) - (limit - 1)
        shown.append(
            Notice(
                level,
                "mergegate",
                f"{rest} more {level} annotations not shown (GitHub shows {limit} per step); "
                "see the step summary and the JSON report for all of them",
            )
        )
    return shown


def annotation_lines(run: RunResult, path_prefix: str = "", mask: Mask = str) -> str:
    shown = capped(notices(run, path_prefix))
    masked = [replace(n, title=mask(n.title), message=mask(n.message)) for n in shown]
    return "".join(f"{n.line_text()}\n" for n in masked)


# -- folded, inert output -----------------------------------------------------------


def new_token(text: str = "") -> str:
    """A random stop-commands token that does not occur in ``text``.

    The runner matches the resume token case-insensitively, and anywhere in a
    line in its legacy ``##[token]`` form, so the check ignores case.
    """
    folded = text.lower()
    while True:
        token = secrets.token_hex(16)
        if token not in folded:
            return token


def inert(text: str) -> str:
    """``text`` fenced so that GitHub runs none of the workflow commands inside it."""
    if text and not text.endswith("\n"):
        text += "\n"
    token = new_token(text)
    return f"::stop-commands::{token}\n{text}::{token}::\n"


_duration = words.duration


def _group_title(result: GateResult) -> str:
    status = result.status.value
    if result.status in _FAILED and not result.blocking:
        status += ", non-blocking"
    return f"{result.name}: {status} in {_duration(result.duration)}"


def _group_body(result: GateResult) -> str:
    parts = ["$ " + c.rstrip("\n").replace("\n", "\n  ") for c in result.commands]
    parts.append(result.output_tail.rstrip("\n") if result.output_tail else "(no output)")
    parts.append(f"{result.status.value}: {result.reason}")
    if result.status is not Status.PASSED and result.status is not Status.SKIPPED:
        parts.append(f"reproduce: {result.reproduce}")
    return "\n".join(parts) + "\n"


def gate_block(result: GateResult, mask: Mask = str) -> str:
    """One gate's commands, output and result, folded and unable to issue commands.

    ``mask`` runs on the text itself, before escaping and fencing, so it can never
    break the ``stop-commands`` fence around it.
    """
    title = command("group", mask(_group_title(result)))
    return f"{title}\n{inert(mask(_group_body(result)))}::endgroup::\n"


def _has_block(result: GateResult) -> bool:
    return result.started is not None or bool(result.output_tail) or bool(result.commands)


def render(run: RunResult, path_prefix: str = "", mask: Mask = str) -> str:
    """Everything to print under GitHub Actions: one group per gate, then the annotations.

    ``path_prefix`` is prepended to annotation paths when gates.yaml is not at
    the repository root (GitHub resolves ``file=`` from the workspace).
    """
    run = masked_run(run, mask)
    blocks = "".join(gate_block(g, mask) for g in run.gates if _has_block(g))
    return blocks + annotation_lines(run, path_prefix, mask)
