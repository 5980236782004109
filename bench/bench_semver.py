"""The semver gate against griffe's own find_breaking_changes, on one package at two versions.

    python bench/bench_semver.py --small              # a generated package: proves it runs
    python bench/bench_semver.py                      # networkx 3.2.1 -> 3.3 from PyPI
    python bench/bench_semver.py --package attrs --old 23.1.0 --new 24.2.0 --module attrs

(django 4.2 -> 5.0 is the reason the gate retries griffe without unresolvable inherited
aliases: griffe's own find_breaking_changes raises AliasResolutionError on that pair, so
there is no baseline to compare with.)

The real run downloads two wheels with `pip download --no-deps` into a temp dir (nothing is
kept), commits the old tree on `main` and the new one on a branch, then times, per round:

- gate: the whole semver gate (versions, changed files, `git archive` of the base,
  griffe load of both trees, find_breaking_changes, the public-surface diff);
- griffe: griffe.load of the two unpacked trees + find_breaking_changes, nothing else;
- griffe-gc: the same, under the gate's garbage-collector setting (``semver.heap``):
  the like-for-like baseline, so ``gate / griffe-gc`` is what mergegate's own work costs.

It prints the median of each and the ratios (goal: gate / griffe at most 1.1). Exit 1 when
a side failed; the timing never decides the exit status.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
CONFIG = """\
version: 1
gates:
  semver:
    kind: semver
    version: pyproject.toml
    api:
      python: src/{module}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
    )


# -- the two trees ------------------------------------------------------------------


def generated(dest: Path, module: str, modules: int, functions: int, version: int) -> Path:
    """A package of ``modules`` modules; version 2 removes, changes and adds a little."""
    pkg = dest / module
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Generated."""\n')
    for m in range(modules):
        lines = []
        for f in range(functions):
            if version == 2 and f == 0 and m % 5 == 0:
                continue  # removed
            default = 2 if version == 2 and f == 1 else 1
            lines.append(f"def func_{f}(a, b={default}, *, c=None):\n    return a\n")
            lines.append(f"class Class{f}:\n    def method(self, x, y=0):\n        return x\n")
        if version == 2:
            lines.append("def added():\n    return 1\n")
        (pkg / f"mod_{m}.py").write_text("\n\n".join(lines))
    return pkg


def downloaded(work: Path, package: str, version: str, module: str) -> Path:
    """Unpack ``module`` from the wheel of package==version (downloaded now, deleted after)."""
    wheels = work / f"wheels-{version}"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         "--dest", str(wheels), f"{package}=={version}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    wheel = next(wheels.glob("*.whl"))
    unpacked = work / f"tree-{version}"
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith(f"{module}/")]
        archive.extractall(unpacked, members)
    return unpacked / module


def build_repo(work: Path, module: str, old: Path, new: Path, versions: tuple[str, str]) -> Path:
    repo = work / "repo"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "gates.yaml").write_text(CONFIG.format(module=module))
    for index, (tree, version) in enumerate(zip((old, new), versions, strict=True)):
        if index:
            git(repo, "checkout", "-q", "-b", "feature")
            shutil.rmtree(repo / "src" / module)
        shutil.copytree(tree, repo / "src" / module)
        (repo / "pyproject.toml").write_text(f'[project]\nname = "x"\nversion = "{version}"\n')
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", version)
    return repo


# -- the two contenders -------------------------------------------------------------


def run_gate(repo: Path) -> tuple[str, int]:
    from mergegate.config import load_config
    from mergegate.gates import GateContext, semver
    from mergegate.git import LazyBase
    from mergegate.proc import ProcessManager

    loaded = load_config(repo / "gates.yaml")
    procs = ProcessManager()
    try:
        ctx = GateContext(
            "semver", loaded.gates["semver"], loaded, LazyBase(repo, None, None, {}),
            dict(os.environ), repo, 3600.0, procs, threading.Event(),
        )  # fmt: skip
        outcome = semver.run(ctx)  # type: ignore[arg-type]
    finally:
        procs.close()
    return outcome.status.value, int(outcome.details.get("change_count", -1))


def run_griffe(old_parent: Path, new_parent: Path, module: str) -> int | str:
    """griffe's breakage count, or what it raised."""
    import griffe

    old = griffe.load(module, search_paths=[str(old_parent)], allow_inspection=False)
    new = griffe.load(module, search_paths=[str(new_parent)], allow_inspection=False)
    try:
        return len(list(griffe.find_breaking_changes(old, new)))
    except Exception as exc:  # griffe itself fails on some real packages: say so
        return f"griffe raised {type(exc).__name__}"


CPU: list[tuple[str, float]] = []  # (who, CPU seconds of this process, all threads)


def timed(fn: Callable[[], object], who: str = "") -> tuple[float, object]:
    """Wall seconds; the process's CPU seconds go to CPU, steadier on a busy machine
    (git's own CPU for the base export is not counted: it is a few tens of ms)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    CPU.append((who, time.process_time() - cpu))
    return time.perf_counter() - start, result


# -- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/bench_semver.py", description=__doc__)
    parser.add_argument("--small", action="store_true", help="a small generated package")
    parser.add_argument("--package", default="networkx", help="PyPI project (default networkx)")
    parser.add_argument("--module", help="top-level package inside it (default: --package)")
    parser.add_argument("--old", default="3.2.1", help="base version (default 3.2.1)")
    parser.add_argument("--new", default="3.3", help="head version (default 3.3)")
    parser.add_argument("--rounds", type=int, help="measured rounds (default 5, small 1)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rounds = args.rounds or (1 if args.small else 5)
    module = "genpkg" if args.small else (args.module or args.package)
    import logging

    logging.getLogger("griffe").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="bench-semver-") as tmp:
        work = Path(tmp)
        if args.small:
            old = generated(work / "old", module, 6, 4, 1)
            new = generated(work / "new", module, 6, 4, 2)
            label, versions = "generated 6 modules", ("1.0.0", "1.1.0")
        else:
            old = downloaded(work, args.package, args.old, module)
            new = downloaded(work, args.package, args.new, module)
            label, versions = f"{args.package} {args.old} -> {args.new}", (args.old, args.new)
        repo = build_repo(work, module, old, new, versions)
        files = sum(1 for _ in (repo / "src" / module).rglob("*.py"))
        return report(label, files, rounds, repo, old.parent, new.parent, module)


def settle() -> None:
    """Free what the last contender loaded, untimed, so every run starts from the same heap
    (griffe's dataclasses cache would otherwise keep every round's trees alive, and a
    growing heap slows the collector for whoever runs next)."""
    import gc

    from mergegate.semver.heap import release_griffe_caches

    release_griffe_caches()
    gc.collect()


def report(
    label: str, files: int, rounds: int, repo: Path, old: Path, new: Path, module: str
) -> int:
    from mergegate.semver.heap import relaxed_gc

    def griffe_relaxed() -> int | str:
        with relaxed_gc():
            return run_griffe(old, new, module)

    contenders: dict[str, Callable[[], object]] = {
        "gate": lambda: run_gate(repo),
        "griffe": lambda: run_griffe(old, new, module),
        "griffe-gc": griffe_relaxed,
    }
    times: dict[str, list[float]] = {who: [] for who in contenders}
    results: dict[str, object] = {}
    timed(contenders["gate"])  # warm-up: imports and file caches for both
    settle()
    for i in range(rounds):
        order = list(contenders) if i % 2 == 0 else list(reversed(contenders))
        for who in order:
            seconds, results[who] = timed(contenders[who], who)
            times[who].append(seconds)
            settle()
    print(f"semver bench: {label} ({files} Python files), {rounds} round(s), median (min)")
    lines = (
        ("gate", "mergegate semver gate", "(status, changes)"),
        ("griffe", "griffe load+diff", "breakages"),
        ("griffe-gc", "griffe, gate's gc setting", "breakages"),
    )
    for who, name, what in lines:
        runs = times[who]
        print(
            f"  {name:26s}: {statistics.median(runs):8.3f} s ({min(runs):.3f})"
            f"   {what} = {results[who]}"
        )
    _ratios(times)
    gate_result = results["gate"]
    ok = isinstance(gate_result, tuple) and gate_result[0] in ("passed", "failed")
    return 0 if ok and all(isinstance(results[w], int) for w in ("griffe", "griffe-gc")) else 1


def _ratios(times: dict[str, list[float]]) -> None:
    """Wall and CPU ratios against griffe alone (the goal) and against griffe given the
    gate's gc setting (what mergegate's own work costs on top of griffe's)."""
    cpu = {who: statistics.median(s for w, s in CPU if w == who) for who in times}
    gate = statistics.median(times["gate"])
    for who, note in (("griffe", "goal <= 1.10x"), ("griffe-gc", "mergegate's own share")):
        wall = statistics.median(times[who])
        best = min(times["gate"]) / min(times[who])
        print(
            f"  gate / {who:9s}: wall {gate / wall:5.2f}x ({best:.2f}x),"
            f" CPU {cpu['gate']:.3f} s / {cpu[who]:.3f} s = {cpu['gate'] / cpu[who]:.2f}x"
            f"   ({note})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
