"""Case 3: four `sleep 1` checks at once: mergegate (default --jobs), lefthook parallel, `&`/`wait`.

pre-commit runs hooks one after another, so it is measured too, as the serial reference.
"""

from __future__ import annotations

from harness.measure import Variant, measure
from harness.section import Context, Pair, Section, Target, fmt_time, median_difference
from harness.tools import gates_yaml, lefthook_yaml, make_repo, pre_commit_yaml

CHECKS = 4
GOAL = 1.05  # seconds, for sleep 1


def run(ctx: Context) -> Section:
    seconds = "0.2" if ctx.tiny else "1"
    names = [f"sleep-{i}" for i in range(1, CHECKS + 1)]
    sleep = f"sleep {seconds}"
    repo = make_repo(
        ctx.workdir("sleep"),
        {
            "gates.yaml": gates_yaml({name: ["sleep", seconds] for name in names}),
            ".pre-commit-config.yaml": pre_commit_yaml(dict.fromkeys(names, sleep)),
            "lefthook.yml": lefthook_yaml({"bench-parallel": (True, dict.fromkeys(names, sleep))}),
        },
        ctx.env,
    )
    env, tools = ctx.env, ctx.tools
    shell = " & ".join([sleep] * CHECKS) + " & wait"
    variants = [
        Variant(
            "floor",
            f"floor: bash, {CHECKS} × `{sleep} &`, `wait`",
            ("bash", "-c", shell),
            repo,
            env,
            "floor",
        ),
        Variant(
            "mg",
            "mergegate (default --jobs)",
            (*tools.mergegate, "run", "--no-cache"),
            repo,
            env,
        ),
    ]
    pairs = [Pair("mg", "floor", "mergegate ÷ `&`/`wait`")]
    if tools.lefthook:
        variants.append(
            Variant(
                "lh",
                "lefthook parallel",
                (tools.lefthook, "run", "bench-parallel"),
                repo,
                env,
                "lefthook",
            )
        )
        pairs.append(Pair("mg", "lh", "mergegate ÷ lefthook parallel"))
    if tools.pre_commit:
        variants.append(
            Variant(
                "pc",
                "pre-commit (serial)",
                (*tools.pre_commit, "run", "--all-files"),
                repo,
                env,
                "pre-commit",
            )
        )
        pairs.append(Pair("mg", "pc", "mergegate ÷ pre-commit"))
    measured = measure(variants, ctx.rounds, ctx.warmup, ctx.scratch)
    section = Section(3, f"{CHECKS} × `{sleep}` in parallel", measured, pairs)
    stats = measured.stats("mg")
    over = median_difference(measured, "mg", "floor")
    if over is not None:
        section.metrics.append(("mergegate over the `&`/`wait` floor", fmt_time(over)))
    section.targets.append(
        Target(
            f"{CHECKS} × `sleep 1`, mergegate with default settings",
            "≤ 1.05 s",
            "—" if stats is None else fmt_time(stats.median),
            None if ctx.tiny or stats is None else stats.median <= GOAL,
        )
    )
    return section
