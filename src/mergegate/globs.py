"""Glob patterns over POSIX paths relative to the project root.

The semantics of GitHub Actions path filters and .gitignore: `*` and `?` stay
within one path segment, `**` crosses segments (`dist/**` is everything under
dist, `**/*.py` every Python file at any depth, `**/x` also matches `x`),
`[abc]` is a character class. Patterns are anchored at the root.

A directory named plainly means everything below it, as in .gitignore: `src/`
is `src/**`, and `src` (no `*?[`) is the file `src` or everything below `src/`.
Read as a file name, `if_changed: src/` would never match and silently skip its
gate forever.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith(("!", "^"))  # both negate, as in git's wildmatch
                body = body[1:] if negate else body
                body = body.replace(chr(92), chr(92) * 2)
                out.append(f"[^/{body}]" if negate else f"[{body}]")  # never matches a `/`
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)  # a newline in a name is a character


_META = re.compile(r"[*?\[]")


@functools.lru_cache(maxsize=512)
def expand(pattern: str) -> tuple[str, ...]:
    """The globs a pattern stands for: `src/` -> src/**; `src` -> src and src/**."""
    pattern = pattern.removeprefix("./")
    if pattern.endswith("/"):
        return (pattern.rstrip("/") + "/**",)
    if pattern and not _META.search(pattern):
        return (pattern, pattern + "/**")
    return (pattern,)


def match(pattern: str, path: str) -> bool:
    return any(compile_glob(p).match(path) is not None for p in expand(pattern))


def match_any(patterns: Sequence[str], path: str) -> bool:
    return any(match(p, path) for p in patterns)


def filter_paths(
    paths: Iterable[str], include: Sequence[str], exclude: Sequence[str] = ()
) -> list[str]:
    return [p for p in paths if match_any(include, p) and not match_any(exclude, p)]


def could_match_below(pattern: str, directory: str) -> bool:
    """Whether a file below ``directory`` could match ``pattern`` (to prune a tree walk)."""
    return any(_could_match_below(p, directory) for p in expand(pattern))


def _could_match_below(pattern: str, directory: str) -> bool:
    parts = pattern.split("/")
    for index, name in enumerate(directory.split("/")):
        if index >= len(parts) - 1:
            return "**" in parts[-1]
        if "**" in parts[index]:
            return True
        if not match(parts[index], name):
            return False
    return True
