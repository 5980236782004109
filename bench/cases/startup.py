"""Case 1: start-up of `mergegate --version` and `--help` against the interpreter's own."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from harness.measure import Variant, measure
from harness.section import Context, Pair, Section, Target, fmt_time, median_difference

HEAVY = ("pydantic", "rich", "yaml", "junit_xml")
VERSION_GOAL = 0.040


def heavy_imports(ctx: Context) -> list[str]:
    """Top-level packages among HEAVY that `mergegate --version` imports."""
    proc = subprocess.run(
        [ctx.tools.python, "-X", "importtime", "-m", "mergegate", "--version"],
        capture_output=True,
        text=True,
        env=dict(ctx.env),
        check=False,
    )
    found = set()
    for line in proc.stderr.splitlines():
        module = line.rsplit("|", 1)[-1].strip()
        if module.split(".")[0] in HEAVY:
            found.add(module.split(".")[0])
    return sorted(found)


def _bare_version_code() -> str:
    """`mergegate --version` with site-packages and its .pth files skipped: what mergegate
    itself adds to a bare interpreter (--version needs only the standard library)."""
    spec = importlib.util.find_spec("mergegate")
    if spec is None or spec.origin is None:
        raise RuntimeError("mergegate is not installed in this interpreter")
    root = str(Path(spec.origin).parent.parent)
    return (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from mergegate.__main__ import main; sys.exit(main(['--version']))"
    )


def run(ctx: Context) -> Section:
    cwd, env, tools = ctx.workdir("startup"), ctx.env, ctx.tools
    variants = [
        Variant("floor", "floor: python -c pass", (tools.python, "-c", "pass"), cwd, env, "floor"),
        Variant(
            "bare",
            "python -I -S -c pass (no site-packages)",
            (tools.python, "-I", "-S", "-c", "pass"),
            cwd,
            env,
            "floor",
        ),
        Variant("version", "mergegate --version", (*tools.mergegate, "--version"), cwd, env),
        Variant("help", "mergegate --help", (*tools.mergegate, "--help"), cwd, env),
        Variant(
            "bare-version",
            "mergegate --version on python -I -S (no site-packages)",
            (tools.python, "-I", "-S", "-c", _bare_version_code()),
            cwd,
            env,
        ),
    ]
    pairs = [
        Pair("version", "floor", "mergegate --version ÷ python -c pass"),
        Pair("help", "floor", "mergegate --help ÷ python -c pass"),
        Pair("bare-version", "bare", "mergegate --version ÷ python, both -I -S"),
    ]
    if tools.pre_commit:
        variants.append(
            Variant(
                "pc",
                "pre-commit --version",
                (*tools.pre_commit, "--version"),
                cwd,
                env,
                "pre-commit",
            )
        )
        pairs.append(Pair("version", "pc", "mergegate --version ÷ pre-commit --version"))
    if tools.lefthook:
        variants.append(
            Variant("lh", "lefthook version", (tools.lefthook, "version"), cwd, env, "lefthook")
        )
        pairs.append(Pair("version", "lh", "mergegate --version ÷ lefthook version"))
    measured = measure(variants, ctx.rounds, ctx.warmup, ctx.scratch)
    section = Section(1, "Start-up: `mergegate --version` and `--help`", measured, pairs)
    heavy = heavy_imports(ctx)
    over = median_difference(measured, "version", "floor")
    bare_over = median_difference(measured, "bare-version", "bare")
    section.metrics += [
        ("`--version` over `python -c pass`", fmt_time(over) if over is not None else "—"),
        (
            "`--version` over `python -I -S -c pass`",
            fmt_time(bare_over) if bare_over is not None else "—",
        ),
        ("heavy packages imported by `--version`", ", ".join(heavy) or "none"),
    ]
    stats, bare = measured.stats("version"), measured.stats("bare-version")
    if stats is not None:
        on_bare = f" (on python -I -S: {fmt_time(bare.median)})" if bare is not None else ""
        section.targets.append(
            Target(
                "`mergegate --version`",
                "≤ 40 ms, imports no pydantic/rich/yaml",
                f"{fmt_time(stats.median)}{on_bare}; heavy imports: {', '.join(heavy) or 'none'}",
                None if ctx.tiny else (stats.median <= VERSION_GOAL and not heavy),
            )
        )
    if heavy:
        section.ok = False
        section.notes.append(
            f"`mergegate --version` imports {', '.join(heavy)}: start-up "
            "must stay on the standard library"
        )
    return section
