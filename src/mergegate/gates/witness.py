"""kind: witness — the files under `paths` must match the newest signed manifest entry.

It blocks on any verification problem (changed, missing, extra, unsafe,
bad-manifest, signature, chain), a missing or unreadable manifest (error), and
with ``require_new_entry`` when the manifest has no entry beyond those at base
(the new entries must extend the base's chain, not rewrite it).

The trusted ``public_key`` is read from the base ref, so a change cannot swap
the key that judges it: a key absent at base is an error, and so is a base that
does not resolve (never a fall-back to the working tree's key, which the change
controls). The key is read at the base branch's tip, not at the fork point, so a
key revoked on the base since the change forked no longer judges it. The details
say which base the key came from.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from mergegate import git
from mergegate.errors import GitError
from mergegate.gates import GateContext, PlanContext, PlanInfo
from mergegate.record import record
from mergegate.results import Annotation, Outcome, Status
from mergegate.spec import GateSpec
from mergegate.witness import WitnessError
from mergegate.witness.details import EntryDetails, WitnessDetails
from mergegate.witness.keys import PublicKey, public_key_from_pem
from mergegate.witness.manifest import (
    MAX_MANIFEST_BYTES,
    Envelope,
    Layout,
    ManifestError,
    parse_manifest,
    parse_statement,
)
from mergegate.witness.tree import StopCheck, Stopped, read_regular
from mergegate.witness.verify import (
    Problem,
    Report,
    counts,
    group,
    next_step,
    problem_lines,
    verify,
)

DETAIL_CAP = 50  # problems kept per class in the JSON details
ANNOTATION_CAP = 20
SIGN_HINT = 'mergegate witness sign -m "merge: #<PR> — <description>"'


@record(frozen=True)
class TrustedKey:
    key: PublicKey | None
    source: str | None  # "base origin/main (abc123…)" | None


def layout_of(ctx: GateContext[WitnessGate] | PlanContext[WitnessGate]) -> Layout:
    return Layout(ctx.root, ctx.gate.manifest, tuple(ctx.gate.paths))


def run(ctx: GateContext[WitnessGate]) -> Outcome:
    try:
        return _decide(ctx)
    except Stopped as exc:
        status = Status.ERROR if ctx.cancel.is_set() else Status.TIMEOUT
        return Outcome(status, f"stopped while hashing the footprint: {exc}")
    except ManifestError as exc:
        return Outcome.error(
            f"the manifest cannot be read: {exc}; restore it from the base branch, then {SIGN_HINT}"
        )
    except (WitnessError, GitError) as exc:
        return Outcome.error(str(exc))


def _stop_check(ctx: GateContext[WitnessGate]) -> StopCheck:
    def check() -> str | None:
        if ctx.cancel.is_set():
            return "cancelled"
        if ctx.remaining <= 0:
            return f"timed out after {ctx.timeout:g}s"
        return None

    return check


def _decide(ctx: GateContext[WitnessGate]) -> Outcome:
    layout = layout_of(ctx)
    base = ctx.base.get() if ctx.gate.require_new_entry else None  # before any hashing
    trusted = trusted_key(ctx)
    data = read_regular(layout.root, layout.manifest, MAX_MANIFEST_BYTES, "manifest")
    if data is None:
        return Outcome.error(
            f"the manifest {layout.manifest} does not exist: create it with "
            f"{SIGN_HINT} and commit it with {layout.markdown}"
        )
    report = verify(layout, data, trusted.key, stop=_stop_check(ctx))
    problems = list(report.problems)
    details = _details(ctx, report, trusted)
    if base is not None:
        entries = parse_manifest(data, layout.manifest)
        new, problem = new_entries(ctx, base, entries)
        details["base"] = {"ref": base.ref, "sha": base.sha, "entries": len(entries) - new}
        details["new_entries"] = new
        if problem is not None:
            problems.insert(0, problem)
    return _outcome(layout, report, problems, details)


def trusted_key(ctx: GateContext[WitnessGate]) -> TrustedKey:
    """The key read from the base ref; never the working tree's, which the change controls."""
    rel = ctx.gate.public_key
    if rel is None:
        return TrustedKey(None, None)
    try:
        base = ctx.base.get()
    except GitError as exc:
        raise WitnessError(
            f"public_key {rel} is trusted only as it is on the base ref, and no base resolves "
            f"(the change's own copy could be the attacker's): {exc}"
        ) from None
    tip = key_commit(ctx.root, base)
    data = git.show_file(ctx.root, tip, rel)
    if data is None:
        raise WitnessError(
            f"public_key {rel} does not exist at base {base.ref} ({tip[:12]}): the key "
            f"that judges a change must already be on {base.ref}; merge the key first"
        )
    source = f"base {base.ref} ({tip[:12]})"
    return TrustedKey(public_key_from_pem(data, f"{rel} at {source}"), source)


def key_commit(root: Path, base: git.Base) -> str:
    """The base ref's tip, not the fork point: a key rotated (revoked) on the base branch
    after the change forked must judge it."""
    tip = git.rev_parse(root, base.ref)
    if tip is None:
        raise GitError(f"base ref {base.ref} no longer resolves; {git.fetch_hint(base.ref)}")
    return tip


def new_entries(
    ctx: GateContext[WitnessGate], base: git.Base, head: Sequence[Envelope]
) -> tuple[int, Problem | None]:
    """How many entries HEAD adds to the base's manifest, and the problem if that is wrong."""
    manifest = ctx.gate.manifest
    data = git.show_file(ctx.root, base.sha, manifest)
    try:
        old = parse_manifest(data, f"{manifest} at {base.ref}") if data is not None else []
    except ManifestError as exc:
        raise WitnessError(f"cannot tell which entries are new: {exc}") from None
    old_digests, new_digests = [e.digest for e in old], [e.digest for e in head]
    if new_digests[: len(old_digests)] != old_digests:
        at = next(
            (i for i, (a, b) in enumerate(zip(old_digests, new_digests, strict=False)) if a != b),
            min(len(old_digests), len(new_digests)),
        )
        return 0, Problem(
            "new-entry",
            f"the manifest rewrites the history it had at {base.ref}: "
            f"entry #{at + 1} differs or was removed; new entries must be appended",
        )
    added = len(new_digests) - len(old_digests)
    if added == 0:
        return 0, Problem(
            "new-entry",
            f"no manifest entry was added since {base.ref} "
            f"({base.sha[:12]}); record this change: {SIGN_HINT}",
        )
    return added, None


def _details(ctx: GateContext[WitnessGate], report: Report, trusted: TrustedKey) -> dict[str, Any]:
    details: WitnessDetails = {  # the names the reports read (witness/details.py)
        "manifest": ctx.gate.manifest,
        "paths": list(ctx.gate.paths),
        "entries": report.entries,
        "newest": cast("EntryDetails", report.newest.to_dict()),
        "previous": cast("EntryDetails", report.previous.to_dict()) if report.previous else None,
        "signature": report.signature,
        "public_key": ctx.gate.public_key,
        "key_source": trusted.source,
        "trusted_keyid": trusted.key.keyid if trusted.key else None,
        "files": report.files,
    }
    return dict(details)


def _annotations(layout: Layout, problems: Sequence[Problem]) -> tuple[Annotation, ...]:
    notes = []
    for problem in problems[:ANNOTATION_CAP]:
        on_file = problem.kind in ("changed", "missing", "extra", "unsafe")
        path = problem.path if on_file else layout.manifest
        notes.append(Annotation(f"witness {problem.kind}: {problem.message}", path=path))
    return tuple(notes)


def _outcome(
    layout: Layout, report: Report, problems: list[Problem], details: dict[str, Any]
) -> Outcome:
    details["problems"] = {
        k: [p.to_dict() for p in v[:DETAIL_CAP]] for k, v in group(problems).items()
    }
    details["problem_counts"] = {k: len(v) for k, v in group(problems).items()}
    if not problems and report.compared:
        newest = report.newest.statement
        message = f" ({newest.message})" if newest and newest.message else ""
        return Outcome.passed(
            f"{report.files} files under {layout.label} match entry #{report.entries}{message}; "
            f"{report.signature}",
            details=details,
        )
    lines = problem_lines(problems)
    return Outcome.failed(
        f"{counts(problems)}: {_first(problems)}",
        details=details,
        output_tail="\n".join([*lines, f"next: {next_step(problems)}"]) + "\n",
        annotations=_annotations(layout, problems),
    )


def _first(problems: Sequence[Problem], shown: int = 3) -> str:
    words = [
        f"{p.path} {p.kind}" if p.path and p.kind in ("changed", "missing", "extra") else p.message
        for p in problems[:shown]
    ]
    more = f" (+{len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(words) + more


# -- dry run ----------------------------------------------------------------------


def plan(ctx: PlanContext[WitnessGate]) -> PlanInfo:
    layout = layout_of(ctx)
    gate = ctx.gate
    lines = [f"paths: {', '.join(layout.patterns)}"]
    problems: list[str] = []
    try:
        lines.append(_manifest_line(layout))
    except WitnessError as exc:
        problems.append(str(exc))
    if gate.public_key:
        lines.append(f"public key: {gate.public_key} (the copy on the base ref is trusted)")
        problems += _plan_key(ctx, gate.public_key)
    else:
        lines.append("public key: none (signatures are not required)")
    if gate.require_new_entry:
        lines.append("require_new_entry: the change must append an entry to the base's manifest")
        problems += _plan_base(ctx, "require_new_entry")
    return PlanInfo(lines=lines, problems=problems)


def _plan_base(ctx: PlanContext[WitnessGate], what: str) -> list[str]:
    try:
        ctx.base.get()
    except GitError as exc:
        return [f"{what} needs the base ref: {exc}"]
    return []


def _plan_key(ctx: PlanContext[WitnessGate], rel: str) -> list[str]:
    """What would make the key unusable: no base to read it from, or no key there."""
    problems = _plan_base(ctx, "public_key")
    if problems:
        return problems
    base = ctx.base.get()
    try:
        if git.show_file(ctx.root, key_commit(ctx.root, base), rel) is None:
            return [f"public key {rel} does not exist at base {base.ref}; merge the key first"]
    except GitError as exc:
        return [str(exc)]
    return []


def _manifest_line(layout: Layout) -> str:
    data = read_regular(layout.root, layout.manifest, MAX_MANIFEST_BYTES, "manifest")
    if data is None:
        raise WitnessError(f"manifest {layout.manifest} does not exist (run {SIGN_HINT})")
    entries = parse_manifest(data, layout.manifest)
    if not entries:
        raise WitnessError(f"manifest {layout.manifest} has no entries (run {SIGN_HINT})")
    try:
        newest = parse_statement(entries[-1].payload, f"entry #{len(entries)}")
    except ManifestError as exc:
        raise WitnessError(f"manifest {layout.manifest}: {exc}") from None
    commit = (newest.commit or "no commit")[:12]
    return (
        f"manifest: {layout.manifest}, {len(entries)} entries; newest #{len(entries)}: "
        f"{newest.timestamp} {commit} {newest.message!r} ({len(newest.subjects)} files)"
    )


# -- the kind's registration (mergegate.gates.Kind) -----------------------------------


@record(frozen=True)
class WitnessSpec(GateSpec):
    kind: ClassVar[str] = "witness"
    manifest: str = "verification.md.json"
    paths: tuple[str, ...] = ("dist/**",)
    require_new_entry: bool = False
    public_key: str | None = None


WitnessGate = WitnessSpec  # the name this module's code reads its spec by
SPEC: type[WitnessSpec] = WitnessSpec


@functools.cache
def model() -> type[GateBase]:
    """The pydantic model of this kind's gates.yaml entries (built when the validator asks)."""
    from typing import Literal

    from mergegate.config import GateBase, Globs, RelPath

    class WitnessGate(GateBase):
        kind: Literal["witness"]
        manifest: RelPath = "verification.md.json"
        paths: Globs = ("dist/**",)
        require_new_entry: bool = False
        public_key: RelPath | None = None

    return WitnessGate


if TYPE_CHECKING:
    from mergegate.config import GateBase
    from mergegate.gates import Kind
    from mergegate.gates import witness as _self

    _checked: Kind = _self
