"""The kind registry (mergegate.gates.KINDS) is the one place a kind is added."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import tokenize
import typing
from pathlib import Path

import pytest

import mergegate
from mergegate.gates import KINDS, kind_module
from tests.helpers import gate_json, load_json, run_process, write_config

TOY_DIR = Path(__file__).parent / "fixtures" / "toykind"
# the one line that adds a kind, then the real CLI, in a fresh interpreter
_WRAPPER = """
import runpy, sys
sys.path.insert(0, {toy!r})
from mergegate.gates import KINDS
{line}
sys.argv = ["mergegate", *sys.argv[1:]]
runpy.run_module("mergegate", run_name="__main__", alter_sys=True)
"""
ADD_TOY = 'KINDS["echo"] = "toy_echo"'
TOY_CONFIG = """
version: 1
gates:
  hello: {kind: echo, say: hi there}
  after: {run: "true", needs: hello}
"""


def _cli(tmp_path: Path, *args: str, line: str = ADD_TOY) -> tuple[int, str, str]:
    """The CLI with ``line`` run first (it edits the registry, ``KINDS``)."""
    wrapper = tmp_path.parent / f"{tmp_path.name}-wrap.py"
    wrapper.write_text(_WRAPPER.format(toy=str(TOY_DIR), line=line))
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


def _builtin_names() -> set[str]:
    """Every name a built-in kind brings: the kind, its spec, its model, their nested classes."""
    names: set[str] = set()
    for kind in KINDS:
        module = kind_module(kind)
        spec, model = module.SPEC, module.model()
        names |= {kind, spec.__name__, model.__name__}
        hints = typing.get_type_hints(spec)
        for f in dataclasses.fields(spec):
            names |= {t.__name__ for t in _classes_in(hints[f.name]) if dataclasses.is_dataclass(t)}
        for field in model.model_fields.values():
            names |= {
                t.__name__ for t in _classes_in(field.annotation) if hasattr(t, "model_fields")
            }
    return names


def _classes_in(hint: object) -> list[type]:
    own = [hint] if isinstance(hint, type) else []
    return own + [c for arg in typing.get_args(hint) for c in _classes_in(arg)]


def _identifiers_and_literals(path: Path) -> set[str]:
    """Names and plain string literals in ``path`` (docstrings, f-strings and comments aside)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    words = set()
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME:
            words.add(tok.string)
        elif (
            tok.type == tokenize.STRING
            and not tok.string.startswith(('"""', "f"))
            and [t.string for t in tokens[i - 2 : i]] != ["extra", "="]  # pydantic's "forbid"
        ):
            words.add(tok.string.strip("'\""))
    return words


@pytest.mark.parametrize("module", ["config.py", "spec.py"])
def test_config_and_spec_name_no_built_in_kind(module: str) -> None:
    """A kind is its module and its registry line: the validator and the plan know no kind."""
    builtin = _builtin_names()
    assert {"command", "CommandSpec", "ForbidGate", "VersionPattern", "ApiSpecSpec"} <= builtin
    source = Path(mergegate.__file__).parent / module
    assert _identifiers_and_literals(source) & builtin == set()


_DROP_WITNESS = 'del KINDS["witness"]'


def test_a_kind_dropped_from_the_registry_is_gone_from_validation_and_schema(
    tmp_path: Path,
) -> None:
    code, out, _ = _cli(tmp_path, "schema", line=_DROP_WITNESS)
    assert code == 0
    schema = json.loads(out)
    assert "WitnessGate" not in schema["$defs"]
    assert {"CommandGate", "SemverGate", "ApiSpec"} <= set(schema["$defs"])
    write_config(tmp_path, "version: 1\ngates:\n  w: {kind: witness}\n  a: {run: 'true'}\n")
    code, _, err = _cli(tmp_path, "run", line=_DROP_WITNESS)
    assert code == 2
    assert "gates.yaml:3" in err
    assert "unknown kind 'witness'" in err
    assert "kinds are command, tests, smoke, semver, forbid" in err


def test_a_registry_of_only_the_toy_kind_has_only_its_model(tmp_path: Path) -> None:
    code, out, err = _cli(tmp_path, "schema", line=f"KINDS.clear(); {ADD_TOY}")
    assert code == 0, err
    defs = json.loads(out)["$defs"]
    assert set(defs) == {"Defaults", "Reports", "EchoGate"}
    write_config(
        tmp_path, "version: 1\ngates:\n  hello: {kind: echo, say: hi}\n  a: {run: 'true'}\n"
    )
    code, out, err = _cli(tmp_path, "run", line=f"KINDS.clear(); {ADD_TOY}")
    assert code == 2
    assert "gates.yaml:4" in err
    assert "kinds are echo" in err
