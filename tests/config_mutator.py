"""A seeded mutator of gates.yaml files, shared by the fuzz test and bench/fuzz_config.py.

It starts from the repository's own configs and applies what broke the loader
before: byte flips, truncation, YAML special tokens, deep nesting, huge
numbers, odd tags, invalid UTF-8, BOMs, NULs and tabs. The same seed gives the
same cases, so a failure reproduces from its case number.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = (
    ROOT / "gates.yaml",
    ROOT / "examples" / "python-lib" / "gates.yaml",
    ROOT / "examples" / "team-gateway" / "gates.yaml",
)
TOKENS = [
    b": ", b"- ", b"? ", b"&a ", b"*a ", b"*nope ", b"<<: *a", b"{", b"}", b"[", b"]",
    b"'", b'"', b"|", b">", b"#", b"---\n", b"...\n", b"%YAML 1.1\n", b"\t", b"\0",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\r", b"\xc2\x85",
    b"\xe2\x80\xa8", b"@", b"`", b"%", b"!", b"!!int ", b"!!float ", b"!!binary ",
    b"!!set ", b"!!omap ", b"!!timestamp ", b"!!python/object:os.system ", b"!foo ",
    b"!<tag:x> ", b"\n  ", b"\n\t", b"~", b"\\", b"\\x", b",",
]  # fmt: skip
VALUES = [
    ".inf", "-.inf", ".nan", ".NaN", "1e3", "!!int 1e3", "!!int 0x1F", "!!float x",
    "9" * 5000, "-" + "9" * 4400, "0." + "9" * 5000, "1" * 30 + "s", "9" * 30 + "h",
    '"\\U0011ffff"', '"\\ud800"', '"\\0"', '"\\x00"', '"a\\tb"', "'\\t'", "''", '""',
    "[]", "{}", "[[]]", "~", "null", "yes", "no", "on", "2001-12-14", "12:30:00",
    "!!binary AAAA", "!!binary ???", "!!set {a, b}", "!!omap [a: 1]", "*a", "&a x",
    "x" * 3000, "0o777", "0b101", "-0", "+1", "1_000", "0x" + "f" * 50, "¹²³", "٣s",
    "/etc/passwd", "../../x", "~/x", "ghp_" + "a" * 36,
]  # fmt: skip


def seeds() -> list[bytes]:
    return [p.read_bytes() for p in SEED_FILES if p.is_file()]


def _flip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    at = rng.randrange(len(data))
    byte = data[at] ^ (1 << rng.randrange(8)) if rng.random() < 0.5 else rng.randrange(256)
    return data[:at] + bytes([byte]) + data[at + 1 :]


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _insert(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(TOKENS) * rng.choice((1, 1, 2, 3)) + data[at:]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _replace_value(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    keyed = [i for i, line in enumerate(lines) if b": " in line or line.rstrip().endswith(b":")]
    if not keyed:
        return _insert(rng, data)
    i = rng.choice(keyed)
    head = lines[i].split(b":", 1)[0]
    lines[i] = head + b": " + rng.choice(VALUES).encode("utf-8")
    return b"\n".join(lines)


def _nest(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice((10, 63, 64, 65, 200, 1200, 3000))
    opener, closer = rng.choice(((b"[", b"]"), (b"{a: ", b"}"), (b"- ", b"")))
    lines = _lines(data)
    i = rng.randrange(len(lines))
    if opener == b"- ":
        block = [b"  " * n + b"- " for n in range(min(depth, 1200))]
        lines[i:i] = [b"nested:", *block]
    else:
        lines[i] = lines[i].split(b":", 1)[0] + b": " + opener * depth + b"x" + closer * depth
    return b"\n".join(lines)


def _line_edit(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    choice = rng.randrange(4)
    if choice == 0:
        lines.insert(i, lines[i])  # a duplicate key, often
    elif choice == 1:
        del lines[i]
    elif choice == 2:
        lines[i] = rng.choice((b" ", b"  ", b"\t", b"   ")) + lines[i]
    else:
        lines[i] = lines[i].lstrip(b" ")
    return b"\n".join(lines)


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    _flip, _flip, _truncate, _insert, _insert, _replace_value, _replace_value, _nest, _line_edit,
]  # fmt: skip


def mutate(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = rng.choice(MUTATIONS)(rng, data)
    return data


def cases(count: int, seed: int = 12) -> Iterator[tuple[int, bytes]]:
    """``count`` mutated files, numbered, the same for the same seed."""
    originals = seeds()
    rng = random.Random(seed)
    for number in range(count):
        yield number, mutate(rng, rng.choice(originals))


JARGON = (
    "Input should",
    "instance of",
    "Value error",
    "unicode string",
    "tag:yaml.org",
    "constrained-str",
    "function-before",
    "Traceback",
)
MAX_ISSUE_CHARS = 600  # a located message with its values shortened stays well under this


def outcome_of(data: bytes, shown: str = "gates.yaml") -> str:
    """'loaded' or 'config-error'; AssertionError for anything the contract forbids.

    Any other exception propagates: it is what the CLI would report as exit 3.
    """
    import math

    from mergegate.config import decode_config, parse_config
    from mergegate.errors import ConfigError

    try:
        config = parse_config(decode_config(data, shown), shown)
    except ConfigError as exc:
        for issue in exc.issues:
            _check_issue(str(issue), issue.line, issue.col, shown)
        return "config-error"
    timeouts = [config.defaults.timeout, *(g.timeout for g in config.gates.values())]
    assert all(t is None or (math.isfinite(t) and t > 0) for t in timeouts), timeouts
    return "loaded"


def _check_issue(text: str, line: int | None, col: int | None, shown: str) -> None:
    assert line is not None, text
    assert col is not None, text
    assert text.startswith(f"{shown}:{line}:{col}: "), text
    assert len(text) <= MAX_ISSUE_CHARS, text[:200]
    found = [word for word in JARGON if word in text]
    assert not found, (found, text)
