"""What the end-to-end tests share: an example project copied into a real git repository
(base on `main`, a feature branch on top), the gates run through the real CLI, and the
checks that read the verdict back from reports/gates.json and reports/gates.xml.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import (
    commit_all,
    git,
    load_json,
    parse_junit,
    run_cli,
    run_process,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
# what a developer's checkout of an example may hold that is not part of it
_NOT_COPIED = shutil.ignore_patterns(
    "node_modules",
    "reports",
    ".eslintcache",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
    "build",
    "*.egg-info",
)
RUN_TIMEOUT = 240.0


def copy_example(name: str, dest: Path) -> Path:
    """``examples/<name>`` as the first commit on ``main`` of a new repository at ``dest``."""
    shutil.copytree(EXAMPLES / name, dest, ignore=_NOT_COPIED, symlinks=True)
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, f"base: the {name} example")
    return dest


def run_tool(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 300
) -> str:
    """Run a project tool (npm, npx) as a developer would; fail the test with its output."""
    done = run_process(argv, cwd, env, timeout)
    shown = " ".join(argv)
    assert done.returncode == 0, f"{shown} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` (the example must still contain it)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected exactly one {old!r}; has the example changed?"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def branch_from(repo: Path, name: str, start: str = "feature") -> None:
    """Check out a fresh branch ``name`` at ``start``, with a clean tree (ignored files stay)."""
    git(repo, "checkout", "-q", "-f", "-B", name, start)
    git(repo, "clean", "-fdq")


@dataclass(frozen=True)
class Break:
    """One thing broken on purpose, the gate that must catch it, and how it must say so."""

    gate: str
    apply: Callable[[Path], None]
    check: Callable[[dict[str, Any], str], None]  # (the gate's JSON entry, everything written)


def make_branch(repo: Path, name: str, breaks: Sequence[Break]) -> None:
    """Branch ``name`` off `feature` with ``breaks`` applied and committed."""
    branch_from(repo, name)
    for broken in breaks:
        broken.apply(repo)
    commit_all(repo, f"{name}: {len(breaks)} break(s)")


@dataclass(frozen=True)
class GateRun:
    """One `mergegate run`: its exit code and output, and the two reports read back."""

    returncode: int
    output: str
    report: dict[str, Any]
    junit_problems: frozenset[str]  # gates with a <failure> or <error> in gates.xml

    @property
    def statuses(self) -> dict[str, str]:
        return {g["name"]: g["status"] for g in self.report["gates"]}

    def gate(self, name: str) -> dict[str, Any]:
        for entry in self.report["gates"]:
            if entry["name"] == name:
                found: dict[str, Any] = entry
                return found
        raise AssertionError(f"no gate {name!r} in the report: {sorted(self.statuses)}")


def run_gates(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = RUN_TIMEOUT
) -> GateRun:
    """`mergegate run ARGS` in ``repo``; the reports are removed first so none is stale."""
    reports = repo / "reports"
    for name in ("gates.json", "gates.xml"):
        (reports / name).unlink(missing_ok=True)
    done = run_cli(["run", *args], cwd=repo, env=env, timeout=timeout)
    output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    written = (reports / "gates.json").is_file()
    assert written, f"no JSON report written (exit {done.returncode})\n{output}"
    junit = parse_junit(reports / "gates.xml")
    problems = frozenset(
        case.get("name", "")
        for case in junit.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    )
    return GateRun(done.returncode, output, load_json(reports / "gates.json"), problems)


def assert_all_passed(run: GateRun, expected: Sequence[str]) -> None:
    """Every gate in ``expected`` ran and passed, the merge is allowed, and JUnit agrees."""
    assert run.statuses == dict.fromkeys(expected, "passed"), run.output
    assert run.returncode == 0, run.output
    assert run.report["verdict"] == "allowed"
    assert run.junit_problems == frozenset()


def assert_blocks_alone(run: GateRun, blocker: str) -> dict[str, Any]:
    """A run of `--only BLOCKER`: it failed, nothing else ran, exit 1, and JUnit agrees.

    Returns the blocker's JSON entry for the case's own checks on its reason.
    """
    statuses = run.statuses
    assert statuses.get(blocker) == "failed", f"{blocker}: {statuses}\n{run.output}"
    others = {name: status for name, status in statuses.items() if name != blocker}
    assert set(others.values()) <= {"skipped"}, f"--only ran other gates: {others}"
    assert run.returncode == 1, run.output
    assert run.report["verdict"] == "blocked"
    assert run.junit_problems == {blocker}
    assert [g["name"] for g in run.report["gates"] if g["blocks"]] == [blocker]
    assert f"mergegate run --only {blocker}" in run.output  # the reproduce command is printed
    return run.gate(blocker)


def assert_passes_alone(run: GateRun, gate: str) -> None:
    assert run.statuses.get(gate) == "passed", f"{gate}: {run.statuses}\n{run.output}"
    assert run.returncode == 0, run.output
    assert run.junit_problems == frozenset()


def reason_and_tail(entry: Mapping[str, Any]) -> str:
    return f"{entry['reason']}\n{entry['output_tail']}"


def everything_written(run: GateRun, repo: Path) -> str:
    """The console output and both reports, for checks that something never appears."""
    reports = repo / "reports"
    json_text = (reports / "gates.json").read_text(encoding="utf-8")
    return "\n".join([run.output, json_text, (reports / "gates.xml").read_text(encoding="utf-8")])
