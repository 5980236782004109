"""The ratchet: floors from .mergegate/baseline.json at the base, with real git and real pytest."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mergegate.baseline import BASELINE_PATH, BaselineError, parse, render
from tests.helpers import commit_all, gate_json, git, init_repo, load_json, run_cli, write_config


def _config(min_passed: str = "baseline", max_skipped: str = "3") -> str:
    return f"""
version: 1
base: main
gates:
  unit:
    kind: tests
    run: {sys.executable} -m pytest -q -p no:cacheprovider suite --junitxml=out/unit.xml
    junit: out/unit.xml
    min_passed: {min_passed}
    max_skipped: {max_skipped}
"""


def _suite(passing: int, skipped: int = 0) -> str:
    lines = ["import pytest", ""]
    lines += [f"def test_ok_{i}() -> None:\n    pass\n" for i in range(passing)]
    lines += [
        f"@pytest.mark.skip\ndef test_skip_{i}() -> None:\n    pass\n" for i in range(skipped)
    ]
    return "\n".join(lines)


def _repo(tmp_path: Path, config: str | None = None, passing: int = 4, skipped: int = 1) -> Path:
    root = init_repo(
        tmp_path / "repo",
        {"suite/test_suite.py": _suite(passing, skipped), ".gitignore": "out/\nreports/\n"},
    )
    write_config(root, config or _config())
    commit_all(root, "gates")
    return root


def _baseline(root: Path, passed: int, skipped: int = 1) -> None:
    (root / ".mergegate").mkdir(exist_ok=True)
    (root / BASELINE_PATH).write_text(render({"unit": {"passed": passed, "skipped": skipped}}))


def _run(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = run_cli(["run", "--no-cache", *extra], root)
    return proc.returncode, gate_json(load_json(root / "reports" / "gates.json"), "unit")


def _on_branch(root: Path, passing: int, skipped: int = 1) -> None:
    git(root, "checkout", "-q", "-b", "change")
    (root / "suite/test_suite.py").write_text(_suite(passing, skipped))


# -- the file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        '{"version": 2, "gates": {}}',
        '{"version": 1}',
        '{"version": 1, "gates": {"unit": 5}}',
        '{"version": 1, "gates": {"unit": {"passed": -1, "skipped": 0}}}',
        '{"version": 1, "gates": {"unit": {"passed": true, "skipped": 0}}}',
        '{"version": 1, "gates": {"unit": {"passed": 3}}}',
    ],
)
def test_a_malformed_baseline_is_an_error(text: str) -> None:
    with pytest.raises(BaselineError, match=r"baseline\.json"):
        parse(text, "baseline.json")


def test_render_parses_back() -> None:
    counts = {"b": {"passed": 2, "skipped": 0}, "a": {"passed": 9, "skipped": 1}}
    assert parse(render(counts), "x") == counts


# -- the gate (real git, real pytest, the real CLI) ---------------------------------------


@pytest.mark.slow
def test_floor_from_the_base_blocks_a_shrinking_suite(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _baseline(root, 4)
    commit_all(root, "baseline")
    _on_branch(root, passing=3)
    code, gate = _run(root)
    assert code == 1
    assert gate["status"] == "failed"
    assert "3 passed < 4 required (1 fewer than the baseline floor)" in gate["reason"]
    assert gate["details"]["baseline"]["min_passed"] == {"base": 4, "used": 4}


@pytest.mark.slow
def test_the_floor_is_read_at_the_base_not_the_working_tree(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _baseline(root, 4)
    commit_all(root, "baseline")
    _on_branch(root, passing=4)
    _baseline(root, 9)  # a higher working-tree value does not raise the bar for this change
    code, gate = _run(root)
    assert code == 0, gate["reason"]
    assert gate["reason"].startswith("4 passed (≥ 4 required)")
    assert gate["annotations"] == []


@pytest.mark.slow
def test_a_change_lowering_its_floor_says_so(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _baseline(root, 4)
    commit_all(root, "baseline")
    _on_branch(root, passing=3)
    _baseline(root, 3)
    code, gate = _run(root)
    assert code == 0, gate["reason"]
    assert "floor lowered 4 → 3 in this change" in gate["reason"]
    assert gate["details"]["baseline"]["lowered"] == ["floor lowered 4 → 3 in this change"]
    [note] = gate["annotations"]
    assert note["level"] == "warning"
    assert note["path"] == BASELINE_PATH
    summary = root / "summary.md"
    assert run_cli(["run", "--summary", str(summary)], root).returncode == 0
    assert "floor lowered 4 → 3 in this change" in summary.read_text()
    gh = run_cli(["run", "--no-cache"], root, {"GITHUB_ACTIONS": "true"})
    assert "::warning" in gh.stdout
    assert "floor lowered 4 → 3" in gh.stdout


@pytest.mark.slow
def test_max_skipped_baseline_is_a_ceiling(tmp_path: Path) -> None:
    root = _repo(tmp_path, _config(min_passed="1", max_skipped="baseline"))
    _baseline(root, 4, skipped=1)
    commit_all(root, "baseline")
    _on_branch(root, passing=4, skipped=2)
    code, gate = _run(root)
    assert code == 1
    assert "2 skipped > 1 allowed" in gate["reason"]
    _baseline(root, 4, skipped=2)
    code, gate = _run(root)
    assert code == 0
    assert "skip ceiling raised 1 → 2 in this change" in gate["reason"]


@pytest.mark.slow
def test_no_baseline_at_the_base_is_an_error_not_a_pass(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _on_branch(root, passing=4)
    _baseline(root, 1)  # only in the change: the base has none
    code, gate = _run(root)
    assert code == 1
    assert gate["status"] == "error"
    assert "no .mergegate/baseline.json at the base main" in gate["reason"]
    assert "mergegate baseline update" in gate["reason"]


@pytest.mark.slow
def test_no_base_is_an_error_with_the_fetch_hint(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _baseline(root, 1)
    commit_all(root, "baseline")
    code, gate = _run(root, "--base", "origin/trunk")
    assert code == 1
    assert gate["status"] == "error"
    assert "git fetch origin trunk" in gate["reason"]


@pytest.mark.slow
def test_a_malformed_working_tree_baseline_blocks(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _baseline(root, 4)
    commit_all(root, "baseline")
    (root / BASELINE_PATH).write_text("{not json")
    code, gate = _run(root)
    assert code == 1
    assert gate["status"] == "error"
    assert "not valid JSON" in gate["reason"]


# -- mergegate baseline update -----------------------------------------------------------


@pytest.mark.slow
def test_update_runs_the_suite_and_writes_the_counts(tmp_path: Path) -> None:
    root = _repo(tmp_path, passing=5, skipped=2)
    proc = run_cli(["baseline", "update"], root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / BASELINE_PATH).read_text())
    assert data == {"version": 1, "gates": {"unit": {"passed": 5, "skipped": 2}}}
    assert "unit: 5 passed, 2 skipped" in proc.stderr


@pytest.mark.slow
def test_update_from_a_report_and_refusing_a_failed_gate(tmp_path: Path) -> None:
    root = _repo(tmp_path, _config(min_passed="1"), passing=3)
    assert run_cli(["run"], root).returncode == 0
    proc = run_cli(["baseline", "update", "--from", "reports/gates.json"], root)
    assert proc.returncode == 0, proc.stderr
    assert parse((root / BASELINE_PATH).read_bytes(), "x") == {"unit": {"passed": 3, "skipped": 1}}
    (root / "suite/test_suite.py").write_text(
        _suite(3) + "\ndef test_bad() -> None:\n    assert 0\n"
    )
    proc = run_cli(["baseline", "update"], root)
    assert proc.returncode == 1
    assert "unit: did not pass (failed)" in proc.stderr
    assert "not written" in proc.stderr
    assert parse((root / BASELINE_PATH).read_bytes(), "x") == {"unit": {"passed": 3, "skipped": 1}}


def test_update_names_an_unknown_gate(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    proc = run_cli(["baseline", "update", "--gate", "nope"], root)
    assert proc.returncode == 2
    assert "not a tests gate" in proc.stderr
    assert not (root / BASELINE_PATH).exists()
