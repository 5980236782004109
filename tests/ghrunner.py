"""How the GitHub Actions runner reads a step's log: workflow commands and stop-commands.

Written from the runner's documented behaviour (actions/runner ActionCommand and
ActionCommandManager): a ``::name k=v,k=v::data`` line after leading whitespace,
or the legacy ``##[name k=v;k=v]data`` anywhere in a line; command names are
case-insensitive; ``::stop-commands::TOKEN`` ignores every command until one
named TOKEN (either form) resumes processing. Tests feed mergegate's output
through it to see what GitHub would do with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGISTERED = frozenset(
    {
        "error", "warning", "notice", "debug", "group", "endgroup", "add-mask", "set-output",
        "save-state", "set-env", "add-path", "add-matcher", "remove-matcher", "echo",
        "stop-commands",
    }
)  # fmt: skip


def _unescape(text: str, mapping: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mapping:
        text = text.replace(replacement, token)
    return text


_DATA = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
_PROPERTY = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))
_LEGACY = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"), ("%", "%25"))


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str
    line_no: int


def _parse_v2(line: str, names: set[str], line_no: int) -> Command | None:
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props_text = info.partition(" ")
    if name.lower() not in names:
        return None
    props: dict[str, str] = {}
    for item in props_text.strip().split(","):
        key, sep, value = item.partition("=")
        if sep and key and value:
            props[key] = _unescape(value, _PROPERTY)
    return Command(name.lower(), props, _unescape(message[end + 2 :], _DATA), line_no)


def _parse_legacy(line: str, names: set[str], line_no: int) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    info = line[start + 3 : close]
    name, _, props_text = info.partition(" ")
    if name.lower() not in names:
        return None
    props: dict[str, str] = {}
    for item in props_text.split(";"):
        key, sep, value = item.partition("=")
        if sep and key and value:
            props[key] = _unescape(value, _LEGACY)
    return Command(name.lower(), props, _unescape(line[close + 1 :], _LEGACY), line_no)


@dataclass
class Log:
    """What the runner made of a log: the commands it ran and the lines it ignored."""

    commands: list[Command] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)  # line numbers read while stopped
    stopped_at_end: bool = False

    def named(self, name: str) -> list[Command]:
        return [c for c in self.commands if c.name == name]

    @property
    def annotations(self) -> list[Command]:
        return [c for c in self.commands if c.name in ("error", "warning", "notice")]


def process(text: str) -> Log:
    log = Log()
    names = set(REGISTERED)
    token: str | None = None
    for line_no, line in enumerate(text.split("\n"), start=1):
        cmd = _parse_v2(line, names, line_no) or _parse_legacy(line, names, line_no)
        if token is not None:
            log.ignored.append(line_no)
            if cmd is not None and cmd.name == token:
                names.discard(token)
                token = None
            continue
        if cmd is None:
            continue
        if cmd.name == "stop-commands":
            token = cmd.data.lower()
            names.add(token)
            continue
        log.commands.append(cmd)
    log.stopped_at_end = token is not None
    return log
