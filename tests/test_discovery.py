"""Finding gates.yaml: -c, then $MERGEGATE_CONFIG, then the nearest file up to the repo root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergegate.discovery import find_config, repo_top, resolve, search_dirs
from mergegate.errors import UsageError
from tests.helpers import gate_json, init_repo, load_json, run_cli, write_config

ROOT_GATES = """
version: 1
gates:
  at-root: {run: "test -f gates.yaml && test -d sub"}
"""


def test_a_subdirectory_runs_the_projects_gates_from_the_configs_directory(repo: Path) -> None:
    write_config(repo, ROOT_GATES)
    deep = repo / "sub" / "deeper"
    deep.mkdir(parents=True)
    proc = run_cli(["run"], cwd=deep)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "from ../../gates.yaml" in proc.stdout
    # relative paths (cwd of gates, reports) keep resolving against gates.yaml's directory
    assert gate_json(load_json(repo / "reports" / "gates.json"), "at-root")["status"] == "passed"
    assert not (deep / "reports").exists()


def test_the_nearest_file_wins(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  outer: {run: 'true'}\n")
    inner = repo / "packages" / "web"
    inner.mkdir(parents=True)
    write_config(inner, "version: 1\ngates:\n  inner: {run: 'true'}\n")
    (inner / "src").mkdir()
    proc = run_cli(["list", "--names"], cwd=inner / "src")
    assert (proc.returncode, proc.stdout) == (0, "inner\n"), proc.stderr


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    write_config(tmp_path, "version: 1\ngates:\n  above-the-repo: {run: 'true'}\n")
    repo = init_repo(tmp_path / "repo")
    (repo / "src").mkdir()
    proc = run_cli(["run"], cwd=repo / "src")
    assert proc.returncode == 2
    assert "above-the-repo" not in proc.stdout + proc.stderr
    assert f"no gates.yaml found in {repo / 'src'} or a parent up to the repository root" in (
        proc.stderr
    )
    assert f"run `mergegate init` in {repo}" in proc.stderr  # the root, not a second file here
    assert "create one" not in proc.stderr


def test_outside_a_repository_only_the_current_directory_counts(tmp_path: Path) -> None:
    write_config(tmp_path, "version: 1\ngates:\n  stray: {run: 'true'}\n")
    here = tmp_path / "project"
    here.mkdir()
    assert repo_top(here) is None  # the premise: no .git anywhere above
    proc = run_cli(["list"], cwd=here)
    assert proc.returncode == 2
    assert "not inside a git repository" in proc.stderr
    assert "stray" not in proc.stdout


def test_a_git_file_marks_a_worktree_or_submodule_root(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    module = outer / "vendor" / "lib"
    module.mkdir(parents=True)
    (outer / ".git").mkdir()
    (module / ".git").write_text("gitdir: ../../.git/modules/lib\n")
    (outer / "gates.yaml").write_text("version: 1\n")
    assert search_dirs(module / "src") == [module / "src", module]
    assert find_config(module / "src") is None
    assert find_config(outer / "vendor") == outer / "gates.yaml"


def test_environment_variable_and_flag_override_discovery(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  found: {run: 'true'}\n")
    other = repo / "ci" / "gates-ci.yaml"
    other.parent.mkdir()
    other.write_text("version: 1\ngates:\n  from-env: {run: 'true'}\n")
    flagged = repo / "flag.yaml"
    flagged.write_text("version: 1\ngates:\n  from-flag: {run: 'true'}\n")
    env = {"MERGEGATE_CONFIG": str(other)}
    assert run_cli(["list", "--names"], cwd=repo, env=env).stdout == "from-env\n"
    proc = run_cli(["list", "--names", "-c", "flag.yaml"], cwd=repo, env=env)
    assert proc.stdout == "from-flag\n"


def test_a_missing_file_named_by_the_environment_is_an_error(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  found: {run: 'true'}\n")
    proc = run_cli(["run"], cwd=repo, env={"MERGEGATE_CONFIG": "nope.yaml"})
    assert proc.returncode == 2  # never a fall-back to another file
    assert "MERGEGATE_CONFIG=nope.yaml: no such file" in proc.stderr
    assert not (repo / "reports").exists()


def test_resolve_without_a_file_when_not_required(tmp_path: Path) -> None:
    assert resolve(None, {}, tmp_path, required=False) is None
    with pytest.raises(UsageError, match=r"no gates\.yaml found"):
        resolve(None, {}, tmp_path)
    assert resolve("x.yaml", {"MERGEGATE_CONFIG": "y.yaml"}, tmp_path) == "x.yaml"


def test_witness_commands_use_the_discovered_gates_yaml(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  w: {kind: witness, paths: ['dist/**']}\n")
    (repo / "dist").mkdir()
    (repo / "dist" / "app.js").write_text("console.log(1)\n")
    sub = repo / "sub"
    sub.mkdir()
    signed = run_cli(["witness", "sign", "-m", "release"], cwd=sub)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert (repo / "verification.md.json").is_file()  # beside gates.yaml, not in sub/
    assert not (sub / "verification.md.json").exists()
    verified = run_cli(["witness", "verify"], cwd=sub)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_nested_file_that_hides_the_roots_gates_says_so(repo: Path) -> None:
    write_config(repo, "version: 1\ngates:\n  repo-wide: {run: 'exit 1'}\n")
    web = repo / "packages" / "web"
    web.mkdir(parents=True)
    write_config(web, "version: 1\ngates:\n  web: {run: 'true'}\n")
    proc = run_cli(["run"], cwd=web)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the nearest file wins (DESIGN §3)
    assert (
        "mergegate: using gates.yaml, the nearest gates.yaml; the gates of ../../gates.yaml "
        "(further up) are not run: pass -c ../../gates.yaml for those"
    ) in proc.stderr
    named = run_cli(["run", "-c", "gates.yaml"], cwd=web)
    assert (named.returncode, named.stderr) == (0, "")
    assert run_cli(["run", "-c", "../../gates.yaml"], cwd=web).returncode == 1
