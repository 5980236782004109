"""Shards: `run --shard I/N` splits the gates deterministically; `merge` folds the reports."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import gate_json, load_json, parse_junit, run_cli, write_config

CONFIG = """
version: 1
gates:
  a: {run: "true"}
  b: {run: "true", needs: a}
  c: {run: "exit 1"}
  d: {run: "true"}
  e: {run: "true"}
"""


def run_shards(repo: Path, total: int) -> list[Path]:
    write_config(repo, CONFIG)
    paths = []
    for index in range(1, total + 1):
        out = repo / f"shard-{index}.json"
        proc = run_cli(
            [
                "run",
                "--shard",
                f"{index}/{total}",
                "--json",
                str(out),
                "--junit",
                str(repo / f"shard-{index}.xml"),
            ],
            cwd=repo,
        )
        assert proc.returncode in (0, 1), proc.stderr
        paths.append(out)
    return paths


def test_every_gate_runs_in_exactly_one_shard_and_needs_stay_together(repo: Path) -> None:
    paths = run_shards(repo, 3)
    ran: dict[str, int] = {}
    for index, path in enumerate(paths, 1):
        for gate in load_json(path)["gates"]:
            if gate["skip_cause"] != "selection":
                ran[gate["name"]] = index
    assert sorted(ran) == ["a", "b", "c", "d", "e"]
    assert ran["a"] == ran["b"]


def test_merge_folds_shards_into_one_verdict(repo: Path) -> None:
    paths = run_shards(repo, 2)
    proc = run_cli(
        [
            "merge",
            *map(str, paths),
            "--json",
            "all.json",
            "--junit",
            "all.xml",
            "--summary",
            "all.md",
        ],
        cwd=repo,
    )
    assert proc.returncode == 1
    report = load_json(repo / "all.json")
    assert {g["name"]: g["status"] for g in report["gates"]} == {
        "a": "passed",
        "b": "passed",
        "c": "failed",
        "d": "passed",
        "e": "passed",
    }
    junit = parse_junit(repo / "all.xml")
    assert junit.get("failures") == "1"
    assert "c" in (repo / "all.md").read_text()


def test_a_missing_shard_report_blocks(repo: Path) -> None:
    paths = run_shards(repo, 2)
    shard_of_c = next(p for p in paths if gate_json(load_json(p), "c")["skip_cause"] is None)
    others = [p for p in paths if p != shard_of_c]
    proc = run_cli(["merge", *map(str, others), "--json", "m.json", "--junit", "m.xml"], cwd=repo)
    assert proc.returncode == 1
    assert "no shard report ran this gate" in gate_json(load_json(repo / "m.json"), "c")["reason"]


def test_merge_refuses_garbage(repo: Path) -> None:
    (repo / "bad.json").write_text("{not json")
    proc = run_cli(["merge", "bad.json"], cwd=repo)
    assert proc.returncode == 2
    assert "not a mergegate JSON report" in proc.stderr
    proc = run_cli(["merge", "missing.json"], cwd=repo)
    assert proc.returncode == 2
