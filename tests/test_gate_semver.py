"""The semver gate on real git repositories: base on main, the change on a feature branch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from mergegate.config import load_config
from mergegate.errors import ConfigError
from mergegate.gates import GateContext, PlanContext
from mergegate.gates import semver as semver_gate
from mergegate.gates.semver import SemverSpec as SemverGate
from mergegate.git import LazyBase
from mergegate.proc import ProcessManager
from mergegate.results import Outcome, Status
from tests.helpers import (
    commit_all,
    gate_json,
    git,
    init_repo,
    load_json,
    parse_junit,
    run_cli,
    write_files,
)

PY_CONFIG = """\
version: 1
gates:
  semver:
    kind: semver
    version: pyproject.toml
    api:
      python: src/mypkg
"""

INIT = '''\
"""mypkg."""
from mypkg.client import Client

__all__ = ["Client", "helper", "connect"]


def helper(a, b=1):
    return a


def connect(url, timeout=10):
    return url
'''

CLIENT = """\
class Client:
    def send(self, data):
        return data

    def close(self):
        return None
"""


def pyproject(version: str) -> str:
    return f'[project]\nname = "mypkg"\nversion = "{version}"\n'


PY_FILES = {
    "pyproject.toml": pyproject("1.2.0"),
    "src/mypkg/__init__.py": INIT,
    "src/mypkg/client.py": CLIENT,
    "README.md": "mypkg\n",
}


@pytest.fixture
def procs() -> Iterator[ProcessManager]:
    manager = ProcessManager()
    yield manager
    manager.close()


def make_repo(tmp_path: Path, files: Mapping[str, str], config: str = PY_CONFIG) -> Path:
    """A repository whose main holds ``files``, checked out on a new branch `feature`."""
    repo = init_repo(tmp_path / "repo", {**files, "gates.yaml": config})
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def change(repo: Path, files: Mapping[str, str], message: str = "change") -> None:
    write_files(repo, files)
    commit_all(repo, message)


def context(repo: Path, procs: ProcessManager, name: str = "semver") -> GateContext[SemverGate]:
    loaded = load_config(repo / "gates.yaml")
    gate = loaded.gates[name]
    assert isinstance(gate, SemverGate)
    base = LazyBase(loaded.root, None, loaded.config.base, {})
    return GateContext(
        name, gate, loaded, base, dict(os.environ), repo, 60.0, procs, threading.Event()
    )


def run_gate(repo: Path, procs: ProcessManager, name: str = "semver") -> Outcome:
    return semver_gate.run(context(repo, procs, name))


# -- Python API ---------------------------------------------------------------------


def test_no_change_passes(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"README.md": "mypkg, documented\n"})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert "no API change" in outcome.reason
    assert outcome.details["griffe"] is False


def test_removed_public_method_without_major_bump_blocks_and_is_named(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    client = CLIENT.replace("\n    def close(self):\n        return None\n", "")
    change(repo, {"src/mypkg/client.py": client, "pyproject.toml": pyproject("1.3.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("1.2.0 → 1.3.0 (minor); needs major: ")
    assert "removed mypkg.client.Client.close (src/mypkg/client.py:5)" in outcome.reason
    note = outcome.annotations[0]
    assert (note.path, note.line) == ("src/mypkg/client.py", 5)
    assert "removed mypkg.client.Client.close" in note.message
    change(repo, {"pyproject.toml": pyproject("2.0.0")})
    passed = run_gate(repo, procs)
    assert passed.status is Status.PASSED, passed.reason
    assert "covers 1 API change(s) needing major" in passed.reason


def test_removed_default_is_a_signature_break_needing_major(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    init = INIT.replace("def helper(a, b=1):", "def helper(a, b):")
    change(repo, {"src/mypkg/__init__.py": init, "pyproject.toml": pyproject("1.3.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "needs major" in outcome.reason
    assert "removed the default of b in mypkg.helper" in outcome.reason
    kinds = [c["kind"] for c in outcome.details["changes"]]
    assert kinds == ["parameter-now-required"]


@pytest.mark.parametrize(
    ("version", "status"), [("1.2.1", Status.FAILED), ("1.3.0", Status.PASSED)]
)
def test_addition_needs_minor(
    tmp_path: Path, procs: ProcessManager, version: str, status: Status
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    client = CLIENT + "\n    def reset(self):\n        return None\n"
    change(repo, {"src/mypkg/client.py": client, "pyproject.toml": pyproject(version)})
    outcome = run_gate(repo, procs)
    assert outcome.status is status, outcome.reason
    if status is Status.FAILED:
        assert outcome.reason == (
            "1.2.0 → 1.2.1 (patch); needs minor: added mypkg.client.Client.reset "
            "(src/mypkg/client.py:8)"
        )
    assert [c["subject"] for c in outcome.details["changes"]] == ["mypkg.client.Client.reset"]


def test_new_class_is_one_addition_not_one_per_method(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    extra = textwrap.dedent(
        """

        class Pool:
            def get(self):
                return 1

            def put(self, x):
                pass
        """
    )
    init = INIT.replace('"connect"]', '"connect", "Pool"]') + extra
    change(repo, {"src/mypkg/__init__.py": init, "pyproject.toml": pyproject("1.2.1")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert [c["subject"] for c in outcome.details["changes"]] == ["mypkg.Pool"]


def test_optional_parameter_added_needs_minor(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    init = INIT.replace("def connect(url, timeout=10):", "def connect(url, timeout=10, retries=3):")
    change(repo, {"src/mypkg/__init__.py": init, "pyproject.toml": pyproject("1.2.1")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "added parameter retries to mypkg.connect" in outcome.reason


def test_name_dropped_from_all_is_breaking(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    init = INIT.replace('"helper", "connect"]', '"helper"]')  # connect still defined
    change(repo, {"src/mypkg/__init__.py": init, "pyproject.toml": pyproject("1.3.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "needs major" in outcome.reason
    assert "removed mypkg.connect from mypkg.__all__ (src/mypkg/__init__.py:4)" in outcome.reason


def test_below_one_each_level_shifts_down(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {**PY_FILES, "pyproject.toml": pyproject("0.4.0")})
    client = CLIENT.replace("\n    def close(self):\n        return None\n", "")
    change(repo, {"src/mypkg/client.py": client, "pyproject.toml": pyproject("0.4.1")})
    patch = run_gate(repo, procs)
    assert patch.status is Status.FAILED
    assert "0.4.0 → 0.4.1 (patch); needs minor (below 1.0.0 each level shifts down one)" in (
        patch.reason
    )
    change(repo, {"pyproject.toml": pyproject("0.5.0")})
    assert run_gate(repo, procs).status is Status.PASSED  # breaking needs only minor at 0.x


def test_below_one_addition_needs_only_patch(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {**PY_FILES, "pyproject.toml": pyproject("0.4.0")})
    client = CLIENT + "\n    def reset(self):\n        return None\n"
    change(repo, {"src/mypkg/client.py": client})
    assert run_gate(repo, procs).status is Status.FAILED  # no bump at all
    change(repo, {"pyproject.toml": pyproject("0.4.1")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason


def test_lowered_version_blocks_even_without_api_change(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"pyproject.toml": pyproject("1.1.9")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "version lowered: 1.2.0 → 1.1.9" in outcome.reason
    assert outcome.details["version"]["bump"] == "lowered"


def test_policy_lowers_a_kind_and_ignore_drops_it(tmp_path: Path, procs: ProcessManager) -> None:
    config = (
        PY_CONFIG + "    policy:\n      parameter-default-changed: minor\n      added: ignore\n"
    )
    repo = make_repo(tmp_path, PY_FILES, config)
    init = INIT.replace("timeout=10", "timeout=30") + "\n\ndef extra():\n    return 1\n"
    init = init.replace('"connect"]', '"connect", "extra"]')
    change(repo, {"src/mypkg/__init__.py": init, "pyproject.toml": pyproject("1.3.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    rules = {c["kind"]: c["needs"] for c in outcome.details["changes"]}
    assert rules == {"parameter-default-changed": "minor", "added": "ignored"}


def test_unknown_policy_key_is_a_config_error_with_suggestion(tmp_path: Path) -> None:
    config = PY_CONFIG + "    policy:\n      parameter-default-change: minor\n"
    repo = make_repo(tmp_path, PY_FILES, config)
    with pytest.raises(ConfigError) as info:
        load_config(repo / "gates.yaml")
    message = str(info.value)
    assert "gates.yaml:8:" in message
    assert "gates.semver.policy" in message
    assert "did you mean parameter-default-changed?" in message


def test_fast_path_does_not_import_griffe(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"README.md": "docs only\n", "src/mypkg/data.txt": "not python\n"})
    script = textwrap.dedent(
        """
        import os, sys, threading
        from pathlib import Path
        from mergegate.config import load_config
        from mergegate.gates import GateContext, semver
        from mergegate.git import LazyBase
        from mergegate.proc import ProcessManager
        root = Path(sys.argv[1])
        loaded = load_config(root / "gates.yaml")
        ctx = GateContext("semver", loaded.gates["semver"], loaded,
                          LazyBase(root, None, None, {}), dict(os.environ), root, 60.0,
                          ProcessManager(), threading.Event())
        outcome = semver.run(ctx)
        print(outcome.status.value, "griffe" in sys.modules)
        """
    )
    run = [sys.executable, "-c", script, str(repo)]
    fast = subprocess.run(run, capture_output=True, text=True, check=True, cwd=repo)
    assert fast.stdout.split() == ["passed", "False"], fast.stderr
    # the same probe sees griffe once a Python source of the package changes
    change(repo, {"src/mypkg/client.py": CLIENT + "\n# comment\n"})
    slow = subprocess.run(run, capture_output=True, text=True, check=True, cwd=repo)
    assert slow.stdout.split() == ["passed", "True"], slow.stderr


def test_package_new_since_base_is_an_addition(tmp_path: Path, procs: ProcessManager) -> None:
    files = {k: v for k, v in PY_FILES.items() if not k.startswith("src/")}
    repo = make_repo(tmp_path, {**files, "src/other.py": "x = 1\n"})
    change(repo, {k: v for k, v in PY_FILES.items() if k.startswith("src/")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "added package mypkg (new since base)" in outcome.reason


def test_missing_package_at_head_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    git(repo, "rm", "-q", "-r", "src/mypkg")
    commit_all(repo, "drop package")
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert "api.python: src/mypkg does not exist" in outcome.reason


def test_unparsable_module_is_an_error_not_a_pass(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"src/mypkg/client.py": "class Client(:\n", "pyproject.toml": pyproject("9.0.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert outcome.reason.startswith("src/mypkg/client.py:1: ")
    assert "does not parse" in outcome.reason


def test_inherited_unresolvable_import_does_not_break_the_comparison(
    tmp_path: Path, procs: ProcessManager
) -> None:
    # griffe's own find_breaking_changes raises on this shape (django 4.2 -> 5.0 has it)
    ops = textwrap.dedent(
        """
        class BaseOps:
            from psycopg_not_installed.types import numeric

            def run(self):
                return 1


        class PgOps(BaseOps):
            def extra(self):
                return 2
        """
    )
    repo = make_repo(tmp_path, {**PY_FILES, "src/mypkg/ops.py": ops})
    change(repo, {"src/mypkg/ops.py": ops.replace("def extra(self):", "def extra(self, x):")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED, outcome.reason
    assert "added required parameter x to mypkg.ops.PgOps.extra" in outcome.reason


def test_over_the_deadline_is_a_timeout_and_cancel_an_error(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"src/mypkg/client.py": CLIENT + "\n# touched\n"})
    ctx = context(repo, procs)
    ctx.timeout = 0.001  # the comparison takes longer than this
    outcome = semver_gate.run(ctx)
    assert outcome.status is Status.TIMEOUT
    assert "longer than 0.001s" in outcome.reason
    ctx = context(repo, procs)
    ctx.cancel.set()
    cancelled = semver_gate.run(ctx)
    assert cancelled.status is Status.ERROR
    assert "cancelled" in cancelled.reason


# -- versions from other sources ----------------------------------------------------


def package_json(version: str) -> str:
    return json.dumps({"name": "web", "version": version}) + "\n"


JS_CONFIG = """\
version: 1
gates:
  semver:
    kind: semver
    version: package.json
    api:
      paths: ["types/**/*.d.ts", openapi.yaml]
"""


@pytest.mark.parametrize(
    ("version", "status"), [("1.0.1", Status.FAILED), ("1.1.0", Status.PASSED)]
)
def test_package_json_with_api_paths(
    tmp_path: Path, procs: ProcessManager, version: str, status: Status
) -> None:
    files = {
        "package.json": package_json("1.0.0"),
        "types/api/index.d.ts": "export declare function f(): void;\n",
        "openapi.yaml": "openapi: 3.1.0\n",
        "src/index.js": "export function f() {}\n",
    }
    repo = make_repo(tmp_path, files, JS_CONFIG)
    change(repo, {"src/index.js": "export function f() { return 1 }\n"})
    assert run_gate(repo, procs).status is Status.PASSED  # not an API path
    change(
        repo,
        {
            "types/api/index.d.ts": "export declare function f(): number;\n",
            "package.json": package_json(version),
        },
    )
    outcome = run_gate(repo, procs)
    assert outcome.status is status, outcome.reason
    assert [c["subject"] for c in outcome.details["changes"]] == ["types/api/index.d.ts"]
    if status is Status.FAILED:
        assert outcome.reason == "1.0.0 → 1.0.1 (patch); needs minor: changed types/api/index.d.ts"


def test_api_paths_matching_nothing_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    repo = make_repo(tmp_path, {"package.json": package_json("1.0.0")}, JS_CONFIG)
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert "match no file" in outcome.reason


def test_cargo_toml_with_major_level(tmp_path: Path, procs: ProcessManager) -> None:
    config = JS_CONFIG.replace("package.json", "Cargo.toml").replace(
        '["types/**/*.d.ts", openapi.yaml]', "[src/lib.rs]\n      level: major"
    )
    cargo = '[package]\nname = "crate"\nversion = "{}"\nedition = "2021"\n'
    repo = make_repo(
        tmp_path, {"Cargo.toml": cargo.format("1.4.2"), "src/lib.rs": "pub fn f() {}\n"}, config
    )
    change(repo, {"src/lib.rs": "pub fn g() {}\n", "Cargo.toml": cargo.format("1.5.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("1.4.2 → 1.5.0 (minor); needs major: changed src/lib.rs")
    assert outcome.details["version"]["scheme"] == "semver"
    change(repo, {"Cargo.toml": cargo.format("2.0.0-rc.1")})
    assert run_gate(repo, procs).status is Status.PASSED


def test_pattern_version_file(tmp_path: Path, procs: ProcessManager) -> None:
    config = PY_CONFIG.replace(
        "version: pyproject.toml",
        'version: {file: src/mypkg/_version.py, pattern: \'^VERSION = "([^"]+)"\'}',
    )
    files = {**PY_FILES, "src/mypkg/_version.py": 'VERSION = "3.1.0"\n'}
    repo = make_repo(tmp_path, files, config)
    client = CLIENT + "\n    def reset(self):\n        return None\n"
    change(repo, {"src/mypkg/client.py": client, "src/mypkg/_version.py": 'VERSION = "3.1.1"\n'})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert outcome.reason.startswith("3.1.0 → 3.1.1 (patch); needs minor")
    change(repo, {"src/mypkg/_version.py": 'VERSION = "3.2.0"\n'})
    assert run_gate(repo, procs).status is Status.PASSED


def test_dynamic_version_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    files = {**PY_FILES, "pyproject.toml": '[project]\nname = "x"\ndynamic = ["version"]\n'}
    repo = make_repo(tmp_path, files)
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert "dynamic" in outcome.reason
    assert "static [project].version" in outcome.reason


def test_unknown_base_is_an_error_with_the_fetch_hint(
    tmp_path: Path, procs: ProcessManager
) -> None:
    config = PY_CONFIG.replace("version: 1\n", "version: 1\nbase: origin/main\n")
    repo = make_repo(tmp_path, PY_FILES, config)
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert "origin/main" in outcome.reason
    assert "fetch-depth: 0" in outcome.reason
    assert "git fetch origin main" in outcome.reason


def test_version_file_missing_at_base_is_an_error(tmp_path: Path, procs: ProcessManager) -> None:
    files = {k: v for k, v in PY_FILES.items() if k != "pyproject.toml"}
    repo = make_repo(tmp_path, files)
    change(repo, {"pyproject.toml": pyproject("1.0.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.ERROR
    assert "does not exist at base" in outcome.reason


# -- dry run and the CLI ------------------------------------------------------------


def test_plan_shows_versions_and_flags_problems(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"pyproject.toml": pyproject("1.3.0")})
    loaded = load_config(repo / "gates.yaml")
    gate = loaded.gates["semver"]
    assert isinstance(gate, SemverGate)
    base = LazyBase(repo, None, None, {})
    info = semver_gate.plan(PlanContext("semver", gate, loaded, base, {}, repo))
    assert "version: pyproject.toml = 1.3.0" in info.lines
    assert "version at base: 1.2.0" in info.lines
    assert not info.problems
    broken = LazyBase(repo, "origin/gone", None, {})
    info = semver_gate.plan(PlanContext("semver", gate, loaded, broken, {}, repo))
    assert any("fetch-depth" in p for p in info.problems)


def test_cli_run_reports_the_failure(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    (repo / ".gitignore").write_text("reports/\n")
    client = CLIENT.replace("\n    def close(self):\n        return None\n", "")
    change(repo, {"src/mypkg/client.py": client, "pyproject.toml": pyproject("1.2.1")})
    proc = run_cli(["run"], cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    gate = gate_json(load_json(repo / "reports" / "gates.json"), "semver")
    assert gate["status"] == "failed"
    assert "removed mypkg.client.Client.close" in gate["reason"]
    assert gate["annotations"][0]["path"] == "src/mypkg/client.py"
    junit = parse_junit(repo / "reports" / "gates.xml")
    case = next(junit.iter("testcase"))
    assert case.get("classname") == "gates.semver"
    assert case.find("failure") is not None
    change(repo, {"pyproject.toml": pyproject("2.0.0")})
    assert run_cli(["run"], cwd=repo).returncode == 0


def test_cli_dry_run_shows_the_versions(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    change(repo, {"pyproject.toml": pyproject("1.3.0")})
    proc = run_cli(["run", "--dry-run"], cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "version: pyproject.toml = 1.3.0" in proc.stdout
    assert "version at base: 1.2.0" in proc.stdout


def test_bench_runs_at_small_size() -> None:
    bench = Path(__file__).resolve().parents[1] / "bench" / "bench_semver.py"
    proc = subprocess.run(
        [sys.executable, str(bench), "--small"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gate / griffe   : wall" in proc.stdout
    assert "gate / griffe-gc: wall" in proc.stdout
    assert "('failed', " in proc.stdout  # the generated change removes and adds API
