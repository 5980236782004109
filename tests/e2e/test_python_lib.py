"""A Python library, end to end, on examples/python-lib (throttlekit).

The example is copied into a real repository (base on `main`) and a `feature`
branch adds a public function with its test and the patch bump a 0.x addition
needs. ruff, mypy and pytest come from the interpreter running these tests
(its directory goes first on PATH), so nothing is installed. On the feature
branch every gate passes, all run together.

Then one break per gate, shown in two halves run with `--only` (see
test_team_gateway): on a branch with one break its gate fails with a reason
that says what is wrong; on a branch with every break but a gate's own, that
gate still passes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    Break,
    append,
    assert_all_passed,
    assert_blocks_alone,
    assert_passes_alone,
    branch_from,
    copy_example,
    edit,
    everything_written,
    make_branch,
    reason_and_tail,
    run_gates,
)
from tests.helpers import commit_all, git

pytestmark = pytest.mark.slow

GATES = ("lint", "type-check", "unit-tests", "smoke", "witness", "semver")
MIN_PASSED = 29  # gates.yaml
SDIST = "dist/throttlekit-0.3.0.tar.gz"
# the tools of the interpreter running the tests: python, ruff, mypy, pytest
TOOLS_ENV = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example on `main` and the `feature` branch on top."""
    root = copy_example("python-lib", tmp_path_factory.mktemp("e2e") / "python-lib")
    git(root, "checkout", "-q", "-b", "feature")
    _feature_change(root)
    return root


def _feature_change(root: Path) -> None:
    """A new public function, its test, and 0.3.0 -> 0.3.1 (below 1.0 an addition is a patch)."""
    append(
        root / "src/throttlekit/rates.py",
        "\n\ndef parse_rates(text: str) -> list[Rate]:\n"
        '    """ "10/s, 500/min" -> one Rate per comma-separated part."""\n'
        '    return [parse_rate(part) for part in text.split(",") if part.strip()]\n',
    )
    init = root / "src/throttlekit/__init__.py"
    edit(init, "RateError, parse_rate\n", "RateError, parse_rate, parse_rates\n")
    edit(init, '"parse_rate"]', '"parse_rate", "parse_rates"]')
    tests = root / "tests/test_rates.py"
    edit(tests, "RateError, parse_rate\n", "RateError, parse_rate, parse_rates\n")
    append(
        tests,
        "\n\ndef test_parses_a_list() -> None:\n"
        '    assert parse_rates("10/s, 500/min,") == [Rate(10, 1.0), Rate(500, 60.0)]\n',
    )
    edit(root / "pyproject.toml", 'version = "0.3.0"', 'version = "0.3.1"')
    commit_all(root, "parse_rates: several rates in one string")


def test_every_gate_passes_on_a_well_made_change(repo: Path) -> None:
    branch_from(repo, "all-pass")

    run = run_gates(repo, env=TOOLS_ENV)

    assert_all_passed(run, GATES)
    assert run.gate("unit-tests")["details"]["passed"] == MIN_PASSED + 1
    semver = run.gate("semver")["reason"]
    assert "0.3.0" in semver
    assert "0.3.1" in semver


# -- one break per gate -----------------------------------------------------------


def _lint_error(root: Path) -> None:
    edit(root / "src/throttlekit/bucket.py", "import time\n", "import os\nimport time\n")


def _type_error(root: Path) -> None:
    edit(
        root / "src/throttlekit/rates.py",
        "    def __str__(self) -> str:\n",
        "    @property\n"
        "    def per_minute(self) -> int:\n"
        "        return self.per_second * 60\n\n"
        "    def __str__(self) -> str:\n",
    )


def _delete_tests(root: Path) -> None:
    (root / "tests/test_bucket.py").unlink()


def _failing_smoke(root: Path) -> None:
    (root / "scripts/smoke_burst.py").write_text(
        '"""Smoke: a bucket with no burst allowance still lets requests through (it does not)."""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "from pathlib import Path\n"
        "\n"
        'SRC = Path(__file__).resolve().parent.parent / "src"\n'
        "\n"
        "\n"
        "def main() -> int:\n"
        '    env = {**os.environ, "PYTHONPATH": str(SRC)}\n'
        '    cmd = [sys.executable, "-m", "throttlekit", "10/s", "--burst", "0"]\n'
        "    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)\n"
        "    if done.returncode != 0:\n"
        '        print(f"smoke burst: FAILED — exit {done.returncode}: {done.stderr}")\n'
        "        return 1\n"
        "    return 0\n"
        "\n"
        "\n"
        'if __name__ == "__main__":\n'
        "    raise SystemExit(main())\n",
        encoding="utf-8",
    )


def _tamper_sdist(root: Path) -> None:
    with (root / SDIST).open("ab") as fh:
        fh.write(b"\0" * 512)


def _no_bump(root: Path) -> None:
    edit(root / "pyproject.toml", 'version = "0.3.1"', 'version = "0.3.0"')


def _check_lint(entry: dict[str, Any], _: str) -> None:
    text = reason_and_tail(entry)
    assert "exit code 1" in entry["reason"]
    assert "F401" in text
    assert "`os` imported but unused" in text


def _check_types(entry: dict[str, Any], _: str) -> None:
    text = reason_and_tail(entry)
    assert "exit code 1" in entry["reason"]
    assert "src/throttlekit/rates.py" in text
    assert "Incompatible return value type" in text


def _check_tests(entry: dict[str, Any], _: str) -> None:
    passed = entry["details"]["passed"]
    assert passed < MIN_PASSED
    assert str(passed) in entry["reason"]
    assert str(MIN_PASSED) in entry["reason"]


def _check_smoke(entry: dict[str, Any], _: str) -> None:
    assert "smoke_burst.py" in entry["reason"]
    assert "capacity must be positive" in reason_and_tail(entry)


def _check_witness(entry: dict[str, Any], _: str) -> None:
    assert SDIST in entry["reason"]
    assert "changed" in entry["reason"]


def _check_semver(entry: dict[str, Any], _: str) -> None:
    reason = entry["reason"]
    assert "0.3.0" in reason
    assert "patch" in reason
    assert "parse_rates" in reason


BREAKS = {
    "lint-error": Break("lint", _lint_error, _check_lint),
    "type-error": Break("type-check", _type_error, _check_types),
    "deleted-tests": Break("unit-tests", _delete_tests, _check_tests),
    "failing-smoke": Break("smoke", _failing_smoke, _check_smoke),
    "tampered-sdist": Break("witness", _tamper_sdist, _check_witness),
    "api-addition-without-bump": Break("semver", _no_bump, _check_semver),
}


def test_every_gate_has_a_break() -> None:
    assert sorted(b.gate for b in BREAKS.values()) == sorted(GATES)


@pytest.mark.parametrize("case", list(BREAKS))
def test_the_break_blocks_its_gate(repo: Path, case: str) -> None:
    broken = BREAKS[case]
    make_branch(repo, f"break-{case}", [broken])

    run = run_gates(repo, "--only", broken.gate, env=TOOLS_ENV)

    entry = assert_blocks_alone(run, broken.gate)
    broken.check(entry, everything_written(run, repo))


@pytest.mark.parametrize("gate", GATES)
def test_no_other_break_trips_the_gate(repo: Path, gate: str) -> None:
    """With every break but its own applied at once, the gate still passes."""
    others = [b for b in BREAKS.values() if b.gate != gate]
    make_branch(repo, f"all-breaks-but-{gate}", others)

    assert_passes_alone(run_gates(repo, "--only", gate, env=TOOLS_ENV), gate)
