"""`mergegate init` on four real-shaped projects: the gates.yaml it writes passes unchanged.

Each project is healthy and freshly committed, its tools installed as a developer's
would be (a project venv first on PATH; `npm install` for Node), and `mergegate run`
must allow the merge with every gate run and passed. The written file is also
checked for what made first contact fail: semver on tracked files only, a build the
smoke gate waits for, test runners as `kind: tests`, never a command that fixes files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.support import assert_all_passed, run_gates, run_tool
from tests.helpers import commit_all, git, run_cli, run_process, write_files

pytestmark = pytest.mark.slow

NODE_MISSING = shutil.which("npm") is None or shutil.which("node") is None
FIXING = ("--fix", "ruff format .", "ruff format\n", "prettier --write", "eslint --fix")


def make_repo(root: Path, files: Mapping[str, str]) -> Path:
    root.mkdir(parents=True)
    write_files(root, {rel: textwrap.dedent(text) for rel, text in files.items()})
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "a healthy project")
    return root


def project_venv(root: Path) -> dict[str, str]:
    """A project venv at root/.venv with the package importable (as `pip install -e .` does).

    Its python sees this test venv's packages (pytest, mypy) through a .pth file; the
    test venv's bin dir (ruff, mypy) follows it on PATH, as an activated venv's would.
    """
    venv = root / ".venv"
    done = run_process([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    assert done.returncode == 0, done.stderr
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = run_process([str(venv / "bin" / "python"), "-c", code], root).stdout.strip()
    source = root / "src" if (root / "src").is_dir() else root
    here = sysconfig.get_paths()["purelib"]
    Path(purelib, "project.pth").write_text(f"{here}\n{source}\n", encoding="utf-8")
    path = os.pathsep.join(
        [str(venv / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]
    )
    return {"PATH": path, "VIRTUAL_ENV": str(venv)}


def init_and_read(root: Path, env: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    done = run_cli(["init"], cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (root / "gates.yaml").read_text(encoding="utf-8")
    assert not any(fixing in text for fixing in FIXING), text
    doc: dict[str, Any] = yaml.safe_load(text)
    return text, doc["gates"]


def assert_passes_unchanged(root: Path, env: Mapping[str, str], gates: Mapping[str, Any]) -> None:
    written = (root / "gates.yaml").read_bytes()
    run = run_gates(root, env=env, timeout=600)
    assert_all_passed(run, list(gates))
    assert (root / "gates.yaml").read_bytes() == written


# -- Python ---------------------------------------------------------------------------------

PY_IGNORE = ".venv/\nreports/\n__pycache__/\n.mypy_cache/\n.ruff_cache/\n.pytest_cache/\n"

SRC_LIB = {
    "pyproject.toml": """\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "shapes-lib"
        version = "1.2.0"

        [tool.ruff]
        line-length = 100

        [tool.ruff.format]
        quote-style = "double"

        [tool.mypy]
        files = ["src"]
        strict = true
        """,
    "src/shapes_lib/__init__.py": '''\
        """Areas of shapes."""


        def square(side: float) -> float:
            """The area of a square."""
            return side * side
        ''',
    "tests/test_square.py": """\
        from shapes_lib import square


        def test_square() -> None:
            assert square(3) == 9


        def test_unit() -> None:
            assert square(1) == 1
        """,
    "scripts/smoke-import.py": """\
        import shapes_lib

        assert shapes_lib.square(2) == 4
        print("import ok")
        """,
    ".gitignore": PY_IGNORE,
}

FLAT_APP = {
    "ruff.toml": "line-length = 100\n",
    "requirements.txt": "",
    "app.py": '''\
        """A command-line greeter."""

        import sys


        def greet(name: str) -> str:
            return f"hello, {name}"


        if __name__ == "__main__":
            print(greet(sys.argv[1] if len(sys.argv) > 1 else "world"))
        ''',
    "tests/test_app.py": """\
        from app import greet


        def test_greet() -> None:
            assert greet("x") == "hello, x"
        """,
    "scripts/smoke-cli.py": """\
        import subprocess
        import sys

        argv = [sys.executable, "app.py", "smoke"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True)
        assert out.stdout == "hello, smoke\\n", out
        """,
    ".gitignore": PY_IGNORE,
}


def test_src_layout_python_library(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "shapes", SRC_LIB)
    env = project_venv(root)
    _, gates = init_and_read(root, env)
    assert list(gates) == [
        "lint", "format", "type-check", "unit-tests", "semver", "smoke", "no-secrets"
    ]  # fmt: skip
    assert gates["lint"]["run"] == "ruff check --no-fix ."
    assert gates["format"]["run"] == "ruff format --check ."
    assert gates["unit-tests"]["kind"] == "tests"
    assert gates["semver"]["api"] == {"python": "src/shapes_lib"}
    assert_passes_unchanged(root, env, gates)
    # the smoke script imported the package: it ran on the project's python, not mergegate's
    report = json.loads((root / "reports" / "gates.json").read_text())
    smoke = next(g for g in report["gates"] if g["name"] == "smoke")
    assert smoke["details"]["scripts"][0]["command"] == "python scripts/smoke-import.py"


def test_flat_python_app(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "greeter", FLAT_APP)
    env = project_venv(root)
    text, gates = init_and_read(root, env)
    assert list(gates) == ["lint", "unit-tests", "smoke", "no-secrets"]
    assert "no semver gate: no package directory found" in text
    assert_passes_unchanged(root, env, gates)


# -- Node -----------------------------------------------------------------------------------

NODE_IGNORE = "node_modules/\ndist/\nreports/\n"

TS_LIB = {
    "package.json": """\
        {
          "name": "ts-shapes",
          "version": "1.0.0",
          "type": "module",
          "main": "./dist/index.js",
          "types": "./dist/index.d.ts",
          "exports": {".": {"types": "./dist/index.d.ts", "import": "./dist/index.js"}},
          "scripts": {"build": "tsc", "test": "vitest run"},
          "devDependencies": {"typescript": "^5.6.0", "vitest": "^3.2.0"}
        }
        """,
    "tsconfig.json": """\
        {
          "compilerOptions": {
            "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
            "strict": true, "declaration": true, "outDir": "dist", "rootDir": "src",
            "skipLibCheck": true
          },
          "include": ["src"]
        }
        """,
    "src/index.ts": "export function square(side: number): number {\n  return side * side;\n}\n",
    "test/index.test.ts": """\
        import { expect, test } from "vitest";
        import { square } from "../src/index.js";
        test("square", () => expect(square(3)).toBe(9));
        test("unit", () => expect(square(1)).toBe(1));
        """,
    "scripts/smoke-import.mjs": """\
        import { square } from "../dist/index.js";
        if (square(2) !== 4) throw new Error("square(2) is not 4");
        console.log("import ok");
        """,
    ".gitignore": NODE_IGNORE,
}

MONOREPO = {
    "package.json": """\
        {
          "name": "mono",
          "private": true,
          "workspaces": ["packages/*"],
          "scripts": {
            "build": "npm run build --workspaces --if-present",
            "test": "npm test --workspaces --if-present"
          }
        }
        """,
    "packages/core/package.json": """\
        {"name": "@mono/core", "version": "0.3.0", "type": "module", "main": "dist/index.js",
         "scripts": {"build": "node build.mjs", "test": "node --test"}}
        """,
    "packages/core/build.mjs": """\
        import { cpSync } from "node:fs";
        cpSync("src", "dist", { recursive: true });
        """,
    "packages/core/src/index.js": "export const double = (n) => n * 2;\n",
    "packages/core/test/core.test.js": """\
        import { test } from "node:test";
        import assert from "node:assert/strict";
        import { double } from "../src/index.js";
        test("double", () => assert.equal(double(2), 4));
        """,
    "packages/app/package.json": """\
        {"name": "@mono/app", "version": "0.1.0", "type": "module",
         "dependencies": {"@mono/core": "*"}, "scripts": {"test": "node --test"}}
        """,
    "packages/app/test/app.test.js": """\
        import { test } from "node:test";
        import assert from "node:assert/strict";
        import { double } from "@mono/core";
        test("uses the built core", () => assert.equal(double(21), 42));
        test("twice", () => assert.equal(double(double(1)), 4));
        """,
    "scripts/smoke-core.mjs": """\
        import { double } from "@mono/core";
        if (double(1) !== 2) throw new Error("double(1) is not 2");
        """,
    ".gitignore": NODE_IGNORE,
}


def npm_install(root: Path) -> None:
    """`npm install` (the default npm cache, ~/.npm, is shared by every run), lock committed."""
    run_tool(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund"], cwd=root)
    commit_all(root, "lock file")


@pytest.mark.skipif(NODE_MISSING, reason="node and npm are not on PATH")
def test_typescript_library_with_vitest(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "ts-shapes", TS_LIB)
    npm_install(root)
    _, gates = init_and_read(root, {})
    assert list(gates) == [
        "build", "type-check", "unit-tests", "semver", "smoke", "no-secrets"
    ]  # fmt: skip
    assert gates["unit-tests"]["kind"] == "tests"
    assert "--reporter=junit" in gates["unit-tests"]["run"]
    # dist/index.d.ts is ignored build output: semver watches the tracked source instead
    assert gates["semver"]["api"] == {"paths": ["src/index.ts"]}
    assert gates["smoke"]["needs"] == ["build"]
    assert_passes_unchanged(root, {}, gates)


@pytest.mark.skipif(NODE_MISSING, reason="node and npm are not on PATH")
def test_npm_workspaces_monorepo(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "mono", MONOREPO)
    npm_install(root)
    text, gates = init_and_read(root, {})
    assert list(gates) == ["build", "test-app", "test-core", "smoke", "no-secrets"]
    for name in ("test-app", "test-core"):
        assert gates[name]["kind"] == "tests"
        assert gates[name]["count_from"] == "output"
        assert gates[name]["needs"] == ["build"]
    assert gates["smoke"]["needs"] == ["build"]
    assert "no semver gate" in text  # the root package publishes nothing
    assert_passes_unchanged(root, {}, gates)
    report = json.loads((root / "reports" / "gates.json").read_text())
    reasons = {g["name"]: g["reason"] for g in report["gates"]}
    assert reasons["test-app"].startswith("2 passed"), reasons


def test_only_ignored_entry_files_are_named_in_a_note(tmp_path: Path) -> None:
    files = {
        "package.json": '{"name": "x", "version": "1.0.0", "types": "dist/index.d.ts"}\n',
        ".gitignore": "dist/\n",
        "dist/index.d.ts": "export declare const x: number;\n",
    }
    root = make_repo(tmp_path / "x", files)
    text, gates = init_and_read(root, {})
    assert "semver" not in gates
    assert "package.json names dist/index.d.ts, but git tracks none of them" in text
