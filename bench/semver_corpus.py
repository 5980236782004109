"""The semver gate and ``griffe check`` on consecutive real releases of popular packages.

    python bench/semver_corpus.py                          # the whole corpus (docs/semver.md)
    python bench/semver_corpus.py --package idna --pairs 3 # a few pairs of one package
    python bench/semver_corpus.py --package click --start 8.3.1 --pairs 1
    python bench/semver_corpus.py --json out.json          # every change, for analysis

For each package, the pure-Python wheel of every listed release is downloaded with
``pip download --no-deps --only-binary :all:`` into a cache directory (kept between runs;
nothing is committed). A wheel holds the same package source as the sdist, without the
metadata build that ``pip download`` of an sdist runs (≈12 s of CPU per release). A git
repository gets one commit per release, tagged ``v<version>``: the package under
``src/<module>`` and a pyproject.toml with the release's version. Then, for each
consecutive pair, with the older tag as the base:

- mergegate: the semver gate (``api.python: src/<module>``) on the newer release's tree;
- griffe: ``griffe check <module> -s src -a v<old> -b v<new>`` (breaking changes only).

It prints one markdown row per pair: the maintainers' bump, the level mergegate says the
changes need, its verdict, and griffe's breakage count. Exit 1 when a gate ends in
``error`` (mergegate could not decide) or griffe could not run; disagreements are data.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_semver import CONFIG, GIT_ENV  # one repository recipe for both semver benches

# package -> (top-level module, consecutive releases, oldest first)
CORPUS: dict[str, tuple[str, tuple[str, ...]]] = {
    "click": ("click", (
        "6.7", "7.0", "7.1", "7.1.1", "7.1.2", "8.0.0", "8.0.1", "8.0.2", "8.0.3", "8.0.4",
        "8.1.0", "8.1.1", "8.1.2", "8.1.3", "8.1.4", "8.1.5", "8.1.6", "8.1.7", "8.1.8",
        "8.2.0", "8.2.1", "8.3.0", "8.3.1", "8.3.2", "8.3.3", "8.4.0", "8.4.1", "8.4.2",
        "8.5.0", "8.5.1",
    )),
    "attrs": ("attr", (
        "16.0.0", "16.1.0", "16.2.0", "16.3.0", "17.1.0", "17.2.0", "17.3.0", "17.4.0",
        "18.1.0", "18.2.0", "19.1.0", "19.2.0", "19.3.0",
        "20.1.0", "20.2.0", "20.3.0", "21.2.0", "21.3.0", "21.4.0", "22.1.0", "22.2.0",
        "23.1.0", "23.2.0", "24.1.0", "24.2.0", "24.3.0", "25.1.0", "25.2.0", "25.3.0",
        "25.4.0", "26.1.0",
    )),
    "packaging": ("packaging", (
        "18.0", "19.0", "19.1", "19.2", "20.0", "20.1", "20.2", "20.3", "20.4", "20.5",
        "20.7", "20.8", "20.9", "21.0", "21.1", "21.2", "21.3", "22.0", "23.0", "23.1",
        "23.2", "24.0", "24.1", "24.2", "25.0", "26.0", "26.1", "26.2", "26.3", "26.4",
    )),
    "idna": ("idna", (
        "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "3.0", "3.1", "3.2",
        "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13",
        "3.14", "3.15", "3.16", "3.17", "3.18", "3.19", "3.20",
    )),
    "tomlkit": ("tomlkit", (
        "0.8.0", "0.9.0", "0.9.1", "0.9.2", "0.10.0", "0.10.1", "0.10.2", "0.11.0",
        "0.11.1", "0.11.2", "0.11.3", "0.11.4", "0.11.5", "0.11.6", "0.11.7", "0.11.8",
        "0.12.0", "0.12.1", "0.12.2", "0.12.3", "0.12.4", "0.12.5", "0.13.0", "0.13.1",
        "0.13.2", "0.13.3", "0.14.0", "0.15.0", "0.15.1", "0.15.2",
    )),
}  # fmt: skip

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "mergegate-semver-corpus"
)


@dataclass(frozen=True)
class Row:
    package: str
    old: str
    new: str
    bump: str  # the maintainers' bump, as mergegate reads it
    needs: str  # what mergegate says the changes need
    verdict: str  # the gate's status
    griffe: int | str  # griffe check's breakage count, or why it did not run
    changes: tuple[str, ...]  # mergegate's change messages with their levels
    griffe_lines: tuple[str, ...]
    reason: str


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return proc.stdout


# -- the releases -------------------------------------------------------------------


def wheel(cache: Path, package: str, version: str) -> Path:
    """The release's wheel from the cache, downloaded with pip the first time."""
    dest = cache / "wheels" / package / version
    found = sorted(dest.glob("*.whl"))
    if found:
        return found[0]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary", ":all:", "--dest", str(dest), f"{package}=={version}"],
        check=True,
    )  # fmt: skip
    return sorted(dest.glob("*.whl"))[0]


def unpack(archive: Path, module: str, dest: Path) -> None:
    """Only the module's own files: dist-info and other top-level packages stay out."""
    with zipfile.ZipFile(archive) as zipped:
        names = [n for n in zipped.namelist() if n.startswith(f"{module}/")]
        zipped.extractall(dest, names)


def build_repo(cache: Path, package: str, module: str, versions: Sequence[str]) -> Path:
    """One commit per release, tagged v<version>; reused when already complete."""
    repo = cache / "repos" / package
    stamp = repo / ".git" / "corpus-versions"
    if stamp.is_file() and stamp.read_text() == "\n".join(versions):
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "gates.yaml").write_text(CONFIG.format(module=module))
    (repo / ".gitignore").write_text("reports/\n")
    for version in versions:
        shutil.rmtree(repo / "src" / module, ignore_errors=True)
        unpack(wheel(cache, package, version), module, repo / "src")
        (repo / "pyproject.toml").write_text(
            f'[project]\nname = "{package}"\nversion = "{version}"\n'
        )
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"{package} {version}")
        git(repo, "tag", f"v{version}")
    stamp.write_text("\n".join(versions))
    return repo


# -- the two judges -----------------------------------------------------------------


def run_gate(repo: Path, old: str) -> tuple[str, str, str, tuple[str, ...], str]:
    """(status, bump, needs, changes, reason) of the semver gate with v<old> as the base."""
    from mergegate.config import load_config
    from mergegate.gates import GateContext, semver
    from mergegate.git import LazyBase
    from mergegate.proc import ProcessManager

    loaded = load_config(repo / "gates.yaml")
    procs = ProcessManager()
    try:
        ctx = GateContext(
            "semver", loaded.gates["semver"], loaded, LazyBase(repo, f"v{old}", None, {}),
            dict(os.environ), repo, 3600.0, procs, threading.Event(),
        )  # fmt: skip
        outcome = semver.run(ctx)  # type: ignore[arg-type]
    finally:
        procs.close()
    details = outcome.details
    version = details.get("version", {})
    bump = str(version.get("bump", "?")) if isinstance(version, dict) else "?"
    raw = details.get("changes", [])
    changes = tuple(
        f"{c['needs']}: {c['message']}" for c in raw if isinstance(c, dict)
    ) if isinstance(raw, list) else ()  # fmt: skip
    return outcome.status.value, bump, str(details.get("needs", "?")), changes, outcome.reason


def run_griffe(repo: Path, module: str, old: str, new: str) -> tuple[int | str, tuple[str, ...]]:
    griffe = Path(sys.executable).with_name("griffe")
    proc = subprocess.run(
        [str(griffe), "check", module, "-s", "src", "-a", f"v{old}", "-b", f"v{new}",
         "-f", "oneline", "--no-color"],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    # breakages only: griffe also logs its own loading errors on stderr
    lines = tuple(
        line
        for line in proc.stderr.splitlines()
        if line.strip() and not line.startswith(("ERROR", "WARNING", "INFO", "DEBUG"))
    )
    if proc.returncode not in (0, 1):
        return f"griffe exit {proc.returncode}", lines[-3:]
    return len(lines), lines


def judge_pair(repo: Path, package: str, module: str, old: str, new: str) -> Row:
    git(repo, "checkout", "-q", "--detach", f"v{new}")
    status, bump, needs, changes, reason = run_gate(repo, old)
    count, lines = run_griffe(repo, module, old, new)
    return Row(package, old, new, bump, needs, status, count, changes, lines, reason)


# -- main ---------------------------------------------------------------------------


def griffe_verdict(row: Row) -> str:
    """griffe check as a gate: a breaking change needs major (minor below 1.0.0)."""
    if isinstance(row.griffe, str):
        return row.griffe
    needed = "minor" if row.old.startswith("0.") else "major"
    order = ["no bump", "patch", "minor", "major"]
    short = row.griffe and order.index(row.bump) < order.index(needed)
    return "**block**" if short else "pass"


def markdown(rows: Sequence[Row]) -> str:
    out = [
        "| package | release | maintainers' bump | mergegate needs | mergegate "
        "| griffe breaking | griffe |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = {"passed": "pass", "failed": "**block**"}.get(r.verdict, r.verdict)
        out.append(
            f"| {r.package} | {r.old} → {r.new} | {r.bump} | {r.needs} | {verdict} "
            f"| {r.griffe} | {griffe_verdict(r)} |"
        )
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/semver_corpus.py", description=__doc__)
    parser.add_argument("--package", action="append", choices=sorted(CORPUS), help="repeatable")
    parser.add_argument("--start", help="the first release of the range (default: the oldest)")
    parser.add_argument("--pairs", type=int, help="only the first N pairs of each package")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="wheels and repos")
    parser.add_argument("--json", type=Path, help="write every row, changes included")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import logging

    logging.getLogger("griffe").setLevel(logging.CRITICAL)
    rows: list[Row] = []
    for package in args.package or sorted(CORPUS):
        module, versions = CORPUS[package]
        if args.start:
            versions = versions[versions.index(args.start) :]
        if args.pairs:
            versions = versions[: args.pairs + 1]
        repo = build_repo(args.cache, package, module, versions)
        for old, new in itertools.pairwise(versions):
            rows.append(judge_pair(repo, package, module, old, new))
            print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    bad = [r for r in rows if r.verdict not in ("passed", "failed") or isinstance(r.griffe, str)]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
