"""Witness hashing against `sha256sum`: the same files, one run each, median of several rounds.

    python bench/bench_witness.py                   # 2,000 files / 500 MB (about a minute)
    python bench/bench_witness.py --files 20 --mb 2 # tiny: proves the bench runs

The footprint is a dist/ tree where 1 % of the files hold half the bytes (bundles
and assets beside many small modules), so both the inline path and the thread
pool for large files are exercised. Measured, with a warm page cache:

- ``sha256sum`` over every file in one process (coreutils, the baseline);
- mergegate's ``verify`` in-process (walk + hash + compare + signature check:
  what the witness gate does inside ``mergegate run``);
- ``mergegate witness verify`` as a fresh process (adds interpreter start-up).

The digests of both tools are compared file by file; a mismatch, a failed
command or a missing ``sha256sum`` exits 1, since a broken bench must not look
like a fast one. Timing never decides the exit status. Goal: in-process verify
at most 0.35 x the time of sha256sum.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

GOAL = 0.35


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/bench_witness.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--files", type=int, default=2000, help="number of files (default 2000)")
    parser.add_argument("--mb", type=float, default=500, help="total size in MB (default 500)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--dir", type=Path, help="build the tree here (default: a temp dir)")
    return parser


def file_sizes(files: int, total: int) -> list[int]:
    """1 % of the files (at least one) hold half the bytes; the rest share the other half."""
    large = max(1, files // 100) if files > 1 else files
    small = files - large
    if not small:
        return [total // files] * files
    big_each, small_each = (total // 2) // large, (total - total // 2) // small
    return [big_each if i % 100 == 0 and i // 100 < large else small_each for i in range(files)]


def build_tree(root: Path, files: int, total: int) -> list[Path]:
    block = os.urandom(1 << 20)
    paths: list[Path] = []
    for i, size in enumerate(file_sizes(files, total)):
        path = root / "dist" / f"pkg{i % 40:02}" / f"file{i:05}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        head = f"{i}\n".encode()
        with path.open("wb") as fh:
            fh.write(head)
            remaining = max(0, size - len(head))
            while remaining:
                chunk = block[: min(remaining, len(block))]
                fh.write(chunk)
                remaining -= len(chunk)
        paths.append(path)
    return paths


def sha256sum(root: Path, paths: Sequence[Path]) -> dict[str, str]:
    names = [str(p.relative_to(root)) for p in paths]
    out = subprocess.run(
        ["sha256sum", "--", *names], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    digests = {}
    for line in out.splitlines():
        digest, name = line.split(maxsplit=1)
        digests[name.lstrip("*")] = digest
    return digests


def median_time(func: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.files < 1 or args.mb <= 0 or args.rounds < 1:
        print("bench_witness: --files, --mb and --rounds must be positive", file=sys.stderr)
        return 2
    if shutil.which("sha256sum") is None:
        print("bench_witness: sha256sum (coreutils) is not on PATH", file=sys.stderr)
        return 1
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run_bench(args.dir, args)
    with tempfile.TemporaryDirectory(prefix="bench-witness-") as tmp:
        return run_bench(Path(tmp), args)


def run_bench(root: Path, args: argparse.Namespace) -> int:
    from mergegate.witness.keys import write_keypair
    from mergegate.witness.manifest import Layout
    from mergegate.witness.sign import sign
    from mergegate.witness.verify import verify

    total = int(args.mb * 1_000_000)
    paths = build_tree(root, args.files, total)
    key = write_keypair(root / "keys")
    layout = Layout(root)
    signed = sign(layout, "bench", key, commit=None)
    manifest = (root / layout.manifest).read_bytes()

    theirs = sha256sum(root, paths)  # also warms the page cache
    ours = dict(signed.footprint.files)
    if theirs != ours:
        wrong = sorted(set(theirs.items()) ^ set(ours.items()))[:3]
        print(f"bench_witness: digests differ from sha256sum: {wrong}", file=sys.stderr)
        return 1

    def in_process() -> None:
        if not verify(layout, manifest, key.public).ok:
            raise SystemExit("bench_witness: verification failed on an untouched tree")

    cli = [
        sys.executable,
        "-m",
        "mergegate",
        "witness",
        "verify",
        "--public-key",
        str(root / "keys/witness.pub"),
    ]
    t_sum = median_time(lambda: sha256sum(root, paths), args.rounds)
    t_ours = median_time(in_process, args.rounds)
    t_cli = median_time(
        lambda: subprocess.run(cli, cwd=root, check=True, capture_output=True), args.rounds
    )
    report(args, signed.footprint.total_bytes, t_sum, t_ours, t_cli)
    return 0


def report(args: argparse.Namespace, size: int, t_sum: float, t_ours: float, t_cli: float) -> None:
    mb = size / 1e6
    ratio = t_ours / t_sum
    print(
        f"witness hashing: {args.files} files, {mb:.1f} MB, median of {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs"
    )
    print("| tool | time (s) | MB/s | vs sha256sum |")
    print("|---|---:|---:|---:|")
    for name, seconds in (
        ("sha256sum (one run)", t_sum),
        ("mergegate verify (in-process)", t_ours),
        ("mergegate witness verify (new process)", t_cli),
    ):
        print(f"| {name} | {seconds:.3f} | {mb / seconds:.0f} | {seconds / t_sum:.2f}x |")
    verdict = "met" if ratio <= GOAL else "not met"
    print(f"ratio (in-process verify / sha256sum): {ratio:.2f}x; goal <= {GOAL}x: {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())
