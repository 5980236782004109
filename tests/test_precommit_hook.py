"""The pre-commit / prek hook: its manifest, its entry, and a real `git push` through it.

The end-to-end tests install the hook the way a user does (`pre-commit install
--hook-type pre-push` with a `.pre-commit-config.yaml` naming this repository at a
commit), so pre-commit builds its own virtualenv holding mergegate, and then push to a
local bare remote: a good change goes through, a broken one is blocked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from pre_commit.clientlib import (  # type: ignore[import-untyped]  # pre-commit ships no types
    InvalidManifestError,
    load_manifest,
)

from mergegate.precommit import user_environ
from tests.helpers import commit_all, git, init_repo, load_json, run_process, write_files

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
# what pip needs to build and install mergegate from the hook repository
_HOOK_REPO_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src/mergegate")
PUSH_TIMEOUT = 900.0  # the first push builds the hook's virtualenv (pip install from the index)


def test_manifest_is_valid_for_pre_commit() -> None:
    (hook,) = load_manifest(str(MANIFEST))
    assert hook["id"] == "mergegate"
    assert hook["entry"] == "python -m mergegate.precommit"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the gates decide what to look at, not the hook
    assert hook["always_run"] is True  # even when no staged file matches
    # pre-push first; pre-commit so that `pre-commit try-repo` finds it; manual on request
    assert hook["stages"] == ["pre-push", "pre-commit", "manual"]


def test_the_loader_really_validates(tmp_path: Path) -> None:
    broken = tmp_path / "hooks.yaml"
    broken.write_text(MANIFEST.read_text().replace("always_run: true", "always_run: sometimes"))
    with pytest.raises(InvalidManifestError):
        load_manifest(str(broken))


def test_the_hooks_virtualenv_is_taken_off_path(tmp_path: Path) -> None:
    hook_env, user_bin = tmp_path / "py_env-python3", tmp_path / "project" / ".venv" / "bin"
    (hook_env / "bin").mkdir(parents=True)
    user_bin.mkdir(parents=True)
    path = os.pathsep.join([str(hook_env / "bin"), str(user_bin), "/usr/bin"])
    environ = {"PATH": path, "VIRTUAL_ENV": str(hook_env), "HOME": "/home/x"}
    env = user_environ(environ, str(hook_env))
    assert env == {"PATH": os.pathsep.join([str(user_bin), "/usr/bin"]), "HOME": "/home/x"}


def test_a_venv_that_is_not_the_hooks_stays(tmp_path: Path) -> None:
    # mergegate running from the user's own activated venv must not hide that venv
    user_venv = tmp_path / ".venv"
    (user_venv / "bin").mkdir(parents=True)
    environ = {"PATH": f"{user_venv / 'bin'}{os.pathsep}/usr/bin", "VIRTUAL_ENV": str(user_venv)}
    assert user_environ(environ, str(tmp_path / "py_env-python3")) == environ


def test_the_entry_runs_mergegate_run_with_the_hooks_args(repo: Path) -> None:
    write_files(
        repo, {"gates.yaml": "version: 1\ngates:\n  a: {run: 'true'}\n  b: {run: 'false'}\n"}
    )
    argv = [sys.executable, "-m", "mergegate.precommit", "--only", "a"]
    done = run_process(argv, repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert run_process([*argv[:3], "--only", "b"], repo).returncode == 1


# -- a real push through the hook -----------------------------------------------------

PY_FILES = {
    "pyproject.toml": """\
        [project]
        name = "mypkg"
        version = "0.1.0"

        [tool.ruff]
        line-length = 100

        [tool.pytest.ini_options]
        pythonpath = ["src"]
        """,
    "src/mypkg/__init__.py": """\
        \"\"\"mypkg.\"\"\"


        def add(a: int, b: int) -> int:
            return a + b
        """,
    "tests/test_add.py": """\
        from mypkg import add


        def test_add() -> None:
            assert add(2, 3) == 5
        """,
    ".gitignore": "reports/\n__pycache__/\n.ruff_cache/\n.pytest_cache/\n",
    "gates.yaml": """\
        version: 1
        gates:
          lint:
            run: ruff check --no-fix .
          unit-tests:
            kind: tests
            run: python -m pytest -q --junitxml=reports/junit/pytest.xml
            junit: reports/junit/*.xml
            min_passed: 1
        """,
}

NODE_FILES = {
    "package.json": '{"name": "lib", "version": "1.0.0", "type": "module",\n'
    ' "scripts": {"test": "node --test"}}\n',
    "index.js": "export const add = (a, b) => a + b;\n",
    "test/add.test.js": """\
        import { test } from "node:test";
        import assert from "node:assert/strict";
        import { add } from "../index.js";
        test("add", () => assert.equal(add(2, 3), 5));
        """,
    ".gitignore": "reports/\nnode_modules/\n",
    "gates.yaml": """\
        version: 1
        gates:
          unit-tests:
            kind: tests
            run: >-
              mkdir -p reports/junit &&
              node --test --test-reporter=spec --test-reporter-destination=stdout
              --test-reporter=junit --test-reporter-destination=reports/junit/node.xml
            junit: reports/junit/*.xml
            min_passed: 1
        """,
}


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's package and manifest (as they are now) committed in a repository."""
    dest = tmp_path_factory.mktemp("hook") / "mergegate"
    dest.mkdir()
    for rel in _HOOK_REPO_FILES:
        source = ROOT / rel
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, dest / rel, ignore=ignore)
        else:
            shutil.copy2(source, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    return dest, commit_all(dest, "mergegate at the tested state")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: the hook's virtualenv is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def user_env(pre_commit_home: Path) -> dict[str, str]:
    """The shell a developer pushes from: their project venv (this test venv) activated."""
    venv_bin = Path(sys.executable).parent
    path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    return {
        "PATH": path,
        "VIRTUAL_ENV": str(venv_bin.parent),
        "PRE_COMMIT_HOME": str(pre_commit_home),
    }


def make_project(
    root: Path, files: Mapping[str, str], hook: tuple[Path, str], env: Mapping[str, str]
) -> Path:
    """A project with the hook configured and installed, and a bare `origin` to push to."""
    config = f"""\
        repos:
          - repo: {hook[0]}
            rev: {hook[1]}
            hooks:
              - id: mergegate
                stages: [pre-push]
        """
    all_files = {**files, ".pre-commit-config.yaml": config}
    project = init_repo(root / "project", {k: textwrap.dedent(v) for k, v in all_files.items()})
    remote = root / "origin.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    install = [sys.executable, "-m", "pre_commit", "install", "--hook-type", "pre-push"]
    done = run_process(install, project, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return project


def push(project: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return run_process(["git", "push", "origin", "HEAD:main"], project, env, PUSH_TIMEOUT)


def remote_head(project: Path) -> str:
    return git(project, "ls-remote", "origin", "refs/heads/main").split("\t")[0]


def assert_push_passes_then_blocks(
    project: Path, env: Mapping[str, str], break_it: tuple[str, str, str]
) -> None:
    done = push(project, env)
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    assert "mergegate gates" in shown
    assert "Passed" in shown
    assert remote_head(project) == git(project, "rev-parse", "HEAD")
    pushed = remote_head(project)

    rel, old, new = break_it
    target = project / rel
    target.write_text(target.read_text().replace(old, new))
    commit_all(project, "a broken change")
    done = push(project, env)
    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert "Failed" in shown
    report = load_json(project / "reports" / "gates.json")
    statuses = {gate["name"]: gate["status"] for gate in report["gates"]}
    assert statuses["unit-tests"] == "failed", statuses  # the broken test, nothing else
    assert {s for name, s in statuses.items() if name != "unit-tests"} <= {"passed"}
    assert remote_head(project) == pushed  # the broken commit never reached the remote


@pytest.mark.slow
def test_a_python_project_pushes_through_the_hook(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    env = user_env(pre_commit_home)
    project = make_project(tmp_path, PY_FILES, hook_repo, env)
    assert_push_passes_then_blocks(project, env, ("src/mypkg/__init__.py", "a + b", "a - b"))


@pytest.mark.slow
def test_a_node_project_pushes_through_the_hook(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    env = user_env(pre_commit_home)
    project = make_project(tmp_path, NODE_FILES, hook_repo, env)
    assert_push_passes_then_blocks(project, env, ("index.js", "a + b", "a - b"))


@pytest.mark.slow
def test_try_repo_finds_the_hook(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    env = user_env(pre_commit_home)
    project = make_project(tmp_path, PY_FILES, hook_repo, env)
    argv = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo[0]), "mergegate"]
    done = run_process([*argv, "--ref", hook_repo[1]], project, env, PUSH_TIMEOUT)
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    assert "No hook with id" not in shown
    assert "mergegate gates" in shown
    assert load_json(project / "reports" / "gates.json")["verdict"] == "allowed"
