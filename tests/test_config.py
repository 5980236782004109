"""gates.yaml loading: located errors, suggestions, hostile YAML, needs graph, the schema."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mergegate.config import (
    CommandGate,
    ForbidGate,
    TestsGate,
    json_schema,
    load_config,
    parse_config,
    parse_duration,
)
from mergegate.errors import ConfigError
from tests.helpers import run_cli, write_config


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "gates.yaml")
    return [str(issue) for issue in info.value.issues]


def test_valid_config_with_every_kind_loads(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        version: 1
        base: origin/main
        defaults: {timeout: 15m, env: {CI: true, N: 3}}
        redact: [DEPLOY_WEBHOOK]
        reports: {junit: out/g.xml, json: out/g.json}
        gates:
          lint:
            run: npm run lint
          unit-tests:
            kind: tests
            run: npm test
            junit: reports/junit/*.xml
            min_passed: 1999
            needs: lint
          smoke: {kind: smoke, scripts: "scripts/smoke-*.mjs"}
          witness: {kind: witness, manifest: verification.md.json, require_new_entry: true}
          semver:
            kind: semver
            version: package.json
            api: {python: src/mypkg, paths: ["types/**/*.d.ts"]}
          no-secrets:
            kind: forbid
            builtin: [secrets]
            patterns: {internal-host: "corp\\\\.example\\\\.net"}
        """,
    )
    loaded = load_config(path)
    gates = loaded.gates
    assert list(gates) == ["lint", "unit-tests", "smoke", "witness", "semver", "no-secrets"]
    assert isinstance(gates["lint"], CommandGate)
    tests = gates["unit-tests"]
    assert isinstance(tests, TestsGate)
    assert tests.min_passed == 1999
    assert tests.junit == ("reports/junit/*.xml",)
    assert tests.needs == ("lint",)
    assert loaded.timeout_of(tests) == 900.0
    assert loaded.env_of(tests) == {"CI": "true", "N": "3"}
    assert isinstance(gates["no-secrets"], ForbidGate)
    assert loaded.config.reports.json_ == "out/g.json"
    assert loaded.root == tmp_path.resolve()


def test_unknown_key_names_line_column_gate_key_and_suggestion() -> None:
    found = errors_of(
        """version: 1
gates:
  unit-tests:
    kind: tests
    junit: r/*.xml
    min_pased: 1999
"""
    )
    assert found == [
        "gates.yaml:6:5: gates.unit-tests.min_pased: unknown key (did you mean min_passed?)"
    ]


def test_key_of_another_kind_says_which_kind_owns_it() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  lint:\n    run: x\n    min_passed: 3\n")
    assert msg.startswith("gates.yaml:5:5: gates.lint.min_passed:")
    assert "belongs to kind tests" in msg


def test_all_errors_are_reported_together() -> None:
    found = errors_of(
        """version: 1
defaults: {timout: 5m}
gates:
  a:
    run: x
    timeout: 1x
  b:
    kind: smok
  Bad_Name:
    run: y
"""
    )
    joined = "\n".join(found)
    assert "2:12: defaults.timout: unknown key (did you mean timeout?)" in joined
    assert "6:5: gates.a.timeout: invalid duration '1x'" in joined
    assert "8:5: gates.b.kind: unknown kind 'smok' (did you mean smoke?)" in joined
    assert "9:3: gates.Bad_Name: invalid gate name 'Bad_Name'" in joined
    assert len(found) == 4


def test_yaml_syntax_error_is_located() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  lint:\n    run: [a, b\n  x: 1\n")
    assert msg.startswith("gates.yaml:5:")
    assert "YAML syntax error" in msg


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev = "a" if i == 1 else f"l{i - 1}"
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    started = time.monotonic()
    (msg,) = errors_of(text)
    assert time.monotonic() - started < 2.0
    assert "alias bomb" in msg


def test_needs_cycle_and_unknown_need() -> None:
    found = errors_of(
        """version: 1
gates:
  a: {run: x, needs: [b]}
  b: {run: y, needs: [a, lnit]}
  lint: {run: z}
"""
    )
    joined = "\n".join(found)
    assert "needs cycle: a -> b -> a" in joined
    assert "gates.b.needs: unknown gate 'lnit' (did you mean lint?)" in joined


def test_self_need_is_an_error() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  a: {run: x, needs: a}\n")
    assert "cannot need itself" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90", 90.0), (90, 90.0), ("90s", 90.0), ("15m", 900.0), ("1h30m", 5400.0), ("2h", 7200.0)],
)
def test_durations(text: object, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "1x", "m", "0", 0, -5, True, "1.5h"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ("    cwd: /etc\n", "must be relative"),
        ("    cwd: ../outside\n", "must not leave the project"),
        ("    if_changed: ['../x/**']\n", "must not leave the project"),
    ],
)
def test_paths_must_stay_inside_the_project(snippet: str, needle: str) -> None:
    (msg,) = errors_of("version: 1\ngates:\n  a:\n    run: x\n" + snippet)
    assert needle in msg


def test_missing_required_keys() -> None:
    found = errors_of("version: 1\ngates:\n  t:\n    kind: tests\n  s:\n    kind: smoke\n")
    joined = "\n".join(found)
    assert "gates.t: a tests gate needs `junit`" in joined
    assert "gates.s.scripts: required key missing" in joined


def test_empty_gates_and_wrong_version() -> None:
    joined = "\n".join(errors_of("version: 2\ngates: {}\n"))
    assert "version" in joined
    assert "gates" in joined


def test_not_a_mapping() -> None:
    (msg,) = errors_of("- a\n- b\n")
    assert "must be a mapping" in msg


def test_duplicate_keys_are_refused() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  a: {run: x}\n  a: {run: y}\n")
    assert "duplicate key 'a'" in msg


def test_invalid_regex_in_forbid_patterns() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  f:\n    kind: forbid\n    patterns: {x: '(['}\n")
    assert "invalid regular expression" in msg


def test_cli_config_error_exits_2_and_prints_location(tmp_path: Path) -> None:
    write_config(tmp_path, "version: 1\ngates:\n  lint:\n    runn: ruff check\n")
    proc = run_cli(["run"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "gates.yaml:4:5: gates.lint.runn: unknown key (did you mean run?)" in proc.stderr
    assert not (tmp_path / "reports").exists()  # nothing ran, nothing written


def test_cli_missing_config_exits_2(tmp_path: Path) -> None:
    proc = run_cli(["run"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "no gates.yaml found in" in proc.stderr  # discovery says where it looked


def test_control_bytes_in_yaml_are_refused_with_a_message() -> None:
    (msg,) = errors_of('version: 1\ngates:\n  a: {run: "x\x07"}\n')
    assert "gates.yaml:3:" in msg


def test_schema_is_draft_2020_12_and_lists_every_kind() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    text = str(schema)
    for key in ("min_passed", "scripts", "require_new_entry", "changed_only", "if_changed"):
        assert key in text
    kinds = {
        d["properties"]["kind"].get("const") or d["properties"]["kind"].get("default")
        for d in schema["$defs"].values()
        if "kind" in d.get("properties", {})
    }
    assert kinds == {"command", "tests", "smoke", "witness", "semver", "forbid"}
