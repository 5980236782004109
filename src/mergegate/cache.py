"""The result cache (DESIGN §9): a gate's key, and the passes stored under it.

A key is a sha256 over everything that can change a gate's verdict: its
validated definition with the defaults that apply, mergegate's and Python's
versions, its input files (tracked, unmodified files by git's own object ids;
dirty and untracked ones hashed the way git would), the values of the env vars
it declares (hashed, never stored), the output of its ``version_of`` commands,
and the base commit for gates that compare against it.

Fail closed: whenever a key cannot be computed with certainty (no git, a
merge in progress, a submodule among the inputs, a failing ``version_of``
command) the gate simply runs. Only passes are stored; an entry that is
corrupt, truncated, from another mergegate or under another key is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mergegate import __version__, globs
from mergegate.errors import GitError
from mergegate.git import LazyBase, Started, head_commit
from mergegate.proc import ProcessManager, shell_argv
from mergegate.record import record
from mergegate.results import GateResult, JSONValue, Outcome, Status
from mergegate.spec import GateSpec as GateBase  # the run path works on compiled specs
from mergegate.spec import LoadedConfig, dump_gate

FORMAT = 1
VERSION_TIMEOUT = 60.0  # seconds for one `version_of` command
CACHE_DIR_ENV = "MERGEGATE_CACHE_DIR"
GITLINK = b"160000 "  # a submodule's record
MAX_AGE = 30 * 24 * 3600.0  # seconds: an entry no run has used for this long is removed
MAX_ENTRIES = 5000  # beyond this, the least recently used entries are removed first
STALE_TMP = 24 * 3600.0  # seconds: a temp file this old is a write that was killed
ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.json\Z")  # the only names pruning removes,
TMP_NAME = re.compile(r"\.tmp-[a-z0-9_]+\.json\Z")  # besides write_entry's leftovers


def cache_dir(root: Path, environ: Mapping[str, str]) -> Path:
    """Where entries live: $MERGEGATE_CACHE_DIR, else .mergegate/cache next to gates.yaml."""
    moved = environ.get(CACHE_DIR_ENV, "").strip()
    return Path(moved) if moved else root / ".mergegate" / "cache"


# -- the files ------------------------------------------------------------------------


class Unsafe(Exception):
    """The key cannot be trusted to cover an input: the gate runs."""


def blob_id(path: Path) -> tuple[str, str]:
    """(mode, object id) of a working-tree file, exactly as `git add` would record it."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        mode, data = "120000", os.fsencode(os.readlink(path))
    elif stat.S_ISREG(st.st_mode):
        mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
        data = path.read_bytes()
    else:
        raise Unsafe(f"{path} is neither a file nor a symlink (a nested repository?)")
    header = f"blob {len(data)}\0".encode()
    return mode, hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


UNMERGED = re.compile(rb" [123]\t")  # a stage other than 0: a conflict being resolved


class Listing:
    """Every file git would commit below root, as `git ls-files -s` records of its content.

    A record is ``b"MODE OID 0\tPATH"``; modified and untracked files get records
    computed from the working tree exactly as git would, deleted ones have none.
    Records are in path order (git's own order), so the same content always digests alike.
    """

    def __init__(self, records: list[bytes]) -> None:
        self.records = records
        self._digests: dict[tuple[str, ...], str] = {}

    def digest(self, patterns: tuple[str, ...]) -> str:
        """sha256 over the records ``patterns`` select (every file when empty)."""
        if patterns not in self._digests:
            chosen = self.records if not patterns else self._matching(patterns)
            if any(r.startswith(GITLINK) for r in chosen):
                raise Unsafe("a submodule is among the inputs: its working tree is not keyed")
            self._digests[patterns] = hashlib.sha256(b"\0".join(chosen)).hexdigest()
        return self._digests[patterns]

    def _matching(self, patterns: tuple[str, ...]) -> list[bytes]:
        return [r for r in self.records if globs.match_any(patterns, _path(r))]

    def as_dict(self) -> dict[str, str]:
        """{path: "mode oid"}: for tests and debugging."""
        out = {}
        for line in self.records:
            meta, _, _ = line.partition(b"\t")
            out[_path(line)] = meta.decode("ascii").rsplit(" ", 1)[0]
        return out


def _path(line: bytes) -> str:
    return line.partition(b"\t")[2].decode("utf-8", "surrogateescape")


def _in_parallel(root: Path, *commands: tuple[str, ...]) -> list[bytes]:
    """Run independent git listings at once: on a large tree each is a full scan."""
    started = [Started(root, *args) for args in commands]  # processes: no thread needed
    try:
        return [git.bytes() for git in started]
    finally:
        for git in started:
            git.close()  # one that failed leaves none behind


def list_inputs(root: Path) -> Listing:
    """Tracked, unmodified files keep the index's object id (nothing is re-read);
    modified and untracked files are hashed as git blobs; deleted ones drop out.
    """
    staged, dirty = _in_parallel(
        root, ("ls-files", "-s", "-z"), ("ls-files", "-z", "-m", "-o", "--exclude-standard")
    )
    if UNMERGED.search(staged):
        raise Unsafe("the index has unmerged entries (a merge or rebase in progress)")
    records = [r for r in staged.split(b"\0") if r]
    changed = {p for p in dirty.split(b"\0") if p}
    if changed:
        records = _patched(root, records, changed)
    return Listing(records)


def _patched(root: Path, records: list[bytes], changed: set[bytes]) -> list[bytes]:
    submodules = {r.partition(b"\t")[2] for r in records if r.startswith(GITLINK)}
    kept = [r for r in records if r.partition(b"\t")[2] not in changed - submodules]
    for raw in sorted(changed - submodules):
        try:
            mode, oid = blob_id(root / os.fsdecode(raw))
        except FileNotFoundError:
            continue  # deleted
        kept.append(f"{mode} {oid} 0\t".encode() + raw)
    kept.sort(key=lambda r: r.partition(b"\t")[2])  # nearly sorted already: linear
    return kept


# -- what besides the files -----------------------------------------------------------


def refusal(gate: GateBase) -> str | None:
    """Why a kind of gate is never cached, or None."""
    kind = str(getattr(gate, "kind", "command"))
    if kind == "witness":
        return "witness gates audit build output git does not track; they always run"
    if kind == "tests" and getattr(gate, "run", None) is None:
        return "a tests gate without `run` counts reports already on disk; it always runs"
    return None


def pinned(gates: Mapping[str, GateBase]) -> set[str]:
    """Gates that a never-cached gate needs, transitively: they always run too.

    A witness gate or a tests gate without `run` reads what the gates it needs wrote
    (a build's dist/, a suite's reports); a cached pass would write nothing.
    """
    from mergegate.plan import needs_closure

    uncached = [n for n, g in gates.items() if not g.cache or refusal(g)]
    return needs_closure(gates, uncached) - set(uncached)


def plan_line(name: str, gate: GateBase, gates: Mapping[str, GateBase], enabled: bool) -> str:
    """What the cache would do with a gate, for --dry-run: nothing is run, nothing is keyed."""
    if not enabled:
        return "cache: off (--no-cache)"
    if not gate.cache:
        return "cache: off (cache: false)"
    why = refusal(gate)
    if why:
        return f"cache: never — {why}"
    readers = _uncached_readers(name, gates)
    if readers:
        return f"cache: never — needed by {', '.join(readers)}, never cached; it always runs"
    return "cache: a pass is reused while unchanged: " + "; ".join(_keyed_on(gate))


def _uncached_readers(name: str, gates: Mapping[str, GateBase]) -> list[str]:
    """The never-cached gates that need ``name``, directly or not (see pinned)."""
    from mergegate.plan import needs_closure

    uncached = [n for n, g in gates.items() if n != name and (not g.cache or refusal(g))]
    return [n for n in uncached if name in needs_closure(gates, [n])]


def _keyed_on(gate: GateBase) -> list[str]:
    """The parts of the key a user controls, as the config spells them."""
    inputs = ", ".join(gate.inputs) if gate.inputs else "every file git would commit"
    parts = [f"inputs ({inputs})"]
    if gate.env_inputs:
        parts.append(f"env {', '.join(gate.env_inputs)}")
    if gate.version_of:
        shown = (c if isinstance(c, str) else shlex.join(c) for c in gate.version_of)
        parts.append("version_of " + ", ".join(f"`{c}`" for c in shown))
    if needs_base(gate):
        parts.append("the base commit")
    return parts


def needs_base(gate: GateBase) -> bool:
    """Whether the verdict depends on the base commit (then its sha is part of the key)."""
    return (
        str(getattr(gate, "kind", "")) == "semver"
        or bool(gate.if_changed)
        or bool(getattr(gate, "changed_only", False))
        or "baseline" in (getattr(gate, "min_passed", None), getattr(gate, "max_skipped", None))
    )


def _hashed(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def definition(loaded: LoadedConfig, name: str, gate: GateBase) -> dict[str, JSONValue]:
    """The gate as validated, plus the defaults that apply to it."""
    dumped: dict[str, JSONValue] = dump_gate(gate)
    return {
        "name": name,
        "gate": dumped,
        "timeout": loaded.timeout_of(gate),
        "env": dict(loaded.env_of(gate)),
        "cwd": str(loaded.cwd_of(gate).relative_to(loaded.root)),
    }


def compute_key(parts: Mapping[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# -- the cache of one run -------------------------------------------------------------


@record(frozen=True)
class Entry:
    key: str
    reason: str
    details: dict[str, JSONValue]
    commit: str | None
    at: str


class GateCache:
    """Keys gates and keeps their passes for one run (thread-safe: gates key in parallel)."""

    def __init__(
        self,
        loaded: LoadedConfig,
        base: LazyBase,
        environ: Mapping[str, str],
        procs: ProcessManager,
    ) -> None:
        self.loaded = loaded
        self.base = base
        self.environ = environ
        self.procs = procs
        self.dir = cache_dir(loaded.root, environ)
        self._lock = threading.Lock()
        self._files: Listing | Exception | None = None
        self._pruned = False  # pruning runs once, when the run stores its first pass
        self._pinned = pinned(loaded.gates)

    def files(self) -> Listing:
        """The input listing, made once per run by the first gate that asks."""
        with self._lock:
            if self._files is None:
                try:
                    self._files = list_inputs(self.loaded.root)
                except (GitError, Unsafe, OSError, ValueError) as exc:
                    self._files = exc
            files = self._files
        if isinstance(files, Exception):
            raise Unsafe(str(files))
        return files

    def key(
        self, name: str, gate: GateBase, env: Mapping[str, str], cancel: threading.Event
    ) -> str | None:
        """The gate's key, or None when it must run uncached."""
        if not gate.cache or refusal(gate) or name in self._pinned:
            return None
        try:
            parts = self._parts(name, gate, env, cancel)
        except (Unsafe, GitError):
            return None
        return compute_key(parts)

    def _parts(
        self, name: str, gate: GateBase, env: Mapping[str, str], cancel: threading.Event
    ) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "mergegate": __version__,
            "python": sys.version,
            "definition": definition(self.loaded, name, gate),
            # first: the tools' versions do not wait for the file listing another gate started
            "versions": [self._version(cmd, gate, env, cancel) for cmd in gate.version_of],
            "files": self.files().digest(gate.inputs),
            "env": {var: _hashed(self.environ.get(var)) for var in gate.env_inputs},
            "base": self.base.get().sha if needs_base(gate) else None,
        }

    def _version(
        self,
        cmd: str | Sequence[str],
        gate: GateBase,
        env: Mapping[str, str],
        cancel: threading.Event,
    ) -> str:
        argv = shell_argv(cmd) if isinstance(cmd, str) else list(cmd)
        result = self.procs.run(
            argv, cwd=self.loaded.cwd_of(gate), env=env, timeout=VERSION_TIMEOUT, cancel=cancel
        )
        if not result.ok or result.output.dropped:
            raise Unsafe(f"version_of `{result.command}`: {result.describe_exit()}")
        return hashlib.sha256(result.output.text().encode("utf-8", "replace")).hexdigest()

    # -- storage --------------------------------------------------------------------

    def lookup(self, key: str) -> Outcome | None:
        """The cached pass under ``key`` as an outcome, or None (a miss)."""
        entry = read_entry(self.dir, key)
        if entry is None:
            return None
        touch(self.dir, key)  # recently used: pruning keeps it
        shown = (entry.commit or "uncommitted")[:12]
        cached: dict[str, JSONValue] = {"commit": entry.commit, "at": entry.at}
        return Outcome(
            Status.PASSED,
            f"{entry.reason} (cached from {shown}, {entry.at})",
            details={**entry.details, "cached": cached},
        )

    def store(self, key: str, result: GateResult) -> None:
        """Keep a pass (already redacted); a cache that cannot be written is only slower."""
        if result.status is not Status.PASSED:
            return
        entry = {
            "format": FORMAT,
            "mergegate": __version__,
            "key": key,
            "gate": result.name,
            "reason": result.reason,
            "details": dict(result.details),
            "commit": head_commit(self.loaded.root),
            "at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        }
        with contextlib.suppress(OSError, TypeError, ValueError):
            write_entry(self.dir, key, entry)
        with self._lock:
            due, self._pruned = not self._pruned, True
        if due:
            prune(self.dir)


def entry_path(directory: Path, key: str) -> Path:
    return directory / f"{key}.json"


def write_entry(directory: Path, key: str, entry: Mapping[str, Any]) -> None:
    """Atomically: a reader sees the old entry, the new one, or none, never half of one."""
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# mergegate's result cache: never committed\n*\n", encoding="utf-8")
    text = json.dumps(entry, ensure_ascii=True, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, entry_path(directory, key))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_entry(directory: Path, key: str) -> Entry | None:
    """The entry under ``key`` if it is whole, ours and really for ``key``; else None."""
    try:
        data = json.loads(entry_path(directory, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("format") != FORMAT or data.get("mergegate") != __version__:
        return None
    if data.get("key") != key:
        return None
    reason, details, commit, at = (data.get(k) for k in ("reason", "details", "commit", "at"))
    if not isinstance(reason, str) or not isinstance(details, dict) or not isinstance(at, str):
        return None
    if commit is not None and not isinstance(commit, str):
        return None
    return Entry(key, reason, details, commit, at)


def touch(directory: Path, key: str) -> None:
    """Mark an entry used now; an entry another run just pruned is simply gone."""
    with contextlib.suppress(OSError):
        os.utime(entry_path(directory, key), follow_symlinks=False)


# -- pruning --------------------------------------------------------------------------


def prune(directory: Path, now: float | None = None, cap: int = MAX_ENTRIES) -> int:
    """Remove entries unused for MAX_AGE, then the least recently used beyond ``cap``.

    Only regular files named like an entry (or a killed write's temp file) are removed,
    through a descriptor of the directory: a symlink is never followed or removed, a
    subdirectory never entered. Another run pruning or writing at the same time only
    turns an entry into a miss. Returns how many files were removed; never raises.
    """
    now = time.time() if now is None else now
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        return sum(_unlink_if_same(fd, name, mtime) for name, mtime in _doomed(fd, now, cap))
    finally:
        os.close(fd)


def _doomed(fd: int, now: float, cap: int) -> list[tuple[str, float]]:
    """(name, mtime) of each file to remove: stale temp files, old entries, then the excess."""
    entries, temps = _scan(fd)
    old = [(n, m) for n, m in entries if now - m > MAX_AGE]
    recent = sorted(((n, m) for n, m in entries if now - m <= MAX_AGE), key=lambda e: -e[1])
    stale = [(n, m) for n, m in temps if now - m > STALE_TMP]
    return stale + old + recent[cap:]


def _scan(fd: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The directory's entries and temp files, as (name, mtime); regular files only."""
    entries: list[tuple[str, float]] = []
    temps: list[tuple[str, float]] = []
    try:
        with os.scandir(fd) as listing:
            for item in listing:
                is_entry = ENTRY_NAME.match(item.name) is not None
                if not is_entry and not TMP_NAME.match(item.name):
                    continue  # not ours (.gitignore, anything a user put here): kept
                st = _lstat(item)
                if st is not None and stat.S_ISREG(st.st_mode):
                    (entries if is_entry else temps).append((item.name, st.st_mtime))
    except OSError:
        pass  # what was listed so far is still safe to judge
    return entries, temps


def _lstat(item: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return item.stat(follow_symlinks=False)
    except OSError:
        return None  # gone already: another run pruned it


def _unlink_if_same(fd: int, name: str, mtime: float) -> bool:
    """Remove ``name`` unless another run used or rewrote it since the scan."""
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_mtime != mtime:
            return False
        os.unlink(name, dir_fd=fd)
    except OSError:
        return False
    return True
