"""The result cache: keying a large repository, and a second run with nothing changed.

    python bench/bench_cache.py                   # 100,000 files, 5 rounds
    python bench/bench_cache.py --files 2000 --rounds 1   # tiny: proves the bench runs (CI)

1. **Keying.** A git repository of ``--files`` small files (100 per directory) is made in
   a temp dir and committed, and one file is left modified. Per round, in alternating
   order: mergegate's listing of every file git would commit plus the digest a gate with
   default ``inputs`` hashes (``mergegate.cache.list_inputs`` + ``files_digest``), and
   the floor: ``git ls-files -s -z`` alone, the one git call the listing cannot avoid.
   Goal: at most 0.3 s at 100,000 files.
2. **Second run, nothing changed, against pre-commit and lefthook.** This repository's
   tracked files are cloned into a temp dir, every gate's key is computed and a passing
   entry is written under it (the state a first, all-green run leaves behind, without
   running the suite). Then, in alternating rounds after one warm-up: ``mergegate run`` of
   the whole gates.yaml, of it minus unit-tests, and ``--only lint,type-check,schema,smoke``
   (every gate must come back cached), against ``pre-commit run --all-files`` and
   ``lefthook run gates`` running those four gates' commands (``language: system``,
   ``pass_filenames: false``, ``always_run``): they have no result cache and re-run them.
   Ratios are medians of per-round ratios. A peer that is not installed is skipped with a
   note. Goal: 0.1 s for mergegate (start-up alone is most of it: case 1 of bench/run.py).

Exit status 1 when a measured command (a peer's included) fails or a gate that should be
cached is not; timings never decide it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
if str(ROOT / "bench") not in sys.path:  # harness/ lives next to this file
    sys.path.insert(0, str(ROOT / "bench"))

from harness import tools  # noqa: E402
from harness.markdown import render_section  # noqa: E402
from harness.measure import Measured, Variant, measure  # noqa: E402
from harness.section import Pair, Section  # noqa: E402

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


# the gates pre-commit and lefthook can run as well, each as gates.yaml runs it; unit-tests
# takes minutes in every tool, and forbid/semver/witness have no peer equivalent
PEER_GATES = {
    "lint": "ruff check . && ruff format --check .",
    "type-check": "mypy",
    "schema": "mergegate schema | diff -u schema/gates.schema.json -",
    "smoke": 'for s in scripts/smoke-*.sh; do bash "$s"; done',
}
PEER_CONFIGS = (".pre-commit-config.yaml", "lefthook.yml")


def _as_bash(run: str) -> str:
    """The command as mergegate runs a string `run`: bash with -e and pipefail."""
    return "bash -e -o pipefail -c " + shlex.quote(run)


def _write_peer_configs(clone: Path) -> None:
    """Both peers run the same four commands; git ignores their configs (not in any key)."""
    commands = {name: _as_bash(run) for name, run in PEER_GATES.items()}
    (clone / PEER_CONFIGS[0]).write_text(tools.pre_commit_yaml(commands))
    (clone / PEER_CONFIGS[1]).write_text(tools.lefthook_yaml({"gates": (True, commands)}))
    with (clone / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("".join(f"/{name}\n" for name in PEER_CONFIGS))


def _variants(clone: Path, env: dict[str, str], found: tools.Tools, scratch: Path) -> list[Variant]:
    mergegate = (*found.mergegate, "run", "--base", "HEAD")
    only = ",".join(PEER_GATES)

    def ours(key: str, label: str, *args: str) -> Variant:
        report = str(scratch / f"{key}.json")
        return Variant(key, label, (*mergegate, "--json", report, *args), clone, env)

    variants = [
        ours(
            "all",
            "mergegate run, whole gates.yaml",
        ),
        ours("skip", "mergegate run --skip unit-tests", "--skip", "unit-tests"),
        ours("only", f"mergegate run --only {only}", "--only", only),
    ]
    if found.pre_commit:
        argv = (*found.pre_commit, "run", "--all-files")
        variants.append(Variant("pc", "pre-commit run --all-files", argv, clone, env, "pre-commit"))
    if found.lefthook:
        argv = (found.lefthook, "run", "gates")
        variants.append(
            Variant("lh", "lefthook run gates (parallel)", argv, clone, env, "lefthook")
        )
    return variants


def _uncached(scratch: Path, key: str, expected: set[str]) -> str | None:
    """Why the last run of ``key`` was not the all-cached run it should be, or None."""
    try:
        report = json.loads((scratch / f"{key}.json").read_text())
        cached = {g["name"] for g in report["gates"] if "cached" in g["details"]}
        ran = {g["name"] for g in report["gates"] if g["status"] != "skipped"}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"no usable JSON report: {exc}"
    if cached != expected or ran != expected:
        return f"cached {sorted(cached)}, ran {sorted(ran)}; expected {sorted(expected)} cached"
    return None


def bench_second_run(rounds: int, tmp: Path) -> tuple[list[str], bool]:
    clone = tmp / "clone"
    _git(ROOT, "worktree", "list")  # fails early outside a git checkout
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    _write_peer_configs(clone)
    env = tools.child_env(tmp)
    bin_dir = str(Path(sys.executable).parent)  # the gates' tools (ruff, mypy) live here
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    found = tools.find_tools(env)
    primed = _prime(clone, env)
    variants = _variants(clone, env, found, tmp)
    measured = measure(variants, rounds=rounds, warmup=1, scratch=tmp)
    expected = {
        "all": set(primed),
        "skip": set(primed) - {"unit-tests"},
        "only": set(PEER_GATES),
    }
    for key, gates in expected.items():
        why = None if key in measured.failures else _uncached(tmp, key, gates)
        if why:
            measured.failures[key] = "not every gate came back cached: " + why
    section = _second_run_section(measured, found, primed)
    heading = "Second `mergegate run` of this repository's gates.yaml, nothing changed:"
    return [heading, "", *render_section(section)[2:]], section.ok


def _second_run_section(measured: Measured, found: tools.Tools, primed: list[str]) -> Section:
    pairs = [
        Pair(peer, "only", f"{label} ÷ mergegate, same 4 gates cached")
        for peer, label in (("pc", "pre-commit"), ("lh", "lefthook"))
        if any(v.key == peer for v in measured.variants)
    ]
    notes = [
        f"primed (cached) gates: {', '.join(primed)}; every mergegate row must come back "
        "with each of its gates cached, else it is FAILED",
        "peers run the same commands as the four comparable gates (`language: system`, "
        "`pass_filenames: false`, `always_run`; lefthook `parallel: true`) and, having no "
        "result cache, re-run them all; their own caches (mypy's, ruff's) are warm",
        "unit-tests is left out of the peer rows and `--only`: it takes minutes in any tool; "
        "forbid (no-secrets) and semver (api-version) have no peer equivalent",
    ]
    notes += [
        f"{tool} not installed: its row is skipped"
        for tool, path in (("pre-commit", found.pre_commit), ("lefthook", found.lefthook))
        if not path
    ]
    return Section(2, "Second run, nothing changed", measured, pairs, notes=notes)


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
