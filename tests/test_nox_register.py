"""`mergegate.nox.register()` used by a real nox run in a temporary project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import gate_json, init_repo, load_json, run_process, write_config

ROOT = Path(__file__).resolve().parent.parent

NOXFILE = """\
import mergegate.nox

mergegate.nox.register()
mergegate.nox.register(name="strict", extra_args=["--fail-fast"], install=None)
"""

GATES = """\
version: 1
gates:
  one:
    run: echo "one ran" > one.txt
  two:
    run: echo "two ran" > two.txt
"""


def nox(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # the `mergegate` script sits beside this interpreter, whatever activated it
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    argv = [sys.executable, "-m", "nox", "--non-interactive", *args]
    return run_process(argv, project, {"PATH": path}, timeout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "project", {"noxfile.py": NOXFILE})
    write_config(root, GATES)
    return root


def test_sessions_are_listed(project: Path) -> None:
    result = nox(project, "--list")
    assert result.returncode == 0, result.stderr
    assert "* gates -> Run the gates in gates.yaml" in result.stdout
    assert "* strict" in result.stdout


def test_without_a_venv_it_runs_the_gates_and_forwards_posargs(project: Path) -> None:
    result = nox(project, "--no-venv", "-s", "gates", "--", "--only", "one")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pip install" not in result.stderr  # no venv: nothing installed
    assert "mergegate run -c gates.yaml --only one" in result.stderr
    report = load_json(project / "reports" / "gates.json")
    assert gate_json(report, "one")["status"] == "passed"
    assert gate_json(report, "two")["status"] == "skipped"
    assert (project / "one.txt").exists()
    assert not (project / "two.txt").exists()


def test_a_blocked_merge_fails_the_session(project: Path) -> None:
    write_config(project, GATES.replace('echo "two ran" > two.txt', "exit 3"))
    result = nox(project, "--no-venv", "-s", "strict")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mergegate run -c gates.yaml --fail-fast" in result.stderr
    assert "Session strict failed" in result.stderr
    assert gate_json(load_json(project / "reports" / "gates.json"), "two")["status"] == "failed"


def test_extra_args_must_be_a_sequence() -> None:
    from mergegate.nox import register

    with pytest.raises(TypeError, match="sequence"):
        register(name="bad", extra_args="--fail-fast")


@pytest.mark.slow
def test_with_a_venv_it_installs_mergegate_first(tmp_path: Path) -> None:
    # Install this checkout (no index needed: dependencies come from the system site).
    noxfile = (
        "import mergegate.nox\n"
        f"mergegate.nox.register(install={str(ROOT)!r}, requirement=None,\n"
        "                       venv_params=['--system-site-packages'])\n"
    )
    project = init_repo(tmp_path / "p", {"noxfile.py": noxfile})
    write_config(
        project,
        """\
        version: 1
        gates:
          where:
            run: python -c "import mergegate, sys; print(mergegate.__file__, sys.prefix)"
        """,
    )
    result = nox(project, "-s", "gates", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"python -m pip install {ROOT}" in result.stderr
    report = load_json(project / "reports" / "gates.json")
    tail = gate_json(report, "where")["output_tail"]
    venv = project / ".nox" / "gates"
    assert str(venv) in tail  # the gate ran in the session's venv, with its own mergegate
    assert str(ROOT / "src") not in tail.split()[0]


def test_importing_the_module_does_not_import_nox() -> None:
    code = "import sys, mergegate.nox; print('nox' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
