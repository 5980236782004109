"""PyYAML's failures in words a newcomer understands, each at the line that causes it.

PyYAML reports *where it noticed* a problem (``problem_mark``) and, for an
unfinished construct, *where that construct began* (``context_mark``). An
unclosed quote is noticed at the end of the file but written where the quote
opens, so for unfinished constructs we point at the context mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PREFIX = "YAML syntax error: "
_UNFINISHED = {
    "quoted scalar": "this quoted string is never closed: add the closing quote",
    "flow sequence": "this `[` list is never closed with `]`",
    "flow mapping": "this `{` mapping is never closed with `}`",
    "block scalar": "this `|` or `>` text block is never finished",
}
_BAD_START = re.compile(r"found character '(.+)' that cannot start any token")


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


def _at(mark: Any) -> Mark | None:
    return Mark(mark.line + 1, mark.column + 1) if mark is not None else None


def syntax_problem(exc: BaseException, text: str, where: Mark | None = None) -> tuple[str, Mark]:
    """(message, location) for an exception raised while parsing ``text``."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        return _reader_problem(exc, text)
    if isinstance(exc, yaml.MarkedYAMLError):
        return _marked_problem(exc, text)
    if isinstance(exc, ValueError) and "chr()" in str(exc):
        # the reader stands after `\U`: the escape starts two characters back
        start = Mark(where.line, max(1, where.col - 2)) if where else Mark(1, 1)
        return PREFIX + "this escape names no Unicode character (the largest is \\U0010FFFF)", start
    return PREFIX + f"cannot read this file: {type(exc).__name__}", where or Mark(1, 1)


def _reader_problem(exc: Any, text: str) -> tuple[str, Mark]:
    before = text[: exc.position]
    where = Mark(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
    char = exc.character
    code = char if isinstance(char, int) else ord(str(char)[:1] or "\0")
    what = "a NUL byte" if code == 0 else "a control character"
    return (
        f"{what} (U+{code:04X}) is not allowed in YAML: gates.yaml must be plain text",
        where,
    )


def _marked_problem(exc: Any, text: str) -> tuple[str, Mark]:
    problem = str(exc.problem or exc.context or "invalid YAML")
    context = str(exc.context or "")
    here = _at(exc.problem_mark) or _at(exc.context_mark) or Mark(1, 1)
    opened = _at(exc.context_mark)
    tab = _tab_in_indent(text, here.line)
    if tab is not None and ("'\\t'" in problem or tab.line == here.line):
        return PREFIX + "a tab in the indentation: YAML indents with spaces only", tab
    if opened is not None and ("end of stream" in problem or "<stream end>" in problem):
        for what, message in _UNFINISHED.items():
            if what in context:
                return PREFIX + message, opened
    return PREFIX + _plain(f"{context}: {problem}", opened), _location(problem, here, opened)


def _location(problem: str, here: Mark, opened: Mark | None) -> Mark:
    if opened is not None and "could not find expected ':'" in problem:
        return opened  # the key-less line is where the scanner started, not where it gave up
    return here


# (what PyYAML says, what we say); "{since}" names where the unfinished construct opened
_PLAIN = (
    ("mapping values are not allowed here",
     "unexpected `:` here: quote a value that contains `: `, or check the indentation"),
    ("expected <block end>",
     "this line is not indented like the lines around it: check the indentation"),
    ("did not find expected key",
     "this line is not indented like the lines around it: check the indentation"),
    ("could not find expected ':'",
     "expected `key: value` here: is the `:` missing, or the indentation off?"),
    ("expected ',' or ']'", "expected `,` or `]` inside this `[...]` list{since}"),
    ("expected ',' or '}'", "expected `,` or `}}` inside this `{{...}}` mapping{since}"),
    ("unknown escape character",
     "unknown escape in a double-quoted string: use single quotes, or write `\\\\`"),
    ("undefined alias", "this alias (`*name`) refers to no anchor (`&name`) defined above it"),
    ("expected a single document",
     "gates.yaml holds more than one YAML document (a second `---`): keep one"),
)  # fmt: skip


def _plain(problem: str, opened: Mark | None) -> str:
    since = f" (it opens at line {opened.line}, column {opened.col})" if opened else ""
    for needle, message in _PLAIN:
        if needle in problem:
            return message.format(since=since)
    if found := _BAD_START.search(problem):
        return f"a value cannot start with {found.group(1)!r}: put the value in quotes"
    return problem.removeprefix(": ")


def _tab_in_indent(text: str, upto: int) -> Mark | None:
    """The first tab in the leading whitespace of a line up to line ``upto``."""
    for number, line in enumerate(text.splitlines()[:upto], start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return Mark(number, indent.index("\t") + 1)
    return None


def scalar_problem(node: Any, exc: BaseException) -> str:
    """Why a scalar (``!!int 1e3``, a 5,000-digit number, ``!foo x``) cannot be read."""
    from mergegate.errors import shorten

    tag = _short_tag(node.tag)
    if "could not determine a constructor" in str(exc):
        return unknown_tag(node.tag)
    if "Exceeds the limit" in str(exc) or isinstance(exc, OverflowError):
        return "this number is too large"
    return f"{shorten(node.value)} is not a valid {tag} value"


def _short_tag(tag: object) -> str:
    return str(tag).replace("tag:yaml.org,2002:", "!!")


def unknown_tag(tag: object) -> str:
    from mergegate.errors import shorten

    return f"unknown tag {shorten(_short_tag(tag))}: gates.yaml takes plain values, remove the tag"
