"""`mergegate.nox.register()` used by a real nox run in a temporary project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mergegate.nox import STAMP_NAME, install_stamp
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


PROJECT_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "mypkg"
version = "0.1.0"
"""


@pytest.mark.slow
def test_with_a_venv_it_installs_the_running_mergegate_once(tmp_path: Path) -> None:
    # mergegate is on no package index: the default installs the checkout running now
    project = init_repo(
        tmp_path / "p",
        {
            "noxfile.py": "import mergegate.nox\nmergegate.nox.register()\n",
            "pyproject.toml": PROJECT_PYPROJECT,
            "src/mypkg/__init__.py": "VALUE = 1\n",
        },
    )
    write_config(
        project,
        """\
        version: 1
        gates:
          where:
            run: python -c "import mergegate, mypkg, sys; print(mypkg.VALUE, sys.prefix)"
        """,
    )
    first = nox(project, "-s", "gates", timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"python -m pip install -e {ROOT} -e ." in first.stderr
    venv = project / ".nox" / "gates"
    tail = gate_json(load_json(project / "reports" / "gates.json"), "where")["output_tail"]
    assert tail.split() == ["1", str(venv)]  # the gate ran in the session's venv

    (project / "src" / "mypkg" / "__init__.py").write_text("VALUE = 2\n")
    second = nox(project, "-s", "gates", timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "pip install" not in second.stderr
    assert "installed and unchanged, not installing again" in second.stderr
    tail = gate_json(load_json(project / "reports" / "gates.json"), "where")["output_tail"]
    assert tail.split()[0] == "2"  # editable: the project's current code, without a reinstall

    with (project / "pyproject.toml").open("a") as fh:
        fh.write('dependencies = ["packaging"]\n')  # what the install depends on changed
    third = nox(project, "-s", "gates", timeout=600)
    assert third.returncode == 0, third.stdout + third.stderr
    assert f"python -m pip install -e {ROOT} -e ." in third.stderr


def test_the_running_checkout_is_what_gets_installed() -> None:
    from mergegate.nox import running_requirement

    assert running_requirement() == ["-e", str(ROOT)]


def _installed_copy(site: Path, direct_url: dict[str, object] | None) -> None:
    """mergegate as pip leaves it in site-packages: the package and its dist-info."""
    shutil.copytree(ROOT / "src" / "mergegate", site / "mergegate")
    info = site / "mergegate-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mergegate\nVersion: 0.1.0\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


def _requirement_in(site: Path) -> subprocess.CompletedProcess[str]:
    code = "from mergegate.nox import running_requirement as r; print(r())"
    return run_process([sys.executable, "-c", code], site, {"PYTHONPATH": str(site)})


def test_installed_from_a_wheel_it_installs_that_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "dist" / "mergegate-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK")
    _installed_copy(tmp_path / "site", {"url": wheel.as_uri(), "archive_info": {}})
    done = _requirement_in(tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr([str(wheel)])


def test_installed_from_an_index_it_pins_the_version(tmp_path: Path) -> None:
    _installed_copy(tmp_path / "site", None)
    done = _requirement_in(tmp_path / "site")
    assert done.stdout.strip() == repr(["mergegate==0.1.0"]), done.stderr


def test_a_vanished_source_is_an_error_naming_the_override(tmp_path: Path) -> None:
    gone = tmp_path / "deleted-checkout"
    _installed_copy(tmp_path / "site", {"url": gone.as_uri(), "dir_info": {"editable": True}})
    done = _requirement_in(tmp_path / "site")
    assert done.returncode == 1
    assert f"installed from {gone}, which no longer exists" in done.stderr
    assert "requirement=" in done.stderr


@pytest.mark.slow
def test_an_explicit_requirement_wins(project: Path) -> None:
    # requirement= is installed as given (here a path pip cannot install: the session fails)
    noxfile = "import mergegate.nox\nmergegate.nox.register(requirement='./no-such-wheel.whl')\n"
    (project / "noxfile.py").write_text(noxfile)
    result = nox(project, "-s", "gates", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pip install ./no-such-wheel.whl -e ." in result.stderr
    assert not (project / ".nox" / "gates" / STAMP_NAME).exists()  # no stamp for a failure


def test_the_stamp_follows_the_files_an_install_names(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("ruff\n")
    before = install_stamp(["-r", "requirements.txt", "-e", ".[dev]"], tmp_path)
    assert before == install_stamp(["-r", "requirements.txt", "-e", ".[dev]"], tmp_path)
    (tmp_path / "requirements.txt").write_text("ruff\nmypy\n")
    after = install_stamp(["-r", "requirements.txt", "-e", ".[dev]"], tmp_path)
    assert after != before
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert install_stamp(["-r", "requirements.txt", "-e", ".[dev]"], tmp_path) != after
    assert install_stamp(["-e", "."], tmp_path) != install_stamp(["."], tmp_path)


def test_importing_the_module_does_not_import_nox() -> None:
    code = "import sys, mergegate.nox; print('nox' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_the_repository_noxfile_runs_on_the_python_running_nox(tmp_path: Path) -> None:
    result = nox(tmp_path, "-f", str(ROOT / "noxfile.py"), "--list")
    assert result.returncode == 0, result.stderr
    sessions = [line.split()[1] for line in result.stdout.splitlines() if line[:2] in ("* ", "- ")]
    assert sessions == ["tests", "lint", "type", "gates"]  # no "tests-3.11": any Python works


def test_a_missing_interpreter_fails_the_run(tmp_path: Path) -> None:
    noxfile = str(ROOT / "noxfile.py")
    result = nox(tmp_path, "-f", noxfile, "-s", "lint", "--force-python", "3.99")
    assert result.returncode == 1, result.stdout + result.stderr  # never a silent skip
    assert "Session lint-3.99 failed: Python interpreter 3.99 not found" in result.stderr
