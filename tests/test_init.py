"""`mergegate init` on sample Python, Node and empty trees; each result passes `--dry-run`."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mergegate.commands.init import flow, scalar
from mergegate.commands.init import main as init_main
from tests.helpers import commit_all, gate_json, init_repo, load_json, run_cli

PYPROJECT = """\
[project]
name = "demo-pkg"
version = "1.4.0"

[tool.ruff]
line-length = 100

[tool.mypy]
files = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

PACKAGE_JSON = {
    "name": "demo",
    "version": "2.0.1",
    "type": "module",
    "types": "./index.d.ts",
    "scripts": {"lint": 'node -e "process.exit(0)"', "test": "node --test test/"},
}

NODE_TEST = """\
import test from 'node:test';
import assert from 'node:assert';
test('adds', () => assert.equal(1 + 1, 2));
test('adds again', () => assert.equal(2 + 2, 4));
test('adds once more', () => assert.equal(3 + 3, 6));
"""


def init(root: Path, *extra: str) -> Any:
    result = run_cli(["init", *extra], cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    path = root / (extra[-1] if extra else "gates.yaml")
    text = path.read_text(encoding="utf-8")
    assert "https://" not in text  # no URL that does not exist yet (no schema is published)
    assert "mergegate schema -o gates.schema.json" in text
    return yaml.safe_load(text)


def dry_run(root: Path, *extra: str) -> str:
    result = run_cli(["run", "--dry-run", *extra], cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "preflight: runnable" in result.stdout
    return result.stdout


def python_tree(tmp_path: Path, pyproject: str = PYPROJECT) -> Path:
    return init_repo(
        tmp_path / "py",
        {
            "pyproject.toml": pyproject,
            "src/demo_pkg/__init__.py": '__version__ = "0.3.0"\n',
            "tests/test_demo.py": "def test_ok() -> None:\n    assert True\n",
        },
    )


def test_python_project(tmp_path: Path) -> None:
    root = python_tree(tmp_path)
    gates = init(root)["gates"]
    assert list(gates) == ["lint", "type-check", "unit-tests", "semver", "no-secrets"]
    assert gates["lint"] == {"run": "ruff check --no-fix ."}  # a gate never rewrites files
    assert gates["type-check"] == {"run": "mypy"}  # [tool.mypy] files says what to check
    tests = gates["unit-tests"]
    assert tests["kind"] == "tests"
    assert "--junitxml=reports/junit/pytest.xml" in tests["run"]
    assert tests["junit"] == "reports/junit/*.xml"
    assert gates["semver"] == {
        "kind": "semver",
        "version": "pyproject.toml",
        "api": {"python": "src/demo_pkg"},
    }
    assert gates["no-secrets"] == {"kind": "forbid", "builtin": ["secrets"]}
    out = dry_run(root)
    assert "version: pyproject.toml" in out
    assert "1.4.0" in out


def test_python_dynamic_version_is_read_from_the_package(tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "demo-pkg"\ndynamic = ["version"]\n\n'
        '[tool.hatch.version]\npath = "src/demo_pkg/__init__.py"\n'
    )
    root = python_tree(tmp_path, pyproject)
    gates = init(root)["gates"]
    # no ruff/mypy configured; tests/test_*.py are pytest's
    assert list(gates) == ["unit-tests", "semver", "no-secrets"]
    assert gates["semver"]["version"] == {
        "file": "src/demo_pkg/__init__.py",
        "pattern": '__version__ = "([^"]+)"',
    }
    assert "= 0.3.0" in dry_run(root)


def test_python_without_a_package_gets_no_semver_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\n')
    code, doc = init_here(tmp_path)
    assert code == 0
    assert list(doc["gates"]) == ["lint", "no-secrets"]
    assert (
        "# Note: no semver gate: no package directory found"
        in (tmp_path / "gates.yaml").read_text()
    )


def node_tree(tmp_path: Path, package: dict[str, Any] | None = None) -> Path:
    return init_repo(
        tmp_path / "node",
        {
            "package.json": json.dumps(package or PACKAGE_JSON, indent=2),
            "index.d.ts": "export declare function add(a: number, b: number): number;\n",
            "tsconfig.json": '{"compilerOptions": {"strict": true}}\n',
            "test/add.test.mjs": NODE_TEST,
            "scripts/smoke-hello.mjs": 'console.log("smoke ok");\n',
        },
    )


def test_node_project(tmp_path: Path) -> None:
    root = node_tree(tmp_path)
    gates = init(root)["gates"]
    assert list(gates) == ["lint", "type-check", "unit-tests", "semver", "smoke", "no-secrets"]
    assert gates["lint"] == {"run": "npm run lint"}
    assert gates["type-check"] == {"run": "npx tsc --noEmit"}
    assert gates["unit-tests"]["kind"] == "tests"
    assert gates["semver"] == {
        "kind": "semver",
        "version": "package.json",
        "api": {"paths": ["index.d.ts"]},
    }
    assert gates["smoke"] == {"kind": "smoke", "scripts": "scripts/smoke-*"}
    out = dry_run(root)
    assert "2.0.1" in out


def test_node_test_gate_really_counts_the_node_tests(tmp_path: Path) -> None:
    root = node_tree(tmp_path)
    init(root)
    result = run_cli(["run", "--only", "unit-tests,smoke"], cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = load_json(root / "reports" / "gates.json")
    assert gate_json(report, "unit-tests")["reason"].startswith("3 passed")
    assert gate_json(report, "smoke")["status"] == "passed"


def init_here(root: Path, config: str = "gates.yaml") -> tuple[int, Any]:
    """`mergegate init` in this process (the CLI round trip is covered above)."""
    code = init_main(argparse.Namespace(config=str(root / config)))
    path = root / config
    return code, yaml.safe_load(path.read_text()) if code == 0 else None


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('echo "Error: no test specified" && exit 1', None),  # npm's placeholder
        (
            "jest",
            {"kind": "tests", "run": "npx jest --ci", "count_from": "output", "min_passed": 1},
        ),
        ("mocha", {"run": "npm test"}),
        ("vitest", "--reporter=junit"),
        ("node --test", "--test-reporter=junit"),
    ],
)
def test_node_test_scripts(tmp_path: Path, script: str, expected: object) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "scripts": {"test": script}}))
    code, doc = init_here(tmp_path)
    assert code == 0
    gates = doc["gates"]
    if expected is None:
        assert list(gates) == ["replace-me", "no-secrets"]
    elif isinstance(expected, dict):
        assert gates["unit-tests"] == expected
    else:
        assert gates["unit-tests"]["kind"] == "tests"
        assert expected in gates["unit-tests"]["run"]


def test_python_and_node_in_one_tree_get_prefixed_names(tmp_path: Path) -> None:
    root = python_tree(tmp_path)
    (root / "package.json").write_text(json.dumps({"name": "x", "scripts": {"lint": "true"}}))
    commit_all(root, "node too")
    gates = init(root)["gates"]
    assert list(gates) == [
        "py-lint",
        "py-type-check",
        "py-unit-tests",
        "py-semver",
        "js-lint",
        "no-secrets",
    ]
    dry_run(root)


def test_empty_tree_gets_a_placeholder_that_blocks(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "empty")
    gates = init(root)["gates"]
    assert list(gates) == ["replace-me", "no-secrets"]
    dry_run(root)
    result = run_cli(["run"], cwd=root)
    assert result.returncode == 1  # fail closed until someone writes real gates
    assert (
        "replace this gate" in load_json(root / "reports" / "gates.json")["gates"][0]["output_tail"]
    )


def test_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gates.yaml").write_text("mine\n")
    code, _ = init_here(tmp_path)
    assert code == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "gates.yaml").read_text() == "mine\n"


def test_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "gates.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    code, _ = init_here(tmp_path)
    assert code == 2
    assert not (tmp_path / "elsewhere.yaml").exists()


def test_config_flag_writes_there_and_reads_that_directory(tmp_path: Path) -> None:
    service = tmp_path / "service"
    service.mkdir()
    (service / "package.json").write_text(json.dumps({"name": "s", "scripts": {"lint": "true"}}))
    code, doc = init_here(tmp_path, "service/gates.yaml")
    assert code == 0
    assert list(doc["gates"]) == ["lint", "no-secrets"]
    assert not (tmp_path / "gates.yaml").exists()


def test_missing_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = init_here(tmp_path, "nowhere/gates.yaml")
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreadable_pyproject_is_noted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    code, _ = init_here(tmp_path)
    assert code == 0
    assert "# Note: pyproject.toml could not be read" in (tmp_path / "gates.yaml").read_text()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_scalars_read_back_as_written(text: str) -> None:
    assert yaml.safe_load(f"k: {scalar(text)}\n")["k"] == text


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=3))
def test_flow_lists_read_back_as_written(items: list[str]) -> None:
    assert yaml.safe_load(f"k: {flow(items)}\n")["k"] == items


@pytest.mark.parametrize("text", ["true", "no", "1.0", "=", "- x", "a: b", "x #y", "~", ""])
def test_ambiguous_scalars_are_quoted(text: str) -> None:
    assert scalar(text) != text
    assert yaml.safe_load(f"k: {scalar(text)}")["k"] == text


def test_semver_on_ignored_build_output_says_only_tracked_files_count(tmp_path: Path) -> None:
    root = init_repo(
        tmp_path / "lib",
        {"package.json": '{"name": "x", "version": "1.0.0"}\n', ".gitignore": "dist/\n"},
    )
    (root / "dist").mkdir()
    (root / "dist" / "index.d.ts").write_text("export declare const x: number;\n")
    (root / "gates.yaml").write_text(
        "version: 1\ngates:\n  semver:\n    kind: semver\n    version: package.json\n"
        "    api: {paths: [dist/index.d.ts]}\n"
    )
    result = run_cli(["run"], cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    reason = gate_json(load_json(root / "reports" / "gates.json"), "semver")["reason"]
    assert "match no file" in reason
    assert "only files git ignores match (dist/index.d.ts)" in reason
    dry = run_cli(["run", "--dry-run"], cwd=root)
    assert "only files git ignores match (dist/index.d.ts)" in dry.stdout


@pytest.mark.parametrize(
    ("script", "run"),
    [
        ("eslint .", "npm run lint"),
        ("eslint --fix .", "npm exec -c 'eslint .'"),
        (
            "eslint . --fix && prettier --write src",
            "npm exec -c 'eslint . && prettier --check src'",
        ),
        ("biome check --write .", "npm exec -c 'biome check .'"),
    ],
)
def test_a_lint_script_that_fixes_becomes_a_check(tmp_path: Path, script: str, run: str) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "scripts": {"lint": script}}))
    code, doc = init_here(tmp_path)
    assert code == 0
    assert doc["gates"]["lint"] == {"run": run}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not on PATH")
def test_the_lint_gate_leaves_the_tree_as_it_was(tmp_path: Path) -> None:
    # a "linter" that rewrites its input with --fix, and fails without it while unfixed
    lint = (
        "import {readFileSync, writeFileSync} from 'node:fs';\n"
        "const bad = readFileSync('src.js', 'utf8').includes('var ');\n"
        "if (process.argv.includes('--fix')) writeFileSync('src.js', 'let x = 1;\\n');\n"
        "else process.exit(bad ? 1 : 0);\n"
    )
    package = {"name": "x", "scripts": {"lint": "node lint.mjs --fix"}}
    root = init_repo(
        tmp_path / "p",
        {"package.json": json.dumps(package), "lint.mjs": lint, "src.js": "var x = 1;\n"},
    )
    init(root)
    result = run_cli(["run", "--only", "lint"], cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr  # it reports, never fixes
    assert (root / "src.js").read_text() == "var x = 1;\n"
    (root / "src.js").write_text("let x = 1;\n")  # fixed by hand: the same gate passes
    result = run_cli(["run", "--only", "lint"], cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
