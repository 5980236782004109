"""The result cache: what its key covers, how entries are stored, and the CLI end to end."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import mergegate
from mergegate import cache as cache_mod
from mergegate.cache import GateCache, list_inputs, read_entry, write_entry
from mergegate.config import load_config
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.results import GateResult, Status
from tests.helpers import (
    commit_all,
    gate_json,
    git,
    init_repo,
    load_json,
    parse_junit,
    run_cli,
    write_config,
)

GATES = """
version: 1
gates:
  g:
    run: echo checked
    inputs: ["src/**"]
    env_inputs: [TARGET]
    version_of: ["printenv TOOL_VERSION"]
  since-base:
    run: echo checked
    inputs: ["src/**"]
    if_changed: ["src/**"]
"""
BASE_ENV = {"TARGET": "prod", "TOOL_VERSION": "1.0", "PATH": os.environ["PATH"]}


def make_repo(tmp_path: Path, config: str = GATES) -> Path:
    root = init_repo(tmp_path / "repo", {"src/a.py": "a = 1\n", "src/b.py": "b = 2\n"})
    write_config(root, config)
    commit_all(root, "gates")
    return root


def key_of(
    root: Path,
    name: str = "g",
    environ: Mapping[str, str] = BASE_ENV,
    cli_base: str | None = None,
) -> str | None:
    loaded = load_config(root / "gates.yaml")
    base = LazyBase(loaded.root, cli_base, loaded.config.base, environ)
    procs = ProcessManager()
    try:
        gates = GateCache(loaded, base, environ, procs)
        return gates.key(name, loaded.gates[name], environ, threading.Event())
    finally:
        procs.close()


# -- the key: each input invalidates ------------------------------------------------


def _content(root: Path) -> None:
    (root / "src/a.py").write_text("a = 10\n")


def _new_file(root: Path) -> None:
    (root / "src/c.py").write_text("c = 3\n")


def _deleted(root: Path) -> None:
    (root / "src/b.py").unlink()


def _renamed(root: Path) -> None:
    git(root, "mv", "src/b.py", "src/bb.py")


def _renamed_unstaged(root: Path) -> None:
    (root / "src/b.py").rename(root / "src/bb.py")


def _mode(root: Path) -> None:
    (root / "src/a.py").chmod(0o755)


def _config(root: Path) -> None:
    text = (root / "gates.yaml").read_text().replace("echo checked", "echo checked twice", 1)
    (root / "gates.yaml").write_text(text)


def _defaults(root: Path) -> None:
    text = (
        (root / "gates.yaml").read_text().replace("gates:\n", "defaults: {timeout: 5m}\ngates:\n")
    )
    (root / "gates.yaml").write_text(text)


CHANGES: dict[str, Callable[[Path], None]] = {
    "file content": _content,
    "new file": _new_file,
    "deleted file": _deleted,
    "renamed file (git mv)": _renamed,
    "renamed file (mv)": _renamed_unstaged,
    "file mode": _mode,
    "gate config": _config,
    "defaults that apply": _defaults,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_file_or_config_change_changes_the_key(tmp_path: Path, change: str) -> None:
    root = make_repo(tmp_path)
    before = key_of(root)
    assert before is not None
    CHANGES[change](root)
    after = key_of(root)
    assert after is not None
    assert after != before


@pytest.mark.parametrize(
    "environ",
    [
        {**BASE_ENV, "TARGET": "staging"},
        {k: v for k, v in BASE_ENV.items() if k != "TARGET"},
        {**BASE_ENV, "TOOL_VERSION": "1.1"},
    ],
    ids=["env var changed", "env var unset", "tool version (version_of)"],
)
def test_declared_env_and_tool_versions_change_the_key(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    root = make_repo(tmp_path)
    assert key_of(root) != key_of(root, environ=environ)


def test_undeclared_env_and_files_outside_inputs_keep_the_key(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    before = key_of(root)
    (root / "README.md").write_text("changed\n")
    assert key_of(root, environ={**BASE_ENV, "UNRELATED": "x"}) == before


def test_mergegate_version_changes_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path)
    before = key_of(root)
    monkeypatch.setattr(cache_mod, "__version__", "99.0.0")
    assert key_of(root) != before


def test_the_base_is_in_the_key_only_where_it_matters(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    (root / "NOTES").write_text("later\n")
    commit_all(root, "second")
    assert key_of(root, "since-base", cli_base="HEAD") != key_of(
        root, "since-base", cli_base="HEAD~1"
    )
    assert key_of(root, "g", cli_base="HEAD") == key_of(root, "g", cli_base="HEAD~1")


def test_a_base_that_does_not_resolve_means_no_cache(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert key_of(root, "since-base", cli_base="origin/nowhere") is None


def test_same_content_same_key_however_git_sees_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    before = key_of(root)
    (root / "src/a.py").write_text("a = 10\n")
    assert key_of(root) != before
    (root / "src/a.py").write_text("a = 1\n")  # reverted: dirty by stat, same content
    assert key_of(root) == before
    git(root, "add", "-A")
    assert key_of(root) == before


def test_dirty_files_are_keyed_like_git_objects(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    (root / "src/a.py").write_text("a = 10\n")
    (root / "src/link").symlink_to("a.py")
    listed = list_inputs(root).as_dict()
    git(root, "add", "-A")
    staged = git(root, "ls-files", "-s", "src/a.py", "src/link").splitlines()
    for line in staged:
        meta, path = line.split("\t")
        mode, oid, _ = meta.split(" ")
        assert listed[path] == f"{mode} {oid}"


# -- no key: the gate runs ------------------------------------------------------------


def test_outside_a_git_repository_nothing_is_keyed(tmp_path: Path) -> None:
    write_config(tmp_path, GATES)
    (tmp_path / "src").mkdir()
    assert key_of(tmp_path) is None


def test_a_failing_version_of_command_means_no_cache(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    environ = {k: v for k, v in BASE_ENV.items() if k != "TOOL_VERSION"}  # printenv exits 1
    assert key_of(root, environ=environ) is None


@pytest.mark.parametrize(("size", "keyed"), [(20 * 1024, True), (20 * 1024 + 1, False)])
def test_a_version_of_output_too_long_to_keep_whole_means_no_cache(
    tmp_path: Path, size: int, keyed: bool
) -> None:
    """What is kept of a command's output is 20 KiB; a cut one could hide a change."""
    root = make_repo(tmp_path, GATES.replace("printenv TOOL_VERSION", f"head -c {size} /dev/zero"))
    assert (key_of(root) is not None) == keyed


@pytest.mark.parametrize(
    "gate",
    [
        "{run: 'true', cache: false}",
        "{kind: witness}",
        "{kind: tests, junit: 'r/*.xml'}",
    ],
    ids=["cache: false", "witness", "tests without run"],
)
def test_gates_that_are_never_cached(tmp_path: Path, gate: str) -> None:
    root = make_repo(tmp_path, f"version: 1\ngates:\n  g: {gate}\n")
    assert key_of(root) is None


def test_what_a_never_cached_gate_needs_always_runs(tmp_path: Path) -> None:
    config = """
version: 1
gates:
  build: {run: "true"}
  package: {run: "true", needs: [build]}
  audit: {kind: witness, needs: [package]}
  lint: {run: "true"}
"""
    root = make_repo(tmp_path, config)
    assert key_of(root, "build") is None  # the witness gate reads what build writes
    assert key_of(root, "package") is None
    assert key_of(root, "lint") is not None


def test_unmerged_index_means_no_cache(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    git(root, "checkout", "-q", "-b", "side")
    (root / "src/a.py").write_text("side\n")
    commit_all(root, "side")
    git(root, "checkout", "-q", "main")
    (root / "src/a.py").write_text("main\n")
    commit_all(root, "main")
    with pytest.raises(subprocess.CalledProcessError):  # the merge conflicts
        git(root, "merge", "-q", "side")
    assert key_of(root) is None


# -- storage ----------------------------------------------------------------------------


def _passed(details: dict[str, Any] | None = None) -> GateResult:
    return GateResult("g", "command", Status.PASSED, True, 0.1, "exit code 0", details or {})


def _stored(tmp_path: Path) -> tuple[Path, str, Path]:
    root = make_repo(tmp_path)
    key = key_of(root)
    assert key is not None
    directory = root / ".mergegate" / "cache"
    write_entry(directory, key, _entry(key))
    return directory, key, directory / f"{key}.json"


def _entry(key: str, **over: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "format": cache_mod.FORMAT,
        "mergegate": mergegate.__version__,
        "key": key,
        "gate": "g",
        "reason": "exit code 0",
        "details": {"exit_code": 0},
        "commit": "0" * 40,
        "at": "2026-01-01 00:00:00 UTC",
    }
    return {**entry, **over}


def test_a_whole_entry_is_a_hit_and_the_directory_ignores_itself(tmp_path: Path) -> None:
    directory, key, _ = _stored(tmp_path)
    entry = read_entry(directory, key)
    assert entry is not None
    assert entry.reason == "exit code 0"
    assert (directory / ".gitignore").read_text().splitlines()[-1] == "*"
    assert git(directory.parent.parent, "status", "--porcelain", "--ignored=no") == ""


@pytest.mark.parametrize(
    "damage",
    [
        lambda text, key: text[: len(text) // 2],
        lambda text, key: "",
        lambda text, key: "\x00\xff garbage",
        lambda text, key: "[1, 2]",
        lambda text, key: json.dumps(_entry(key, mergegate="0.0.0-other")),
        lambda text, key: json.dumps(_entry(key, format=99)),
        lambda text, key: json.dumps(_entry("f" * 64)),
        lambda text, key: json.dumps(_entry(key, reason=None)),
        lambda text, key: json.dumps(_entry(key, details=[1])),
        lambda text, key: json.dumps(_entry(key, commit=5)),
    ],
    ids=[
        "truncated",
        "empty",
        "binary",
        "not an object",
        "foreign version",
        "foreign format",
        "wrong key",
        "no reason",
        "bad details",
        "bad commit",
    ],
)
def test_a_damaged_or_foreign_entry_is_a_miss(
    tmp_path: Path, damage: Callable[[str, str], str]
) -> None:
    directory, key, path = _stored(tmp_path)
    path.write_text(damage(path.read_text(), key), encoding="utf-8", errors="surrogateescape")
    assert read_entry(directory, key) is None


def test_only_passes_are_stored(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    loaded = load_config(root / "gates.yaml")
    procs = ProcessManager()
    try:
        gates = GateCache(loaded, LazyBase(root, None, None, BASE_ENV), BASE_ENV, procs)
        for status in (Status.FAILED, Status.ERROR, Status.TIMEOUT, Status.SKIPPED):
            failed = GateResult("g", "command", status, True, 0.1, "no")
            gates.store("a" * 64, failed)
            assert gates.lookup("a" * 64) is None
        gates.store("b" * 64, _passed())
        hit = gates.lookup("b" * 64)
    finally:
        procs.close()
    assert hit is not None
    assert hit.status is Status.PASSED
    assert "(cached from " in hit.reason
    assert set(hit.details["cached"]) == {"commit", "at"}


# -- the CLI, end to end -----------------------------------------------------------------

TWO_GATES = """
version: 1
gates:
  check-a:
    run: echo a
    inputs: ["src/a/**"]
  check-b:
    run: echo b
    inputs: ["src/b/**"]
    env_inputs: [DEPLOY_TOKEN]
  never:
    run: echo n
    cache: false
"""


def _cli_repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo", {"src/a/x.py": "x\n", "src/b/y.py": "y\n"})
    write_config(root, TWO_GATES)
    commit_all(root, "gates")
    return root


def _cached(root: Path) -> dict[str, bool]:
    report = load_json(root / "reports" / "gates.json")
    return {g["name"]: "cached" in g["details"] for g in report["gates"]}


SECRET = "s3cr3t-value-that-must-not-leak"


@pytest.mark.slow
def test_second_run_is_cached_and_a_change_reruns_only_its_gates(tmp_path: Path) -> None:
    root = _cli_repo(tmp_path)
    env = {"DEPLOY_TOKEN": SECRET}
    assert run_cli(["run"], root, env).returncode == 0
    assert _cached(root) == {"check-a": False, "check-b": False, "never": False}
    second = run_cli(["run"], root, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _cached(root) == {"check-a": True, "check-b": True, "never": False}
    assert "(cached from " in second.stdout
    reason = gate_json(load_json(root / "reports" / "gates.json"), "check-a")["reason"]
    assert reason.startswith("exit code 0 (cached from ")
    cases = {c.get("name"): c for c in parse_junit(root / "reports" / "gates.xml").iter("testcase")}
    prop = cases["check-a"].find("properties/property")
    assert prop is not None
    assert prop.get("name") == "mergegate.cached"
    assert cases["never"].find("properties") is None
    (root / "src/a/x.py").write_text("changed\n")
    assert run_cli(["run"], root, env).returncode == 0
    assert _cached(root) == {"check-a": False, "check-b": True, "never": False}
    for entry in (root / ".mergegate" / "cache").iterdir():
        assert SECRET not in entry.read_text()


@pytest.mark.slow
def test_no_cache_flag_and_env_change_rerun(tmp_path: Path) -> None:
    root = _cli_repo(tmp_path)
    assert run_cli(["run"], root, {"DEPLOY_TOKEN": "one"}).returncode == 0
    assert run_cli(["run", "--no-cache"], root, {"DEPLOY_TOKEN": "one"}).returncode == 0
    assert _cached(root) == {"check-a": False, "check-b": False, "never": False}
    assert run_cli(["run"], root, {"DEPLOY_TOKEN": "two"}).returncode == 0
    assert _cached(root) == {"check-a": True, "check-b": False, "never": False}


@pytest.mark.slow
def test_a_failure_is_never_cached_and_the_dir_moves(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write_config(root, 'version: 1\ngates:\n  flaky:\n    run: test -f "$FLAG"\n')
    commit_all(root, "gates")
    moved = tmp_path / "elsewhere"
    env = {"MERGEGATE_CACHE_DIR": str(moved), "FLAG": str(tmp_path / "missing")}
    assert run_cli(["run"], root, env).returncode == 1
    assert not moved.exists() or [p.name for p in moved.iterdir()] == [".gitignore"]
    assert run_cli(["run"], root, {**env, "FLAG": str(root / "gates.yaml")}).returncode == 0
    assert len(list(moved.glob("*.json"))) == 1
    assert not (root / ".mergegate").exists()
    assert run_cli(["run"], root, env).returncode == 0  # FLAG is undeclared: the pass is reused
    assert _cached(root) == {"flaky": True}


@pytest.mark.slow
def test_a_run_where_a_gate_rewrote_files_keeps_no_pass(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {"src/a.py": "a = 1\n"})
    write_config(root, "version: 1\ngates:\n  fixer:\n    run: echo 'a = 2' > src/a.py\n")
    commit_all(root, "gates")
    for _ in range(2):
        proc = run_cli(["run"], root)
        assert proc.returncode == 1, proc.stdout
        report = load_json(root / "reports" / "gates.json")
        assert [g["kind"] for g in report["gates"] if g["status"] == "error"] == ["tree"]
        assert _cached(root)["fixer"] is False
        git(root, "checkout", "--", "src/a.py")
    assert not list(root.glob(".mergegate/cache/*.json"))
