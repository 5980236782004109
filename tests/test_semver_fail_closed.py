"""semver never reads "no API change" from a path it could not read, nor from a stub."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergegate.config import load_config
from mergegate.gates import PlanContext
from mergegate.gates import semver as semver_gate
from mergegate.gates.semver import SemverSpec as SemverGate
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.results import Status
from tests.helpers import git, init_repo, run_cli
from tests.test_gate_semver import (
    INIT,
    PY_CONFIG,
    PY_FILES,
    change,
    make_repo,
    procs,
    pyproject,
    run_gate,
)

__all__ = ["procs"]  # the fixture, imported for pytest


def plan_problems(repo: Path) -> list[str]:
    loaded = load_config(repo / "gates.yaml")
    gate = loaded.gates["semver"]
    assert isinstance(gate, SemverGate)
    info = semver_gate.plan(
        PlanContext("semver", gate, loaded, LazyBase(repo, None, None, {}), {}, repo)
    )
    return list(info.problems)


@pytest.mark.parametrize(
    ("configured", "what"),
    [("src/mypkg_typo", "does not exist"), ("docs", "holds no Python source")],
)
def test_api_python_matching_nothing_is_the_same_error_in_run_and_dry_run(
    tmp_path: Path, procs: ProcessManager, configured: str, what: str
) -> None:
    config = PY_CONFIG.replace("python: src/mypkg", f"python: {configured}")
    repo = make_repo(tmp_path, {**PY_FILES, "docs/index.md": "docs\n"}, config)
    change(repo, {"README.md": "only the readme changed: the fast path\n"})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR, outcome.reason
    expected = f"api.python: {configured} {what} in the working tree"
    assert outcome.reason.startswith(expected)
    assert [p for p in plan_problems(repo) if p.startswith(expected)] == [outcome.reason]


def test_cli_run_blocks_on_a_missing_api_python_path(tmp_path: Path) -> None:
    config = PY_CONFIG.replace("python: src/mypkg", "python: src/nothing")
    repo = make_repo(tmp_path, PY_FILES, config)
    (repo / ".gitignore").write_text("reports/\n")
    change(repo, {"README.md": "x\n"})
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "api.python: src/nothing does not exist" in proc.stdout


STUB = """\
from mypkg.client import Client as Client

__all__ = ["Client", "helper", "connect"]

def helper(a: int) -> int: ...
def connect(url: str, timeout: int = 10) -> str: ...
"""


def test_new_stub_changing_a_signature_blocks_like_the_source(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"src/mypkg/__init__.pyi": STUB})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED, outcome.reason
    assert "removed parameter b of mypkg.helper" in outcome.reason
    assert "needs major" in outcome.reason


def test_a_stub_that_matches_the_source_is_no_change(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"src/mypkg/__init__.pyi": STUB.replace("a: int)", "a: int, b: int = 1)")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason


def test_no_resolvable_base_is_an_error_never_a_pass(tmp_path: Path, procs: ProcessManager) -> None:
    # default branch `master`, no `main`, no remote, no `base:`: nothing to compare with
    repo = init_repo(tmp_path / "repo", {**PY_FILES, "gates.yaml": PY_CONFIG}, branch="master")
    git(repo, "checkout", "-q", "-b", "feature")
    client = PY_FILES["src/mypkg/client.py"].replace(
        "    def close(self):\n        return None\n", ""
    )
    change(repo, {"src/mypkg/client.py": client})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR, outcome.reason
    assert "--base" in outcome.reason


def test_a_base_package_that_cannot_be_read_is_an_error_not_a_new_package(
    tmp_path: Path, procs: ProcessManager
) -> None:
    """A partial clone whose lazy fetch fails cannot read the base's tree: that is no
    "added package" (which a minor bump would satisfy), it is an error."""
    repo = make_repo(tmp_path, PY_FILES)
    base_tree = git(repo, "rev-parse", "main:src/mypkg")
    breaking = INIT.replace("def helper(a, b=1):", "def helper(a):")
    change(repo, {"src/mypkg/__init__.py": breaking, "pyproject.toml": pyproject("1.3.0")})
    (repo / ".git/objects" / base_tree[:2] / base_tree[2:]).unlink()  # named, not readable
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR, outcome.reason
    assert "unable to read tree" in outcome.reason or "cannot be read" in outcome.reason
