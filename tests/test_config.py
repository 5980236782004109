"""gates.yaml loading: located errors, suggestions, hostile YAML, needs graph, the schema."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from mergegate.config import (
    MAX_CONFIG_BYTES,
    decode_config,
    json_schema,
    load_config,
    parse_config,
    parse_duration,
)
from mergegate.errors import ConfigError
from mergegate.gates.command import CommandSpec
from mergegate.gates.forbid import ForbidSpec
from mergegate.gates.tests import TestsSpec
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
    assert isinstance(gates["lint"], CommandSpec)
    tests = gates["unit-tests"]
    assert isinstance(tests, TestsSpec)
    assert tests.min_passed == 1999
    assert tests.junit == ("reports/junit/*.xml",)
    assert tests.needs == ("lint",)
    assert loaded.timeout_of(tests) == 900.0
    assert loaded.env_of(tests) == {"CI": "true", "N": "3"}
    assert isinstance(gates["no-secrets"], ForbidSpec)
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


def test_unknown_key_in_a_nested_mapping_suggests_from_its_model() -> None:
    found = errors_of(
        """version: 1
gates:
  semver:
    kind: semver
    version: {file: VERSION, patern: "(.*)"}
    api: {pyhton: src/pkg}
"""
    )
    assert found == [  # `version` is a path or a {file, pattern} mapping: both are said
        "gates.yaml:5:5: gates.semver.version: expected a string, got a mapping",
        "gates.yaml:5:5: gates.semver.version.pattern: required key missing",
        "gates.yaml:5:30: gates.semver.version.patern: unknown key (did you mean pattern?)",
        "gates.yaml:6:11: gates.semver.api.pyhton: unknown key (did you mean python?)",
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
    [("90", 90.0), (90, 90.0), ("90s", 90.0), ("15m", 900.0), ("1h30m", 5400.0), ("2h", 7200.0),
     ("168h", 604800.0), (1.5, 1.5)],
)  # fmt: skip
def test_durations(text: object, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "1x", "m", "0", 0, -5, True, "1.5h", math.inf, math.nan, -math.inf, 10**400, "9" * 5000,
     "9" * 30 + "s", "\u00b2", "169h", 7 * 86400 + 1],
)  # fmt: skip
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


def test_a_gate_written_as_a_string_says_to_check_the_indentation() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  lint: ruff check .\n")
    assert msg == (
        "gates.yaml:3:3: gates.lint: expected a mapping of keys (e.g. `run: ...`), got a string "
        "('ruff check .') \u2014 check the indentation: a gate's keys go on the lines below its "
        "name, indented further"
    )


def test_union_errors_become_one_plain_sentence() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  lint:\n    run: 5\n")
    assert msg == "gates.yaml:4:5: gates.lint.run: expected a string or a list, got the number 5"
    (empty,) = errors_of("version: 1\ngates:\n  lint:\n    run: []\n")
    assert empty == "gates.yaml:4:5: gates.lint.run: must not be empty"


def test_wrong_types_are_named_in_yaml_words() -> None:
    found = errors_of(
        "version: 1\ngates:\n  t:\n    kind: tests\n    junit: r.xml\n"
        "    blocking: maybe\n    count_from: xml\n    env: [A]\n"
    )
    assert found == [
        "gates.yaml:6:5: gates.t.blocking: expected true or false, got a string ('maybe')",
        "gates.yaml:7:5: gates.t.count_from: expected one of 'junit' or 'output', "
        "got a string ('xml')",
        "gates.yaml:8:5: gates.t.env: expected a mapping (`key: value` lines), got a list",
    ]


def test_an_unclosed_quote_is_reported_where_it_opens() -> None:
    (msg,) = errors_of('version: 1\ngates:\n  lint:\n    run: "ruff\n  b:\n    run: y\n')
    assert (
        msg == "gates.yaml:4:10: YAML syntax error: this quoted string is never closed: "
        "add the closing quote"
    )


def test_a_tab_in_the_indentation_is_named() -> None:
    (msg,) = errors_of("version: 1\ngates:\n  lint:\n  \trun: x\n")
    assert (
        msg == "gates.yaml:4:3: YAML syntax error: a tab in the indentation: "
        "YAML indents with spaces only"
    )


def test_non_utf8_bytes_are_located_by_line_and_column() -> None:
    with pytest.raises(ConfigError) as info:
        decode_config("version: 1\n# d\u00e9j\u00e0 \n".encode() + b"\xff\n", "g.yaml")
    assert (
        str(info.value)
        == "g.yaml:3:1: not UTF-8 text: invalid byte 0xFF (save gates.yaml as UTF-8)"
    )


def test_a_utf8_bom_is_dropped_and_columns_stay_right() -> None:
    text = decode_config(b"\xef\xbb\xbfversion: 1\ngates: {a: {run: x, runn: x}}\n", "g.yaml")
    (msg,) = errors_of(text)
    assert msg.startswith("gates.yaml:2:21: gates.a.runn: unknown key")


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("    timeout: " + "9" * 5000, "5:14: this number is too large"),
        ("    timeout: !!int 1e3", "5:14: '1e3' is not a valid !!int value"),
        ("    timeout: .inf", "5:5: gates.a.timeout: a duration must be at most 7 days"),
        ("    timeout: .nan", "5:5: gates.a.timeout: a duration must be greater than zero"),
        ('    description: "\\U0011ffff"', "5:19: YAML syntax error: this escape names no Unicode"),
        ('    description: "\\udc00"', "5:18: an escape here makes a lone surrogate"),
        ("    env: !!set {a, b}", "5:10: unknown tag '!!set'"),
        ("    description: !secret x", "5:18: unknown tag '!secret'"),
    ],
)
def test_values_that_once_crashed_are_located_errors(snippet: str, expected: str) -> None:
    (msg,) = errors_of("version: 1\ngates:\n  a:\n    run: x\n" + snippet + "\n")
    assert msg.startswith(f"gates.yaml:{expected}"), msg


def test_deep_nesting_is_refused_where_it_gets_too_deep() -> None:
    (msg,) = errors_of("version: 1\ngates: " + "[" * 5000 + "]" * 5000 + "\n")
    assert msg == "gates.yaml:2:71: the document nests deeper than 64 levels"


def test_echoed_values_are_shortened_and_secrets_masked_before_the_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "s3cr3t-" + "q" * 120
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    github = "ghp" + "_" + "Z" * 40  # a builtin credential format, in no environment variable
    (msg,) = errors_of(
        f"version: 1\ngates:\n  a:\n    run: x\n    timeout: '{secret}{'y' * 300_000}'\n"
    )
    assert (
        msg
        == "gates.yaml:5:5: gates.a.timeout: invalid duration '***"
        + "y" * 76
        + "\u2026': use seconds or a string like 90s, 15m, 1h30m"
    )
    (msg,) = errors_of(f"version: 1\ngates:\n  a:\n    run: x\n    needs: '{github}'\n")
    assert github[:8] not in msg
    assert "unknown gate '***'" in msg


def test_secret_env_values_written_in_gates_yaml_are_masked_in_errors() -> None:
    (msg,) = errors_of(
        "version: 1\ngates:\n  a:\n    run: x\n    env: {API_TOKEN: hunter2hunter2}\n"
        "    needs: hunter2hunter2\n"
    )
    assert "hunter2" not in msg
    assert "gates.a.needs: unknown gate '***'" in msg


def test_load_config_reads_at_most_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "gates.yaml"
    path.write_bytes(b"version: 1\n" + b"#" * MAX_CONFIG_BYTES)
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_config(path)


def test_a_needs_chain_thousands_long_is_checked_without_recursion() -> None:
    chain = "".join(f"  g{i}: {{run: x, needs: g{i + 1}}}\n" for i in range(3000))
    (msg,) = errors_of("version: 1\ngates:\n" + chain + "  g3000: {run: x, needs: g0}\n")
    assert msg == (
        "gates.yaml:3:16: gates.g0.needs: needs cycle: "
        "g0 -> g1 -> g2 -> g3 -> g4 -> ... 2994 more -> g2999 -> g3000 -> g0"
    )


def test_thousands_of_problems_print_the_first_fifty() -> None:
    keys = "".join(f"    k{i}: 1\n" for i in range(300))
    with pytest.raises(ConfigError) as info:
        parse_config("version: 1\ngates:\n  a:\n    run: x\n" + keys, "gates.yaml")
    assert len(info.value.issues) == 300
    lines = str(info.value).splitlines()
    assert len(lines) == 51
    assert lines[-1] == "... and 250 more problems"


def test_a_needs_chain_deeper_than_the_limit_is_an_error() -> None:
    def chain(length: int) -> str:
        gates = "".join(f"  g{i}: {{run: x, needs: g{i + 1}}}\n" for i in range(length))
        return f"version: 1\ngates:\n{gates}  g{length}: {{run: x}}\n"

    parse_config(chain(100))
    (msg,) = errors_of(chain(2500))
    assert msg.startswith("gates.yaml:3:16: gates.g0.needs: this gate waits on a chain of 2500")


def test_needs_of_the_wrong_type_is_a_located_error() -> None:
    found = errors_of(
        "version: 1\ngates:\n  a: {run: x, needs: 1.5}\n  b: {run: x, needs: [1, c]}\n"
    )
    assert found == [
        "gates.yaml:3:15: gates.a.needs: expected a list, got the number 1.5",
        "gates.yaml:4:23: gates.b.needs[0]: expected a string, got the number 1",
        "gates.yaml:4:26: gates.b.needs: unknown gate 'c'",
    ]


def test_a_long_secret_written_in_gates_yaml_is_masked_before_the_cut() -> None:
    secret = "k" * 30 + "Q" * 90  # longer than the 80 characters a message shows
    (msg,) = errors_of(
        "version: 1\ndefaults:\n  env: {DEPLOY_TOKEN: " + secret + "}\n"
        "gates:\n  a:\n    run: x\n    timeout: " + secret + "\n"
    )
    assert "kkkk" not in msg
    assert msg.startswith("gates.yaml:7:5: gates.a.timeout: invalid duration '***'")
