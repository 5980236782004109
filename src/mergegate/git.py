"""Every git question mergegate asks: base resolution, changed files, files at a ref.

Paths in and out are POSIX paths relative to ``root`` (the directory of
gates.yaml), which may sit below the repository's top level.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mergegate.errors import GitError

FETCH_HINT = (
    "fetch it first: in GitHub Actions use actions/checkout with `fetch-depth: 0`; "
    "locally `git fetch origin main` (or pass --base REF)"
)


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
    return env


def git_bytes(root: Path, *args: str, ok_codes: Sequence[int] = (0,)) -> bytes:
    """Run ``git -C root ARGS`` and return stdout; GitError names the command on failure."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_git_env(),
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    if proc.returncode not in ok_codes:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = msg[-1] if msg else f"exit {proc.returncode}"
        raise GitError(f"`git {' '.join(args)}` failed: {tail}")
    return proc.stdout


def git_text(root: Path, *args: str) -> str:
    return git_bytes(root, *args).decode("utf-8", "surrogateescape").strip()


def _nul_split(data: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in data.split(b"\0") if p]


def head_commit(root: Path) -> str | None:
    try:
        return git_text(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}") or None
    except GitError:
        return None


def rev_parse(root: Path, ref: str) -> str | None:
    """The commit sha ``ref`` names, or None when it does not resolve."""
    out = git_bytes(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok_codes=(0, 1))
    sha = out.decode().strip()
    return sha or None


@dataclass(frozen=True)
class Base:
    ref: str  # as given: origin/main
    sha: str  # the merge-base of ref and HEAD: what the change started from
    source: str  # where the ref came from: --base, GITHUB_BASE_REF, gates.yaml, default


def choose_base_ref(
    cli_base: str | None, config_base: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    """DESIGN §4 order; returns (ref or None for the default search, source)."""
    if cli_base:
        return cli_base, "--base"
    if environ.get("GITHUB_BASE_REF"):
        return f"origin/{environ['GITHUB_BASE_REF']}", "GITHUB_BASE_REF"
    if config_base:
        return config_base, "gates.yaml base"
    return None, "default"


def resolve_base(
    root: Path, cli_base: str | None, config_base: str | None, environ: Mapping[str, str]
) -> Base:
    ref, source = choose_base_ref(cli_base, config_base, environ)
    if head_commit(root) is None:
        raise GitError(f"{root} is not a git repository with a commit; a base cannot be resolved")
    candidates = [ref] if ref else ["origin/main", "main"]
    for cand in candidates:
        sha = rev_parse(root, cand)
        if sha is None:
            continue
        try:
            merge_base = git_text(root, "merge-base", sha, "HEAD")
        except GitError as exc:
            raise GitError(
                f"base ref {cand!r} has no common history with HEAD (shallow clone?); {FETCH_HINT}"
            ) from exc
        return Base(cand, merge_base, source)
    named = ref or "origin/main or main"
    raise GitError(f"base ref {named} does not resolve; {FETCH_HINT}")


class LazyBase:
    """Resolves the base once, on first use, for every gate that asks (thread-safe).

    A failure is cached too, so every gate that needs the base reports the same error.
    """

    def __init__(
        self,
        root: Path,
        cli_base: str | None,
        config_base: str | None,
        environ: Mapping[str, str],
    ) -> None:
        self.root = root
        self.requested, _ = choose_base_ref(cli_base, config_base, environ)
        self._args = (cli_base, config_base, dict(environ))
        self._lock = threading.Lock()
        self._value: Base | GitError | None = None
        self._changed: list[str] | None = None

    def get(self) -> Base:
        with self._lock:
            if self._value is None:
                try:
                    self._value = resolve_base(self.root, *self._args)
                except GitError as exc:
                    self._value = exc
            value = self._value
        if isinstance(value, GitError):
            raise value
        return value

    def peek(self) -> Base | None:
        """The base if it resolves, without raising."""
        try:
            return self.get()
        except GitError:
            return None

    def changed_files(self) -> list[str]:
        base = self.get()
        with self._lock:
            if self._changed is None:
                self._changed = changed_files(self.root, base.sha)
            return list(self._changed)


def changed_files(root: Path, base_sha: str) -> list[str]:
    """Files that differ between ``base_sha`` and the working tree, plus untracked ones."""
    diff = git_bytes(
        root, "diff", "--name-only", "-z", "--no-renames", "--relative", base_sha, "--"
    )
    untracked = git_bytes(root, "ls-files", "-z", "--others", "--exclude-standard")
    return sorted(set(_nul_split(diff)) | set(_nul_split(untracked)))


def candidate_files(root: Path) -> list[str]:
    """Files git tracks below root, plus untracked files it does not ignore."""
    out = git_bytes(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted(set(_nul_split(out)))


def show_file(root: Path, ref: str, path: str) -> bytes | None:
    """Contents of ``path`` (relative to root) at ``ref``; None when it does not exist there."""
    spec = f"{ref}:./{path}"
    exists = subprocess.run(
        ["git", "-C", str(root), "cat-file", "-e", spec],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_git_env(),
        check=False,
    )
    if exists.returncode != 0:
        if rev_parse(root, ref) is None:
            raise GitError(f"ref {ref!r} does not resolve; {FETCH_HINT}")
        return None
    return git_bytes(root, "show", spec)


def archive_to(root: Path, ref: str, dest: Path) -> None:
    """Extract the tree at ``ref`` below root (not the whole repository) into dest."""
    import io
    import tarfile

    prefix = git_text(root, "rev-parse", "--show-prefix")
    data = git_bytes(root, "archive", "--format=tar", f"{ref}:{prefix}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
