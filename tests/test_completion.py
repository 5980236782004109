"""Shell completion scripts, loaded and driven by the real bash, zsh and fish.

Gate names come from the discovered gates.yaml through `mergegate list --names`,
so each test puts this interpreter's `mergegate` first on PATH and completes in a
real repository.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from mergegate.commands.completion import commands
from tests.helpers import run_process, write_config

BIN = Path(sys.executable).parent
GATES = (
    "version: 1\ngates:\n  lint: {run: 'true'}\n  load-test: {run: 'true'}\n  docs: {run: 'true'}\n"
)


def shell_env() -> dict[str, str]:
    if not (BIN / "mergegate").is_file():
        pytest.skip("the mergegate console script is not installed next to this interpreter")
    return {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def needs(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        pytest.skip(f"{shell} is not installed")
    return found


def script(repo: Path, shell: str) -> Path:
    proc = run_process([str(BIN / "mergegate"), "completion", shell], repo, shell_env())
    assert proc.returncode == 0, proc.stderr
    path = repo.parent / f"completion.{shell}"
    path.write_text(proc.stdout)
    return path


BASH_DRIVER = """
source "$1"
complete -p mergegate
shift
COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_mergegate
for r in "${COMPREPLY[@]}"; do printf 'REPLY %s\\n' "$r"; done
"""


def bash_complete(repo: Path, *words: str) -> tuple[str, list[str]]:
    loaded = script(repo, "bash")
    proc = run_process(
        [needs("bash"), "--norc", "--noprofile", "-c", BASH_DRIVER, "bash", str(loaded), *words],
        repo,
        shell_env(),
    )
    assert proc.returncode == 0, proc.stderr
    replies = [ln[6:] for ln in proc.stdout.splitlines() if ln.startswith("REPLY ")]
    return proc.stdout.splitlines()[0], replies


def test_bash_registers_and_completes_commands_flags_and_gates(repo: Path) -> None:
    write_config(repo, GATES)
    registered, replies = bash_complete(repo, "mergegate", "")
    assert registered == "complete -o default -F _mergegate mergegate"
    assert {c.name for c in commands()} <= set(replies)
    assert bash_complete(repo, "mergegate", "run", "l")[1] == ["lint", "load-test"]
    assert bash_complete(repo, "mergegate", "run", "--only", "d")[1] == ["docs"]
    assert "--dry-run" in bash_complete(repo, "mergegate", "run", "--d")[1]
    assert bash_complete(repo, "mergegate", "list", "--n")[1] == ["--names"]
    assert bash_complete(repo, "mergegate", "completion", "")[1] == ["bash", "zsh", "fish"]


def test_bash_gate_names_follow_dash_c_and_discovery(repo: Path) -> None:
    write_config(repo, GATES)
    (repo / "other.yaml").write_text("version: 1\ngates:\n  lonely: {run: 'true'}\n")
    assert bash_complete(repo, "mergegate", "run", "-c", "other.yaml", "")[1] == ["lonely"]
    (repo / "src").mkdir()
    in_src = bash_complete(repo / "src", "mergegate", "run", "")[1]
    assert in_src == ["lint", "load-test", "docs"]


def test_bash_completes_no_gates_and_no_error_without_a_config(tmp_path: Path) -> None:
    assert bash_complete(tmp_path, "mergegate", "run", "")[1] == []


ZSH_DRIVER = """
compadd() { [[ $1 == -- ]] && shift; print -l -- "REPLY "$^@ }
_files() { print "REPLY <files>" }
compdef() { print "COMPDEF $*" }
source "$1"
shift
words=("$@"); CURRENT=$#words
_mergegate
"""


def zsh_complete(repo: Path, *words: str) -> list[str]:
    zsh = needs("zsh")
    loaded = script(repo, "zsh")
    parsed = run_process([zsh, "-n", str(loaded)], repo, shell_env())
    assert parsed.returncode == 0, parsed.stderr
    proc = run_process([zsh, "-f", "-c", ZSH_DRIVER, "zsh", str(loaded), *words], repo, shell_env())
    assert proc.returncode == 0, proc.stderr
    assert "COMPDEF _mergegate mergegate" in proc.stdout
    return [ln[6:] for ln in proc.stdout.splitlines() if ln.startswith("REPLY ")]


def test_zsh_script_parses_registers_and_completes(repo: Path) -> None:
    write_config(repo, GATES)
    assert {c.name for c in commands()} <= set(zsh_complete(repo, "mergegate", ""))
    assert set(zsh_complete(repo, "mergegate", "run", "l")) >= {"lint", "load-test", "docs"}
    assert zsh_complete(repo, "mergegate", "run", "--skip", "") == ["lint", "load-test", "docs"]
    assert "--no-color" in zsh_complete(repo, "mergegate", "run", "--")
    assert zsh_complete(repo, "mergegate", "run", "--junit", "") == ["<files>"]


def fish_complete(repo: Path, line: str) -> list[str]:
    fish = needs("fish")
    loaded = script(repo, "fish")
    env = {**shell_env(), "XDG_CONFIG_HOME": str(repo.parent / "fish-config")}
    code = f"source {loaded}; complete -C {line!r}"
    proc = run_process([fish, "--no-config", "-c", code], repo, env)
    assert proc.returncode == 0, proc.stderr
    return [ln.split("\t")[0] for ln in proc.stdout.splitlines()]


def test_fish_completes_commands_flags_and_gates(repo: Path) -> None:
    write_config(repo, GATES)
    assert {c.name for c in commands()} <= set(fish_complete(repo, "mergegate "))
    assert {"lint", "load-test"} <= set(fish_complete(repo, "mergegate run l"))
    assert "docs" not in fish_complete(repo, "mergegate run l")
    assert fish_complete(repo, "mergegate run --only d") == ["docs"]
    assert "--dry-run" in fish_complete(repo, "mergegate run --dr")
    assert set(fish_complete(repo, "mergegate completion ")) == {"bash", "zsh", "fish"}
