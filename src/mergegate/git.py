"""Every git question mergegate asks: base resolution, changed files, files at a ref.

This is the only module that runs git, and every call has a deadline
(``GIT_TIMEOUT``; git runs in its own session so a hung one is killed with
whatever it started). Paths in and out are POSIX paths relative to ``root``
(the directory of gates.yaml), which may sit below the repository's top level.

The base (DESIGN §4) is resolved lazily, once, by ``LazyBase``: only a gate
that needs it pays for the git calls, and reports use what was resolved.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from mergegate.errors import GitError
from mergegate.proctree import OWN_PIDS, SPAWN_LOCK, TOKEN_VAR
from mergegate.record import record

FETCH_HINT = (
    "name one with --base REF or `base:` in gates.yaml, or fetch it: in GitHub Actions "
    "use actions/checkout with `fetch-depth: 0`; locally `git fetch origin`"
)


def fetch_hint(ref: str | None = None) -> str:
    """How to name or fetch a base; for `origin/NAME` the exact fetch command."""
    if ref and ref.startswith("origin/"):
        return FETCH_HINT.replace("`git fetch origin`", f"`git fetch origin {ref[7:]}`")
    return FETCH_HINT


# what the tree guard snapshots (treeguard.py); here so a run can start it first thing
STATUS_ARGS = (
    "status",
    "--porcelain=v2",
    "-z",
    "--branch",
    "--no-ahead-behind",
    "--no-renames",
    "--untracked-files=no",
)
GIT_TIMEOUT = 120.0  # seconds for one git command: generous, but a hung git never hangs a run
DEFAULT_CANDIDATES = ("origin/main", "main")  # after the remote's own HEAD (DESIGN §4)


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
    # marked as mergegate's own: the process manager stops untokened processes in other
    # sessions as leftovers of a command that just ended, and git runs in its own session
    env[TOKEN_VAR] = f"{env.get(TOKEN_VAR, '')} mergegate-git".strip()
    return env


_FOUND: dict[str, str] = {}  # PATH -> the git it holds


def _git_program(env: Mapping[str, str]) -> str:
    """The git on PATH, searched once per run: Popen would try every PATH entry before it
    (a failed exec in the child each), on each of a run's ten-odd git calls."""
    path = env.get("PATH", os.defpath)
    if path not in _FOUND:
        import shutil

        found = shutil.which("git", path=path)
        if found is None:
            return "git"  # Popen's own search says what is wrong
        _FOUND[path] = found
    return _FOUND[path]


def _spawn_git(root: Path, args: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start git in its own session (GitError when there is no git)."""
    env = _git_env()
    try:
        with SPAWN_LOCK:  # until exec, the child has no token: no scan may see it before
            proc = subprocess.Popen(
                ["git", "-C", str(root), *args],
                executable=_git_program(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
            OWN_PIDS.add(proc.pid)  # its exit status is ours to collect, not a scan's
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    except OSError as exc:  # a `git` on PATH that cannot run (not executable, bad format)
        raise GitError(f"git could not be started: {exc.strerror or exc}") from exc
    return proc


def _collect(proc: subprocess.Popen[bytes], args: Sequence[str]) -> tuple[int, bytes, bytes]:
    """Wait for a started git; past GIT_TIMEOUT its whole group is killed (GitError)."""
    try:
        out, err = proc.communicate(timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GitError(
            f"`git {' '.join(args)}` did not finish within {GIT_TIMEOUT:g}s and was stopped"
        ) from None
    finally:
        with SPAWN_LOCK:
            OWN_PIDS.discard(proc.pid)
    return proc.returncode, out, err


def _run_git(root: Path, args: Sequence[str]) -> tuple[int, bytes, bytes]:
    return _collect(_spawn_git(root, args), args)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
    proc.communicate()  # the group is gone, so the pipes close


def _checked(args: Sequence[str], code: int, out: bytes, err: bytes, ok: Sequence[int]) -> bytes:
    if code not in ok:
        msg = err.decode("utf-8", "replace").strip().splitlines()
        tail = msg[-1] if msg else f"exit {code}"
        raise GitError(f"`git {' '.join(args)}` failed: {tail}")
    return out


def git_bytes(root: Path, *args: str, ok_codes: Sequence[int] = (0,)) -> bytes:
    """Run ``git -C root ARGS`` and return stdout; GitError names the command on failure."""
    return _checked(args, *_run_git(root, args), ok_codes)


class Started:
    """A git command started now and collected later: it runs while mergegate starts up.

    ``bytes``/``text`` give what ``git_bytes``/``git_text`` would have, errors
    included; ``close`` stops one nobody collected.
    """

    def __init__(self, root: Path, *args: str) -> None:
        self.args = args
        self._proc: subprocess.Popen[bytes] | None = None
        self._error: GitError | None = None
        self._result: tuple[int, bytes, bytes] | None = None
        try:
            self._proc = _spawn_git(root, args)
        except GitError as exc:
            self._error = exc

    def bytes(self, ok_codes: Sequence[int] = (0,)) -> bytes:
        if self._error is not None:
            raise self._error
        if self._result is None:
            assert self._proc is not None
            self._result = _collect(self._proc, self.args)
        return _checked(self.args, *self._result, ok_codes)

    def text(self) -> str:
        return self.bytes().decode("utf-8", "surrogateescape").strip()

    def close(self) -> None:
        if self._proc is not None and self._result is None and self._error is None:
            _kill_group(self._proc)
            with SPAWN_LOCK:
                OWN_PIDS.discard(self._proc.pid)
            self._error = GitError(f"`git {' '.join(self.args)}` was not waited for")


def git_text(root: Path, *args: str) -> str:
    return git_bytes(root, *args).decode("utf-8", "surrogateescape").strip()


def git_version() -> str:
    """`git --version` (for crash logs), or why it could not be read."""
    try:
        return git_text(Path.cwd(), "--version")
    except (GitError, OSError) as exc:
        return f"unknown ({exc})"


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


@record(frozen=True)
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


def remote_default(root: Path) -> str | None:
    """The remote's default branch as git records it (origin/HEAD -> origin/master), or None."""
    out = git_bytes(root, "symbolic-ref", "-q", "refs/remotes/origin/HEAD", ok_codes=(0, 1, 128))
    target = out.decode("utf-8", "surrogateescape").strip()
    return target.removeprefix("refs/remotes/") if target.startswith("refs/remotes/") else None


def default_candidates(root: Path) -> list[str]:
    """Where to look when no base was named: the remote's HEAD first, then the usual names."""
    found = remote_default(root)
    head = [found] if found else []
    return [*head, *(c for c in DEFAULT_CANDIDATES if c not in head)]


def resolve_base(
    root: Path,
    cli_base: str | None,
    config_base: str | None,
    environ: Mapping[str, str],
    head: str | None = None,
) -> Base:
    """DESIGN §4; ``head`` is HEAD's commit when the caller already knows it (one git call)."""
    ref, source = choose_base_ref(cli_base, config_base, environ)
    if head is None and head_commit(root) is None:
        raise GitError(f"{root} is not a git repository with a commit; a base cannot be resolved")
    candidates = [ref] if ref else default_candidates(root)
    for cand in candidates:
        sha = rev_parse(root, cand)
        if sha is None:
            continue
        try:
            merge_base = git_text(root, "merge-base", sha, "HEAD")
        except GitError as exc:
            raise GitError(
                f"base ref {cand!r} has no common history with HEAD (shallow clone?); "
                + fetch_hint(cand)
            ) from exc
        return Base(cand, merge_base, source)
    if ref:
        raise GitError(f"base ref {ref} (from {source}) does not resolve; {fetch_hint(ref)}")
    raise GitError(
        "no base ref: origin/HEAD is not set and neither origin/main nor main exists; " + FETCH_HINT
    )


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
        self._files: list[str] | GitError | None = None
        self.head: str | None = None  # HEAD's commit when the run knows it already

    def get(self) -> Base:
        with self._lock:
            if self._value is None:
                try:
                    self._value = resolve_base(self.root, *self._args, head=self.head)
                except GitError as exc:
                    self._value = exc
            value = self._value
        if isinstance(value, GitError):
            raise value
        return value

    def peek(self) -> Base | None:
        """The base if it resolves, without raising (resolves it when nobody has yet)."""
        try:
            return self.get()
        except GitError:
            return None

    def resolved(self) -> Base | None:
        """The base if a gate already resolved it; never runs git (reports use this)."""
        with self._lock:
            value = self._value
        return value if isinstance(value, Base) else None

    def changed_files(self) -> list[str]:
        base = self.get()
        with self._lock:
            if self._changed is None:
                self._changed = changed_files(self.root, base.sha)
            return list(self._changed)

    def files_to_commit(self) -> list[str]:
        """``candidate_files`` listed once per run: the first call (at run start) fixes the set.

        Gates that write files (reports, caches) while others scan cannot change what a
        later gate sees; GitError when git cannot tell (cached like the base's error).
        """
        with self._lock:
            if self._files is None:
                try:
                    self._files = candidate_files(self.root)
                except GitError as exc:
                    self._files = exc
            files = self._files
        if isinstance(files, GitError):
            raise files
        return list(files)


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
    """Contents of ``path`` (relative to root) at ``ref``; None when it does not exist there.

    Whether the path exists is read from the tree; its content must then be readable
    (a blobless clone whose lazy fetch fails, a corrupt object): GitError, never None.
    """
    return _read_object(root, ref, path, "blob")


def object_type(root: Path, ref: str, path: str) -> str | None:
    """``tree`` or ``blob`` for ``path`` (relative to root) at ``ref``; None when absent there.

    Like ``show_file``: absence is read from the tree, and an object that exists but
    cannot be read (a partial clone whose lazy fetch fails) is a GitError, never None.
    """
    data = _read_object(root, ref, path.rstrip("/"), "-t")
    return None if data is None else data.decode().strip()


def _read_object(root: Path, ref: str, path: str, how: str) -> bytes | None:
    """`git cat-file HOW` of the object at ``ref:path``; None only when the tree has none."""
    spec = f"{ref}:./{path}"
    out = git_bytes(root, "rev-parse", "--verify", "--quiet", spec, ok_codes=(0, 1))
    oid = out.decode().strip()
    if not oid:
        if rev_parse(root, ref) is None:
            raise GitError(f"ref {ref!r} does not resolve; {fetch_hint(ref)}")
        return None
    code, data, err = _run_git(root, ("cat-file", how, oid))
    if code != 0:
        raise GitError(f"{path} exists at {ref} but cannot be read: {_last_line(err, code)}")
    return data


def _last_line(err: bytes, code: int) -> str:
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"git exit {code}"
