"""Real runners' JUnit reports through the tests gate: the count equals the runner's own.

Each runner writes the report shapes that used to fool the counter (DESIGN §2):
vitest with type-checking on repeats a spec file's tests under the same names,
jest ``it.each`` rows and loops give many tests one name, pytest-rerunfailures
appends attempts, and ``node --test`` tells same-named tests apart only by their
describe blocks. For each, a healthy suite passes with the count the runner
printed (read back from the gate's output with the same summary parser
``count_from: output`` uses), and one broken test blocks, named in the reason —
the broken test is always followed by a passing entry with its id, the shape
that passed before.

vitest, jest and jest-junit are pinned in tests/fixtures/runners (package.json and
package-lock.json) and installed once per session with ``npm ci``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mergegate.summary_lines import TextCounts, parse_summary
from tests.e2e.support import run_tool
from tests.helpers import gate_json, init_repo, load_json, parse_junit, run_cli

RUNNERS = Path(__file__).parent / "fixtures" / "runners"
PY = json.dumps(sys.executable)
HAVE_NODE = shutil.which("node") is not None
HAVE_NPM = HAVE_NODE and shutil.which("npm") is not None
needs_node = pytest.mark.skipif(not HAVE_NODE, reason="node is not on PATH")
needs_npm = pytest.mark.skipif(not HAVE_NPM, reason="node and npm are not on PATH")


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the pinned runners installed; projects made below it use them."""
    root = tmp_path_factory.mktemp("runners")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(RUNNERS / name, root / name)
    # the default npm cache (~/.npm, or $npm_config_cache) is shared by every run
    run_tool(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=root)
    return root


def gate_project(where: Path, gate: str, files: Mapping[str, str]) -> Path:
    """A git repository at ``where`` whose gates.yaml has one tests gate, `unit`."""
    body = "".join(f"    {line}\n" for line in gate.strip().splitlines())
    config = f"version: 1\ngates:\n  unit:\n    kind: tests\n{body}"
    return init_repo(where, {".gitignore": "reports/\n", "gates.yaml": config, **files})


def run_unit(repo: Path) -> tuple[int, dict[str, Any]]:
    proc = run_cli(["run"], cwd=repo, timeout=300)
    assert (repo / "reports/gates.json").is_file(), proc.stdout + proc.stderr
    return proc.returncode, gate_json(load_json(repo / "reports/gates.json"), "unit")


def runner_said(gate: Mapping[str, Any]) -> TextCounts:
    said = parse_summary(gate["output_tail"])
    assert said is not None, gate["output_tail"]
    return said


def assert_counts_equal(gate: Mapping[str, Any], said: TextCounts) -> None:
    details = gate["details"]
    counted = (details["passed"], details["failed"], details["errors"], details["skipped"])
    assert counted == (said.passed, said.failed, said.errors, said.skipped), (
        f"{gate['reason']}\nrunner: {said.summary}"
    )


def assert_blocks_naming(code: int, gate: Mapping[str, Any], repo: Path, name: str) -> None:
    assert code == 1, gate
    assert gate["status"] == "failed", gate["reason"]
    assert f"1 failed: {name}" in gate["reason"]
    assert "crashed" not in gate["reason"]
    junit = parse_junit(repo / "reports/gates.xml")
    assert junit.find(".//testcase[@name='unit']/failure") is not None


# -- vitest with type-checking on ---------------------------------------------------

VITEST_CONFIG = """\
import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // type-check the same spec files: vitest reports each of their tests again
    typecheck: { enabled: true, include: ['src/**/*.test.ts'] },
  },
});
"""
TSCONFIG = """\
{"compilerOptions": {"strict": true, "module": "esnext", "moduleResolution": "bundler",
  "target": "es2022", "noEmit": true, "skipLibCheck": true}, "include": ["src"]}
"""
VITEST_SPEC = """\
import { describe, expect, expectTypeOf, it } from 'vitest';

const add = (a: number, b: number): number => a + b;

describe('add', () => {
  it('adds', () => { expect(add(1, 2)).toBe(3); });
  it('returns a number', () => { expectTypeOf(add).returns.toEqualTypeOf<number>(); });
  it.each([1, 2, 3])('keeps %i', (n) => { expect(add(n, 0)).toBe(n); });
});
it('top level', () => { expect(add(0, 0)).toBe(0); });
"""


def vitest_project(node_modules: Path, where: str, spec: str) -> Path:
    vitest = node_modules / "node_modules/.bin/vitest"
    gate = (
        f"run: [{vitest}, run, --reporter=default, --reporter=junit, "
        "--outputFile.junit=reports/junit/vitest.xml]\n"
        "junit: reports/junit/*.xml\nmin_passed: 9\n"
        "env: {CI: 'true', NO_COLOR: '1'}"
    )
    files = {
        "vitest.config.mjs": VITEST_CONFIG,
        "tsconfig.json": TSCONFIG,
        "src/add.test.ts": spec,
    }
    return gate_project(node_modules / where, gate, files)


@pytest.mark.slow
@needs_npm
def test_vitest_typecheck_copies_count_as_vitest_counts(node_modules: Path) -> None:
    repo = vitest_project(node_modules, "vitest-ok", VITEST_SPEC)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert (code, gate["status"]) == (0, "passed"), gate["reason"]
    assert said.runner == "vitest"
    assert_counts_equal(gate, said)
    assert gate["details"]["passed"] == 10  # 6 run + 4 type-checked (it.each once)
    assert gate["details"]["repeated_ids"] == 3  # adds, returns a number, top level
    assert "3 test ids occur more than once in the reports, every entry counted" in gate["reason"]


@pytest.mark.slow
@needs_npm
def test_vitest_a_broken_test_blocks_though_its_typecheck_copy_passes(
    node_modules: Path,
) -> None:
    spec = VITEST_SPEC.replace("toBe(3)", "toBe(4)")
    repo = vitest_project(node_modules, "vitest-broken", spec)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert_blocks_naming(code, gate, repo, "add > adds")
    assert_counts_equal(gate, said)
    assert (said.failed, said.passed) == (1, 9)


# -- jest: it.each rows and loops under one name ------------------------------------------

JEST_SPEC = """\
const add = (a, b) => a + b;

describe('add', () => {
  it.each([1, 2, 3])('adds zero', (n) => { expect(add(n, 0)).toBe(n); });
  for (const n of [4, 5]) {
    it('same name in a loop', () => { expect(add(n, 1)).toBe(n + 1); });
  }
  it('distinct', () => { expect(add(1, 1)).toBe(2); });
});
test.each([[1, 1, 2], [2, 2, 4]])('add(%i, %i)', (a, b, sum) => {
  expect(add(a, b)).toBe(sum);
});
test.skip('skipped', () => {});
"""


def jest_project(node_modules: Path, where: str, spec: str) -> Path:
    jest = node_modules / "node_modules/.bin/jest"
    gate = (
        f"run: [{jest}, --ci, --reporters=default, --reporters=jest-junit]\n"
        "junit: reports/junit/*.xml\nmin_passed: 8\n"
        "env: {JEST_JUNIT_OUTPUT_DIR: reports/junit, NO_COLOR: '1'}"
    )
    # a config file of its own: jest would otherwise root at node_modules' package.json
    files = {"add.test.js": spec, "jest.config.json": '{"testEnvironment": "node"}\n'}
    return gate_project(node_modules / where, gate, files)


@pytest.mark.slow
@needs_npm
def test_jest_each_rows_and_loops_count_as_jest_counts(node_modules: Path) -> None:
    repo = jest_project(node_modules, "jest-ok", JEST_SPEC)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert (code, gate["status"]) == (0, "passed"), gate["reason"]
    assert said.runner == "jest"
    assert_counts_equal(gate, said)
    assert (gate["details"]["passed"], gate["details"]["skipped"]) == (8, 1)
    assert gate["details"]["repeated_ids"] == 2  # "adds zero" x3, "same name in a loop" x2


@pytest.mark.slow
@needs_npm
def test_jest_a_broken_row_blocks_though_later_rows_of_its_name_pass(node_modules: Path) -> None:
    spec = JEST_SPEC.replace("expect(add(n, 0)).toBe(n)", "expect(add(n, 0)).toBe(n === 1 ? 0 : n)")
    repo = jest_project(node_modules, "jest-broken", spec)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert_blocks_naming(code, gate, repo, "add adds zero")
    assert_counts_equal(gate, said)
    assert (said.failed, said.passed) == (1, 7)


# -- pytest-rerunfailures with retries: last-wins -------------------------------------------

PYTEST_SUITE = """\
import pathlib

def test_flaky():
    mark = pathlib.Path("flaky.mark")
    if not mark.exists():
        mark.write_text("seen")
        raise AssertionError("first attempt fails")

def test_ok():
    pass

def test_also_ok():
    pass
"""


def pytest_project(where: Path, suite: str) -> Path:
    gate = (
        f"run: [{PY}, -m, pytest, -q, -p, no:cacheprovider, -p, rerunfailures, --reruns, '2', "
        "--junitxml=reports/junit/pytest.xml]\n"
        "junit: reports/junit/*.xml\nmin_passed: 2\nretries: last-wins\n"
        'env: {PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1"}'
    )
    return gate_project(where, gate, {"test_suite.py": suite, ".gitignore": "*.mark\nreports/\n"})


def test_pytest_reruns_count_as_pytest_counts_and_are_listed_flaky(tmp_path: Path) -> None:
    repo = pytest_project(tmp_path / "repo", PYTEST_SUITE)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert (code, gate["status"]) == (0, "passed"), gate["reason"]
    assert "1 rerun" in said.summary
    assert_counts_equal(gate, said)
    assert "1 flaky (passed on a rerun): test_flaky" in gate["reason"]
    assert gate["details"]["flaky_tests"][0]["test"] == "test_suite::test_flaky"


def test_pytest_a_test_failing_every_rerun_blocks(tmp_path: Path) -> None:
    suite = PYTEST_SUITE + "\ndef test_broken():\n    assert 1 == 2, 'always'\n"
    repo = pytest_project(tmp_path / "repo", suite)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert_blocks_naming(code, gate, repo, "test_broken")
    assert_counts_equal(gate, said)
    assert (said.failed, said.passed) == (1, 3)


# -- node --test: nested describes ----------------------------------------------------------

NODE_SUITE = """\
import { describe, it, test } from 'node:test';
import assert from 'node:assert';

describe('router', () => {
  it('matches', () => {});
  describe('prefixes', () => {
    it('matches', () => {});
    describe('longest first', () => {
      it('matches', () => {});
      it('breaks ties', () => { assert.ok(true); });
    });
  });
  describe('loop', () => {
    for (const n of [1, 2, 3]) it('same name', () => { assert.ok(n); });
  });
});
test('top level', () => {});
test('later', { todo: true }, () => {});
"""


def node_project(where: Path, suite: str) -> Path:
    # no reports/junit/ yet: the gate makes it (node's reporter would fail with ENOENT)
    gate = (
        "run: [node, --test, --test-reporter=spec, --test-reporter-destination=stdout, "
        "--test-reporter=junit, --test-reporter-destination=reports/junit/node.xml, "
        "test/router.test.mjs]\n"
        "junit: reports/junit/node.xml\nmin_passed: 8\n"
        "env: {NO_COLOR: '1'}"
    )
    return gate_project(where, gate, {"test/router.test.mjs": suite})


@needs_node
def test_node_nested_describes_count_as_node_counts(tmp_path: Path) -> None:
    repo = node_project(tmp_path / "repo", NODE_SUITE)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert (code, gate["status"]) == (0, "passed"), gate["reason"]
    assert said.runner == "node --test"
    assert_counts_equal(gate, said)
    assert (gate["details"]["passed"], gate["details"]["skipped"]) == (8, 1)
    assert gate["details"]["repeated_ids"] == 1  # the loop; "matches" x3 are three tests


@needs_node
def test_node_a_broken_test_in_a_nested_describe_blocks(tmp_path: Path) -> None:
    suite = NODE_SUITE.replace(
        "for (const n of [1, 2, 3]) it('same name', () => { assert.ok(n); });",
        "for (const n of [0, 2, 3]) it('same name', () => { assert.ok(n); });",
    )
    repo = node_project(tmp_path / "repo", suite)
    code, gate = run_unit(repo)
    said = runner_said(gate)
    assert_blocks_naming(code, gate, repo, "same name")
    assert_counts_equal(gate, said)
    assert (said.failed, said.passed) == (1, 7)
