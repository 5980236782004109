"""The composite action (action.yml): valid YAML, sound steps, and its `run:` steps executed.

The `run:` steps are executed with bash the way the GitHub runner runs a
`shell: bash` step (`bash --noprofile --norc -eo pipefail FILE`), in a fake
GITHUB_* environment, with `${{ }}` expressions substituted from the inputs,
`github.action_path` and the outputs earlier steps wrote to $GITHUB_OUTPUT.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ghrunner import process
from tests.helpers import GIT_IDENTITY, gate_json, init_repo, load_json, write_config

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def step(name_or_id: str) -> dict[str, Any]:
    return next(s for s in STEPS if name_or_id in (s.get("id"), s.get("name")))


# -- the action's shape ---------------------------------------------------------------


def test_inputs_have_descriptions_and_defaults() -> None:
    inputs = ACTION["inputs"]
    assert {"config", "args", "python-version"} <= set(inputs)
    assert inputs["config"]["default"] == "gates.yaml"
    assert inputs["args"]["default"] == ""
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert spec.get("required") is False, name


def test_steps_set_up_python_install_run_and_upload() -> None:
    assert ACTION["runs"]["using"] == "composite"
    setup = step("python")
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    assert setup["with"]["update-environment"] is False  # the job's Python stays the job's
    assert step("install")["env"]["MERGEGATE_ACTION_PATH"] == "${{ github.action_path }}"
    upload = step("Upload the reports")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "always()"  # the reports matter most when the run failed
    assert upload["with"]["path"] == "${{ inputs.reports }}"


def test_run_steps_use_bash_and_never_paste_expressions_into_scripts() -> None:
    runs = [s for s in STEPS if "run" in s]
    assert len(runs) == 2
    for s in runs:
        assert s["shell"] == "bash"  # composite actions require an explicit shell
        assert "${{" not in s["run"], s["name"]  # inputs go through env: no script injection


CACHE_KEY_PARTS = ("runner.os", "github.run_id", "github.run_attempt")  # actions/cache's key


def test_every_expression_names_a_known_value() -> None:
    declared = set(ACTION["inputs"])
    ids = {s["id"] for s in STEPS if "id" in s}
    for text in EXPRESSION.findall(yaml.safe_dump(ACTION)):
        head, _, rest = text.partition(".")
        if head == "inputs":
            assert rest in declared, text
        elif head == "steps":
            assert rest.split(".")[0] in ids, text
        else:
            assert text in ("github.action_path", *CACHE_KEY_PARTS), text


def test_the_cache_input_keeps_the_cache_dir_with_actions_cache() -> None:
    assert ACTION["inputs"]["cache"]["default"] == "false"
    [keep] = [s for s in STEPS if str(s.get("uses", "")).startswith("actions/cache@")]
    assert keep["if"] == "inputs.cache == 'true'"
    assert keep["with"]["path"] == "~/.cache/mergegate"


# -- executing the run: steps ---------------------------------------------------------


@dataclass
class FakeRunner:
    workspace: Path
    temp: Path
    inputs: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.temp.mkdir(parents=True, exist_ok=True)
        self.summary = self.temp / "step_summary.md"
        self.summary.touch()

    def value(self, expression: str) -> str:
        head, _, rest = expression.partition(".")
        if head == "inputs":
            return self.inputs.get(rest, str(ACTION["inputs"][rest].get("default", "")))
        if expression == "github.action_path":
            return str(ROOT)
        if head == "steps":
            step_id, _, output = rest.partition(".outputs.")
            return self.outputs.get(step_id, {}).get(output, "")
        raise AssertionError(f"the test cannot evaluate ${{{{ {expression} }}}}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def env(self, step_env: Mapping[str, str], output: Path) -> dict[str, str]:
        env = {**os.environ, **GIT_IDENTITY, **self.extra_env}
        env.update(
            GITHUB_ACTIONS="true",
            CI="true",
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_ACTION_PATH=str(ROOT),
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_OUTPUT=str(output),
            GITHUB_ENV=str(self.temp / "github_env"),
            GITHUB_REPOSITORY="acme/app",
            GITHUB_RUN_ID="1234",
            GITHUB_EVENT_NAME="merge_group",
            RUNNER_TEMP=str(self.temp),
        )
        env.update({k: self.substitute(str(v)) for k, v in step_env.items()})
        return env

    def run(self, name_or_id: str) -> subprocess.CompletedProcess[str]:
        spec = step(name_or_id)
        script = self.temp / f"step-{len(self.outputs)}.sh"
        script.write_text(self.substitute(spec["run"]))
        output = self.temp / f"output-{len(self.outputs)}"
        output.touch()
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=self.env(spec.get("env", {}), output),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if "id" in spec:
            pairs = (line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
            self.outputs[spec["id"]] = dict(pairs)
        return result


GATES = """\
version: 1
gates:
  ok:
    run: echo fine
  bad:
    run: echo "::add-mask::x"; echo "::error::injected"; exit 4
"""


@pytest.fixture
def runner(tmp_path: Path) -> FakeRunner:
    workspace = init_repo(tmp_path / "workspace")
    write_config(workspace, GATES)
    fake = FakeRunner(workspace, tmp_path / "runner-temp", inputs={})
    fake.outputs["install"] = {"python": sys.executable}  # this interpreter has mergegate
    return fake


def test_run_step_passes_when_the_gates_pass(runner: FakeRunner) -> None:
    runner.inputs["args"] = "--only ok"
    result = runner.run("Run the gates")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("mergegate run -c gates.yaml --only ok\n")
    groups = [c.data for c in process(result.stdout).named("group")]
    assert len(groups) == 1
    assert groups[0].startswith("ok: passed in ")
    assert "selected gates passed — not a merge verdict (1 not run)" in runner.summary.read_text()
    report = load_json(runner.workspace / "reports" / "gates.json")  # what upload-artifact takes
    assert gate_json(report, "ok")["status"] == "passed"


def test_run_step_fails_the_job_when_a_gate_blocks(runner: FakeRunner) -> None:
    result = runner.run("Run the gates")
    assert result.returncode == 1, result.stdout + result.stderr
    log = process(result.stdout)
    errors = log.named("error")
    assert [e.properties.get("title") for e in errors] == ["bad"]
    assert "exit" in errors[0].data
    assert not log.named("add-mask")  # the gate's own workflow commands stayed inert
    assert "merge blocked" in runner.summary.read_text()
    assert (runner.workspace / "reports" / "gates.xml").is_file()


def test_the_cache_input_moves_the_cache_to_home(runner: FakeRunner, tmp_path: Path) -> None:
    runner.inputs.update(args="--only ok", cache="true")
    runner.extra_env["HOME"] = str(tmp_path / "home")
    for _ in range(2):
        result = runner.run("Run the gates")
        assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((tmp_path / "home/.cache/mergegate").glob("*.json"))) == 1
    assert not (runner.workspace / ".mergegate").exists()
    report = load_json(runner.workspace / "reports" / "gates.json")
    assert "cached" in gate_json(report, "ok")["details"]


def test_args_are_split_but_never_evaluated(runner: FakeRunner) -> None:
    runner.inputs["args"] = "--only 'ok' $(touch pwned) `touch pwned2`"
    result = runner.run("Run the gates")
    assert not (runner.workspace / "pwned").exists()
    assert not (runner.workspace / "pwned2").exists()
    assert result.returncode == 2  # the words reached mergegate literally, as arguments
    assert "$(touch" in result.stderr


def test_config_input_with_spaces(runner: FakeRunner) -> None:
    target = runner.workspace / "ci conf" / "my gates.yaml"
    target.parent.mkdir()
    target.write_text("version: 1\ngates:\n  here:\n    run: test -f ../gates.yaml\n")
    runner.inputs["config"] = "ci conf/my gates.yaml"
    result = runner.run("Run the gates")
    assert result.returncode == 0, result.stdout + result.stderr
    report = load_json(runner.workspace / "ci conf" / "reports" / "gates.json")
    assert gate_json(report, "here")["status"] == "passed"


@pytest.mark.slow
def test_install_step_builds_a_private_venv_from_the_action_checkout(tmp_path: Path) -> None:
    workspace = init_repo(tmp_path / "workspace")
    write_config(workspace, GATES)
    # Dependencies are found on PYTHONPATH, so pip only builds this checkout (no downloads).
    site = sysconfig.get_paths()["purelib"]
    fake = FakeRunner(workspace, tmp_path / "temp", inputs={"args": "--only ok"},
                      extra_env={"PYTHONPATH": site})  # fmt: skip
    fake.outputs["python"] = {"python-path": sys.executable}  # what setup-python reports
    installed = fake.run("install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    python = Path(fake.outputs["install"]["python"])
    assert python.is_relative_to(fake.temp / "mergegate-venv")
    assert "mergegate " in installed.stdout
    copies = list((fake.temp / "mergegate-venv").glob("lib/python*/site-packages/mergegate"))
    assert copies
    assert (copies[0] / "__init__.py").is_file()
    result = fake.run("Run the gates")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "selected gates passed — not a merge verdict" in fake.summary.read_text()
