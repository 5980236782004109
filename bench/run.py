"""Run every benchmark case side by side with pre-commit and lefthook; write a Markdown table.

    python bench/run.py            # full sizes: 7 rounds after 1 warm-up (a few minutes)
    python bench/run.py --tiny     # tiny sizes, 1 round: checks the bench still works (< 30 s)

The report goes to stdout and to bench/results/latest.md (or --out). Exit status 1 when a
measured command failed or a case could not run: a broken bench must not look like a fast
one. No timing decides the exit status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:  # harness/ and cases/ live next to this file
    sys.path.insert(0, str(BENCH_DIR))

from cases import CASES  # noqa: E402
from harness import markdown, measure, tools  # noqa: E402
from harness.section import Context, Section  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny sizes and one round: proves the bench runs, measures little",
    )
    parser.add_argument("--rounds", type=int, help="measured rounds (default 7, tiny 1)")
    parser.add_argument("--warmup", type=int, help="discarded warm-up rounds (default 1, tiny 0)")
    parser.add_argument(
        "--cases",
        default=",".join(map(str, CASES)),
        metavar="1,2,…",
        help="which cases to run (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="also write the report here (default bench/results/latest.md; "
        "tiny: bench/results/tiny.md)",
    )
    return parser


def _cases(spec: str) -> list[int]:
    try:
        chosen = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"bench/run.py: --cases takes numbers like 1,3 (got {spec!r})") from None
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        raise SystemExit(f"bench/run.py: no case {unknown[0]}; cases are {sorted(CASES)}")
    return chosen


def _header(found: tools.Tools, ctx: Context, started: float) -> dict[str, str]:
    info = tools.machine()
    header = {
        "date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": info["cpu"],
        "nproc": info["nproc"],
        "OS": info["os"],
        "Python": info["python"],
        "load average at start": info["load"],
    }
    header.update(found.versions)
    header["mergegate command"] = " ".join(found.mergegate)
    header["rounds"] = f"{ctx.rounds} after {ctx.warmup} warm-up, tools alternated each round"
    header["peak RSS read by"] = measure.rss_method()
    header["sizes"] = "tiny (--tiny): not comparable with full runs" if ctx.tiny else "full"
    header["bench duration"] = f"{time.monotonic() - started:.0f} s"
    return header


PREAMBLE = (
    "Each case runs the same work through every tool in one run, alternating the order each "
    "round; times are medians, ratios are medians of per-round ratios (absolute times drift "
    "on shared machines, ratios much less). Peak RSS is the largest resident set of any one "
    "process of the command's tree. Every measured command must exit 0, or its row says FAILED."
)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = _cases(args.cases)
    rounds = args.rounds or (1 if args.tiny else 7)
    warmup = args.warmup if args.warmup is not None else (0 if args.tiny else 1)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mergegate-bench-") as tmp:
        scratch = Path(tmp)
        env = tools.child_env(scratch)
        found = tools.find_tools(env)
        ctx = Context(found, env, scratch, rounds, warmup, args.tiny, tools.usable_cpus())
        sections: list[Section] = []
        for number in chosen:
            print(f"bench: case {number} …", file=sys.stderr, flush=True)
            sections.append(CASES[number](ctx))
        header = _header(found, ctx, started)
    text = markdown.render(sections, header, [PREAMBLE])
    out = args.out or BENCH_DIR / "results" / ("tiny.md" if args.tiny else "latest.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    failed = [s.title for s in sections if not s.ok]
    if failed:
        print(f"bench: FAILED in: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
