"""examples/workflows/gates-sharded.yml, run job by job through the workflow harness.

The shard jobs and the merge job execute their `run:` steps for real (mergegate
from this interpreter's environment stands in for the pip install); artifacts and
the durations cache pass between jobs through the harness's stand-in actions.
The one required check is the `gates` job: it must be red when a gate fails or a
shard's report is missing, and green only when every gate ran and passed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ghworkflow import JobResult, Workflow
from tests.helpers import commit_all, git, init_repo, load_json, write_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "workflows" / "gates-sharded.yml"
SPEC: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
INSTALL = frozenset({"Install mergegate"})  # pip from the network: replaced by this venv

GATES = """
version: 1
gates:
  lint: {run: "true"}
  types: {run: "true", needs: lint}
  unit: {run: "true"}
  e2e: {run: "test ! -f break-e2e"}
  docs: {run: "true"}
  audit: {run: "true"}
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "origin")
    write_config(repo, GATES)
    commit_all(repo, "gates")
    return repo


def workflow(tmp_path: Path, event: str, run_id: str) -> Workflow:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return Workflow(
        SPEC,
        tmp_path / f"run-{run_id}",
        tmp_path / "caches",
        event_name=event,
        run_id=run_id,
        extra_env={"PATH": path},
        replaced=INSTALL,
    )


def checkout(source: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    git(source.parent, "clone", "-q", str(source), str(dest))
    return dest


def run_workflow(
    flow: Workflow, source: Path, shards: list[int] | None = None
) -> tuple[dict[int, JobResult], JobResult, Path]:
    """The shard jobs (all, or only those listed: the others never report), then the check."""
    results: dict[int, JobResult] = {}
    for matrix in flow.matrix("shard"):
        index = int(matrix["shard"])
        if shards is None or index in shards:
            workspace = checkout(source, flow.temp / f"shard-{index}")
            results[index] = flow.run_job("shard", workspace, matrix)
    verdict_dir = flow.temp / "gates-job"
    shutil.rmtree(verdict_dir, ignore_errors=True)
    verdict_dir.mkdir()
    complete = shards is None or len(shards) == len(flow.matrix("shard"))
    shard_result = (
        "success"
        if complete and all(r.result == "success" for r in results.values())
        else "failure"
    )
    check = flow.run_job("gates", verdict_dir, needs={"shard": shard_result})
    return results, check, verdict_dir


def test_shard_count_matches_the_matrix() -> None:
    matrix = SPEC["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert int(SPEC["env"]["SHARDS"]) == len(matrix)
    assert matrix == list(range(1, len(matrix) + 1))
    check = SPEC["jobs"]["gates"]
    assert (check["needs"], check["if"], check["name"]) == ("shard", "always()", "gates")


@pytest.mark.slow
def test_all_green_allows_and_main_measures_durations_the_next_run_balances_by(
    tmp_path: Path, source: Path
) -> None:
    push = workflow(tmp_path, "push", "1")
    shards, check, verdict = run_workflow(push, source)
    assert all(r.result == "success" for r in shards.values())
    assert all("split by name" in r.step("Run this shard's gates").stderr for r in shards.values())
    assert check.result == "success", check.step("Fold the shards into one verdict").stdout
    assert check.step("Install mergegate").outcome == "replaced"
    report = load_json(verdict / "reports" / "gates.json")
    assert (report["verdict"], report["partial"]) == ("allowed", False)
    assert {g["status"] for g in report["gates"]} == {"passed"}
    assert check.step("Save the durations").outcome == "success"  # push: cache saved

    pull = workflow(tmp_path, "pull_request", "2")
    shards, check, verdict = run_workflow(pull, source)
    assert check.result == "success"
    assert check.step("Save the durations").outcome == "skipped"  # only main writes it
    ran = []
    for index, job in shards.items():
        assert "split by name" not in job.step("Run this shard's gates").stderr  # cache restored
        shard_report = load_json(pull.temp / f"shard-{index}" / "reports" / f"shard-{index}.json")
        ran.append(sorted(g["name"] for g in shard_report["gates"] if g["skip_cause"] is None))
    assert all(ran)  # balanced by the measured durations: no shard idles
    assert sorted(n for names in ran for n in names) == sorted(yaml.safe_load(GATES)["gates"])


@pytest.mark.slow
def test_a_failed_gate_turns_the_check_red(tmp_path: Path, source: Path) -> None:
    (source / "break-e2e").touch()
    commit_all(source, "break e2e")
    shards, check, verdict = run_workflow(workflow(tmp_path, "pull_request", "3"), source)
    assert [i for i, r in shards.items() if r.result == "failure"]  # the shard with e2e
    assert check.result == "failure"
    fold = check.step("Fold the shards into one verdict")
    assert "merge blocked by e2e" in fold.stdout
    report = load_json(verdict / "reports" / "gates.json")
    assert report["verdict"] == "blocked"
    assert check.step("Upload the verdict").outcome == "success"  # if: always()


@pytest.mark.slow
def test_a_missing_shard_report_turns_the_check_red(tmp_path: Path, source: Path) -> None:
    flow = workflow(tmp_path, "pull_request", "4")
    everything, _, _ = run_workflow(flow, source)  # find a shard that runs something
    busy = next(
        i
        for i in everything
        if any(
            g["skip_cause"] is None
            for g in load_json(flow.temp / f"shard-{i}" / "reports" / f"shard-{i}.json")["gates"]
        )
    )
    flow = workflow(tmp_path, "pull_request", "5")
    others = [i for i in everything if i != busy]
    _, check, verdict = run_workflow(flow, source, shards=others)
    assert check.result == "failure"
    report = load_json(verdict / "reports" / "gates.json")
    missing = [g for g in report["gates"] if g["status"] == "error"]
    assert missing
    assert all("no shard report ran this gate" in g["reason"] for g in missing)


def test_no_report_at_all_turns_the_check_red(tmp_path: Path, source: Path) -> None:
    _, check, _ = run_workflow(workflow(tmp_path, "pull_request", "6"), source, shards=[])
    assert check.result == "failure"
    fold = check.step("Fold the shards into one verdict")
    assert "::error title=gates::no shard report arrived" in fold.stdout
