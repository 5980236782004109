"""Case 2: N trivial gates (`/bin/true`), serial and parallel, against pre-commit and lefthook.

Every tool gets the same N checks in the same git repository: mergegate gates with
`run: ["/bin/true"]` (no shell, like pre-commit's `entry`), pre-commit `language: system`
hooks that always run without file names, lefthook commands (which lefthook runs through
`sh -c`). The marginal cost per check is the median over rounds of
(t(large) - t(small)) / (large - small).
"""

from __future__ import annotations

from pathlib import Path

from harness import importtime
from harness.markdown import table
from harness.measure import Measured, Variant, measure
from harness.section import Context, Pair, Section, Target, fmt_ratio, fmt_time, median_difference
from harness.tools import gates_yaml, lefthook_yaml, make_repo, pre_commit_yaml

TRUE = "/bin/true"
# what a warm `mergegate run` imports (compiled plan, off a terminal: no pydantic, yaml, rich)
RUN_PATH_MODULES = (
    "mergegate.commands.run",
    "mergegate.runner",
    "mergegate.gates.command",
    "mergegate.report.console",
    "mergegate.report.plain",
    "mergegate.report.junit",
    "mergegate.report.json_report",
)
# the least a Python runner pays per check: start it in its own session and wait for it
PY_SPAWN = (
    "import subprocess\n"
    "for _ in range({n}):\n"
    "    subprocess.Popen(['/bin/true'], stdin=subprocess.DEVNULL, start_new_session=True).wait()"
)
# the least a Python runner with mergegate's guarantees pays, importing nothing of it: the
# guardian process (kills the gates' processes if the runner is SIGKILLed), `git status`
# before and after (gates must not change the tree), every check started at once and waited
SAFE_FLOOR = """\
import os, subprocess, sys
guardian = subprocess.Popen(
    [sys.executable, "-I", "-S", {guardian!r}, "BENCH_TOKEN", "x"],
    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
status = ["git", "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=no"]
subprocess.run(status, stdout=subprocess.PIPE, check=True)
pids = [os.posix_spawn("/bin/true", ["/bin/true"], os.environ, setsid=True) for _ in range({n})]
for pid in pids:
    os.waitpid(pid, 0)
subprocess.run(status, stdout=subprocess.PIPE, check=True)
guardian.stdin.write(b"done\\n")
guardian.stdin.close()  # not waited for, as mergegate does not wait for it either
"""
PACKAGE_NOTES = {
    "mergegate": "mergegate (its modules, and building the pydantic models of gates.yaml)",
    "asyncio": "asyncio (pulled in by typing_extensions for pydantic_core on Python < 3.12)",
    "site": "site (the interpreter's own start-up and .pth files)",
    "importlib": "importlib (importlib.metadata: pydantic's plugin discovery)",
}
RATIO_GOAL = 0.33
MARGINAL_GOAL = 0.001


def sizes(ctx: Context) -> tuple[int, int]:
    return (2, 4) if ctx.tiny else (10, 50)


def _repo(ctx: Context, small: int, large: int) -> Path:
    files: dict[str, str] = {}
    hooks: dict[str, tuple[bool, dict[str, str]]] = {}
    for n in (small, large):
        names = [f"check-{i:02d}" for i in range(1, n + 1)]
        files[f"gates-{n}.yaml"] = gates_yaml({name: [TRUE] for name in names})
        files[f"pre-commit-{n}.yaml"] = pre_commit_yaml(dict.fromkeys(names, TRUE))
        hooks[f"bench-{n}-serial"] = (False, dict.fromkeys(names, TRUE))
        hooks[f"bench-{n}-parallel"] = (True, dict.fromkeys(names, TRUE))
    files["lefthook.yml"] = lefthook_yaml(hooks)
    return make_repo(ctx.workdir("trivial"), files, ctx.env)


def _variants(ctx: Context, repo: Path, n: int) -> list[Variant]:
    tools, env, mg = ctx.tools, ctx.env, ctx.tools.mergegate
    run = (*mg, "run", "--no-cache", "-c", f"gates-{n}.yaml")  # gates run: no result cache
    out = [
        Variant(
            f"floor-{n}",
            f"floor: sh, {n} × /bin/true",
            ("sh", "-c", "; ".join([TRUE] * n)),
            repo,
            env,
            "floor",
        ),
        Variant(
            f"py-{n}",
            f"floor: python, {n} × Popen(/bin/true).wait()",
            (tools.python, "-c", PY_SPAWN.format(n=n)),
            repo,
            env,
            "floor",
        ),
        Variant(
            f"safe-{n}",
            f"floor: python, guardian + 2 × git status + {n} × posix_spawn at once",
            (tools.python, "-c", SAFE_FLOOR.format(guardian=_guardian_path(), n=n)),
            repo,
            env,
            "floor",
        ),
        Variant(f"mg1-{n}", f"mergegate --jobs 1, {n} gates", (*run, "--jobs", "1"), repo, env),
        Variant(f"mgp-{n}", f"mergegate (default --jobs), {n} gates", run, repo, env),
    ]
    if tools.pre_commit:
        out.append(
            Variant(
                f"pc-{n}",
                f"pre-commit run --all-files, {n} hooks",
                (*tools.pre_commit, "run", "--all-files", "-c", f"pre-commit-{n}.yaml"),
                repo,
                env,
                "pre-commit",
            )
        )
    if tools.lefthook:
        for mode in ("serial", "parallel"):
            out.append(
                Variant(
                    f"lh{mode[0]}-{n}",
                    f"lefthook {mode}, {n} commands",
                    (tools.lefthook, "run", f"bench-{n}-{mode}"),
                    repo,
                    env,
                    "lefthook",
                )
            )
    return out


def _guardian_path() -> str:
    import mergegate

    return str(Path(mergegate.__file__).with_name("_guardian.py"))


def _pairs(ctx: Context, n: int) -> list[Pair]:
    pairs = [
        Pair(f"mg1-{n}", f"floor-{n}", f"{n}: mergegate --jobs 1 ÷ floor"),
        Pair(f"mgp-{n}", f"safe-{n}", f"{n}: mergegate (default --jobs) ÷ its safety floor"),
    ]
    if ctx.tools.pre_commit:
        pairs += [
            Pair(f"mg1-{n}", f"pc-{n}", f"{n}: mergegate --jobs 1 ÷ pre-commit"),
            Pair(f"mgp-{n}", f"pc-{n}", f"{n}: mergegate (default --jobs) ÷ pre-commit"),
            Pair(f"safe-{n}", f"pc-{n}", f"{n}: its safety floor ÷ pre-commit"),
        ]
    if ctx.tools.lefthook:
        pairs += [
            Pair(f"mg1-{n}", f"lhs-{n}", f"{n}: mergegate --jobs 1 ÷ lefthook serial"),
            Pair(f"mgp-{n}", f"lhp-{n}", f"{n}: mergegate (default --jobs) ÷ lefthook parallel"),
        ]
    return pairs


def _marginal(measured: Measured, prefix: str, small: int, large: int) -> float | None:
    diff = median_difference(measured, f"{prefix}-{large}", f"{prefix}-{small}")
    return None if diff is None else diff / (large - small)


def run(ctx: Context) -> Section:
    small, large = sizes(ctx)
    repo = _repo(ctx, small, large)
    imports = Variant(
        "imports",
        "floor: python importing what `mergegate run` imports, no gate",
        (ctx.tools.python, "-c", "import " + ", ".join(RUN_PATH_MODULES)),
        repo,
        ctx.env,
        "floor",
    )
    variants = [imports, *_variants(ctx, repo, small), *_variants(ctx, repo, large)]
    measured = measure(variants, ctx.rounds, ctx.warmup, ctx.scratch)
    pairs = [Pair(f"mg1-{small}", "imports", f"{small}: mergegate --jobs 1 ÷ its import floor")]
    section = Section(
        2,
        f"{small} and {large} trivial gates, serial and parallel",
        measured,
        pairs + _pairs(ctx, small) + _pairs(ctx, large),
    )
    labels = {
        "floor": "floor (sh)",
        "py": "floor (python Popen)",
        "mg1": "mergegate --jobs 1",
        "mgp": "mergegate (default --jobs)",
        "safe": "safety floor (python)",
        "pc": "pre-commit",
        "lhs": "lefthook serial",
        "lhp": "lefthook parallel",
    }
    present = {v.key.split("-")[0] for v in variants}
    for prefix, label in labels.items():
        if prefix in present:
            cost = _marginal(measured, prefix, small, large)
            section.metrics.append(
                (f"marginal cost per check, {label}", "—" if cost is None else fmt_time(cost))
            )
    _targets(ctx, section, measured, small, large)
    section.body = _import_table(ctx, repo, small)
    return section


def _import_table(ctx: Context, repo: Path, small: int) -> str:
    argv = (*ctx.tools.mergegate, "run", "-c", f"gates-{small}.yaml", "--jobs", "1")
    totals, code = importtime.by_package(argv, repo, ctx.env)
    if code != 0 or not totals:
        return f"(import profile unavailable: `mergegate run` exited {code})"
    whole = sum(totals.values())
    rows = [
        [PACKAGE_NOTES.get(name, name), fmt_time(seconds), f"{seconds / whole:.0%}"]
        for name, seconds in importtime.top(totals, 12)
    ]
    title = (
        f"Where the start-up of `mergegate run` ({small} gates) goes: self import time by "
        f"top-level package, one run under PYTHONPROFILEIMPORTTIME, {fmt_time(whole)} in all"
    )
    return "\n".join([title, "", *table(["package", "self import time", "share"], rows)])


def _targets(ctx: Context, section: Section, measured: Measured, small: int, large: int) -> None:
    cost = _marginal(measured, "mg1", small, large)
    section.targets.append(
        Target(
            "marginal cost per gate (mergegate --jobs 1)",
            "≤ 1.0 ms",
            "—" if cost is None else fmt_time(cost),
            None if ctx.tiny or cost is None else cost <= MARGINAL_GOAL,
        )
    )
    if ctx.tools.pre_commit:
        ratio = measured.ratio(f"mg1-{small}", f"pc-{small}")
        section.targets.append(
            Target(
                f"{small} trivial gates vs pre-commit (mergegate --jobs 1)",
                "≤ 0.33×",
                fmt_ratio(ratio),
                None if ctx.tiny or ratio is None else ratio <= RATIO_GOAL,
            )
        )
    else:
        section.notes.append("pre-commit is not installed: `pip install pre-commit`")
    if not ctx.tools.lefthook:
        section.notes.append("lefthook is not installed: `pip install lefthook`")
