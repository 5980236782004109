"""The console: a live line per gate while running, then the table, tails and the verdict.

Colour and TTY policy live here only. rich honours NO_COLOR, FORCE_COLOR,
TTY_COMPATIBLE and TTY_INTERACTIVE; on an interactive terminal a live display
shows the running gates with elapsed time, in logs plain start/finish lines.
Nothing a gate printed is ever read as rich markup.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO, TYPE_CHECKING

from mergegate.report.text import one_line, xml_safe
from mergegate.results import GateResult, RunResult, SkipCause, Status

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.text import Text

    from mergegate.plan import GatePlan

STYLE = {
    Status.PASSED: ("✔", "green"),
    Status.FAILED: ("✘", "red"),
    Status.ERROR: ("!", "red"),
    Status.TIMEOUT: ("⏱", "red"),
    Status.SKIPPED: ("–", "dim"),
}
TAIL_LINES = 30


def make_console(file: IO[str] | None = None, *, no_color: bool = False) -> Console:
    """The one console factory. NO_COLOR / --no-color mean no styling at all.

    rich's own no_color drops colours but keeps bold, dim and underline; with no
    colour system every style is left out, while a terminal keeps its live display.
    """
    from rich.console import Console

    stream = file or sys.stdout
    width = None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        width = int(columns)
    elif not (hasattr(stream, "isatty") and stream.isatty()):
        width = 120  # logs: wide enough for the table, narrow enough to read
    force_terminal = None
    if os.environ.get("NO_COLOR") and not (hasattr(stream, "isatty") and stream.isatty()):
        force_terminal = False  # NO_COLOR beats FORCE_COLOR: a plain log, no escapes at all
    return Console(
        file=stream,
        width=width,
        highlight=False,
        emoji=False,
        soft_wrap=False,
        force_terminal=force_terminal,
        color_system=None if no_color or os.environ.get("NO_COLOR") else "auto",
    )


def live_display_wanted(console: Console) -> bool:
    """Live only on a real interactive terminal; TTY_INTERACTIVE=0/1 decides when set.

    FORCE_COLOR asks for colour, not animation: a CI log with colour stays line by line.
    """
    forced = os.environ.get("TTY_INTERACTIVE")
    if forced in ("0", "1"):
        return forced == "1"
    isatty = getattr(console.file, "isatty", None)
    return bool(isatty and isatty()) and console.is_interactive


def _fmt_time(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _status_text(result: GateResult) -> tuple[str, str]:
    symbol, style = STYLE[result.status]
    label = result.status.value
    if (
        result.status is not Status.PASSED
        and not result.blocks
        and result.status is not Status.SKIPPED
    ):
        style, label = "yellow", f"{label} (non-blocking)"
    elif result.status is Status.SKIPPED and result.blocks:
        style = "red"
    return f"{symbol} {label}", style


def clean_output(text: str) -> str:
    """A gate's output, safe to print on a terminal: no escapes, no control bytes."""
    return xml_safe(text).replace("\ufffd", "?")


class ConsoleReporter:
    """Receives runner events and prints; owns the live display while gates run."""

    def __init__(
        self, console: Console | None = None, *, show_tails: bool = True, verbosity: int = 0
    ) -> None:
        self.console = console or make_console()
        self.show_tails = show_tails
        self.verbosity = verbosity  # -1 quiet: failures and verdict; 1 verbose: passing output too
        self.live_mode = live_display_wanted(self.console)
        self._running: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    # -- while running ------------------------------------------------------------

    def begin(self, total: int, jobs: int, config: str) -> None:
        from rich.text import Text

        if self.verbosity < 0:
            return
        self.console.print(
            Text(f"mergegate: {total} gate(s) from {config}, {jobs} at a time", style="bold")
        )
        if self.live_mode:
            from rich.live import Live

            self._live = Live(
                self._render_running(),
                console=self.console,
                refresh_per_second=8,
                transient=True,
                get_renderable=self._render_running,
            )
            self._live.start()

    def started(self, name: str, kind: str) -> None:
        with self._lock:
            self._running[name] = (kind, time.monotonic())
        if not self.live_mode and self.verbosity >= 0:
            from rich.text import Text

            self._line(Text.assemble(("→ ", "cyan"), (name, "bold"), f" ({kind}) started"))

    def finished(self, result: GateResult) -> None:
        from rich.text import Text

        with self._lock:
            self._running.pop(result.name, None)
        if self.verbosity < 0:
            return
        label, style = _status_text(result)
        symbol, _, word = label.partition(" ")
        line = Text.assemble((symbol, style), " ", (result.name, "bold"), " ", (word, style))
        if result.started is not None:
            line.append(f" in {_fmt_time(result.duration)}", style="dim")
        if result.reason and result.status is not Status.PASSED:
            line.append(f" — {one_line(clean_output(result.reason), 120)}")
        self._line(line)

    def _line(self, line: Text) -> None:
        """Print one status line; in a plain log, a line that fits is written directly.

        That is byte for byte what rich writes without colour (no wrap, no padding), minus
        its layout pass, which costs more per gate than all of the runner's bookkeeping.
        """
        from rich.cells import cell_len

        console, plain = self.console, line.plain
        fits = "\t" not in plain and cell_len(plain) <= console.width
        if console.color_system is None and not console.record and self._live is None and fits:
            console.file.write(plain + "\n")
            console.file.flush()
        else:
            console.print(line)

    def end(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _render_running(self) -> RenderableType:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        with self._lock:
            items = list(self._running.items())
        for name, (kind, since) in items:
            table.add_row(Spinner("dots", style="cyan"), name, f"({kind})", _fmt_time(now - since))
        return table

    # -- after ----------------------------------------------------------------------

    def summary(self, run: RunResult, reports: list[str]) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=None, show_edge=False, header_style="bold", expand=False)
        for column in ("gate", "kind", "status", "time", "reason"):
            table.add_column(
                column,
                overflow="fold" if column == "reason" else "ellipsis",
                no_wrap=column != "reason",
            )
        for result in run.gates:
            label, style = _status_text(result)
            table.add_row(
                result.name,
                result.kind,
                Text(label, style=style),
                _fmt_time(result.duration) if result.started else "—",
                Text(one_line(clean_output(result.reason), 200)),
            )
        if self.verbosity >= 0:
            self.console.print()
            self.console.print(table)
        for warning in run.warnings:
            self.console.print(Text(f"warning: {warning}", style="yellow"))
        for result in run.gates:
            if result.status is not Status.PASSED and not (
                result.status is Status.SKIPPED and not result.blocks
            ):
                self._failure_block(result)
            elif self.verbosity > 0 and result.output_tail.strip():
                self._output_block(result)
        self._verdict(run, reports)

    def _tail(self, result: GateResult) -> None:
        from rich.text import Text

        lines = clean_output(result.output_tail).rstrip("\n").splitlines()
        if len(lines) > TAIL_LINES and self.verbosity <= 0:
            lines = [f"[… {len(lines) - TAIL_LINES} more lines above …]", *lines[-TAIL_LINES:]]
        self.console.print(Text("\n".join("  " + ln for ln in lines), style="dim"))

    def _output_block(self, result: GateResult) -> None:
        """-v: what a passing gate printed (the bounded tail the result kept)."""
        from rich.rule import Rule
        from rich.text import Text

        label, style = _status_text(result)
        self.console.print()
        title = Text.assemble((result.name, "bold"), " ", (label, style))
        self.console.print(Rule(title, align="left", style=style))
        self._tail(result)

    def _failure_block(self, result: GateResult) -> None:
        from rich.rule import Rule
        from rich.text import Text

        self.console.print()
        label, style = _status_text(result)
        self.console.print(
            Rule(
                Text.assemble((result.name, "bold"), " ", (label, style)), align="left", style=style
            )
        )
        self.console.print(Text(clean_output(result.reason)))
        if self.show_tails and result.output_tail.strip():
            self._tail(result)
        self.console.print(Text.assemble("reproduce: ", (result.reproduce, "bold cyan")))

    def _verdict(self, run: RunResult, reports: list[str]) -> None:
        from rich.text import Text

        counts: dict[str, int] = {}
        for result in run.gates:
            if result.skip_cause is not SkipCause.SELECTION:
                counts[result.status.value] = counts.get(result.status.value, 0) + 1
        tally = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no gate ran"
        if run.partial:
            tally += f"; {len(run.not_run)} not run"
        self.console.print()
        if run.interrupted:
            self.console.print(Text(f"✘ interrupted — merge blocked ({tally})", style="bold red"))
        elif run.blocked:
            blockers = ", ".join(g.name for g in run.gates if g.blocks)
            self.console.print(Text(f"✘ merge blocked by {blockers} ({tally})", style="bold red"))
        elif run.partial:
            line = f"✔ selected gates passed — not a merge verdict ({tally})"
            self.console.print(Text(line, style="bold green"))
        else:
            self.console.print(Text(f"✔ merge allowed ({tally})", style="bold green"))
        if reports:
            self.console.print(Text(f"reports: {', '.join(reports)}", style="dim"))


def print_plan(console: Console, plans: list[GatePlan], header: list[str]) -> None:
    """The --dry-run plan and preflight."""
    from rich.text import Text

    for line in header:
        console.print(Text(line))
    for plan in plans:
        console.print()
        title = Text.assemble((plan.name, "bold"), f" ({plan.kind})")
        if plan.needs:
            title.append(f" needs {', '.join(plan.needs)}")
        if not plan.selected:
            title.append(f" — {plan.why_not}", style="dim")
        console.print(title)
        for line in plan.lines:
            console.print(Text("  " + clean_output(line)))
        for problem in plan.problems:
            console.print(Text("  ✘ " + clean_output(problem), style="red"))
