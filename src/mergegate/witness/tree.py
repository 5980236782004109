"""The safe walk: find and hash the footprint's files without following a symlink.

Every directory is opened relative to its parent's descriptor with
``O_NOFOLLOW | O_DIRECTORY`` and every file with ``O_NOFOLLOW | O_NONBLOCK``
then checked with ``fstat``: a path swapped for a symlink or a FIFO between
listing and opening is caught, never followed, never blocked on. Paths come
only from the directory listing, never from a manifest. What cannot be hashed
safely (symlinks, FIFOs, sockets, devices, names that do not round-trip) is
reported as unsafe instead.

Hashing uses ``hashlib.file_digest`` (OpenSSL, SHA extensions); files of
``LARGE_FILE`` bytes or more go to a small thread pool, since hashlib releases
the GIL on large buffers.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mergegate import globs
from mergegate.filematch import file_kind
from mergegate.witness import WitnessError

LARGE_FILE = 4 * 1024 * 1024
MAX_DEPTH = 128
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

StopCheck = Callable[[], str | None]  # a reason to stop (deadline, cancel), or None


class Stopped(WitnessError):
    """The walk was stopped by its caller (deadline or cancellation)."""


@dataclass(frozen=True)
class Unsafe:
    path: str
    why: str


@dataclass(frozen=True)
class Footprint:
    files: Mapping[str, str]  # relative POSIX name -> sha256 hex
    unsafe: tuple[Unsafe, ...] = ()
    total_bytes: int = 0


def name_problem(name: str) -> str | None:
    """Why a path component cannot round-trip through the manifest, or None."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        return "its name is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "its name contains a control character (newline, tab, NUL, …)"
    if "\\" in name:
        return "its name contains a backslash"
    return None


def display_name(path: str) -> str:
    """A path safe to print: control bytes and undecodable bytes escaped."""
    if path.isprintable():
        return path
    return path.encode("unicode_escape", "backslashreplace").decode("ascii")


def could_contain(patterns: Sequence[str], directory: str) -> bool:
    """True unless no pattern can match anything below ``directory``."""
    return any(globs.could_match_below(p, directory) for p in patterns)


def _kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink (not followed)"
    return file_kind(mode)


def hash_fd(fd: int) -> str:
    """sha256 of an open file descriptor, which this closes."""
    with os.fdopen(fd, "rb", buffering=0) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass
class _Walk:
    patterns: Sequence[str]
    exclude: frozenset[str]
    stop: StopCheck | None
    workers: int
    files: dict[str, str] = field(default_factory=dict)
    unsafe: list[Unsafe] = field(default_factory=list)
    total: int = 0
    _pool: ThreadPoolExecutor | None = None
    _slots: threading.BoundedSemaphore | None = None
    _pending: list[tuple[str, Future[str]]] = field(default_factory=list)

    def matches(self, path: str) -> bool:
        return path not in self.exclude and globs.match_any(self.patterns, path)

    def check_stop(self) -> None:
        reason = self.stop() if self.stop else None
        if reason:
            raise Stopped(reason)

    def walk(self, dfd: int, rel: str, depth: int) -> None:
        self.check_stop()
        with os.scandir(dfd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            self.visit(dfd, entry, path, depth)

    def visit(self, dfd: int, entry: os.DirEntry[str], path: str, depth: int) -> None:
        if entry.is_symlink():
            if self.matches(path) or could_contain(self.patterns, path):
                self.unsafe.append(Unsafe(path, "a symlink (not followed)"))
        elif entry.is_dir(follow_symlinks=False):
            if (path != ".git") and could_contain(self.patterns, path):
                self.descend(dfd, entry.name, path, depth)
        elif entry.is_file(follow_symlinks=False):
            if self.matches(path):
                self.take_file(dfd, entry.name, path)
        elif self.matches(path) or could_contain(self.patterns, path):
            mode = entry.stat(follow_symlinks=False).st_mode
            self.unsafe.append(Unsafe(path, _kind_of(mode)))

    def descend(self, dfd: int, name: str, path: str, depth: int) -> None:
        if (why := name_problem(name)) or depth >= MAX_DEPTH:
            self.unsafe.append(Unsafe(path, why or f"nested deeper than {MAX_DEPTH} directories"))
            return
        try:
            child = os.open(name, _DIR_FLAGS, dir_fd=dfd)
        except OSError as exc:
            self.opening_failed(path, exc)
            return
        try:
            self.walk(child, path, depth + 1)
        finally:
            os.close(child)

    def opening_failed(self, path: str, exc: OSError) -> None:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
            self.unsafe.append(Unsafe(path, "replaced by a symlink or special file while walking"))
        elif exc.errno == errno.ENOENT:
            return  # removed while walking: it is simply not there
        else:
            raise WitnessError(f"cannot read {path}: {exc.strerror}") from None

    def take_file(self, dfd: int, name: str, path: str) -> None:
        if why := name_problem(name):
            self.unsafe.append(Unsafe(path, why))
            return
        self.check_stop()
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dfd)
        except OSError as exc:
            self.opening_failed(path, exc)
            return
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            self.unsafe.append(Unsafe(path, _kind_of(info.st_mode)))
            return
        self.total += info.st_size
        if info.st_size >= LARGE_FILE and self.workers > 1:
            self.submit(path, fd)
        else:
            self.files[path] = self.hashed(path, fd)

    def hashed(self, path: str, fd: int) -> str:
        try:
            return hash_fd(fd)
        except OSError as exc:
            raise WitnessError(f"cannot read {path}: {exc.strerror}") from None

    def submit(self, path: str, fd: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="witness-hash")
            self._slots = threading.BoundedSemaphore(self.workers * 2)  # bounds open fds
        assert self._slots is not None
        self._slots.acquire()
        slots = self._slots

        def job() -> str:
            try:
                return self.hashed(path, fd)
            finally:
                slots.release()

        self._pending.append((path, self._pool.submit(job)))

    def shutdown(self) -> None:
        """Wait for the pool, always: every submitted job closes its descriptor."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def collect(self) -> None:
        for path, future in self._pending:
            self.files[path] = future.result()


def default_workers() -> int:
    return min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def scan(
    root: Path,
    patterns: Sequence[str],
    *,
    exclude: Iterable[str] = (),
    stop: StopCheck | None = None,
    workers: int | None = None,
) -> Footprint:
    """Hash every regular file under root matching patterns; report what is unsafe."""
    walk = _Walk(list(patterns), frozenset(exclude), stop, workers or default_workers())
    try:
        top = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)  # the root itself comes from config
    except OSError as exc:
        raise WitnessError(f"cannot open the project root {root}: {exc.strerror}") from None
    try:
        walk.walk(top, "", 0)
    finally:
        os.close(top)
        walk.shutdown()
    walk.collect()
    files = dict(sorted(walk.files.items()))
    return Footprint(files, tuple(sorted(walk.unsafe, key=lambda u: u.path)), walk.total)


def read_regular(root: Path, rel: str, limit: int, what: str) -> bytes | None:
    """A file named by configuration, read without following a symlink; None if absent."""
    parts = [p for p in rel.removeprefix("./").split("/") if p not in ("", ".")]
    if not parts:
        raise WitnessError(f"{what} path is empty")
    try:
        fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError as exc:
        raise WitnessError(f"cannot open the project root {root}: {exc.strerror}") from None
    try:
        for part in parts[:-1]:
            nxt = _open_or_none(part, _DIR_FLAGS, fd, rel, what)
            if nxt is None:
                return None
            os.close(fd)
            fd = nxt
        file_fd = _open_or_none(parts[-1], _FILE_FLAGS, fd, rel, what)
    finally:
        os.close(fd)
    if file_fd is None:
        return None
    with os.fdopen(file_fd, "rb", buffering=0) as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise WitnessError(f"{what} {rel} is not a regular file")
        return _read_bounded(fh, limit, f"{what} {rel}")


def _read_bounded(fh: BinaryIO, limit: int, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= limit and (chunk := fh.read(min(1 << 20, limit + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise WitnessError(f"{what} is larger than {limit} bytes")
    return b"".join(chunks)


def _open_or_none(name: str, flags: int, dfd: int, rel: str, what: str) -> int | None:
    try:
        return os.open(name, flags, dir_fd=dfd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise WitnessError(
                f"{what} {rel} is (or is under) a symlink or not a directory: refusing to follow it"
            ) from None
        raise WitnessError(f"cannot read {what} {rel}: {exc.strerror}") from None
