"""Secret masking (DESIGN §7).

Values of environment variables whose names look secret, and of those listed
under ``redact:``, are replaced by ``***``. The runner applies a Redactor where
a gate's outcome becomes a result, so no report writer can forget it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
MASK = "***"


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def _fragments(value: str) -> Iterable[str]:
    """The value itself and, for multi-line values, each line of it (as GitHub masks)."""
    yield value
    if "\n" in value:
        for line in value.splitlines():
            if len(line.strip()) >= MIN_SECRET_LEN:
                yield line.strip()


@dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()  # secret-named variables too short to mask
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_environ(cls, *envs: Mapping[str, str], extra_names: Iterable[str] = ()) -> Redactor:
        wanted = {n.upper() for n in extra_names}
        values: set[str] = set()
        short: set[str] = set()
        for env in envs:
            for name, value in env.items():
                if not (is_secret_name(name) or name.upper() in wanted) or not value:
                    continue
                if len(value) < MIN_SECRET_LEN:
                    short.add(name)
                    continue
                values.update(f for f in _fragments(value) if len(f) >= MIN_SECRET_LEN)
        ordered = tuple(sorted(values, key=len, reverse=True))  # longest first: no partial leaks
        pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
        return cls(ordered, tuple(sorted(short)), pattern)

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

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
