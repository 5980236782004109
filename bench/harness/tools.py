"""The tools under test, the environment they run in, and the scratch git repositories.

Every tool is started the way a user's shell would start it, minus wrappers that would
distort the numbers: mergegate and pre-commit through their console scripts next to this
interpreter (not a pyenv shim), lefthook through the Go binary shipped inside the
``lefthook`` PyPI package (not its Python wrapper).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# variables that would change what a tool does, or where it writes, during a bench run
_DROP = ("PYTHONDONTWRITEBYTECODE", "CI", "NO_COLOR", "FORCE_COLOR", "COLUMNS")
_DROP_PREFIXES = ("GITHUB_", "MERGEGATE_", "LEFTHOOK", "PRE_COMMIT", "RUNNER_")
_GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
_ARCH = {"amd64": "x86_64", "aarch64": "arm64"}  # as the lefthook wheel names its binaries


@dataclass(frozen=True)
class Tools:
    python: str
    mergegate: tuple[str, ...]
    pre_commit: tuple[str, ...] | None
    lefthook: str | None
    versions: Mapping[str, str]


def _script(name: str) -> str | None:
    """A console script installed next to this interpreter (bypasses pyenv/asdf shims)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def find_lefthook() -> str | None:
    """The Go binary inside the lefthook PyPI package, else a lefthook binary on PATH."""
    spec = importlib.util.find_spec("lefthook")
    if spec is not None and spec.origin:
        system = platform.system().lower()
        arch = platform.machine().lower()
        arch = _ARCH.get(arch, arch)
        binary = Path(spec.origin).parent / "bin" / f"lefthook-{system}-{arch}" / "lefthook"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    on_path = shutil.which("lefthook")
    if on_path and Path(on_path).read_bytes()[:4] == b"\x7fELF":
        return on_path
    return None


def find_tools(env: Mapping[str, str]) -> Tools:
    mergegate_script = _script("mergegate")
    mergegate = (mergegate_script,) if mergegate_script else (sys.executable, "-m", "mergegate")
    pre_commit: tuple[str, ...] | None = None
    if (pc := _script("pre-commit")) is not None:
        pre_commit = (pc,)
    elif importlib.util.find_spec("pre_commit") is not None:
        pre_commit = (sys.executable, "-m", "pre_commit")
    lefthook = find_lefthook()
    versions = {"mergegate": _version([*mergegate, "--version"], env)}
    if pre_commit:
        versions["pre-commit"] = _version([*pre_commit, "--version"], env)
    if lefthook:
        versions["lefthook"] = _version([lefthook, "version"], env)
    return Tools(sys.executable, mergegate, pre_commit, lefthook, versions)


def _version(argv: Sequence[str], env: Mapping[str, str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(env), check=False)
    words = (proc.stdout or proc.stderr).split()
    return words[-1] if proc.returncode == 0 and words else f"unusable (exit {proc.returncode})"


def child_env(scratch: Path) -> dict[str, str]:
    """The environment every measured command gets.

    Byte-code caching is on (as after any pip install): with PYTHONDONTWRITEBYTECODE set,
    every mergegate start would recompile its own modules while the peers' site-packages
    already hold compiled ones.
    """
    env = {
        k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(_DROP_PREFIXES)
    }
    env.update(_GIT_ENV)
    env["PRE_COMMIT_HOME"] = str(scratch / "pre-commit-home")
    # mergegate's compiled-plan cache (and pre-commit's hook cache) start empty each
    # bench run; the warm-up round fills them, as a developer's first run would
    env["XDG_CACHE_HOME"] = str(scratch / "xdg-cache")
    return env


def make_repo(path: Path, files: Mapping[str, str], env: Mapping[str, str]) -> Path:
    """A git repository at ``path`` with ``files`` committed on main."""
    path.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (path / rel).write_text(text)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "bench"],
    ):
        subprocess.run(
            ["git", "-C", str(path), *args], env=dict(env), check=True, capture_output=True
        )
    return path


# -- config files (every value written as JSON, which is valid YAML) -----------------------


def gates_yaml(gates: Mapping[str, str | Sequence[str]]) -> str:
    lines = [
        "version: 1",
        "reports: {junit: reports/gates.xml, json: reports/gates.json}",
        "gates:",
    ]
    for name, run in gates.items():
        value = run if isinstance(run, str) else list(run)
        lines += [f"  {name}:", f"    run: {json.dumps(value)}"]
    return "\n".join(lines) + "\n"


def pre_commit_yaml(hooks: Mapping[str, str]) -> str:
    """`language: system` hooks that always run once, without file names."""
    lines = ["repos:", "- repo: local", "  hooks:"]
    for name, entry in hooks.items():
        lines += [
            f"  - id: {name}",
            f"    name: {name}",
            f"    entry: {json.dumps(entry)}",
            "    language: system",
            "    always_run: true",
            "    pass_filenames: false",
        ]
    return "\n".join(lines) + "\n"


def lefthook_yaml(hooks: Mapping[str, tuple[bool, Mapping[str, str]]]) -> str:
    """Custom hooks, `lefthook run NAME`: hook name -> (parallel, {command: run})."""
    lines: list[str] = []
    for hook, (parallel, commands) in hooks.items():
        lines += [f"{hook}:", f"  parallel: {json.dumps(parallel)}", "  commands:"]
        for name, run in commands.items():
            lines += [f"    {name}:", f"      run: {json.dumps(run)}"]
    return "\n".join(lines) + "\n"


# -- the machine -----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine() -> dict[str, str]:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpu": cpu_model(),
        "nproc": str(usable_cpus()),
        "os": platform.platform(terse=True),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load": load,
    }
