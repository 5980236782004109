"""Property: no secret, in any transformation, reaches any renderer (DESIGN §7).

For any value of at least four printable characters (unicode included) and any
of the transformations a gate's output goes through (ANSI inserted inside,
control bytes inside, surrounding whitespace trimmed, base64, percent-encoding,
at the end of a huge line, split across an excerpt cut, the smoke per-script
tail), the result passes the runner's filter and then every renderer: console
(plain and coloured), JUnit, JSON, Markdown and GitHub. No view of any output
(raw, parsed or unescaped) contains the value, nor any four consecutive
characters of it that the same run with ``***`` in its place does not show.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mergegate.excerpt import HEAD_BYTES, TAIL_BYTES, Captured
from mergegate.gates import smoke
from mergegate.proc import ProcResult
from mergegate.redact import MASK, Mask, Redactor, clean
from mergegate.report import github, json_report, junit, markdown
from mergegate.report.console import ConsoleReporter
from mergegate.results import Annotation, GateResult, RunResult, Status
from mergegate.runner import redact_result
from tests.test_redact import _decodes_to_a_piece_of

GRAM = 4
# MERGEGATE_LEAK_EXAMPLES=1000 for a deeper search than the suite's default
EXAMPLES = int(os.environ.get("MERGEGATE_LEAK_EXAMPLES", "60"))
HUGE = settings(
    max_examples=max(1, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SECRETS = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp")),
    min_size=GRAM,
    max_size=40,
).filter(lambda s: s == s.strip() and clean(s) == s and "*" not in s)
ANSI = ["\x1b[1m", "\x1b[38;5;196m", "\x1b[0m", "\x1b[2K", "\x1b]8;;https://x.invalid\x1b\\"]
ANSI += ["\x1b]0;title\x07"]
STAGES = st.sampled_from(["runner", "writers", "both"])
CONTROL = ["\a", "\b", "\x00", "\x7f", "\x0b", "\x0c", "\r", "\x85", "\x9b", "\u200b", "\ufeff"]


@dataclass(frozen=True)
class Printed:
    """What a gate printed: text for every field, or bytes that become the output excerpt."""

    text: str = ""
    data: bytes = b""
    smoke: bool = False


# -- rendering every channel -------------------------------------------------------------


def captured(data: bytes) -> Captured:
    """What ``read_captured`` keeps of a spool file holding ``data``."""
    if len(data) <= HEAD_BYTES + TAIL_BYTES:
        return Captured(data, b"", len(data))
    return Captured(data[:HEAD_BYTES], data[-TAIL_BYTES:], len(data))


def smoke_ran(data: bytes) -> smoke.Ran:
    script = smoke.Script("smoke-a.sh", ("bash", "smoke-a.sh"))
    return smoke.Ran(script, ProcResult("bash smoke-a.sh", 1, 0.1, captured(data)))


def gate_result(printed: Printed) -> GateResult:
    tail = printed.text
    details: dict[str, object] = {"message": printed.text, "list": [printed.text]}
    if printed.data:
        tail = captured(printed.data).tail_text()
        if printed.smoke:
            ran = smoke_ran(printed.data)
            details = {"scripts": [ran.to_dict()]}
            tail = smoke._combined_tail([ran])
    return GateResult(
        name="leaky",
        kind="command",
        status=Status.FAILED,
        blocking=True,
        duration=0.5,
        reason=f"failed: {printed.text}",
        details=details,
        output_tail=tail,
        commands=(f"deploy {printed.text}",),
        annotations=(Annotation(f"found {printed.text}", path="a.txt", line=1),),
        started=1_700_000_000.0,
        description=printed.text,
    )


def _console(result: GateResult, run: RunResult, mask: Mask, *, colour: bool) -> str:
    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out, width=100, force_terminal=colour, color_system="truecolor" if colour else None
    )
    reporter = ConsoleReporter(console, mask=mask)
    reporter.finished(result)
    reporter.summary(run, ["reports/gates.xml"])
    return out.getvalue()


def channels(value: str, printed: Printed, stage: str = "both") -> dict[str, str]:
    """Every output, raw: console, JUnit, JSON, Markdown, GitHub.

    ``stage`` says which filter runs: the runner's (where a result is made), the report
    writers' last pass, or both (what the CLI does). Each alone must be enough.
    """
    redactor = Redactor.from_environ({"DEPLOY_TOKEN": value})
    result = gate_result(printed)
    if stage in ("runner", "both"):
        result = redact_result(result, redactor)
    mask: Mask = redactor.redact if stage in ("writers", "both") else str
    run = RunResult(gates=(result,), started=1_700_000_000.0, duration=1.0, version="0")
    return {
        "console": _console(result, run, mask, colour=False),
        "console-colour": _console(result, run, mask, colour=True),
        "junit": junit.render(run, mask),
        "json": json_report.render(run, mask),
        "markdown": markdown.render(run, mask=mask),
        "github": _fixed_token(github.render(run, mask=mask)),
    }


def _fixed_token(text: str) -> str:
    """The log's `::stop-commands::` token is random: one that happened to hold a piece of
    the secret ("10000bf2…" holds "0000") would count as a leak. Compared fixed."""
    for token in re.findall(r"::stop-commands::(\w+)", text):
        text = text.replace(token, "STOP-TOKEN")
    return text


def views(channel: str, text: str) -> Iterator[str]:
    """The raw text and what a reader of it sees (parsed, unescaped, decoded)."""
    yield text
    yield clean(text)
    if channel == "junit":
        root = ElementTree.fromstring(text.encode(), forbid_dtd=True)
        yield "\n".join(
            [
                *(e.text or "" for e in root.iter()),
                *(v for e in root.iter() for v in e.attrib.values()),
            ]
        )
    if channel == "json":
        yield "\n".join(_strings(json.loads(text)))
    if channel == "markdown":
        yield re.sub(r"\\(.)", r"\1", text.replace("<br>", "\n"))
    if channel == "github":
        for old, new in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
            text = text.replace(old, new)
        yield text
    yield urllib.parse.unquote(text)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def assert_no_leak(value: str, printed: Printed, control: Printed, stage: str) -> None:
    grams = {value[i : i + GRAM] for i in range(len(value) - GRAM + 1)}
    shown, expected = channels(value, printed, stage), channels(value, control, stage)
    for name, text in shown.items():
        for seen, allowed in zip(views(name, text), views(name, expected[name]), strict=True):
            assert seen.count(value) <= allowed.count(value), name  # "1.000000" holds "0000"
            for gram in grams:
                assert seen.count(gram) <= allowed.count(gram), (name, gram)
            assert not _decodes_to_a_piece_of(value.encode(), seen, 5), name


# -- the transformations -------------------------------------------------------------------


def _around(text: str) -> Printed:
    return Printed(text=f"before {text} after\n")


@SETTINGS
@given(stage=STAGES, value=SECRETS)
def test_raw(stage: str, value: str) -> None:
    assert_no_leak(value, _around(value), _around(MASK), stage)


@SETTINGS
@given(stage=STAGES, value=SECRETS, where=st.integers(1, 39), seq=st.sampled_from(ANSI))
def test_ansi_inside(stage: str, value: str, where: int, seq: str) -> None:
    where = min(where, len(value) - 1)
    assert_no_leak(value, _around(value[:where] + seq + value[where:]), _around(MASK), stage)


@SETTINGS
@given(stage=STAGES, value=SECRETS, where=st.integers(1, 39), byte=st.sampled_from(CONTROL))
def test_control_byte_inside(stage: str, value: str, where: int, byte: str) -> None:
    where = min(where, len(value) - 1)
    newline = "\n" if byte == "\r" else ""  # the mask keeps the line break it spans
    assert_no_leak(
        value, _around(value[:where] + byte + value[where:]), _around(MASK + newline), stage
    )


@SETTINGS
@given(stage=STAGES, value=SECRETS, space=st.sampled_from([" ", "\r", "\t", "\r\n", " \r\n"]))
def test_value_with_surrounding_whitespace_printed_trimmed(
    stage: str, value: str, space: str
) -> None:
    """The variable holds ``value`` plus whitespace; the gate prints it trimmed."""
    redactor = Redactor.from_environ({"DEPLOY_TOKEN": space + value + space})
    assert redactor.redact(f"[{value}]") == "[***]"
    assert_no_leak(value, _around(value), _around(MASK), stage)


@SETTINGS
@given(
    stage=STAGES,
    value=SECRETS,
    prefix=st.binary(max_size=5),
    suffix=st.binary(max_size=5),
    urlsafe=st.booleans(),
)
def test_base64(stage: str, value: str, prefix: bytes, suffix: bytes, urlsafe: bool) -> None:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(prefix + value.encode() + suffix).decode()
    control = encode(prefix + b"\xff" * len(value.encode()) + suffix).decode()
    assert_no_leak(value, _around(blob), _around(control), stage)


@SETTINGS
@given(stage=STAGES, value=SECRETS, how=st.sampled_from(["quote", "quote_plus", "all", "lower"]))
def test_percent_encoded(stage: str, value: str, how: str) -> None:
    encoded = {
        "quote": urllib.parse.quote(value),
        "quote_plus": urllib.parse.quote_plus(value),
        "all": "".join(f"%{b:02X}" for b in value.encode()),
        "lower": re.sub("%..", lambda m: m.group().lower(), urllib.parse.quote(value, safe="")),
    }[how]
    assert_no_leak(value, _around(encoded), _around(MASK), stage)


def _line(before: int, value: bytes, after: int, newline: bool = False) -> bytes:
    return b"x" * before + value + b"y" * after + (b"\n" if newline else b"")


@pytest.mark.slow
@HUGE
@given(stage=STAGES, value=SECRETS, size=st.integers(HEAD_BYTES + TAIL_BYTES, 200_000))
def test_at_the_end_of_a_huge_line(stage: str, value: str, size: int) -> None:
    raw, hidden = value.encode(), b"#" * len(value.encode())
    assert_no_leak(
        value,
        Printed(data=_line(size, raw, 0, True)),
        Printed(data=_line(size, hidden, 0, True)),
        stage,
    )


@pytest.mark.slow
@HUGE
@given(
    stage=STAGES,
    value=SECRETS,
    split=st.integers(1, 200),
    at_head=st.booleans(),
    lines=st.booleans(),
)
def test_split_across_the_cut(
    stage: str, value: str, split: int, at_head: bool, lines: bool
) -> None:
    """The head ends, or the tail starts, inside the value (on a long line or among lines)."""
    raw = value.encode()
    split = min(split, len(raw) - 1)
    filler = b"z" * 10 if lines else b""

    def output(v: bytes) -> bytes:
        before = HEAD_BYTES - split if at_head else 100_000
        after = 100_000 if at_head else TAIL_BYTES - 1 - (len(v) - split)
        middle = filler + b"\n" if lines else b""
        return middle * (before // 11) + _line(before % 11 if lines else before, v, after, True)

    if not (at_head and lines):  # there the head ends on the line before the value
        assert value not in captured(output(raw)).tail_text()  # the cut did split it
    assert_no_leak(value, Printed(data=output(raw)), Printed(data=output(b"#" * len(raw))), stage)


@pytest.mark.slow
@HUGE
@given(stage=STAGES, value=SECRETS, split=st.integers(1, 200))
def test_smoke_per_script_tail_split_across_its_cut(stage: str, value: str, split: int) -> None:
    raw = value.encode()
    chars = len(value)
    split = min(split, chars - 1)
    # the script tail keeps its last 3000 characters (of 4000): the cut falls inside the value
    after = smoke.SCRIPT_TAIL_CHARS * 3 // 4 - 1 - (chars - split)

    def output(v: bytes) -> bytes:
        return _line(8000, v, after, True)

    assert value not in smoke_ran(output(raw)).to_dict()["output_tail"]  # the cut split it
    hidden = b"#" * len(raw)
    control = Printed(data=output(hidden), smoke=True)
    assert_no_leak(value, Printed(data=output(raw), smoke=True), control, stage)


def test_every_transformation_is_caught_by_the_check() -> None:
    """The check itself can fail: with no redaction the value is found in every channel."""
    value = "s3cr3t-Value-42"
    shown = channels(value, _around(value), stage="none")
    for name, text in shown.items():
        assert any(value in seen for seen in views(name, text)), name
