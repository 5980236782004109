"""Gates must not change the tree (DESIGN §3): tracked files at run start vs at the end.

Like pre-commit for hooks that rewrite files: a gate that fixes what it should
only check (``ruff check`` with ``fix = true``, ``eslint --fix``, a formatter)
must not pass. The snapshot is what ``git status`` says about tracked files
(each dirty file's status line, which carries its index entry, plus a digest of
its working-tree content) and HEAD. A working tree that was already dirty when
the run started is no false block: only a difference between the two snapshots
counts. Untracked files (reports, caches) never count.

When the tree changed, the run gets one more result, ``tree-unchanged`` (an
error, so it blocks and JUnit goes red), naming the files and, where a file's
modification time falls in exactly the time one or more gates ran, those gates.

Also here, because it must happen before the first gate starts too: the file
set the forbid gates scan is listed once (``LazyBase.files_to_commit``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mergegate.discovery import repo_top
from mergegate.errors import GitError
from mergegate.git import STATUS_ARGS, Started, git_bytes, git_text
from mergegate.record import record
from mergegate.results import Annotation, GateResult, RunResult, Status

if TYPE_CHECKING:
    from mergegate.git import LazyBase
    from mergegate.plan import Selection
    from mergegate.redact import Redactor
    from mergegate.spec import LoadedConfig

RESULT_NAME = "tree-unchanged"
RESULT_KIND = "tree"
NOT_A_REPO = "not a git repository"  # git's message (LC_ALL=C)
MTIME_SLACK = 0.05  # file times come from a coarse kernel clock; gate times from time.time()
SHOWN = 10  # files named in the one-line reason


@record(frozen=True)
class Entry:
    status: str  # the status line without its path: XY, modes, HEAD and index object names
    digest: str | None  # of the working-tree file; None when it does not exist


@record(frozen=True)
class Snapshot:
    head: str
    entries: Mapping[str, Entry]  # repository-relative path -> entry, dirty files only


@record(frozen=True)
class Change:
    path: str  # relative to the repository's top level
    what: str  # modified | deleted | staged or unstaged | restored
    gates: tuple[str, ...] = ()  # those running when the file was last written


@record
class Guard:
    """The state at run start; ``finish`` turns a difference into a blocking result."""

    root: Path
    active: bool = True  # False outside a git repository: nothing to guard
    before: Snapshot | None = None
    problem: str | None = None  # the snapshot could not be taken: fail closed at the end

    @property
    def commit(self) -> str | None:
        """HEAD when the run started (what was gated); None without a commit or a snapshot."""
        head = self.before.head if self.before else ""
        return head if head and not head.startswith("(") else None  # "(initial)": no commit

    def finish(self, run: RunResult, redactor: Redactor) -> RunResult:
        result = self._check(run)
        if result is None:
            return run
        from mergegate.runner import redact_result

        return replace(run, gates=(*run.gates, redact_result(result, redactor)))

    def _check(self, run: RunResult) -> GateResult | None:
        if not self.active:
            return None
        if self.problem is not None or self.before is None:
            return _error(run, f"the tree could not be snapshot at run start: {self.problem}")
        try:
            after = take(self.root)
            changes = diff(self.before, after)
            if not changes and self.before.head == after.head:
                return None
            top = top_level(self.root)
        except GitError as exc:
            return _error(run, f"the tree could not be compared after the run: {exc}")
        attributed = [attribute(c, top, run.gates) for c in changes]
        return _changed(run, attributed, self.before.head, after.head, _prefix(self.root, top))


def _prefix(root: Path, top: Path) -> str:
    """gates.yaml's directory relative to the top, for annotation paths."""
    try:
        rel = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"


# -- start --------------------------------------------------------------------------


def start(
    loaded: LoadedConfig, selection: Selection, base: LazyBase, status: Started | None = None
) -> Guard:
    """Before any gate starts: snapshot the tree, list the forbid file set.

    ``status`` is the snapshot's `git status` when the caller started it early.
    """
    guard = Guard(loaded.root)
    try:
        guard.before = take(loaded.root, status)
    except GitError as exc:
        if NOT_A_REPO in str(exc) and repo_top(loaded.root.resolve()) is None:
            guard.active = False
            return guard  # nothing to guard, nothing to list
        guard.problem = str(exc)  # a `.git` git cannot open (a moved worktree): fail closed
    if any(_kind(loaded, name) == "forbid" for name in selection.selected):
        with contextlib.suppress(GitError):  # cached: each forbid gate reports it
            base.files_to_commit()
    return guard


def _kind(loaded: LoadedConfig, name: str) -> str:
    return str(getattr(loaded.gates[name], "kind", "command"))


def top_level(root: Path) -> Path:
    """The repository's top level; GitError outside a work tree."""
    return Path(git_text(root, "rev-parse", "--show-toplevel"))


def plan_line(root: Path) -> str:
    """The dry run's word on the guard."""
    try:
        top_level(root)
    except GitError:
        return "tree: not a git repository — whether gates change files is not checked"
    return "tree: tracked files and the index are compared before and after the run"


# -- snapshots ----------------------------------------------------------------------


def take(root: Path, status: Started | None = None) -> Snapshot:
    """One `git status`; the top level is asked for only when there are files to hash."""
    head, listed = parse_status(status.bytes() if status else git_bytes(root, *STATUS_ARGS))
    if not listed:
        return Snapshot(head, {})
    top = top_level(root)  # status paths are relative to it
    entries = {path: Entry(status, digest(top / path)) for path, status in listed.items()}
    return Snapshot(head, entries)


def parse_status(data: bytes) -> tuple[str, dict[str, str]]:
    """(HEAD, {path: status line without the path}) from ``git status --porcelain=v2 -z``."""
    head = ""
    listed: dict[str, str] = {}
    fields = data.split(b"\0")
    skip = False
    for raw in fields:
        if skip or not raw:
            skip = False
            continue
        line = raw.decode("utf-8", "surrogateescape")
        if line.startswith("# branch.oid "):
            head = line.removeprefix("# branch.oid ")
            continue
        cut = {"1": 8, "2": 9, "u": 10}.get(line[:1])
        if cut is None:
            continue  # headers, untracked (not asked for), ignored
        parts = line.split(" ", cut)
        listed[parts[cut]] = " ".join(parts[:cut])
        skip = line.startswith("2")  # a rename's original path follows in its own field
    return head, listed


def digest(path: Path) -> str | None:
    """What the working tree holds at ``path``: content hash, link text, or None."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return f"mode:{stat.S_IFMT(info.st_mode):o}"  # a submodule's directory
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    return f"{oct(info.st_mode & 0o777)}:{sha.hexdigest()}"


def diff(before: Snapshot, after: Snapshot) -> list[Change]:
    changes = []
    for path in sorted(before.entries.keys() | after.entries.keys()):
        old, new = before.entries.get(path), after.entries.get(path)
        if old != new:
            changes.append(Change(path, _what(old, new)))
    return changes


def _what(old: Entry | None, new: Entry | None) -> str:
    if new is None:
        return "restored to HEAD"  # a gate ran `git checkout`/`git stash` on a dirty file
    if new.digest is None:
        return "deleted"
    if _index_side(old) != _index_side(new):
        return "staged (the index changed)"
    return "modified"


def _index_side(entry: Entry | None) -> str:
    """The part of a status line that describes the index entry ("." when it matches HEAD)."""
    if entry is None:
        return "."
    parts = entry.status.split(" ")
    if parts[0] != "1":
        return entry.status  # unmerged or renamed: compared whole
    return "." if parts[1].startswith(".") else f"{parts[1][:1]} {parts[4]} {parts[7]}"


# -- attribution ----------------------------------------------------------------------


def attribute(change: Change, top: Path, gates: Sequence[GateResult]) -> Change:
    """The gates that were running when the file was last written, if that tells."""
    try:
        mtime = os.lstat(top / change.path).st_mtime
    except OSError:
        return change  # deleted: no time to go by
    running = _running_at(gates, mtime, 0.0) or _running_at(gates, mtime, MTIME_SLACK)
    return replace(change, gates=running)


def _running_at(gates: Sequence[GateResult], when: float, slack: float) -> tuple[str, ...]:
    return tuple(
        g.name
        for g in gates
        if g.started is not None and g.started - slack <= when <= g.started + g.duration + slack
    )


# -- the result -----------------------------------------------------------------------


def _changed(
    run: RunResult, changes: Sequence[Change], head_before: str, head_after: str, prefix: str
) -> GateResult:
    words = [_describe(c) for c in changes]
    if head_before != head_after:
        words.insert(0, f"HEAD moved from {head_before[:12]} to {head_after[:12]}")
    shown = "; ".join(words[:SHOWN]) + (
        f"; … and {len(words) - SHOWN} more" if len(words) > SHOWN else ""
    )
    culprits = sorted({g for c in changes for g in c.gates})
    return GateResult(
        name=_name(run),
        kind=RESULT_KIND,
        status=Status.ERROR,
        blocking=True,
        duration=0.0,
        reason=f"gates changed the tree: {shown}",
        details={
            "files": [{"path": c.path, "change": c.what, "gates": list(c.gates)} for c in changes],
            "head": {"before": head_before, "after": head_after},
            "gates": culprits,
        },
        output_tail="\n".join([*words, NEXT_STEP]) + "\n",
        annotations=tuple(_annotation(c, prefix) for c in changes if c.path.startswith(prefix)),
    )


NEXT_STEP = (
    "next: a gate must only check, never fix: use its check mode (`ruff check --no-fix`, "
    "`ruff format --check`, `eslint` without `--fix`, `prettier --check`), run the fixer "
    "yourself and commit the result, then run the gates again"
)


def _describe(change: Change) -> str:
    if not change.gates:
        return f"{change.path} {change.what}"
    return f"{change.path} {change.what} (while {', '.join(change.gates)} ran)"


def _annotation(change: Change, prefix: str) -> Annotation:
    by = f" by {' or '.join(change.gates)}" if change.gates else ""
    return Annotation(
        f"{change.what}{by} during the run: gates must not change the tree",
        path=change.path.removeprefix(prefix),
    )


def _error(run: RunResult, reason: str) -> GateResult:
    return GateResult(_name(run), RESULT_KIND, Status.ERROR, True, 0.0, reason)


def _name(run: RunResult) -> str:
    """``tree-unchanged``, unless the project has a gate of that name already."""
    names = {g.name for g in run.gates}
    return RESULT_NAME if RESULT_NAME not in names else f"mergegate-{RESULT_NAME}"
