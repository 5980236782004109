"""What will run: selection (--only/--skip/--shard), the needs graph, and the dry-run plan."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field

from mergegate.errors import UsageError
from mergegate.git import LazyBase
from mergegate.record import record
from mergegate.spec import GateSpec, LoadedConfig
from mergegate.words import span


@record(frozen=True)
class Selection:
    order: tuple[str, ...]  # every gate, config order
    selected: frozenset[str]
    why_not: Mapping[str, str] = field(default_factory=dict)  # unselected gate -> reason


def check_names(names: Iterable[str], known: Sequence[str], flag: str) -> None:
    for name in names:
        if name not in known:
            import difflib  # only for a mistyped name

            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(f"{flag}: unknown gate {name!r}{hint}; gates are {', '.join(known)}")


def needs_depths(graph: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """How many `needs` hops precede each gate, for an acyclic graph; no recursion."""
    depth: dict[str, int] = {}
    for root in graph:
        stack = [root]
        while stack:
            node = stack[-1]
            waiting = [n for n in graph.get(node, ()) if n not in depth]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            depth[node] = 1 + max((depth[n] for n in graph.get(node, ())), default=-1)
    return depth


def waves(needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Gates grouped by how many `needs` hops precede them (what can start together).

    ``needs`` maps each selected gate to what it needs; needs outside it are ignored.
    """
    graph = {name: [n for n in deps if n in needs] for name, deps in needs.items()}
    grouped: dict[int, list[str]] = {}
    for name, depth in needs_depths(graph).items():
        grouped.setdefault(depth, []).append(name)
    order = {name: i for i, name in enumerate(needs)}
    return [sorted(grouped[d], key=order.__getitem__) for d in sorted(grouped)]


def needs_closure(gates: Mapping[str, GateSpec], names: Iterable[str]) -> set[str]:
    """The named gates and, transitively, every gate they need."""
    todo, seen = list(names), set[str]()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(gates[name].needs)
    return seen


def _components(gates: Mapping[str, GateSpec]) -> list[list[str]]:
    """Groups of gates linked by `needs` (a shard never splits a group)."""
    parent = {n: n for n in gates}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for name, gate in gates.items():
        for need in gate.needs:
            parent[find(name)] = find(need)
    groups: dict[str, list[str]] = {}
    for name in gates:
        groups.setdefault(find(name), []).append(name)
    return sorted(groups.values(), key=lambda g: min(g))


def shard_of(group: Sequence[str], total: int) -> int:
    import hashlib

    digest = hashlib.sha256(min(group).encode()).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def balance(
    groups: Sequence[Sequence[str]], total: int, durations: Mapping[str, float]
) -> dict[str, int]:
    """Gate -> shard by greedy longest-first bin packing of whole needs groups.

    A gate with no measured duration weighs the mean of those measured, so a new
    gate neither vanishes nor dominates. Ties break on the group's first name and the
    lowest shard, so every matrix job computes the same split from the same file.
    """
    import math

    usable = {n: d for n, d in durations.items() if math.isfinite(d) and d >= 0}
    fallback = sum(usable.values()) / len(usable) if usable else 1.0
    weighed = sorted(
        ((sum(usable.get(n, fallback) for n in g), min(g), g) for g in groups),
        key=lambda item: (-item[0], item[1]),
    )
    load = [0.0] * total
    shards: dict[str, int] = {}
    for weight, _, group in weighed:
        index = min(range(total), key=lambda i: (load[i], i))
        load[index] += weight
        shards.update(dict.fromkeys(group, index + 1))
    return shards


def assign_shards(
    gates: Mapping[str, GateSpec], total: int, durations: Mapping[str, float] | None = None
) -> dict[str, int]:
    """Gate -> shard (1-based): balanced by durations when any gate has one, else hashed."""
    groups = _components(gates)
    if durations and any(name in durations for name in gates):
        return balance(groups, total, durations)
    return {name: shard_of(group, total) for group in groups for name in group}


def load_durations(path: str) -> dict[str, float] | None:
    """Gate durations from a previous JSON report; None when the file does not exist.

    A missing file is the first run (or a cold CI cache): shards fall back to hashing.
    A file that exists but is not a report is an error the user must fix.
    """
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--durations {path}: not a mergegate JSON report: {exc}") from None
    try:
        measured = [
            (str(g["name"]), float(g["duration"]), g.get("skip_cause")) for g in data["gates"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"--durations {path}: not a mergegate JSON report: {exc!r}") from None
    return {name: seconds for name, seconds, skipped in measured if skipped is None}


def select(
    loaded: LoadedConfig,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
    durations: Mapping[str, float] | None = None,
) -> Selection:
    gates = loaded.gates
    order = tuple(gates)
    check_names(only, order, "--only")
    check_names(skip, order, "--skip")
    why_not: dict[str, str] = {}
    selected = set(order)
    if only:
        selected = needs_closure(gates, only)
        why_not.update({n: "not selected by --only" for n in order if n not in selected})
    for name in skip:
        if name in selected:
            selected.discard(name)
            why_not[name] = "skipped by --skip"
    if shard:
        index, total = shard
        for name, where in assign_shards(gates, total, durations).items():
            if where != index and name in selected:
                selected.discard(name)
                why_not[name] = f"runs in another shard (this is {index}/{total})"
    return Selection(order, frozenset(selected), why_not)


def child_env(loaded: LoadedConfig, gate: GateSpec, environ: Mapping[str, str]) -> dict[str, str]:
    return {**environ, **loaded.env_of(gate)}


# -- dry run ---------------------------------------------------------------------


@record(frozen=True)
class GatePlan:
    name: str
    kind: str
    needs: tuple[str, ...]
    selected: bool
    why_not: str
    lines: tuple[str, ...]
    problems: tuple[str, ...]


def dry_run(
    loaded: LoadedConfig,
    selection: Selection,
    base: LazyBase,
    environ: Mapping[str, str],
    cache: bool = True,
) -> list[GatePlan]:
    from mergegate.cache import plan_line
    from mergegate.gates import PlanContext, kind_module

    plans = []
    for name in selection.order:
        gate = loaded.gates[name]
        kind = str(getattr(gate, "kind", "command"))
        lines: list[str] = []
        problems: list[str] = []
        if name in selection.selected:
            lines.append(f"timeout: {span(loaded.timeout_of(gate))}")
            if gate.if_changed:
                lines.append(_if_changed_line(gate, base))
            cwd = loaded.cwd_of(gate)
            ctx = PlanContext(name, gate, loaded, base, child_env(loaded, gate, environ), cwd)
            try:
                info = kind_module(kind).plan(ctx)
            except Exception as exc:
                problems.append(f"could not plan this gate: {type(exc).__name__}: {exc}")
            else:
                lines.extend(info.lines)
                problems.extend(info.problems)
            lines.append(plan_line(name, gate, loaded.gates, cache))
        plans.append(
            GatePlan(
                name,
                kind,
                tuple(gate.needs),
                name in selection.selected,
                selection.why_not.get(name, ""),
                tuple(lines),
                tuple(problems),
            )
        )
    return plans


@record(frozen=True)
class ChangeMatch:
    ref: str  # the base, as resolved
    sha: str
    matching: tuple[str, ...]  # changed paths that match the gate's if_changed globs


def match_if_changed(gate: GateSpec, base: LazyBase) -> ChangeMatch:
    """What decides `if_changed` (the run and --dry-run both ask here); GitError when unknown."""
    from mergegate import globs

    resolved = base.get()
    matching = globs.filter_paths(base.changed_files(), gate.if_changed)
    return ChangeMatch(resolved.ref, resolved.sha, tuple(matching))


def _if_changed_line(gate: GateSpec, base: LazyBase) -> str:
    from mergegate.errors import GitError

    patterns = ", ".join(gate.if_changed)
    try:
        match = match_if_changed(gate, base)
    except GitError as exc:
        return f"if_changed: {patterns} — base unknown ({exc}); the gate would be an error"
    count = len(match.matching)
    verdict = f"{count} matching change(s): runs" if count else "no matching change: skipped"
    return f"if_changed: {patterns} — since {match.ref} ({match.sha[:12]}): {verdict}"


def default_jobs() -> int:
    """Twice the usable CPUs, at least 8: most gates wait on a process, and waits should overlap.

    A CPU-bound gate costs little when oversubscribed (the kernel shares the
    CPUs); a waiting gate queued behind others costs its whole wait.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(8, 2 * cpus)
