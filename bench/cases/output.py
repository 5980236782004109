"""Case 4: one check printing 50 MiB of text lines: wall and peak RSS.

The check is `cat FILE` on a pre-written file (no pipe: under mergegate's `pipefail` a
`yes | head` pipeline would fail on SIGPIPE). Floors: the shell sending the same output
to /dev/null, and to a file (the least a runner that keeps the output must do). The same
mergegate run with a silent gate separates start-up from the cost of the output itself.
"""

from __future__ import annotations

from pathlib import Path

from harness.measure import Variant, measure
from harness.section import Context, Pair, Section, Target, fmt_ratio, fmt_time, median_difference
from harness.tools import gates_yaml, lefthook_yaml, make_repo, pre_commit_yaml

MIB = 1024 * 1024
LINE = b"mergegate bench: a line of build output, the quick brown fox jumps over it\n"
RSS_GOAL_MIB = 40.0
WALL_GOAL = 1.5
OVER_SILENT_GOAL = 0.050  # seconds


def write_output_file(path: Path, size: int) -> Path:
    chunk = (LINE * (MIB // len(LINE) + 1))[:MIB]
    with path.open("wb") as fh:
        for _ in range(size // MIB):
            fh.write(chunk)
        fh.write(chunk[: size % MIB])
    return path


def run(ctx: Context) -> Section:
    mib = 1 if ctx.tiny else 50
    data = write_output_file(ctx.workdir("output-data") / "output.txt", mib * MIB)
    spool = ctx.workdir("output-data") / "spool.log"
    cat = f"cat {data}"
    repo = make_repo(
        ctx.workdir("output"),
        {
            "gates.yaml": gates_yaml({"print": ["cat", str(data)]}),
            "silent.yaml": gates_yaml({"print": ["/bin/true"]}),
            ".pre-commit-config.yaml": pre_commit_yaml({"print": cat}),
            "lefthook.yml": lefthook_yaml({"bench-print": (False, {"print": cat})}),
        },
        ctx.env,
    )
    env, tools = ctx.env, ctx.tools
    variants = [
        Variant(
            "floor",
            "floor: sh, `cat > /dev/null`",
            ("sh", "-c", f"{cat} > /dev/null"),
            repo,
            env,
            "floor",
        ),
        Variant(
            "file", "floor: sh, `cat > file`", ("sh", "-c", f"{cat} > {spool}"), repo, env, "floor"
        ),
        Variant("mg", "mergegate run", (*tools.mergegate, "run", "--no-cache"), repo, env),
        Variant(
            "silent",
            "mergegate run, same gate silent",
            (*tools.mergegate, "run", "--no-cache", "-c", "silent.yaml"),
            repo,
            env,
        ),
    ]
    pairs = [
        Pair("mg", "floor", "mergegate ÷ `cat > /dev/null`"),
        Pair("mg", "file", "mergegate ÷ `cat > file`"),
    ]
    if tools.pre_commit:
        variants.append(
            Variant(
                "pc",
                "pre-commit",
                (*tools.pre_commit, "run", "--all-files"),
                repo,
                env,
                "pre-commit",
            )
        )
        pairs.append(Pair("mg", "pc", "mergegate ÷ pre-commit"))
    if tools.lefthook:
        variants.append(
            Variant("lh", "lefthook", (tools.lefthook, "run", "bench-print"), repo, env, "lefthook")
        )
        pairs.append(Pair("mg", "lh", "mergegate ÷ lefthook"))
    measured = measure(variants, ctx.rounds, ctx.warmup, ctx.scratch)
    section = Section(4, f"One gate printing {mib} MiB", measured, pairs)
    handling = median_difference(measured, "mg", "silent")
    section.metrics.append(
        (
            "cost of the output in mergegate (run − silent run)",
            "—" if handling is None else fmt_time(handling),
        )
    )
    stats, ratio = measured.stats("mg"), measured.ratio("mg", "file")
    section.targets += [
        Target(
            f"{mib} MiB of output: peak RSS",
            "≤ 40 MiB",
            "—" if stats is None else f"{stats.rss_mib:.1f} MiB",
            None if ctx.tiny or stats is None else stats.rss_mib <= RSS_GOAL_MIB,
        ),
        Target(  # the goal: against the least a runner that keeps the output does
            f"{mib} MiB of output: wall vs `cat > file`",
            "≤ 1.5×",
            fmt_ratio(ratio),
            None if ctx.tiny or ratio is None else ratio <= WALL_GOAL,
        ),
        Target(
            f"{mib} MiB of output: wall over the same gate printing nothing",
            "≤ 50 ms",
            "—" if handling is None else fmt_time(handling),
            None if ctx.tiny or handling is None else handling <= OVER_SILENT_GOAL,
        ),
    ]
    return section
