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

from mergegate import words
from mergegate.excerpt import shorten
from mergegate.redact import Mask
from mergegate.report.plain import PlainConsole
from mergegate.report.text import masked_result, masked_run, one_line, xml_safe
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
TAIL_CHARS = 8 * 1024  # a console block, not the whole excerpt: that is in the reports


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


_RICH_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def make_run_console(*, no_color: bool = False) -> Console | PlainConsole:
    """make_console, except that a log (no terminal, no colour asked for) gets a PlainConsole.

    rich is then imported only when something needs its layout (a wrap, a rule).
    """
    stream = sys.stdout
    if stream.isatty() or any(os.environ.get(name) for name in _RICH_ENV):
        return make_console(no_color=no_color)
    columns = os.environ.get("COLUMNS", "")
    return PlainConsole(stream, int(columns) if columns.isdigit() else 120)


def live_display_wanted(console: Console | PlainConsole) -> bool:
    """Live only on a real interactive terminal; TTY_INTERACTIVE=0/1 decides when set.

    FORCE_COLOR asks for colour, not animation: a CI log with colour stays line by line.
    """
    if isinstance(console, PlainConsole):
        return False  # a log by construction
    forced = os.environ.get("TTY_INTERACTIVE")
    if forced in ("0", "1"):
        return forced == "1"
    isatty = getattr(console.file, "isatty", None)
    return bool(isatty and isatty()) and console.is_interactive


_fmt_time = words.duration


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
        self,
        console: Console | PlainConsole | None = None,
        *,
        show_tails: bool = True,
        verbosity: int = 0,
        mask: Mask = str,
    ) -> None:
        self.console = console or make_console()
        self.show_tails = show_tails
        self.verbosity = verbosity  # -1 quiet: failures and verdict; 1 verbose: passing output too
        self.mask = mask  # runs last on everything a gate said, as it is shown
        self.live_mode = live_display_wanted(self.console)
        self._running: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    # -- while running ------------------------------------------------------------

    def _rich(self) -> Console:
        console = self.console
        return console.rich() if isinstance(console, PlainConsole) else console

    def _plain(self, text: str) -> bool:
        """Written by the PlainConsole (True), or left for rich to lay out (False)."""
        return isinstance(self.console, PlainConsole) and self.console.line(text)

    def begin(self, total: int, jobs: int, config: str) -> None:
        if self.verbosity < 0:
            return
        header = f"mergegate: {total} gate(s) from {config}, {jobs} at a time"
        if not self._plain(header):
            from rich.text import Text

            self.console.print(Text(header, style="bold"))
        if self.live_mode:
            from rich.live import Live

            self._live = Live(
                self._render_running(),
                console=self._rich(),
                refresh_per_second=8,
                transient=True,
                get_renderable=self._render_running,
            )
            self._live.start()

    def started(self, name: str, kind: str) -> None:
        with self._lock:
            self._running[name] = (kind, time.monotonic())
        if not self.live_mode and self.verbosity >= 0:
            if self._plain(f"→ {name} ({kind}) started"):
                return
            from rich.text import Text

            self._line(Text.assemble(("→ ", "cyan"), (name, "bold"), f" ({kind}) started"))

    def finished(self, result: GateResult) -> None:
        result = masked_result(result, self.mask)
        with self._lock:
            self._running.pop(result.name, None)
        if self.verbosity < 0:
            return
        label, style = _status_text(result)
        symbol, _, word = label.partition(" ")
        timing = f" in {_fmt_time(result.duration)}" if result.started is not None else ""
        why = ""
        if result.reason and result.status is not Status.PASSED:
            why = f" — {self.mask(one_line(clean_output(result.reason), 120))}"
        if self._plain(f"{symbol} {result.name} {word}{timing}{why}"):
            return
        from rich.text import Text

        line = Text.assemble((symbol, style), " ", (result.name, "bold"), " ", (word, style))
        if result.started is not None:
            line.append(f" in {_fmt_time(result.duration)}", style="dim")
        if result.reason and result.status is not Status.PASSED:
            line.append(f" — {self.mask(one_line(clean_output(result.reason), 120))}")
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
        run = masked_run(run, self.mask)
        if self.verbosity >= 0:
            self._table(run)
        for warning in run.warnings:
            self._say(self.mask(f"warning: {warning}"), "yellow")
        for result in run.gates:
            if result.status is not Status.PASSED and not (
                result.status is Status.SKIPPED and not result.blocks
            ):
                self._failure_block(result)
            elif self.verbosity > 0 and result.output_tail.strip():
                self._output_block(result)
        self._verdict(run, reports)

    def _say(self, text: str, style: str = "") -> None:
        """One line of our own words: plain when it fits, else rich wraps it."""
        if not self._plain(text):
            from rich.text import Text

            self.console.print(Text(text, style=style))

    def _table(self, run: RunResult) -> None:
        header = ("gate", "kind", "status", "time", "reason")
        rows = [
            (
                r.name,
                r.kind,
                _status_text(r)[0],
                _fmt_time(r.duration) if r.started else "—",
                self.mask(one_line(clean_output(r.reason), 200)),
            )
            for r in run.gates
        ]
        if isinstance(self.console, PlainConsole) and self.console.line(""):
            if self.console.table(header, rows):
                return
        else:
            self.console.print()
        self._rich_table(run)

    def _rich_table(self, run: RunResult) -> None:
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
                Text(self.mask(one_line(clean_output(result.reason), 200))),
            )
        self.console.print(table)

    def _tail(self, result: GateResult) -> None:
        from rich.text import Text

        text = clean_output(result.output_tail).rstrip("\n")
        if self.verbosity <= 0:
            text = shorten(text, TAIL_CHARS, TAIL_LINES)
        lines = self.mask(text).split("\n")
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
        self.console.print(Text(self.mask(clean_output(result.reason))))
        if self.show_tails and result.output_tail.strip():
            self._tail(result)
        self.console.print(Text.assemble("reproduce: ", (result.reproduce, "bold cyan")))

    def _verdict(self, run: RunResult, reports: list[str]) -> None:
        counts: dict[str, int] = {}
        for result in run.gates:
            if result.skip_cause is not SkipCause.SELECTION:
                counts[result.status.value] = counts.get(result.status.value, 0) + 1
        tally = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no gate ran"
        if run.partial:
            tally += f"; {len(run.not_run)} not run"
        self._say("")
        if run.interrupted:
            self._say(f"✘ interrupted — merge blocked ({tally})", "bold red")
        elif run.blocked:
            blockers = ", ".join(g.name for g in run.gates if g.blocks)
            self._say(f"✘ merge blocked by {blockers} ({tally})", "bold red")
        elif run.partial:
            self._say(f"✔ selected gates passed — not a merge verdict ({tally})", "bold green")
        else:
            self._say(f"✔ merge allowed ({tally})", "bold green")
        if reports:
            self._say(f"reports: {', '.join(reports)}", "dim")


def print_plan(
    console: Console, plans: list[GatePlan], header: list[str], mask: Mask = str
) -> None:
    """The --dry-run plan and preflight; ``mask`` runs last on every line."""
    from rich.text import Text

    for line in header:
        console.print(Text(mask(line)))
    for plan in plans:
        console.print()
        title = Text.assemble((plan.name, "bold"), f" ({plan.kind})")
        if plan.needs:
            title.append(f" needs {', '.join(plan.needs)}")
        if not plan.selected:
            title.append(f" — {plan.why_not}", style="dim")
        console.print(title)
        for line in plan.lines:
            console.print(Text("  " + mask(clean_output(line))))
        for problem in plan.problems:
            console.print(Text("  ✘ " + mask(clean_output(problem)), style="red"))
