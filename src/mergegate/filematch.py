"""Files on disk that match gates.yaml globs: JUnit reports, smoke scripts.

These are files a build writes or a repository keeps, usually git-ignored, so
they are found by walking the directory tree, not by asking git. Patterns use
the semantics of ``mergegate.globs`` and are anchored at the project root. The
walk starts at each pattern's literal prefix, descends only into directories
that could hold a match, never enters ``.git`` and never follows a symlinked
directory (no loops, no escape). A matching symlink is accepted when it
resolves to a regular file inside the project; one pointing outside it, a FIFO,
a socket or a device is refused with a message, never opened.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mergegate import globs

MAX_DEPTH = 64
_META = re.compile(r"[*?\[]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Match:
    rel: str  # POSIX path relative to the root, as the user sees it
    path: Path  # the file to open (a symlink already resolved and checked)


@dataclass(frozen=True)
class Found:
    files: tuple[Match, ...] = ()  # sorted by rel, each once
    refused: tuple[str, ...] = ()  # "rel: why" for matches that must not be used


def find(root: Path, patterns: Sequence[str]) -> Found:
    """Every file under ``root`` matching one of ``patterns``."""
    real_root = root.resolve()
    walker = _Walker(root, real_root, tuple(p.removeprefix("./") for p in patterns))
    for pattern in walker.patterns:
        for glob in globs.expand(pattern):  # `dir/` is dir/**, as everywhere
            walker.search(glob)
    files = tuple(sorted(walker.files.values(), key=lambda m: m.rel))
    return Found(files, tuple(walker.refused[k] for k in sorted(walker.refused)))


class _Walker:
    def __init__(self, root: Path, real_root: Path, patterns: tuple[str, ...]) -> None:
        self.root = root
        self.real_root = real_root
        self.patterns = patterns
        self.files: dict[str, Match] = {}
        self.refused: dict[str, str] = {}

    def search(self, pattern: str) -> None:
        segments = pattern.split("/")
        literal = []
        for segment in segments:
            if _META.search(segment):
                break
            literal.append(segment)
        if len(literal) == len(segments):
            self.consider(pattern, self.root / pattern)
            return
        start = "/".join(literal)
        top = self.root / start if start else self.root
        if not top.is_dir():
            return
        if self.inside(top):
            self.walk(top, start, pattern, len(literal))
        else:
            self.refused[start] = f"{start}: a symlink to a directory outside the project"

    def walk(self, directory: Path, rel: str, pattern: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.refused[rel] = f"{rel}: nested deeper than {MAX_DEPTH} directories; not searched"
            return
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return  # unreadable or gone: it holds nothing we can use
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git" and globs.could_match_below(pattern, path):
                    self.walk(Path(entry.path), path, pattern, depth + 1)
            elif globs.match(pattern, path):
                self.consider(path, Path(entry.path))

    def consider(self, rel: str, path: Path) -> None:
        if rel in self.files or rel in self.refused:
            return
        shown = rel if not _CONTROL.search(rel) else ascii(rel)
        if shown != rel:
            self.refused[rel] = f"{shown}: control characters in the file name"
            return
        try:
            info = path.lstat()
        except OSError:
            return  # not there: matches nothing
        if stat.S_ISLNK(info.st_mode):
            self.consider_link(rel, path)
        elif not stat.S_ISREG(info.st_mode):
            if not stat.S_ISDIR(info.st_mode):
                self.refused[rel] = f"{rel}: {file_kind(info.st_mode)}, not a regular file"
        elif self.inside(path):
            self.files[rel] = Match(rel, path)
        else:  # reached through a symlinked directory named in the pattern
            self.refused[rel] = f"{rel}: resolves to {path.resolve()}, outside the project"

    def consider_link(self, rel: str, path: Path) -> None:
        try:
            target = path.resolve(strict=True)
            info = target.stat()
        except (OSError, RuntimeError):
            self.refused[rel] = f"{rel}: a broken symlink"
            return
        if not self.inside(target):
            self.refused[rel] = f"{rel}: a symlink to {target}, outside the project"
        elif stat.S_ISREG(info.st_mode):
            self.files[rel] = Match(rel, target)
        elif not stat.S_ISDIR(info.st_mode):
            self.refused[rel] = f"{rel}: a symlink to a {file_kind(info.st_mode)}"

    def inside(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.real_root)


def file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"
