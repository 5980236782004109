"""pydantic's validation errors in plain words, without pydantic's vocabulary.

A user never wrote a "dictionary or instance of CommandGate": they wrote a
gate as a string, usually by getting the indentation wrong. Each pydantic
error type maps to what the key expects ("a list", "true or false"), and the
errors that pydantic raises once per member of a union (``run`` is a string or
a list) are merged into one sentence.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from mergegate.errors import clip, shorten

_MAPPING = "a mapping (`key: value` lines)"
_EXPECTED = {
    "model_type": _MAPPING,
    "model_attributes_type": _MAPPING,
    "dict_type": _MAPPING,
    "string_type": "a string",
    "string_unicode": "a string",
    "bytes_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
}
_GATE_HINT = (
    "expected a mapping of keys (e.g. `run: ...`), got {got} — check the indentation: "
    "a gate's keys go on the lines below its name, indented further"
)


def describe(value: object) -> str:
    """What the user wrote, in YAML's words: 'a string ('ruff check')', 'a list'."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number {clip(repr(value), 40)}"
    if isinstance(value, str):
        return f"a string ({shorten(value, 40)})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime.date):
        return "a date (put it in quotes to make it a string)"
    if isinstance(value, bytes):
        return "binary data (a !!binary tag)"
    return f"a value of type {type(value).__name__}"


def _expected(err: Any) -> str | None:
    if err["type"] == "literal_error":
        return f"one of {err.get('ctx', {}).get('expected', '?')}"
    return _EXPECTED.get(err["type"])


def _constraint(err: Any) -> str:
    """A value of the right type that breaks a rule (empty, negative, a validator's reason)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "missing":
        return "required key missing"
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message.replace("Input should be", "expected")


def plain_message(errors: Sequence[Any], path: tuple[str | int, ...]) -> str:
    """One sentence for every pydantic error at one place in the document."""
    constraints = [e for e in errors if _expected(e) is None]
    if constraints:
        return "; ".join(dict.fromkeys(_constraint(e) for e in constraints))
    value = errors[0].get("input")
    if path == ("version",):
        return f"unsupported version {clip(str(value), 40)}: this mergegate reads `version: 1`"
    wanted = list(dict.fromkeys(str(_expected(e)) for e in errors))
    if len(path) == 2 and path[0] == "gates" and _MAPPING in wanted:
        return _GATE_HINT.format(got=describe(value))
    return f"expected {' or '.join(wanted)}, got {describe(value)}"
