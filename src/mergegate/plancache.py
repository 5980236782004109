"""Reading gates.yaml for a run: its bytes, and the compiled plan cached by them.

A run reads the file's bytes (a regular file, bounded) and looks for its
compiled plan (``mergegate.spec``) in the plan cache:
``$XDG_CACHE_HOME/mergegate/plans`` (``~/.cache/mergegate/plans``), one JSON
file per key, the directory carrying its own ``.gitignore``. The key hashes the
bytes, mergegate's version and Python's (and the size and mtime of config.py and
spec.py, for an edited checkout), so an edit, an upgrade or another interpreter is
a miss. On a miss pydantic validates (``config.load_bytes``) and
the plan is stored; errors are never cached, they are found again each run.

A cache entry that is unreadable, foreign or from another layout is a miss,
never a crash; a cache that cannot be written is silently skipped. A cache
directory inside the project is ignored: a commit could plant a plan there for
the base branch's gates.yaml bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from pathlib import Path

from mergegate import __version__
from mergegate.errors import ConfigError, ConfigIssue
from mergegate.spec import ConfigSpec, LoadedConfig, from_json, to_json

MAX_CONFIG_BYTES = 1024 * 1024  # a gates.yaml is a few KiB; more is a mistake or an attack
FORMAT = "mergegate-plan-3"  # bump when the JSON layout of a plan changes
MAX_ENTRY_BYTES = 64 * MAX_CONFIG_BYTES  # a plan spells out every default of every gate
MAX_ENTRIES = 64  # one per gates.yaml version seen; older ones are pruned on a store


def load_plan(path: Path) -> LoadedConfig:
    """The compiled gates.yaml at ``path``: from the cache, else validated and stored."""
    data = read_config_bytes(path, str(path))
    root = path.resolve().parent
    where = cache_dir(root)
    key = plan_key(data)
    cached = read_entry(where, key) if where else None
    if cached is not None:
        return LoadedConfig(cached, path, root)
    from mergegate.config import load_bytes

    loaded = load_bytes(data, path)
    if where:
        store_entry(where, key, loaded.config)
    return loaded


def plan_key(data: bytes) -> str:
    py = sys.version.encode()
    parts = (FORMAT.encode(), __version__.encode(), py, _validator_stamp().encode())
    digest = hashlib.sha256(b"\0".join(parts) + b"\0")
    digest.update(data)
    return digest.hexdigest()


def _validator_stamp() -> str:
    """Size and mtime of the validator's sources (config, spec, the built-in kinds, which
    hold their models): an edited checkout (same version) misses."""
    here = os.path.dirname(__file__)
    kinds = os.path.join(here, "gates")
    try:
        names = ["config.py", "spec.py", *sorted(_sources(kinds))]
        infos = [os.stat(os.path.join(here, name)) for name in names]
    except OSError:
        return "unknown"
    return ",".join(f"{info.st_size}:{info.st_mtime_ns}" for info in infos)


def _sources(directory: str) -> list[str]:
    with os.scandir(directory) as entries:
        return [f"gates/{e.name}" for e in entries if e.name.endswith(".py")]


def cache_dir(root: Path) -> Path | None:
    """The plans directory, or None when it would live inside the project at ``root``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None  # XDG says relative paths are invalid; "~" unresolved is one
    where = Path(os.path.abspath(base), "mergegate", "plans")
    real = os.path.realpath(where)
    if os.path.commonpath([real, str(root)]) == str(root):
        return None
    return where


def read_entry(where: Path, key: str) -> ConfigSpec | None:
    import json

    path = where / f"{key}.json"
    try:  # a regular file only: a fifo planted here must not stall the run
        data = json.loads(read_regular(path, str(path), MAX_ENTRY_BYTES))
        if not isinstance(data, dict) or data.get("key") != key:
            return None  # another file under our name
        return from_json(data["plan"])
    except (
        ConfigError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        ImportError,
        RecursionError,
    ):
        return None


def store_entry(where: Path, key: str, spec: ConfigSpec) -> None:
    """Write atomically (a reader sees a whole entry or none); failures are not errors."""
    import json

    text = json.dumps({"key": key, "plan": to_json(spec)})  # dict order is gate order
    tmp = where / f".{key}.{os.getpid()}.tmp"
    try:
        where.mkdir(parents=True, exist_ok=True)
        ignore = where / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# mergegate's compiled plans: a cache, never committed\n*\n")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, where / f"{key}.json")
        _prune(where)
    except OSError:
        with _quiet():
            tmp.unlink()


def _prune(where: Path) -> None:
    entries = sorted(where.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-MAX_ENTRIES]:
        with _quiet():
            old.unlink()


def _quiet() -> contextlib.AbstractContextManager[None]:
    return contextlib.suppress(OSError)


def _file_issue(shown: str, message: str) -> ConfigError:
    return ConfigError([ConfigIssue(shown, None, None, "", message)])


def read_config_bytes(path: Path, shown: str) -> bytes:
    """The bytes of a regular file of at most MAX_CONFIG_BYTES, or a ConfigError."""
    return read_regular(path, shown, MAX_CONFIG_BYTES)


def read_regular(path: Path, shown: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or a ConfigError.

    Opened non-blocking so a fifo cannot stall the open; fstat then refuses
    anything that is not a regular file (a fifo, /dev/zero, a directory).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _file_issue(shown, "file not found (create one with `mergegate init`)") from None
    except OSError as exc:
        raise _file_issue(shown, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise _file_issue(shown, f"{what}: the configuration must be a regular file")
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise _file_issue(shown, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _file_issue(
            shown, f"file is larger than {limit // 1024} KiB: is this really gates.yaml?"
        )
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := os.read(fd, min(65536, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
