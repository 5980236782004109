"""Plain helpers shared by the tests: real git repositories, the real CLI, strict parsers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeET

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    out = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def init_repo(path: Path, files: Mapping[str, str] | None = None, branch: str = "main") -> Path:
    """A real git repository with one commit on ``branch`` holding ``files``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    write_files(path, files or {"README.md": "test repo\n"})
    commit_all(path, "initial")
    return path


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write_config(root: Path, body: str) -> Path:
    path = root / "gates.yaml"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def run_process(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """A real child process with the pinned git identity, no stdin, output captured."""
    full_env = {**os.environ, **GIT_IDENTITY, **(env or {})}
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def run_cli(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m mergegate`) as a user would."""
    return run_process([sys.executable, "-m", "mergegate", *args], cwd, env, timeout)


def parse_junit(path: Path) -> ElementTree.Element:
    """Strict parse of a JUnit file mergegate wrote (DTDs and entities forbidden)."""
    root: ElementTree.Element = SafeET.fromstring(
        path.read_bytes(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    return root


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def gate_json(report: Any, name: str) -> dict[str, Any]:
    for gate in report["gates"]:
        if gate["name"] == name:
            result: dict[str, Any] = gate
            return result
    raise KeyError(name)
