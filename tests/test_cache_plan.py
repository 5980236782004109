"""`mergegate run --dry-run` says what the result cache would do with each gate, running nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import commit_all, init_repo, run_cli, write_config

GATES = """
version: 1
gates:
  keyed:
    run: echo keyed
    inputs: ["src/**"]
    env_inputs: [TARGET]
    version_of: ["touch version-of-ran && echo 1.0"]
    if_changed: ["src/**"]
  plain: {run: echo plain}
  opted-out: {run: echo out, cache: false}
  build: {run: echo build}
  counted:
    kind: tests
    junit: reports/junit/*.xml
    min_passed: 1
    needs: [build]
"""


def _plan(tmp_path: Path, *extra: str) -> dict[str, list[str]]:
    """Each selected gate's plan lines, by gate name, from the console output."""
    root = init_repo(tmp_path / "repo", {"src/a.py": "a = 1\n"})
    write_config(root, GATES)
    commit_all(root, "gates")
    proc = run_cli(
        ["run", "--dry-run", "--no-color", *extra], root, {"TARGET": "prod", "COLUMNS": "400"}
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 1: no JUnit file yet
    assert not (root / "version-of-ran").exists(), "a dry run ran a version_of command"
    assert not (root / ".mergegate").exists(), "a dry run touched the cache"
    plans: dict[str, list[str]] = {}
    current: list[str] = []
    for line in proc.stdout.splitlines():
        if line and not line.startswith(" ") and " (" in line:
            current = plans.setdefault(line.split(" (")[0], [])
        elif line.startswith("  "):
            current.append(line.strip())
    return plans


def _cache_line(plans: dict[str, list[str]], name: str) -> str:
    lines = [line for line in plans[name] if line.startswith("cache: ")]
    assert len(lines) == 1, plans[name]
    return lines[0]


def test_dry_run_names_what_each_gate_is_keyed_on_or_why_not(tmp_path: Path) -> None:
    plans = _plan(tmp_path)
    assert _cache_line(plans, "keyed") == (
        "cache: a pass is reused while unchanged: inputs (src/**); env TARGET; "
        "version_of `touch version-of-ran && echo 1.0`; the base commit"
    )
    assert _cache_line(plans, "plain") == (
        "cache: a pass is reused while unchanged: inputs (every file git would commit)"
    )
    assert _cache_line(plans, "opted-out") == "cache: off (cache: false)"
    assert _cache_line(plans, "counted") == (
        "cache: never — a tests gate without `run` counts reports already on disk; it always runs"
    )
    assert _cache_line(plans, "build") == (
        "cache: never — needed by counted, never cached; it always runs"
    )


@pytest.mark.parametrize("gate", ["keyed", "plain", "opted-out", "build", "counted"])
def test_no_cache_says_cache_off_for_every_gate(tmp_path: Path, gate: str) -> None:
    plans = _plan(tmp_path, "--no-cache")
    assert _cache_line(plans, gate) == "cache: off (--no-cache)"
