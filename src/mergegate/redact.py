"""Secret masking (DESIGN §7): clean first, then mask, so formatting cannot hide a value.

Values of environment variables whose names look secret, and of those listed
under ``redact:``, are replaced by ``***``. ``Redactor.redact`` first cleans
the text the way every report shows it (ANSI escapes and control bytes
removed, ``\\r`` made a line break, lone surrogates and noncharacters
dropped), then masks: the value with surrounding whitespace trimmed, each line
of a multi-line value, their percent-encoded forms (any mix of encoded and
plain characters, either hex case), their base64 forms (standard and
url-safe, at the three alignments a value can have inside a longer encoded
blob) and a value broken by a line break. Where an excerpt was cut (a marker
written by ``mergegate.excerpt``), a partial value touching the cut is masked
too. The runner applies one Redactor where a gate's outcome becomes a result,
so no report writer can forget it.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import field

from mergegate.excerpt import CUT_MARKER
from mergegate.record import record

SECRET_NAME_PARTS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
)
MIN_SECRET_LEN = 4
MIN_PARTIAL = 3  # a piece of a value this long at a cut is masked (DESIGN allows < 4 shown)
MASK = "***"
Mask = Callable[[str], str]  # what a report writer calls on every text it shows, last
CACHE_TEXT = 256 * 1024  # longer texts (a whole summary) are masked every time
CACHE_ENTRIES = 4096
EDGE_SLACK = 16  # how far from a cut a partial value is still looked for

# CSI, OSC (to BEL or ST, never past a line) and DCS/SOS/PM/APC strings. Any other ESC
# is dropped alone: eating the character after it (as a terminal would for ESC 7) would
# let one inserted byte break a value that the mask then no longer recognises.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?"
)
# control bytes (tab and newline kept), C1, surrogates, noncharacters, invisible format marks
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
)


def clean(text: str) -> str:
    """Text as every report shows it: no escapes, no control bytes, ``\\r`` as a line break."""
    if not text:
        return text
    text = _ANSI.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNPRINTABLE.sub("", text)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def _fragments(value: str) -> Iterator[str]:
    """The cleaned value trimmed and, for multi-line values, each line of it (as GitHub masks)."""
    whole = clean(value).strip()
    yield whole
    if "\n" in whole:
        for line in whole.split("\n"):
            yield line.strip()


def _b64_cores(secret: str) -> Iterator[str]:
    """The base64 characters that depend only on ``secret``, at each alignment, both alphabets."""
    data = secret.encode("utf-8", "surrogatepass")
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        start, end = math.ceil(8 * offset / 6), (8 * (offset + len(data))) // 6
        core = encoded[start:end]
        yield core
        yield core.replace("+", "-").replace("/", "_")


def _hex_pattern(byte: int) -> str:
    return "%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{byte:02X}")


def _char_pattern(char: str) -> str:
    """One character of a value: itself or percent-encoded; whitespace as any whitespace run.

    A backslash may precede it: the Markdown summary escapes punctuation that way.
    """
    encoded = "".join(_hex_pattern(b) for b in char.encode("utf-8", "surrogatepass"))
    if char == " ":
        return rf"(?:\s+|\+|{encoded})"
    if char.isspace():
        return rf"(?:\s+|{encoded})"
    return rf"\\?(?:{re.escape(char)}|{encoded})"


def _value_pattern(secret: str) -> str:
    r"""A value in any of its shown forms; a line break may fall between any two characters."""
    return r"\n?".join(_char_pattern(c) for c in secret)


def _literal_pattern(text: str) -> str:
    return r"\n?".join(rf"\\?{re.escape(c)}" for c in text)


@record(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()  # secret-named variables too short to mask
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _forms: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # every report writer masks the same outputs again: remember the answers
    _seen: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_environ(cls, *envs: Mapping[str, str], extra_names: Iterable[str] = ()) -> Redactor:
        wanted = {n.upper() for n in extra_names}
        values: set[str] = set()
        short: set[str] = set()
        for env in envs:
            for name, value in env.items():
                if not (is_secret_name(name) or name.upper() in wanted) or not value.strip():
                    continue
                found = {f for f in _fragments(value) if len(f) >= MIN_SECRET_LEN}
                if not found:
                    short.add(name)
                values.update(found)
        return cls.of(values, short)

    @classmethod
    def of(cls, values: Iterable[str], short_names: Iterable[str] = ()) -> Redactor:
        """A Redactor for these values (each at least MIN_SECRET_LEN characters once cleaned)."""
        ordered = tuple(sorted(set(values), key=lambda v: (-len(v), v)))  # longest first
        cores = {c for v in ordered for c in _b64_cores(v) if len(c) >= MIN_SECRET_LEN}
        forms = tuple(sorted(set(ordered) | cores, key=lambda v: (-len(v), v)))
        alternatives = [_value_pattern(v) for v in ordered]
        alternatives += [_literal_pattern(c) for c in sorted(cores, key=lambda v: (-len(v), v))]
        pattern = (
            re.compile(_first_chars(ordered, forms) + "|".join(alternatives))
            if alternatives
            else None
        )
        return cls(ordered, tuple(sorted(short_names)), pattern, forms)

    def redact(self, text: str) -> str:
        """Clean, then mask every form of every value, and partial values at excerpt cuts."""
        if self._pattern is None or len(text) > CACHE_TEXT:
            return self.mask(clean(text))
        shown = self._seen.get(text)
        if shown is None:
            if len(self._seen) >= CACHE_ENTRIES:
                self._seen.clear()
            shown = self._seen[text] = self.mask(clean(text))
        return shown

    def mask(self, text: str) -> str:
        """Mask text that is already clean (``redact`` is clean, then this)."""
        if self._pattern is None or not text:
            return text
        masked = self._pattern.sub(_mask_keeping_lines, text)
        if "…" not in masked:
            return masked
        return self._mask_cut_edges(masked)

    def _mask_cut_edges(self, text: str) -> str:
        """A value cut in two by an excerpt marker: mask the piece on either side of it."""
        pieces = CUT_MARKER.split(text)
        if len(pieces) == 1:
            return text
        markers = CUT_MARKER.findall(text)
        out = [self._mask_end(pieces[0])]
        for marker, piece in zip(markers, pieces[1:], strict=True):
            out += [marker, self._mask_end(self._mask_start(piece))]
        return "".join(out)

    def _mask_start(self, piece: str) -> str:
        found = _partial(piece, self._forms, at_start=True)
        return piece if found is None else piece[: found[0]] + MASK + piece[found[1] :]

    def _mask_end(self, piece: str) -> str:
        found = _partial(piece, self._forms, at_start=False)
        return piece if found is None else piece[: found[0]] + MASK + piece[found[1] :]

    def redact_json(self, value: object) -> object:
        """Redact every string inside a JSON-like value (keys included)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_json(v) for v in value]
        return value

    def warnings(self) -> list[str]:
        return [
            f"environment variable {name} looks secret but is shorter than "
            f"{MIN_SECRET_LEN} characters, so it is not masked"
            for name in self.short_names
        ]


def _first_chars(values: Iterable[str], forms: Iterable[str]) -> str:
    """A look-ahead for the characters a match can start with: most positions fail fast."""
    first = {"\\", "%", *(v[0] for v in values), *(f[0] for f in forms)}
    if any(v[0].isspace() for v in values):
        first.update(" \t\n")
    return "(?=[" + "".join(re.escape(c) for c in sorted(first)) + "])"


def _mask_keeping_lines(match: re.Match[str]) -> str:
    """``***``, plus the line breaks the value spanned, so the layout around it stays."""
    return MASK + "\n" * match.group().count("\n")


def _partial(text: str, forms: tuple[str, ...], *, at_start: bool) -> tuple[int, int] | None:
    """The span of a piece (≥ MIN_PARTIAL) of a form that a cut left at one end of ``text``.

    At the start, the end of a form; at the end, the start of one. The piece may sit up
    to EDGE_SLACK characters from the cut: a cut inside an escape sequence leaves its
    printable rest (``1m``) between the cut and the value.
    """
    best: tuple[int, int] | None = None
    for shift in range(min(EDGE_SLACK, len(text)) + 1):
        size = _longest(text[shift:] if at_start else text[: len(text) - shift], forms, at_start)
        if size and (best is None or size > best[1] - best[0]):
            best = (
                (shift, shift + size) if at_start else (len(text) - shift - size, len(text) - shift)
            )
    return best


def _longest(text: str, forms: tuple[str, ...], at_start: bool) -> int:
    """Length of the longest piece (≥ MIN_PARTIAL) of a form that ``text`` starts/ends with."""
    best = 0
    for form in forms:
        for size in range(min(len(form) - 1, len(text)), max(best, MIN_PARTIAL - 1), -1):
            if text.startswith(form[-size:]) if at_start else text.endswith(form[:size]):
                best = size
                break
    return best
