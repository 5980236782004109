"""`mergegate schema` and the published schema/gates.schema.json stay the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mergegate.commands.schema import schema_text
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "schema" / "gates.schema.json"


def test_published_schema_equals_the_command_output(tmp_path: Path) -> None:
    result = run_cli(["schema"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == schema_text()
    assert PUBLISHED.read_text(encoding="utf-8") == result.stdout, (
        "schema/gates.schema.json is stale: run "
        "`python -m mergegate schema -o schema/gates.schema.json`"
    )


def test_output_flag_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "gates.schema.json"
    result = run_cli(["schema", "-o", str(target)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == schema_text()
    assert str(target) in result.stderr


def test_schema_is_stable_json_describing_every_kind() -> None:
    text = schema_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(data["required"]) == {"version", "gates"}
    kinds = {"CommandGate", "TestsGate", "SmokeGate", "WitnessGate", "SemverGate", "ForbidGate"}
    assert kinds <= set(data["$defs"])
    for name in kinds:
        assert data["$defs"][name]["additionalProperties"] is False, name


def _validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def test_schema_accepts_this_repository_gates_yaml() -> None:
    data = yaml.safe_load((ROOT / "gates.yaml").read_text(encoding="utf-8"))
    errors = list(_validator().iter_errors(data))
    assert errors == []


def test_schema_rejects_a_typo_an_editor_should_flag() -> None:
    data = {"version": 1, "gates": {"unit": {"kind": "tests", "run": "pytest", "min_pased": 3}}}
    assert list(_validator().iter_errors(data))
