"""docs/configuration.md against the JSON Schema of gates.yaml: every key documented, no more.

Each model of the schema has its section in the reference (a heading, mapped below);
every key of the model must be a row of that section's table, and a scalar default
must be written in that row. Keys every gate shares live in one section, each
kind's own keys in the kind's section. A new model or kind fails here until the
reference has a section for it, and a row documenting a key that no longer exists
fails too.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from mergegate.config import KINDS, json_schema
from tests.helpers import commit_all, init_repo, run_cli, run_process, write_config

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
COMMON = "Keys every gate accepts"
# schema model -> the heading of its section in configuration.md
SECTIONS = {
    "<root>": "Top level",
    "Defaults": "`defaults`",
    "Reports": "`reports`",
    "ApiSpec": "semver: `api`",
    "VersionPattern": "semver: `version` as a pattern",
    **{f"{kind.capitalize()}Gate": f"`kind: {kind}`" for kind in KINDS},
}
_HEADING = re.compile(r"^(#+)\s+(.*?)\s*$")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|.*$", re.MULTILINE)


def sections(markdown: str) -> dict[str, str]:
    """Heading text -> the text under it, up to the next heading of the same or a higher level."""
    lines = markdown.splitlines()
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        match = _HEADING.match(line)
        if not match:
            continue
        level = len(match.group(1))
        end = next(
            (
                j
                for j in range(i + 1, len(lines))
                if (m := _HEADING.match(lines[j])) and len(m.group(1)) <= level
            ),
            len(lines),
        )
        found[match.group(2)] = "\n".join(lines[i + 1 : end])
    return found


def rows(section: str) -> dict[str, str]:
    """Rows of a section's own tables (not its subsections'): `key` -> the whole row."""
    own = []
    for line in section.splitlines():
        if _HEADING.match(line):
            break
        own.append(line)
    return {m.group(1): m.group(0) for m in _ROW.finditer("\n".join(own))}


def models(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Schema model name -> its properties, the document root included."""
    found = {"<root>": dict(schema["properties"])}
    for name, definition in schema.get("$defs", {}).items():
        if "properties" in definition:
            found[name] = dict(definition["properties"])
    return found


def common_gate_keys(all_models: Mapping[str, Mapping[str, Any]]) -> set[str]:
    gates = [set(props) for name, props in all_models.items() if name.endswith("Gate")]
    return set.intersection(*gates)


def expected_keys() -> Iterator[tuple[str, str, Any]]:
    """(section heading, key, the key's schema) for every key of every model."""
    all_models = models(json_schema())
    common = common_gate_keys(all_models)
    for name, props in all_models.items():
        assert name in SECTIONS, (
            f"the schema has a model {name!r} with no section in docs/configuration.md: "
            "add a section documenting its keys and map it in SECTIONS"
        )
        for key, prop in props.items():
            is_common = name.endswith("Gate") and key in common
            yield (COMMON if is_common else SECTIONS[name]), key, prop


def default_words(prop: Mapping[str, Any]) -> list[str]:
    """How a scalar default must appear in its row; [] when the row may say it in words."""
    if "default" not in prop:
        return []
    value = prop["default"]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int) or (isinstance(value, str) and value):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []  # null, "", {} and durations (900.0 is written as 15m)


def undocumented(reference: Mapping[str, str]) -> list[str]:
    missing = []
    for heading, key, _ in expected_keys():
        if heading not in reference:
            missing.append(f"section {heading!r} (for {key})")
        elif key not in rows(reference[heading]):
            missing.append(f"{key!r} in section {heading!r}")
    return sorted(missing)


def wrong_defaults(reference: Mapping[str, str]) -> list[str]:
    wrong = []
    seen: set[tuple[str, str]] = set()
    for heading, key, prop in expected_keys():
        if (heading, key) in seen or key == "kind":
            continue  # shared keys are checked once; kind's default differs per model
        seen.add((heading, key))
        row = rows(reference.get(heading, "")).get(key, "")
        wrong += [f"{heading} / {key}: {w!r}" for w in default_words(prop) if w not in row]
    return wrong


def stale_rows(reference: Mapping[str, str]) -> list[str]:
    known: dict[str, set[str]] = {}
    for heading, key, _ in expected_keys():
        known.setdefault(heading, set()).add(key)
    return [
        f"{key!r} in section {heading!r}"
        for heading, keys in known.items()
        for key in rows(reference.get(heading, ""))
        if key not in keys
    ]


@pytest.fixture(scope="module")
def doc() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def test_every_schema_key_has_a_row_in_its_section(doc: str) -> None:
    missing = undocumented(sections(doc))
    assert not missing, "docs/configuration.md does not document: " + "; ".join(missing)


def test_every_scalar_default_is_written_in_its_row(doc: str) -> None:
    wrong = wrong_defaults(sections(doc))
    assert not wrong, "defaults missing from their rows in docs/configuration.md: " + "; ".join(
        wrong
    )


def test_no_row_documents_a_key_the_schema_lacks(doc: str) -> None:
    stale = stale_rows(sections(doc))
    assert not stale, "docs/configuration.md documents keys gates.yaml does not have: " + "; ".join(
        stale
    )


def test_the_common_section_holds_the_keys_every_gate_shares() -> None:
    shared = common_gate_keys(models(json_schema()))
    assert {"kind", "needs", "timeout", "blocking", "if_changed"} <= shared


# -- the checker itself -------------------------------------------------------------


SAMPLE = """\
# Title
## `kind: demo`
| key | default |
|---|---|
| `alpha` | `3` |
| `beta` | none |
### sub
| `gamma` | x |
## Other
| `delta` | y |
"""


def test_sections_nest_and_rows_stay_in_their_own_section() -> None:
    found = sections(SAMPLE)
    assert "gamma" in found["`kind: demo`"]
    assert set(rows(found["`kind: demo`"])) == {"alpha", "beta"}
    assert set(rows(found["sub"])) == {"gamma"}
    assert set(rows(found["Other"])) == {"delta"}


def test_rows_keep_the_whole_row_for_the_default_check() -> None:
    assert rows(sections(SAMPLE)["`kind: demo`"])["alpha"] == "| `alpha` | `3` |"


@pytest.mark.parametrize(
    ("prop", "words"),
    [
        ({"default": True}, ["true"]),
        ({"default": 0}, ["0"]),
        ({"default": "dist/**"}, ["dist/**"]),
        ({"default": ["**/*"]}, ["**/*"]),
        ({"default": None}, []),
        ({"default": 900.0}, []),
        ({}, []),
    ],
)
def test_default_words(prop: dict[str, Any], words: list[str]) -> None:
    assert default_words(prop) == words


def test_a_row_removed_from_the_reference_is_caught(doc: str) -> None:
    broken = doc.replace("| `max_skipped` |", "| max skipped |")
    assert undocumented(sections(broken)) == ["'max_skipped' in section '`kind: tests`'"]


def test_a_section_removed_from_the_reference_is_caught(doc: str) -> None:
    broken = doc.replace("### semver: `api`", "### the api")
    missing = undocumented(sections(broken))
    assert "section 'semver: `api`' (for python)" in missing


def test_a_wrong_default_is_caught(doc: str) -> None:
    broken = doc.replace("| `verification.md.json` |", "| `manifest.json` |")
    assert wrong_defaults(sections(broken)) == [
        "`kind: witness` / manifest: 'verification.md.json'"
    ]


def test_a_stale_row_is_caught(doc: str) -> None:
    broken = doc.replace("| `allow_empty` |", "| `allow_none` |")
    assert stale_rows(sections(broken)) == ["'allow_none' in section '`kind: smoke`'"]


# -- the rest of the guide ----------------------------------------------------------

REPO = REFERENCE.parents[1]
DOCS = [
    *sorted(REFERENCE.parent.glob("*.md")),
    REPO / "README.md",
    *sorted(REPO.glob("examples/*/README.md")),
    *sorted(REPO.glob("examples/*/keys/README.md")),
]
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def yaml_blocks() -> list[tuple[str, str]]:
    """(where, text) of every ```yaml block in the guide and the README."""
    return [
        (f"{path.name} block {i + 1}", block)
        for path in DOCS
        for i, block in enumerate(_YAML_BLOCK.findall(path.read_text(encoding="utf-8")))
    ]


def gates_yaml_examples() -> list[tuple[str, str]]:
    """(where, gates.yaml text) for every YAML block that is a whole file or a set of gates."""
    import yaml

    found = []
    for where, block in yaml_blocks():
        try:
            data = yaml.safe_load(block)
        except yaml.YAMLError:
            continue  # test_every_yaml_block_parses reports it
        if not isinstance(data, dict):
            continue
        if "gates" in data:
            found.append((where, block))
        elif all(isinstance(v, dict) and ("kind" in v or "run" in v) for v in data.values()):
            found.append((where, yaml.safe_dump({"version": 1, "gates": data})))
    return found


@pytest.mark.parametrize(("where", "text"), [pytest.param(*b, id=b[0]) for b in yaml_blocks()])
def test_every_yaml_block_parses(where: str, text: str) -> None:
    import yaml

    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        pytest.fail(f"{where} is not valid YAML: {exc}")


def test_the_guide_has_gates_yaml_examples() -> None:
    assert len(gates_yaml_examples()) >= 10


@pytest.mark.parametrize(
    ("where", "text"), [pytest.param(*e, id=e[0]) for e in gates_yaml_examples()]
)
def test_every_gates_yaml_example_is_valid(where: str, text: str) -> None:
    from mergegate.config import parse_config
    from mergegate.errors import ConfigError

    try:
        parse_config(text, where)
    except ConfigError as exc:
        pytest.fail(f"{where} is not a valid gates.yaml:\n{exc}")


def broken_links(paths: list[Path], root: Path) -> list[str]:
    """Relative links in ``paths`` whose target file does not exist (anchors not checked)."""
    broken = []
    for path in paths:
        for target in _LINK.findall(path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if not resolved.exists():
                broken.append(f"{path.relative_to(root)}: {target}")
    return broken


def test_relative_links_resolve() -> None:
    broken = broken_links(DOCS, REPO)
    assert not broken, "links to files that do not exist: " + "; ".join(broken)


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#part) [web](https://example.invalid) [bad](gone.md)")
    assert broken_links([page], tmp_path) == ["page.md: gone.md"]


def test_the_semver_policy_map_lists_every_change_kind() -> None:
    from mergegate.semver.kinds import CHANGE_KINDS

    doc = sections((REFERENCE.parent / "semver.md").read_text(encoding="utf-8"))
    table = rows(doc["The policy map"])
    assert set(table) == set(CHANGE_KINDS)
    for kind, (level, _) in CHANGE_KINDS.items():
        shown = level.label if level is not None else "`api.level`"
        assert f"| {shown} |" in table[kind], f"semver.md: {kind} should default to {shown}"


# -- every shell command in the guide is run ------------------------------------------

SHELL_DOCS = [*sorted(REFERENCE.parent.glob("*.md")), REPO / "README.md"]
_SHELL_BLOCK = re.compile(r"^```(sh|bash|shell|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_TRAILING_COMMENT = re.compile(r"\s{2,}#.*$")  # "cmd   # why"; a `#` inside a word stays

# Commands a test cannot run here, each with the reason and where it is covered instead.
NOT_EXECUTED: Mapping[str, str] = {
    "pip install ./mergegate": "installs mergegate itself: the suite runs from such an install",
    "python3 -m pip install nox && nox -s gates": "the README set-up; needs the package index",
    "python3 -m pip install nox && nox -s tests": "the README set-up; .ci/run runs exactly it",
    "nox -s gates": "nox installs from the index: tests/test_nox_register.py runs the session",
    "nox -s gates -- --only lint,unit-tests": "as `nox -s gates` (test_nox_register posargs)",
    "nox -s gates -- --dry-run": "as `nox -s gates` (test_nox_register forwards posargs)",
    "pre-commit install --hook-type pre-push": "tests/test_precommit_hook.py does it for real",
    "git push": "tests/test_precommit_hook.py pushes through the hook to a bare remote",
    "pip install -e . pre-commit lefthook": "the benchmark's set-up; needs the package index",
    "python bench/run.py": "the benchmark itself: minutes of load, never a timed test",
    "npm run build": "the user's own build (witness.md); the test project has dist/ built",
}
# mergegate commands whose documented outcome is not exit 0: (doc, command) -> exit code
EXPECTED_EXIT: Mapping[tuple[str, str], int] = {}


def shell_commands(path: Path) -> list[str]:
    """Every command of the ```sh/bash/console blocks in ``path``, comments removed.

    In a console block only the `$ ` lines are commands; the rest is their output.
    """
    commands = []
    for lang, body in _SHELL_BLOCK.findall(path.read_text(encoding="utf-8")):
        for line in body.splitlines():
            if lang == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            command = _TRAILING_COMMENT.sub("", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


_EXECUTABLE = re.compile(
    r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*"  # MERGEGATE_CONFIG=ci/gates.yaml mergegate run
    r"(?:mergegate\s|eval \"\$\(mergegate\s|git add\s|git commit\s)"
)


def executable(command: str) -> bool:
    """mergegate and local git commands run in the test project; the rest must be listed."""
    return _EXECUTABLE.match(command) is not None


def test_every_command_is_run_or_listed_with_a_reason() -> None:
    unknown = [
        f"{path.name}: {command}"
        for path in SHELL_DOCS
        for command in shell_commands(path)
        if not executable(command) and command not in NOT_EXECUTED
    ]
    assert not unknown, (
        "shell commands in the docs that no test runs; run them here or list them in "
        "NOT_EXECUTED with the reason: " + "; ".join(unknown)
    )


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        ("mergegate run", True),
        ("MERGEGATE_CONFIG=ci/gates.yaml mergegate run", True),
        ('eval "$(mergegate completion bash)"', True),
        ("git commit -m x", True),
        ("git push", False),
        ("nox -s gates", False),
        ("pip install mergegate", False),
    ],
)
def test_which_commands_the_test_runs(command: str, runs: bool) -> None:
    assert executable(command) is runs


def test_shell_commands_are_extracted_as_written(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```console\n$ mergegate init\nwrote gates.yaml\n```\n"
        '```sh\n# a comment\nmergegate run   # why\nmergegate witness sign -m "merge: #1"\n```\n'
        "```yaml\nnot: a command\n```\n"
    )
    assert shell_commands(page) == [
        "mergegate init",
        "mergegate run",
        'mergegate witness sign -m "merge: #1"',
    ]


DOC_PROJECT = {
    "pyproject.toml": (
        '[project]\nname = "demo-pkg"\nversion = "0.3.0"\n\n[tool.ruff]\nline-length = 100\n\n'
        '[tool.mypy]\nfiles = ["src"]\n\n[tool.pytest.ini_options]\npythonpath = ["src"]\n'
    ),
    "src/demo_pkg/__init__.py": '"""demo."""\n\n\ndef one() -> int:\n    return 1\n',
    "tests/test_one.py": (
        "from demo_pkg import one\n\n\ndef test_one() -> None:\n    assert one() == 1\n"
    ),
    "dist/app.js": "console.log('built');\n",
    ".gitignore": "reports/\n__pycache__/\n.ruff_cache/\n.pytest_cache/\n",
}
WITNESS_GATES = "version: 1\ngates:\n  witness:\n    kind: witness\n    paths: ['dist/**']\n"


def doc_project(tmp_path: Path, doc: str, commands: Sequence[str]) -> tuple[Path, dict[str, str]]:
    """A healthy project for ``doc``'s commands, and the environment to run them in."""
    venv_bin = str(Path(sys.executable).parent)  # mergegate, ruff, pytest: an activated venv
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", "HOME": str(home)}
    root = init_repo(tmp_path / "project", DOC_PROJECT)
    if doc == "witness.md":
        write_config(root, WITNESS_GATES)
        run_cli(["witness", "keygen", str(tmp_path / "keys")], cwd=root, env=env)
        (root / "keys").mkdir()
        shutil.copy(tmp_path / "keys" / "witness.pub", root / "keys" / "witness.pub")
        env["MERGEGATE_WITNESS_KEY"] = str(tmp_path / "keys" / "witness.key")
    elif "mergegate init" not in commands:
        assert run_cli(["init"], cwd=root, env=env).returncode == 0
    commit_all(root, "the project as the doc finds it")
    return root, env


def _docs_with_commands() -> list[Path]:
    return [p for p in SHELL_DOCS if any(executable(c) for c in shell_commands(p))]


@pytest.mark.slow
@pytest.mark.parametrize("path", _docs_with_commands(), ids=lambda p: p.name)
def test_every_mergegate_command_in_a_doc_runs(tmp_path: Path, path: Path) -> None:
    commands = [c for c in shell_commands(path) if executable(c)]
    root, env = doc_project(tmp_path, path.name, commands)
    for command in commands:
        done = run_process(["bash", "-c", command], root, env, timeout=300)
        expected = EXPECTED_EXIT.get((path.name, command), 0)
        assert done.returncode == expected, (
            f"{path.name}: `{command}` exited {done.returncode}, not {expected}\n"
            f"{done.stdout}\n{done.stderr}"
        )
