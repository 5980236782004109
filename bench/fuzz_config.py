"""Fuzz the gates.yaml loader beyond what the test suite runs.

    python bench/fuzz_config.py                      # 20,000 mutated files, in-process
    python bench/fuzz_config.py --cases 100000 --seed 3
    python bench/fuzz_config.py --cli 300            # also 300 through the real CLI

In-process, every case must load or raise a ConfigError whose every issue is
located (file:line:column) and free of pydantic/PyYAML wording; anything else
is counted as a crash (the CLI would exit 3). Each case is bounded by an
interval timer; a case that runs out is counted as a hang. With ``--cli N``, N
of the cases are also written to files and run as ``mergegate run --dry-run -c
FILE`` in a scratch git repository: exit 0, 1 or 2 is fine, 3 is a crash, and
a process that outlives its deadline is a hang.

Exit status 1 when any crash or hang was seen. Timings are printed, never judged.
"""

from __future__ import annotations

import argparse
import collections
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.config_mutator import cases, outcome_of

CASE_BOUND = 30.0


class _Hung(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hung


def _one(data: bytes) -> str:
    signal.setitimer(signal.ITIMER_REAL, CASE_BOUND)
    try:
        return outcome_of(data)
    except _Hung:
        return "hang"
    except Exception as exc:  # the very thing being counted
        return f"crash: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def in_process(count: int, seed: int) -> collections.Counter[str]:
    signal.signal(signal.SIGALRM, _on_alarm)
    tally: collections.Counter[str] = collections.Counter()
    for number, data in cases(count, seed):
        outcome = _one(data)
        tally[outcome.split(":")[0]] += 1
        if outcome.startswith(("crash", "hang")):
            print(f"case {number}: {outcome}", file=sys.stderr)
    return tally


def through_cli(count: int, seed: int, every: int) -> collections.Counter[str]:
    tally: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        for number, data in cases(count * every, seed):
            if number % every:
                continue
            (repo / "gates.yaml").write_bytes(data)
            tally[_cli_case(repo, number)] += 1
    return tally


def _cli_case(repo: Path, number: int) -> str:
    argv = [sys.executable, "-m", "mergegate", "run", "--dry-run", "-c", "gates.yaml"]
    try:
        proc = subprocess.run(
            argv, cwd=repo, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        print(f"cli case {number}: hang", file=sys.stderr)
        return "hang"
    if proc.returncode not in (0, 1, 2):
        print(f"cli case {number}: exit {proc.returncode}\n{proc.stderr[-500:]}", file=sys.stderr)
    return f"exit {proc.returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--cli", type=int, default=0, help="also run N cases through the CLI")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tally = in_process(args.cases, args.seed)
    print(f"in-process: {args.cases} cases in {time.monotonic() - started:.1f}s: {dict(tally)}")
    bad = tally["crash"] + tally["hang"]
    if args.cli:
        started = time.monotonic()
        cli = through_cli(args.cli, args.seed + 1, every=7)
        print(f"cli: {args.cli} cases in {time.monotonic() - started:.1f}s: {dict(cli)}")
        bad += sum(n for outcome, n in cli.items() if outcome not in ("exit 0", "exit 1", "exit 2"))
    print(f"crashes + hangs: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
