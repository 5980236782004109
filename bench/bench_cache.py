"""The result cache: keying a large repository, and a second run with nothing changed.

    python bench/bench_cache.py                   # 100,000 files, 5 rounds
    python bench/bench_cache.py --files 2000 --rounds 1   # tiny: proves the bench runs (CI)

1. **Keying.** A git repository of ``--files`` small files (100 per directory) is made in
   a temp dir and committed, and one file is left modified. Per round, in alternating
   order: mergegate's listing of every file git would commit plus the digest a gate with
   default ``inputs`` hashes (``mergegate.cache.list_inputs`` + ``files_digest``), and
   the floor: ``git ls-files -s -z`` alone, the one git call the listing cannot avoid.
   Goal: at most 0.3 s at 100,000 files.
2. **Second run, nothing changed.** This repository's tracked files are cloned into a
   temp dir, every gate's key is computed and a passing entry is written under it (the
   state a first, all-green run leaves behind, without running the suite), then
   ``mergegate run`` is timed end to end; every cacheable gate must come back cached.
   Goal: 0.1 s (start-up alone is most of it: see case 1 of bench/run.py).

Exit status 1 when a measured command fails or a gate that should be cached is not;
timings never decide it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/bench_cache.py", description=__doc__)
    parser.add_argument("--files", type=int, default=100_000, help="files in the keyed repo")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds")
    return parser


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# -- 1. keying ------------------------------------------------------------------------


def make_repo(root: Path, files: int) -> None:
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    for i in range(files):
        folder = root / f"d{i // 100:04d}"
        if i % 100 == 0:
            folder.mkdir()
        (folder / f"f{i % 100:02d}.txt").write_text(f"file {i}\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "files")
    (root / "d0000" / "f00.txt").write_text("modified\n")


def bench_keying(files: int, rounds: int, tmp: Path) -> list[str]:
    from mergegate.cache import list_inputs

    repo = tmp / "big"
    made = _timed(lambda: make_repo(repo, files))
    variants: dict[str, Callable[[], object]] = {
        "mergegate: list_inputs + digest": lambda: list_inputs(repo).digest(()),
        "git ls-files -s -z (the index)": lambda: _git(repo, "ls-files", "-s", "-z"),
        "git ls-files -m -o (what changed: a full working-tree scan)": lambda: _git(
            repo, "ls-files", "-z", "-m", "-o", "--exclude-standard"
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(rounds):
        names = list(variants)
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(_timed(variants[name]))
    out = [
        f"Keying a {files:,}-file repository (one file modified; made in {made:.1f} s):",
        "",
        "| what | median |",
        "|---|---|",
    ]
    out += [f"| {name} | {statistics.median(t) * 1000:.0f} ms |" for name, t in times.items()]
    return [*out, ""]


# -- 2. second run ----------------------------------------------------------------------


def _prime(clone: Path, environ: dict[str, str]) -> list[str]:
    """Write a passing entry under every cacheable gate's key; returns their names."""
    from mergegate.cache import GateCache
    from mergegate.config import load_config
    from mergegate.git import LazyBase
    from mergegate.plan import child_env
    from mergegate.proc import ProcessManager
    from mergegate.results import GateResult, Status

    loaded = load_config(clone / "gates.yaml")
    procs = ProcessManager()
    primed = []
    try:
        cache = GateCache(loaded, LazyBase(clone, "HEAD", None, environ), environ, procs)
        for name, gate in loaded.gates.items():
            env = child_env(loaded, gate, environ)
            key = cache.key(name, gate, env, threading.Event())
            if key is None:
                continue
            passed = GateResult(name, "command", Status.PASSED, True, 1.0, "primed by bench")
            cache.store(key, passed)
            primed.append(name)
    finally:
        procs.close()
    return primed


def bench_second_run(rounds: int, tmp: Path) -> tuple[list[str], bool]:
    clone = tmp / "clone"
    _git(ROOT, "worktree", "list")  # fails early outside a git checkout
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    bin_dir = str(Path(sys.executable).parent)  # the gates' tools (ruff, mypy) live here
    environ = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    primed = _prime(clone, environ)
    argv = [str(Path(sys.executable).parent / "mergegate"), "run", "--base", "HEAD"]
    times: list[float] = []
    ok = True
    for _ in range(rounds):
        started = time.perf_counter()
        done = subprocess.run(
            argv, cwd=clone, env=environ, capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - started)
        report = json.loads((clone / "reports" / "gates.json").read_text())
        cached = [g["name"] for g in report["gates"] if "cached" in g["details"]]
        ok = ok and done.returncode == 0 and sorted(cached) == sorted(primed)
    lines = [
        f"Second `mergegate run` of this repository's gates.yaml, nothing changed "
        f"({len(primed)} gates cached: {', '.join(primed)}):",
        "",
        f"- median {statistics.median(times) * 1000:.0f} ms over {rounds} round(s)"
        + ("" if ok else " — FAILED: not every primed gate came back cached"),
        "",
    ]
    return lines, ok


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="mergegate-bench-cache-"))
    try:
        lines = bench_keying(args.files, args.rounds, tmp)
        second, ok = bench_second_run(args.rounds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(lines + second))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
