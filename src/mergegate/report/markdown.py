"""The Markdown summary (``--summary PATH`` and ``$GITHUB_STEP_SUMMARY``): a pure function.

It shows the verdict, the table of gates, every failure with its reason and
the command that reproduces it, a mermaid gantt of when each gate ran, and a
merge record a reviewer can trust: commit and base SHA, mergegate version, the
exact command of every gate and, for witness gates, the manifest entry that was
verified and the one before it (the rollback point).

GitHub refuses a step summary over 1 MiB, so the text is built from parts that
can be cut between: if the full text is too big, output tails are left out and
long texts shortened; if it is still too big, parts are dropped from the end
(failures first kept) and the summary says so.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mergegate import excerpt, words
from mergegate.redact import Mask
from mergegate.report.text import masked_run, strip_ansi
from mergegate.results import GateResult, RunResult, Status
from mergegate.witness.details import ENTRY_LABELS

MAX_BYTES = 1024 * 1024  # GitHub's limit for one step's summary
BUDGET = MAX_BYTES - 8 * 1024  # headroom for whatever else the step appends
TAIL_LINES = 40
TAIL_CHARS = 16 * 1024
CELL_CHARS = 300
MAX_CHART_TASKS = 100
_FAILED = frozenset({Status.FAILED, Status.ERROR, Status.TIMEOUT})
ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "💥",
    Status.TIMEOUT: "⏱️",
    Status.SKIPPED: "⏭️",
}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#&!{}])")
_CHART_UNSAFE = re.compile(r"[^A-Za-z0-9 _.()\-]")
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9._~%/:@+=-]+")


@dataclass(frozen=True)
class MergeRecord:
    """Context the results do not carry: how and where the run was started (all optional)."""

    command: str | None = None  # the mergegate command line as run
    config: str | None = None  # the gates file, when it is not ./gates.yaml
    repository: str | None = None
    ref: str | None = None
    event: str | None = None
    run_url: str | None = None
    actor: str | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, command: str | None = None, config: str | None = None
    ) -> MergeRecord:
        """The record for a GitHub Actions run, read from its ``GITHUB_*`` variables."""
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        repo = environ.get("GITHUB_REPOSITORY")
        run_id = environ.get("GITHUB_RUN_ID")
        url = f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else None
        attempt = environ.get("GITHUB_RUN_ATTEMPT")
        if url and attempt and attempt != "1":
            url += f"/attempts/{attempt}"
        return cls(
            command=command,
            config=config,
            repository=repo,
            ref=environ.get("GITHUB_REF"),
            event=environ.get("GITHUB_EVENT_NAME"),
            run_url=url,
            actor=environ.get("GITHUB_ACTOR"),
        )


# -- escaping -----------------------------------------------------------------------


def clean(text: str) -> str:
    """ANSI escapes and control characters (but newlines and tabs) removed."""
    return _CONTROL.sub("", strip_ansi(text).replace("\r\n", "\n").replace("\r", "\n"))


def inline(text: str) -> str:
    """Plain text that Markdown shows as is: punctuation escaped, newlines as <br>."""
    escaped = _MD_SPECIAL.sub(r"\\\1", clean(text).replace("\t", " "))
    return "<br>".join(line.strip() for line in escaped.strip().split("\n"))


def cell(text: str, limit: int = CELL_CHARS) -> str:
    """A table cell: one line (newlines as <br>), pipes escaped, shortened past ``limit``."""
    text = clean(text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return inline(text) or " "


def fenced(text: str, lang: str = "") -> str:
    """A code block whose fence is longer than any backtick run inside it."""
    body = clean(text).rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}\n"


def shorten(text: str, limit: int, what: str = "characters") -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… {len(text) - limit} more {what} in the JSON report"


def _tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> tuple[str, int]:
    """The head and tail of a gate's output (DESIGN §6), and how many lines are shown."""
    kept = excerpt.shorten(clean(text).rstrip("\n"), chars, lines)
    return kept, kept.count("\n") + 1


# -- formatting ---------------------------------------------------------------------


duration = words.duration


def _utc(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_words(result: GateResult) -> str:
    """``failed``, ``failed (non-blocking)``, ``skipped (needs)``…"""
    if result.status in _FAILED and not result.blocking:
        return f"{result.status.value} (non-blocking)"
    if result.status is Status.SKIPPED and result.skip_cause is not None:
        return f"{result.status.value} ({result.skip_cause.value})"
    return result.status.value


def status_label(result: GateResult) -> str:
    return f"{ICON[result.status]} {status_words(result)}"


def is_failure(result: GateResult) -> bool:
    """Shown under Failures: what blocks, and what failed without blocking."""
    return result.blocks or result.status in _FAILED


def reproduce(result: GateResult, extra: MergeRecord | None) -> str:
    return words.reproduce(result.name, result.kind, extra.config if extra else None)


# -- sections -----------------------------------------------------------------------


def _counts(run: RunResult) -> str:
    counts: dict[str, int] = {}
    for gate in run.gates:
        counts[gate.status.value] = counts.get(gate.status.value, 0) + 1
    shown = ", ".join(f"{n} {s}" for s in Status if (n := counts.get(s.value, 0)))
    return f"{len(run.gates)} gate(s): {shown or 'none selected'} in {duration(run.duration)}"


def header(run: RunResult, notes: Iterable[str] = ()) -> list[str]:
    if run.blocked:
        title = f"## ❌ mergegate: merge blocked (exit {run.exit_code})\n"
    elif run.partial:  # --only/--skip/--shard: green, but not the merge verdict
        title = (
            "## ✅ mergegate: selected gates passed — not a merge verdict "
            f"({len(run.not_run)} not run)\n"
        )
    else:
        title = "## ✅ mergegate: merge allowed\n"
    lines = [title, "\n", f"{_counts(run)}.\n"]
    if run.interrupted:
        lines.append("\n**The run was interrupted**: gates that did not finish are marked.\n")
    for warning in run.warnings:
        lines.append(f"\n> ⚠️ {inline(warning)}\n")
    lines.extend(f"\n> ℹ️ {note}\n" for note in notes)
    return ["".join(lines)]


def table(run: RunResult) -> list[str]:
    rows = ["\n| gate | kind | status | time | reason |\n|---|---|---|---|---|\n"]
    for gate in run.gates:
        time = duration(gate.duration) if gate.started is not None else "—"
        rows.append(
            f"| {cell(gate.name)} | {cell(gate.kind)} | {status_label(gate)} | {time} "
            f"| {cell(gate.reason)} |\n"
        )
    return rows


def _failure(gate: GateResult, extra: MergeRecord | None, compact: bool) -> str:
    reason = clean(gate.reason).strip() or "(no reason given)"
    reason = shorten(reason, 2_000 if compact else 64_000)
    out = [f"\n### {ICON[gate.status]} {inline(gate.name)} — {status_words(gate)}\n\n"]
    if "\n" in reason:
        out.append("Reason:\n\n" + fenced(reason, "text"))
    else:
        out.append(f"Reason: {inline(reason)}\n")
    out.append("\nReproduce locally:\n\n" + fenced(reproduce(gate, extra), "sh"))
    if gate.output_tail.strip() and not compact:
        tail, count = _tail(gate.output_tail)
        out.append(
            f"\n<details><summary>{count} line(s) of output</summary>\n\n"
            + fenced(tail, "text")
            + "\n</details>\n"
        )
    return "".join(out)


def failures(run: RunResult, extra: MergeRecord | None, compact: bool) -> list[str]:
    failed = [g for g in run.gates if is_failure(g)]
    if not failed:
        return []
    return [f"\n## Failures ({len(failed)})\n", *(_failure(g, extra, compact) for g in failed)]


def _task_name(gate: GateResult) -> str:
    name = _CHART_UNSAFE.sub("_", gate.name)[:60]
    return f"{gate.status.value} - {name}"  # status first: a gate named `section` stays a task


def _task_tag(gate: GateResult) -> str:
    if gate.status is Status.PASSED:
        return "done"
    return "crit" if gate.blocks else "active"


def timeline(run: RunResult) -> list[str]:
    ran = sorted((g for g in run.gates if g.started is not None), key=lambda g: g.started or 0.0)
    if not ran:
        return ["\n## Timeline\n\nNo gate started, so there is no timeline.\n"]
    shown = ran[:MAX_CHART_TASKS]
    lines = [
        "gantt",
        "    title Gate timeline (minutes:seconds)",
        "    dateFormat x",
        "    axisFormat %M:%S",
        "    todayMarker off",
        "    section gates",
    ]
    for i, gate in enumerate(shown):
        start = round((gate.started or 0.0) * 1000)
        end = max(start + 1, round(((gate.started or 0.0) + gate.duration) * 1000))
        lines.append(f"    {_task_name(gate)} :{_task_tag(gate)}, g{i}, {start}, {end}")
    more = len(ran) - len(shown)
    note = f"\n{more} more gate(s) ran but are not charted.\n" if more else ""
    return ["\n## Timeline\n\n" + fenced("\n".join(lines), "mermaid") + note]


def _record_rows(run: RunResult, extra: MergeRecord | None) -> list[tuple[str, str]]:
    rows = [("verdict", f"{run.verdict} (exit {run.exit_code})")]
    rows.append(("commit", f"`{run.commit}`" if run.commit else "unknown"))
    base = inline(run.base) if run.base else "none"
    rows.append(("base", f"{base} at `{run.base_sha}`" if run.base_sha else f"{base} (unresolved)"))
    rows.append(("mergegate", inline(run.version)))
    rows.append(("started", _utc(run.started)))
    rows.append(("duration", duration(run.duration)))
    if extra is not None:
        for label, value in (
            ("command", extra.command),
            ("config", extra.config),
            ("repository", extra.repository),
            ("ref", extra.ref),
            ("event", extra.event),
            ("actor", extra.actor),
            ("workflow run", extra.run_url),
        ):
            if value:
                rows.append(
                    (label, _link(value) if label == "workflow run" else cell(value, 1_000))
                )
    return rows


def _link(url: str) -> str:
    return f"<{url}>" if _SAFE_URL.fullmatch(url) else cell(url)


def _commands(gate: GateResult, compact: bool) -> str:
    head = f"\n**{inline(gate.name)}** ({inline(gate.kind)}, {gate.status.value})"
    if not gate.commands:
        why = "never started" if gate.started is None else "decided by mergegate itself"
        return f"{head}: no command ({why})\n"
    limit = 2_000 if compact else 32_000
    text = "\n".join(shorten(c, limit) for c in gate.commands)
    return f"{head}:\n\n" + fenced(text, "sh")


def record(run: RunResult, extra: MergeRecord | None, compact: bool) -> list[str]:
    rows = "".join(f"| {k} | {v} |\n" for k, v in _record_rows(run, extra))
    parts = ["\n## Merge record\n\n| | |\n|---|---|\n" + rows, "\n### Commands\n"]
    parts.extend(_commands(g, compact) for g in run.gates)
    witnesses = [w for g in run.gates if (w := witness(g))]
    if witnesses:
        parts.append("\n### Witness\n")
        parts.extend(witnesses)
    return parts


# -- witness entries (witness/details.py names what the gate records; a report read
# back from JSON is still checked value by value) --------------------------------------


def _is_hex(value: object) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"(sha256:)?[0-9a-fA-F]{7,128}", value))


def _field(label: str, value: object) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    if label in ("digest", "commit", "signed by") and _is_hex(value):
        return f"{label} `{value}`"
    if label == "entry":
        return f"#{inline(str(value))}"
    return f"{label} {inline(str(value))}"


def _entry_text(entry: object) -> str:
    if not isinstance(entry, Mapping):
        return inline(str(entry))
    parts = [shown for key, label in ENTRY_LABELS if (shown := _field(label, entry.get(key)))]
    return "; ".join(parts) or "no fields recorded"


def _previous_text(details: Mapping[str, object], verified: object) -> str:
    previous = details.get("previous")
    if previous:
        return _entry_text(previous)
    index = verified.get("entry") if isinstance(verified, Mapping) else None
    if isinstance(index, int) and index == 1:
        return "none: the verified entry is the first"
    if isinstance(index, int) and index > 1:
        return f"#{index - 1}"
    return "not recorded"


def witness(gate: GateResult) -> str:
    """The entry a witness gate verified and the one before it, from the gate's details."""
    details = gate.details
    if gate.kind != "witness" or not isinstance(details, Mapping):
        return ""
    verified = details.get("newest")
    manifest = details.get("manifest")
    lines = [
        f"\n**{inline(gate.name)}** ({gate.status.value}; manifest "
        f"{inline(str(manifest)) if manifest else 'not recorded'})\n\n",
        f"- verified entry: {_entry_text(verified) if verified else 'none recorded'}\n",
        f"- previous entry (the rollback point): {_previous_text(details, verified)}\n",
    ]
    if details.get("signature"):
        lines.append(f"- signature: {inline(str(details['signature']))}\n")
    base = details.get("base")
    if isinstance(base, Mapping) and base.get("ref"):
        sha = f" at `{base['sha']}`" if _is_hex(base.get("sha")) else ""
        added = details.get("new_entries")
        lines.append(
            f"- base: {inline(str(base['ref']))}{sha}, {base.get('entries', '?')} entries there"
            + (f"; {added} added by this change\n" if added is not None else "\n")
        )
    return "".join(lines)


# -- assembly -----------------------------------------------------------------------


def _size(parts: Iterable[str]) -> int:
    return sum(len(p.encode("utf-8")) for p in parts)


def _sections(run: RunResult, extra: MergeRecord | None, compact: bool) -> list[list[str]]:
    notes = []
    if compact:
        notes.append(
            "Output tails and long texts were left out to keep this summary under GitHub's "
            "1 MiB limit; the JSON report has them in full."
        )
    return [
        header(run, notes),
        table(run),
        failures(run, extra, compact),
        timeline(run),
        record(run, extra, compact),
    ]


def _cut(sections: list[list[str]], budget: int) -> str:
    """Whole parts while they fit, the failures before the table; then a note."""
    head, tab, fails, chart, rec = sections
    parts = [*head, *fails, *tab, *rec, *chart]
    total = len(parts)
    kept: list[str] = []
    note_room = 400
    used = 0
    for part in parts:
        size = len(part.encode("utf-8"))
        if used + size + note_room > budget:
            break
        kept.append(part)
        used += size
    dropped = total - len(kept)
    kept.append(
        f"\n\n> ✂️ **Summary truncated** to stay under GitHub's 1 MiB limit: {dropped} of "
        f"{total} part(s) left out. The JSON report holds every result.\n"
    )
    return "".join(kept)


def render(
    run: RunResult, extra: MergeRecord | None = None, *, budget: int = BUDGET, mask: Mask = str
) -> str:
    """The summary as Markdown, never more than ``budget`` bytes of UTF-8; ``mask`` runs last."""
    run = masked_run(run, mask)
    for compact in (False, True):
        sections = _sections(run, extra, compact)
        if _size(p for s in sections for p in s) <= budget:
            return mask("".join(p for s in sections for p in s))
    return mask(_cut(sections, budget))
