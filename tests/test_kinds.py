"""The kind registry (mergegate.gates.KINDS) is the one place a kind is added."""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path

import pytest

from mergegate.gates import KINDS, kind_module
from tests.helpers import gate_json, load_json, run_process, write_config

TOY_DIR = Path(__file__).parent / "fixtures" / "toykind"
# the one line that adds a kind, then the real CLI, in a fresh interpreter
_WRAPPER = f"""
import runpy, sys
sys.path.insert(0, {str(TOY_DIR)!r})
from mergegate.gates import KINDS
KINDS["echo"] = "toy_echo"
sys.argv = ["mergegate", *sys.argv[1:]]
runpy.run_module("mergegate", run_name="__main__", alter_sys=True)
"""
TOY_CONFIG = """
version: 1
gates:
  hello: {kind: echo, say: hi there}
  after: {run: "true", needs: hello}
"""


def _cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    wrapper = tmp_path.parent / f"{tmp_path.name}-wrap.py"
    wrapper.write_text(_WRAPPER)
    proc = run_process([sys.executable, str(wrapper), *args], tmp_path)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_registered_kind_provides_spec_model_run_and_plan(kind: str) -> None:
    module = kind_module(kind)
    assert module.SPEC.kind == kind
    assert typing.get_args(module.model().model_fields["kind"].annotation) == (kind,)
    assert callable(module.run)
    assert callable(module.plan)


def test_a_toy_kind_is_validated_scheduled_run_and_reported(tmp_path: Path) -> None:
    write_config(tmp_path, TOY_CONFIG)
    for _ in range(2):  # cold (validated), then warm (the cached plan)
        code, out, err = _cli(tmp_path, "run")
        assert code == 0, out + err
        report = load_json(tmp_path / "reports" / "gates.json")
        hello = gate_json(report, "hello")
        assert (hello["kind"], hello["status"], hello["reason"]) == (
            "echo",
            "passed",
            "said hi there",
        )
        assert gate_json(report, "after")["status"] == "passed"


def test_a_toy_kind_is_in_the_schema_and_the_dry_run(tmp_path: Path) -> None:
    code, out, _ = _cli(tmp_path, "schema")
    assert code == 0
    defs = json.loads(out)["$defs"]
    assert defs["EchoGate"]["properties"]["say"]["type"] == "string"
    write_config(tmp_path, TOY_CONFIG)
    code, out, err = _cli(tmp_path, "run", "--dry-run")
    assert code == 0, out + err
    assert "hello (echo)" in out
    assert "say: hi there" in out


def test_a_toy_kind_entry_is_checked_by_its_model(tmp_path: Path) -> None:
    write_config(tmp_path, "version: 1\ngates:\n  hello: {kind: echo, sai: hi}\n")
    code, _, err = _cli(tmp_path, "run")
    assert code == 2
    assert "gates.yaml:3" in err
    assert "did you mean say?" in err


def test_without_its_registration_a_cached_toy_plan_is_an_unknown_kind(tmp_path: Path) -> None:
    write_config(tmp_path, TOY_CONFIG)
    assert _cli(tmp_path, "run")[0] == 0  # cached with the toy kind registered
    proc = run_process([sys.executable, "-m", "mergegate", "run"], tmp_path)
    assert proc.returncode == 2
    assert "unknown kind 'echo'" in proc.stderr
