"""The compiled plan (spec.py) and its cache (plancache.py): equal to what pydantic
validated, lean when warm, and a miss (never a crash) when anything is off."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from mergegate import config as config_module
from mergegate.gates import KINDS
from mergegate.plancache import load_plan, plan_key
from mergegate.spec import compile_config, from_json, spec_class, to_json
from tests.helpers import gate_json, load_json, run_cli, run_process, write_config

EVERY_KIND = """
version: 1
base: origin/main
defaults: {timeout: 90s, env: {CI: true}, cwd: sub}
redact: [MY_TOKEN]
reports: {junit: out/g.xml, json: null}
gates:
  lint: {run: [ruff, check, .], needs: [], if_changed: "src/**"}
  unit: {kind: tests, run: "pytest", junit: "r/*.xml", needs: lint, max_skipped: 3}
  smoke: {kind: smoke, scripts: [s/*.py], interpreter: {.py: [python3, -X, dev]}}
  witness: {kind: witness, paths: [dist/*], public_key: keys/k.pub, blocking: false}
  semver:
    kind: semver
    version: {file: VERSION, pattern: "v(.*)"}
    api: {python: src/pkg, paths: ["types/*.d.ts"]}
    policy: {object-removed: major}
  secrets: {kind: forbid, builtin: [secrets], patterns: {host: "corp\\\\.net"}, timeout: 10}
"""

# a warm run reports which heavy modules it imported, at exit
_WRAPPER = """
import atexit, runpy, sys
atexit.register(lambda: sys.stderr.write(
    "HEAVY=" + ",".join(m for m in ("pydantic", "yaml", "pydantic_core", "rich")
                        if m in sys.modules)
    + "\\n"))
sys.argv = ["mergegate", *sys.argv[1:]]
runpy.run_module("mergegate", run_name="__main__", alter_sys=True)
"""


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "mergegate" / "plans").glob("*.json"))


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path_factory.mktemp("xdg")  # outside the project: tmp_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(where))
    return where


def test_every_kind_compiles_and_round_trips_through_json() -> None:
    spec = compile_config(config_module.parse_config(EVERY_KIND))
    assert set(spec.gates) == {"lint", "unit", "smoke", "witness", "semver", "secrets"}
    again = from_json(json.loads(json.dumps(to_json(spec))))
    assert again == spec
    assert spec.gates["lint"].run == ("ruff", "check", ".")  # type: ignore[attr-defined]
    assert spec.gates["semver"].version.pattern == "v(.*)"  # type: ignore[attr-defined]
    assert spec.defaults.env == {"CI": "true"}
    assert spec.reports.json_ is None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_spec_has_exactly_the_fields_of_its_model(kind: str) -> None:
    model = config_module.GATE_MODELS[kind]
    spec_fields = {f.name for f in dataclasses.fields(spec_class(kind))}
    assert spec_fields == set(model.model_fields) - {"kind"}


def test_a_warm_run_in_a_log_imports_neither_pydantic_nor_yaml_nor_rich(
    tmp_path: Path, cache: Path
) -> None:
    write_config(
        tmp_path,
        """
        version: 1
        gates:
          a: {run: "true"}
          b: {kind: tests, run: "echo '1 passed in 0.01s'", count_from: output}
          c: {kind: smoke, scripts: ["none/*.sh"], allow_empty: true}
        """,
    )
    wrapper = tmp_path / "wrap.py"
    wrapper.write_text(_WRAPPER)
    cold = run_process([sys.executable, str(wrapper), "run"], tmp_path)
    warm = run_process([sys.executable, str(wrapper), "run"], tmp_path)
    assert cold.returncode == warm.returncode == 0, warm.stdout + warm.stderr
    assert "HEAVY=pydantic,yaml,pydantic_core" in cold.stderr
    assert "HEAVY=\n" in warm.stderr
    assert len(_entries(cache)) == 1
    assert (cache / "mergegate" / "plans" / ".gitignore").read_text().endswith("*\n")


def test_an_edit_is_a_miss_and_runs_the_new_gates(tmp_path: Path, cache: Path) -> None:
    write_config(tmp_path, "version: 1\ngates:\n  a: {run: 'true'}\n")
    assert run_cli(["run"], tmp_path).returncode == 0
    write_config(tmp_path, "version: 1\ngates:\n  a: {run: 'exit 3'}\n")
    proc = run_cli(["run"], tmp_path)
    assert proc.returncode == 1
    assert gate_json(load_json(tmp_path / "reports" / "gates.json"), "a")["status"] == "failed"
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize(
    "entry",
    [
        b"\x00garbage",
        b"[]",
        b'{"key": "someone else", "plan": {}}',
        b'{"key": "KEY", "plan": {"version": 1}}',
        b'{"key": "KEY", "plan": {"version": 1, "base": null, "redact": [], "defaults": '
        b'{"timeout": 1, "env": {}, "cwd": null}, "reports": {"junit": null, "json_": null},'
        b' "gates": {"a": {"kind": "nope"}}}}',
    ],
)
def test_a_corrupt_or_foreign_entry_is_a_miss(tmp_path: Path, cache: Path, entry: bytes) -> None:
    path = write_config(tmp_path, "version: 1\ngates:\n  a: {run: 'exit 4'}\n")
    key = plan_key(path.read_bytes())
    plans = cache / "mergegate" / "plans"
    plans.mkdir(parents=True)
    (plans / f"{key}.json").write_bytes(entry.replace(b"KEY", key.encode()))
    loaded = load_plan(path)
    assert loaded.gates["a"].run == "exit 4"  # type: ignore[attr-defined]
    assert load_plan(path) == loaded  # the miss stored a good entry
    assert json.loads((plans / f"{key}.json").read_text())["key"] == key


def test_a_cached_plan_keeps_the_gate_order(tmp_path: Path, cache: Path) -> None:
    names = ["zeta", "alpha", "mid", "beta"]
    body = "".join(f"  {n}: {{run: 'true'}}\n" for n in names)
    path = write_config(tmp_path, "version: 1\ngates:\n" + body)
    assert list(load_plan(path).gates) == names  # a miss: validated
    assert _entries(cache)
    assert list(load_plan(path).gates) == names  # a hit: decoded


def test_a_fifo_or_directory_entry_is_a_miss_not_a_hang(tmp_path: Path, cache: Path) -> None:
    import os

    path = write_config(tmp_path, "version: 1\ngates:\n  a: {run: 'exit 5'}\n")
    plans = cache / "mergegate" / "plans"
    plans.mkdir(parents=True)
    entry = plans / f"{plan_key(path.read_bytes())}.json"
    os.mkfifo(entry)  # nobody writes: reading it would block for ever
    assert load_plan(path).gates["a"].run == "exit 5"  # type: ignore[attr-defined]
    entry.unlink(missing_ok=True)
    entry.mkdir()
    assert load_plan(path).gates["a"].run == "exit 5"  # type: ignore[attr-defined]


def test_errors_are_never_cached(tmp_path: Path, cache: Path) -> None:
    write_config(tmp_path, "version: 1\ngates:\n  a: {runn: 'true'}\n")
    for _ in range(2):
        proc = run_cli(["run"], tmp_path)
        assert proc.returncode == 2
        assert "gates.yaml:3" in proc.stderr
        assert "did you mean run?" in proc.stderr
    assert _entries(cache) == []


def test_a_cache_inside_the_project_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    path = write_config(tmp_path, "version: 1\ngates:\n  a: {run: 'true'}\n")
    key = plan_key(path.read_bytes())
    planted = tmp_path / ".cache" / "mergegate" / "plans"
    planted.mkdir(parents=True)
    forged = compile_config(config_module.parse_config("version: 1\ngates:\n  a: {run: 'true'}\n"))
    forged_json = to_json(forged)
    forged_json["gates"]["a"]["run"] = "echo planted"
    (planted / f"{key}.json").write_text(json.dumps({"key": key, "plan": forged_json}))
    assert load_plan(path).gates["a"].run == "true"  # type: ignore[attr-defined]


_LOAD_ONLY = """
import sys
from pathlib import Path
from mergegate.plancache import load_plan
loaded = load_plan(Path(sys.argv[1]))
kinds = sorted(m for m in sys.modules if m.startswith("mergegate.gates"))
validator = sorted(m for m in ("mergegate.config", "pydantic", "yaml") if m in sys.modules)
print(len(loaded.gates), ",".join(kinds), ",".join(validator))
"""


def test_a_warm_plan_imports_only_the_kinds_its_gates_use(tmp_path: Path, cache: Path) -> None:
    """A cached plan names its spec classes, each in its kind's module: loading it
    imports those modules (a gate that runs needs its kind anyway), no other kind's,
    and nothing of the validator."""
    path = write_config(
        tmp_path, "version: 1\ngates:\n  a: {run: 'true'}\n  b: {kind: smoke, scripts: s/*}\n"
    )
    script = tmp_path / "load.py"
    script.write_text(_LOAD_ONLY)
    cold = run_process([sys.executable, str(script), str(path)], tmp_path)
    warm = run_process([sys.executable, str(script), str(path)], tmp_path)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert cold.stdout.endswith(" mergegate.config,pydantic,yaml\n")
    assert "mergegate.gates.semver" in cold.stdout  # the validator builds every kind's model
    assert warm.stdout == "2 mergegate.gates,mergegate.gates.command,mergegate.gates.smoke \n"


# what a kind needs only when its gate runs (a cached pass never does): never loaded with a plan
RUN_ONLY = (
    "mergegate.junit_count",
    "mergegate.summary_lines",
    "mergegate.baseline",
    "mergegate.filematch",
    "mergegate.forbid_patterns",
    "concurrent.futures",
    "mergegate.semver.api",
    "mergegate.semver.versions",
    "mergegate.semver.kinds",
    "tomllib",
)
_LOAD_HEAVY = """
import sys
from pathlib import Path
from mergegate.plancache import load_plan
load_plan(Path(sys.argv[1]))
print(",".join(m for m in sys.argv[2:] if m in sys.modules))
"""


def test_a_warm_plan_loads_no_module_its_kinds_need_only_to_run(
    tmp_path: Path, cache: Path
) -> None:
    path = write_config(
        tmp_path,
        """
        version: 1
        gates:
          unit: {kind: tests, run: pytest, junit: r/*.xml, min_passed: baseline}
          smoke: {kind: smoke, scripts: [s/*.sh]}
          secrets: {kind: forbid, builtin: [secrets]}
          api: {kind: semver, version: pyproject.toml, api: {python: src/pkg}}
        """,
    )
    script = tmp_path / "load.py"
    script.write_text(_LOAD_HEAVY)
    argv = [sys.executable, str(script), str(path), *RUN_ONLY]
    cold = run_process(argv, tmp_path)
    warm = run_process(argv, tmp_path)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert warm.stdout == "\n"


@pytest.mark.parametrize(
    "named",
    [
        "mergegate.gates.forbid:ForbidSpec",
        "mergegate.spec:ConfigSpec",
        "mergegate.spec:GateSpec",
        "mergegate.nothere:X",
        "os:sep",
        None,  # no class named at all: a plan of another layout
    ],
)
def test_a_cached_plan_naming_another_class_is_a_miss(
    tmp_path: Path, cache: Path, named: str | None
) -> None:
    """The class a cached plan names must be its kind's spec, or the plan is validated again."""
    path = write_config(tmp_path, "version: 1\ngates:\n  a: {run: 'true'}\n")
    load_plan(path)
    (entry,) = _entries(cache)
    data = json.loads(entry.read_text())
    assert data["plan"]["gates"]["a"]["$class"] == "mergegate.gates.command:CommandSpec"
    if named is None:
        del data["plan"]["gates"]["a"]["$class"]
    else:
        data["plan"]["gates"]["a"]["$class"] = named
    entry.write_text(json.dumps(data))
    again = load_plan(path)
    assert type(again.gates["a"]).__name__ == "CommandSpec"
    assert json.loads(entry.read_text())["plan"]["gates"]["a"]["$class"].endswith(":CommandSpec")


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("version", "mergegate.gates.semver:ApiSpecSpec"),  # a spec, but not one `version` holds
        ("api", "mergegate.spec:ReportsSpec"),
        ("api", "mergegate.gates.semver:SemverSpec"),
        ("api", "os:sep"),
    ],
)
def test_a_cached_nested_spec_of_another_class_is_a_miss(
    tmp_path: Path, cache: Path, field: str, named: str
) -> None:
    """A nested spec (semver's `version`, `api`) must be a class its field's type names."""
    path = write_config(tmp_path, EVERY_KIND)
    first = load_plan(path)
    (entry,) = _entries(cache)
    data = json.loads(entry.read_text())
    nested = data["plan"]["gates"]["semver"][field]
    original = nested["$class"]
    assert original.startswith("mergegate.gates.semver:")
    nested["$class"] = named
    entry.write_text(json.dumps(data))
    assert load_plan(path) == first
    again = json.loads(entry.read_text())["plan"]["gates"]["semver"][field]["$class"]
    assert again == original  # the miss stored a good entry


def test_an_env_key_named_like_the_class_tag_round_trips() -> None:
    """`$class` tags only fields whose type can hold a spec; an env var may be called that."""
    text = "version: 1\ngates:\n  a: {run: 'true', env: {$class: 'os:sep', X: y}}\n"
    spec = compile_config(config_module.parse_config(text))
    assert from_json(json.loads(json.dumps(to_json(spec)))) == spec
