"""Shards: `run --shard I/N` splits the gates deterministically; `merge` folds the reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mergegate.config import parse_config
from mergegate.plan import assign_shards, balance, select, shard_of
from mergegate.spec import LoadedConfig, compile_config
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


# -- balancing shards by last measured durations -----------------------------------------


def gates_config(needs: dict[str, list[str]]) -> LoadedConfig:
    gates = {name: {"run": "true", "needs": deps} for name, deps in needs.items()}
    text = json.dumps({"version": 1, "gates": gates})  # JSON is YAML
    return LoadedConfig(compile_config(parse_config(text)), Path("gates.yaml"), Path.cwd())


@st.composite
def gate_graphs(draw: st.DrawFn) -> dict[str, list[str]]:
    """Random acyclic needs graphs: a gate may only need gates listed before it."""
    count = draw(st.integers(min_value=1, max_value=12))
    names = [f"g{i}" for i in range(count)]
    return {
        name: sorted(draw(st.sets(st.sampled_from(names[:i]), max_size=2))) if i else []
        for i, name in enumerate(names)
    }


@settings(max_examples=150, deadline=None)
@given(
    graph=gate_graphs(),
    total=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_every_gate_lands_in_exactly_one_shard(
    graph: dict[str, list[str]], total: int, data: st.DataObject
) -> None:
    measured = data.draw(st.sets(st.sampled_from(sorted(graph))))
    durations = {
        name: data.draw(st.floats(min_value=0, max_value=3600, allow_nan=False))
        for name in sorted(measured)
    }
    loaded = gates_config(graph)
    selected = [
        select(loaded, shard=(i, total), durations=durations).selected for i in range(1, total + 1)
    ]
    assert sorted(n for s in selected for n in s) == sorted(graph)  # all, none twice
    where = {name: i for i, names in enumerate(selected) for name in names}
    for name, deps in graph.items():
        assert all(where[d] == where[name] for d in deps)  # a needs group never splits
    shuffled = dict(reversed(list(durations.items())))
    assert assign_shards(loaded.gates, total, shuffled) == assign_shards(
        loaded.gates, total, durations
    )


def test_balance_packs_longest_first() -> None:
    groups = [["a"], ["b"], ["c"], ["d"], ["e", "f"]]
    durations = {"a": 10.0, "b": 1.0, "c": 1.0, "d": 8.0, "e": 2.0, "f": 2.0}
    shards = balance(groups, 2, durations)
    load = {i: sum(durations[n] for n, s in shards.items() if s == i) for i in (1, 2)}
    assert load == {1: 12.0, 2: 12.0}
    assert shards["e"] == shards["f"]


def test_nonsense_durations_count_as_unmeasured() -> None:
    groups = [["a"], ["b"], ["c"]]
    odd = {"a": float("nan"), "b": -5.0, "c": float("inf")}
    assert balance(groups, 2, odd) == {"a": 1, "b": 2, "c": 1}  # all weigh 1: by name


def test_unmeasured_gates_weigh_the_mean_and_no_durations_means_hashing() -> None:
    loaded = gates_config({"a": [], "b": [], "c": [], "new": []})
    shards = assign_shards(loaded.gates, 2, {"a": 9.0, "b": 1.0, "c": 2.0})
    assert shards["a"] != shards["b"] == shards["c"] == shards["new"]  # new weighs 4: 9 | 1+2+4
    hashed = assign_shards(loaded.gates, 2, None)
    assert hashed == {name: shard_of([name], 2) for name in "a b c new".split()}
    assert assign_shards(loaded.gates, 2, {"gone": 5.0}) == hashed


BALANCED = """
version: 1
gates:
  slow: {run: "true"}
  mid: {run: "true"}
  quick: {run: "true"}
  tiny: {run: "true"}
"""


def test_shards_read_durations_from_a_previous_report(repo: Path) -> None:
    write_config(repo, BALANCED)
    assert run_cli(["run", "--json", "prev.json"], cwd=repo).returncode == 0
    previous = load_json(repo / "prev.json")
    for gate, seconds in zip(previous["gates"], (100.0, 60.0, 30.0, 20.0), strict=True):
        gate["duration"] = seconds
    (repo / "prev.json").write_text(json.dumps(previous))
    ran: dict[str, int] = {}
    for index in (1, 2):
        out = repo / f"s{index}.json"
        args = ["run", "--shard", f"{index}/2", "--durations", "prev.json", "--json", str(out)]
        proc = run_cli(args, cwd=repo)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "not a merge verdict" in proc.stdout
        report = load_json(out)
        assert report["partial"] is True
        ran.update({g["name"]: index for g in report["gates"] if g["skip_cause"] is None})
    assert ran == {"slow": 1, "mid": 2, "quick": 2, "tiny": 2}  # 100 | 60+30+20


def test_a_missing_durations_file_falls_back_to_hashing(repo: Path) -> None:
    write_config(repo, BALANCED)
    proc = run_cli(["run", "--shard", "1/2", "--durations", "none.json", "--dry-run"], cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "--durations none.json not found; shards are split by name" in proc.stderr


def test_a_durations_file_that_is_not_a_report_is_a_usage_error(repo: Path) -> None:
    write_config(repo, BALANCED)
    (repo / "bad.json").write_text('{"gates": [{"name": "slow"}]}')
    proc = run_cli(["run", "--shard", "1/2", "--durations", "bad.json"], cwd=repo)
    assert proc.returncode == 2
    assert "--durations bad.json: not a mergegate JSON report" in proc.stderr
    (repo / "bad.json").write_text("[1, 2")
    assert run_cli(["run", "--shard", "1/2", "--durations", "bad.json"], cwd=repo).returncode == 2


def test_a_gate_two_shards_ran_keeps_its_worst_result(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  flaky: {run: 'test -f pass-now'}\n")
    assert run_cli(["run", "--json", "fail.json"], cwd=repo).returncode == 1
    (repo / "pass-now").touch()
    assert run_cli(["run", "--json", "pass.json"], cwd=repo).returncode == 0
    proc = run_cli(
        ["merge", "pass.json", "fail.json", "--json", "m.json", "--junit", "m.xml"], cwd=repo
    )
    assert proc.returncode == 1
    assert gate_json(load_json(repo / "m.json"), "flaky")["status"] == "failed"


# -- reports that do not belong together ---------------------------------------------------


def test_reports_of_two_configs_are_refused_even_at_one_commit(repo: Path) -> None:
    """Two projects of one repository, each sharded: a gate of the same name that passed in
    one project's shard must not stand in for the other's, which no report ran."""
    for project, lint in (("web", "true"), ("api", "exit 1")):
        (repo / project).mkdir()
        write_config(repo / project, f"version: 1\ngates:\n  lint: {{run: '{lint}'}}\n")
    home = shard_of(["lint"], 2)
    for project, index in (("web", home), ("api", 3 - home)):  # api's lint shard is lost
        out = repo / f"{project}-{index}.json"
        proc = run_cli(["run", "--shard", f"{index}/2", "--json", str(out)], cwd=repo / project)
        assert proc.returncode in (0, 1), proc.stderr
    reports = [str(repo / f"web-{home}.json"), str(repo / f"api-{3 - home}.json")]
    digest = hashlib.sha256((repo / "web/gates.yaml").read_bytes()).hexdigest()
    assert load_json(Path(reports[0]))["config"] == f"web/gates.yaml sha256:{digest}"
    proc = run_cli(["merge", *reports, "--json", "m.json", "--junit", "m.xml"], cwd=repo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "reports come from different gates.yaml files" in proc.stderr
    assert not (repo / "m.json").exists()
