"""Case 5: the per-kind scripts the gate issues contribute (JUnit counting, witness, semver).

Each is a standalone script in bench/ with ``main(argv) -> int``; it is imported and called
with its tiny-size flags under --tiny. What it prints becomes part of this report. A script
that is not there yet is skipped with a note; one that fails fails the bench run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from harness.section import Context, Section

BENCH_DIR = Path(__file__).resolve().parent.parent

# script stem -> (title, arguments at full size, arguments at tiny size)
SCRIPTS: dict[str, tuple[str, Sequence[str], Sequence[str]]] = {
    "bench_junit": ("tests gate: JUnit counting", (), ("--cases", "2000", "--rounds", "1")),
    "bench_witness": (
        "witness gate: hashing the footprint",
        (),
        ("--files", "20", "--mb", "2", "--rounds", "1"),
    ),
    "bench_semver": ("semver gate: API diff and version bump", (), ("--small",)),
    "bench_cache": (
        "result cache: keying a large repository, a second run with nothing changed",
        (),
        ("--files", "2000", "--rounds", "1"),
    ),
}


def _load(path: Path) -> Callable[[list[str]], int]:
    spec = importlib.util.spec_from_file_location(f"mergegate_bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (and pickle) look the module up by name
    spec.loader.exec_module(module)
    return cast(Callable[[list[str]], int], module.main)


def _call(path: Path, argv: Sequence[str]) -> tuple[int, str]:
    """Run the script's main; returns (exit code, what it printed)."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            code = _load(path)(list(argv))
    except SystemExit as exc:  # argparse rejecting its flags, or a sys.exit in main
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:  # a broken script is reported; the other scripts still run
        return 1, buffer.getvalue() + traceback.format_exc(limit=-3)
    return int(code or 0), buffer.getvalue()


def _as_markdown(text: str) -> str:
    """The script's output, with a blank line around each table so it renders as one."""
    out: list[str] = []
    for line in text.strip().splitlines():
        in_table = bool(out) and out[-1].startswith("|")
        if out and out[-1] and line.startswith("|") != in_table:
            out.append("")
        out.append(line)
    return "\n".join(out)


def run(ctx: Context) -> Section:
    section = Section(5, "Per-kind cases")
    parts: list[str] = []
    for stem, (title, full, tiny) in SCRIPTS.items():
        path = BENCH_DIR / f"{stem}.py"
        if not path.is_file():
            section.notes.append(f"{title}: skipped, bench/{path.name} is not there yet")
            continue
        argv = tiny if ctx.tiny else full
        code, printed = _call(path, argv)
        shown = " ".join(["bench/" + path.name, *argv])
        parts.append(f"### {title} (`{shown}`)\n\n{_as_markdown(printed) or '(no output)'}")
        if code != 0:
            section.ok = False
            section.notes.append(f"{title}: `{shown}` exited {code}")
    section.body = "\n\n".join(parts)
    return section
