"""`mergegate init`: a commented starter gates.yaml for the project found here.

It reads, and never runs, what is already in the directory: pyproject.toml
(ruff, mypy, pytest, the package and its version), package.json (build, lint
and test scripts, the version, the entry files it exports, workspaces),
tsconfig.json, and scripts/smoke-*. What it writes must pass on a clean
checkout of a healthy project: no gate rewrites files (lint scripts lose their
fixing options), the smoke gate `needs` the build, test runners are `kind:
tests`, and semver watches files git tracks. Every gate is explained in a
comment. It never overwrites a file, and what it writes is validated by the
same loader `mergegate run` uses.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mergegate.results import EXIT_OK, EXIT_USAGE

JUNIT_DIR = "reports/junit"
_PLAIN = re.compile(r"[A-Za-z0-9_./@=+-]+(?: [A-Za-z0-9_./@=+-]+)*")
# what YAML carries verbatim inside single quotes (printable, no line breaks, no BOM)
_QUOTABLE = re.compile(
    "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)
_VERSION_PATTERNS = (
    '__version__ = "([^"]+)"',
    "__version__ = '([^']+)'",
    r"""__version__\s*[:=][^"'\n]*["']([^"']+)["']""",
)
_NPM_NO_TEST = "no test specified"


@dataclass(frozen=True)
class GateSpec:
    name: str
    comment: str
    keys: tuple[tuple[str, object], ...]


@dataclass
class Project:
    """What was found for one language: a label, its gates, and notes for the header."""

    label: str
    gates: list[GateSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- YAML text ------------------------------------------------------------------------


def scalar(value: object) -> str:
    """A YAML scalar: plain when unambiguous, else single-quoted, else JSON (valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and _reads_back(text):
        return text
    if "'" not in text and _QUOTABLE.fullmatch(text):
        return f"'{text}'"  # single quotes: backslashes and double quotes stay as written
    return _double_quoted(text)


def _reads_back(text: str) -> bool:
    """True when YAML reads ``text`` unquoted as this very string (not a bool, number, null)."""
    import yaml

    try:
        return bool(yaml.safe_load(text) == text)
    except yaml.YAMLError:
        return False


def _double_quoted(text: str) -> str:
    """YAML double quotes with everything outside printable ASCII escaped."""
    out = []
    for char in text:
        code = ord(char)
        if 0x20 <= code < 0x7F and char not in '"\\':
            out.append(char)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")  # YAML's 8-digit escape: no surrogate pairs
    return '"' + "".join(out) + '"'


def flow(value: object) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def gate_text(gate: GateSpec) -> str:
    lines = [f"  # {line}" if line else "  #" for line in gate.comment.splitlines()]
    lines.append(f"  {gate.name}:")
    for key, value in gate.keys:
        if isinstance(value, Mapping) and key != "version":
            lines.append(f"    {key}:")
            lines.extend(f"      {k}: {flow(v)}" for k, v in value.items())
        else:
            lines.append(f"    {key}: {flow(value)}")
    return "\n".join(lines) + "\n"


# -- reading the project ----------------------------------------------------------------


def _read_toml(path: Path, project: Project) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        project.notes.append(f"{path.name} could not be read ({exc}); its tools were not detected")
        return {}


def _read_json(path: Path, project: Project) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        project.notes.append(
            f"{path.name} could not be read ({exc}); its scripts were not detected"
        )
        return {}
    return data if isinstance(data, dict) else {}


def _table(doc: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    current: Any = doc
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current if isinstance(current, Mapping) else {}


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _python_package(root: Path, doc: Mapping[str, Any]) -> Path | None:
    """The import package of [project].name, under src/ or at the root."""
    name = _table(doc, "project").get("name")
    names = [re.sub(r"[-.]+", "_", name).lower()] if isinstance(name, str) else []
    src = root / "src"
    if not names and src.is_dir():
        names = sorted(p.name for p in src.iterdir() if (p / "__init__.py").is_file())[:1]
    for candidate in names:
        for parent in (src, root):
            package = parent / candidate
            if (package / "__init__.py").is_file() and not package.is_symlink():
                return package
    return None


def _version_spec(root: Path, doc: Mapping[str, Any], package: Path | None) -> object | None:
    """What the semver gate should read: pyproject.toml, a {file, pattern}, or None."""
    project = _table(doc, "project")
    dynamic = project.get("dynamic", [])
    if isinstance(project.get("version"), str):
        return "pyproject.toml"
    if not (isinstance(dynamic, list) and "version" in dynamic):
        return None
    hatch_path = _table(doc, "tool", "hatch", "version").get("path")
    files = [root / hatch_path] if isinstance(hatch_path, str) else []
    if package is not None:
        files += [package / "__init__.py", package / "__about__.py", package / "_version.py"]
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not file.resolve().is_relative_to(root.resolve()):
            continue
        for pattern in _VERSION_PATTERNS:
            if re.search(pattern, text):
                return {"file": _rel(root, file), "pattern": pattern}
    return None


def _has(root: Path, *names: str) -> bool:
    return any((root / n).is_file() for n in names)


def _has_tests_dir(root: Path) -> bool:
    tests = root / "tests"
    return tests.is_dir() and any(tests.glob("test_*.py"))


# a Python project without pyproject.toml (a flat app) still has one of these
_PYTHON_MARKERS = ("requirements.txt", "setup.py", "setup.cfg", "ruff.toml", ".ruff.toml")


def detect_python(root: Path) -> Project | None:
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        project = Project("Python (pyproject.toml)")
        doc = _read_toml(pyproject, project)
    elif _has(root, *_PYTHON_MARKERS):
        project, doc = Project("Python"), {}
    else:
        return None
    tool = _table(doc, "tool")
    package = _python_package(root, doc)
    target = _rel(root, package.parent if package.parent != root else package) if package else "."
    if "ruff" in tool or _has(root, "ruff.toml", ".ruff.toml"):
        project.gates.append(GateSpec(
            "lint", "ruff, configured in pyproject.toml / ruff.toml (--no-fix: a gate never\n"
            "rewrites your files, even with `fix = true` in the config)",
            (("run", "ruff check --no-fix ."),),
        ))  # fmt: skip
    if "format" in _table(tool, "ruff"):
        project.gates.append(GateSpec(
            "format", "ruff format, checked only (it never rewrites a file here)",
            (("run", "ruff format --check ."),),
        ))  # fmt: skip
    if "mypy" in tool or _has(root, "mypy.ini", ".mypy.ini"):
        files = _table(tool, "mypy").get("files")
        project.gates.append(GateSpec(
            "type-check", "mypy, configured in pyproject.toml / mypy.ini",
            (("run", "mypy" if files else f"mypy {target}"),),
        ))  # fmt: skip
    if "pytest" in tool or _has(root, "pytest.ini", "conftest.py") or _has_tests_dir(root):
        project.gates.append(_pytest_gate())
    _python_semver(root, doc, package, project)
    return project


def _pytest_gate() -> GateSpec:
    return GateSpec(
        "unit-tests",
        "pytest (the `python` on PATH: your project's venv) writes JUnit; the gate counts it.\n"
        "Raise min_passed to the size of your suite: then a suite that shrinks blocks too.",
        (
            ("kind", "tests"),
            ("run", f"python -m pytest -q --junitxml={JUNIT_DIR}/pytest.xml"),
            ("junit", f"{JUNIT_DIR}/*.xml"),
            ("min_passed", 1),
        ),
    )


def _python_semver(
    root: Path, doc: Mapping[str, Any], package: Path | None, project: Project
) -> None:
    version = _version_spec(root, doc, package)
    if package is None or version is None:
        why = "no package directory" if package is None else "no readable version"
        project.notes.append(f"no semver gate: {why} found (see `kind: semver` in the docs)")
        return
    project.gates.append(GateSpec(
        "semver",
        f"the public API of {_rel(root, package)} (compared with griffe) against the base\n"
        "ref: a removal needs a major bump, an addition a minor one",
        (("kind", "semver"), ("version", version), ("api", {"python": _rel(root, package)})),
    ))  # fmt: skip


_RAISE = "Raise min_passed to the size of your suite: then a suite that shrinks blocks too."


def _node_test_gate(script: str) -> GateSpec:
    junit = f"{JUNIT_DIR}/node.xml"
    if script.startswith("node --test"):
        rest = script[len("node --test") :]
        return GateSpec(
            "unit-tests",
            f"node's test runner (your `test` script), reporting JUnit too.\n{_RAISE}",
            (
                ("kind", "tests"),
                ("run", f"mkdir -p {JUNIT_DIR} && node --test --test-reporter=spec "
                        f"--test-reporter-destination=stdout --test-reporter=junit "
                        f"--test-reporter-destination={junit}{rest}"),
                ("junit", f"{JUNIT_DIR}/*.xml"),
                ("min_passed", 1),
            ),
        )  # fmt: skip
    if "vitest" in script:
        return GateSpec(
            "unit-tests",
            f"vitest, also reporting JUnit for the gate to count.\n{_RAISE}",
            (
                ("kind", "tests"),
                ("run", f"npx vitest run --reporter=default --reporter=junit "
                        f"--outputFile.junit={JUNIT_DIR}/vitest.xml"),
                ("junit", f"{JUNIT_DIR}/*.xml"),
                ("min_passed", 1),
            ),
        )  # fmt: skip
    if "jest" in script:
        return GateSpec(
            "unit-tests",
            f"jest; the gate counts the tests from jest's printed summary.\n{_RAISE}",
            (("kind", "tests"), ("run", "npx jest --ci"), ("count_from", "output"),
             ("min_passed", 1)),
        )  # fmt: skip
    return GateSpec(
        "unit-tests",
        "your `test` script; it passes when it exits 0. To block on a test count, make it\n"
        "write JUnit and use `kind: tests` with `junit:` and `min_passed:`.",
        (("run", "npm test"),),
    )


def _runner_known(script: str) -> bool:
    return script.startswith("node --test") or "vitest" in script or "jest" in script


# -- the API a package publishes -----------------------------------------------------------

_ENTRY_KEYS = ("types", "typings", "main", "module")
_BUILD_DIRS = ("dist", "lib", "build", "out", "esm", "cjs")
_SOURCE_EXTS = (".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs")
_BUILT_EXTS = (".d.ts", ".d.mts", ".d.cts", ".js", ".mjs", ".cjs")


def _strings(value: object) -> list[str]:
    """Every string in a package.json "exports" value (nested conditions included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def entry_files(package: Mapping[str, Any]) -> list[str]:
    """The files package.json says the package exports, in order, without ./ or globs."""
    found = [v for k in _ENTRY_KEYS if isinstance(v := package.get(k), str)]
    found += _strings(package.get("exports"))
    clean = (f.removeprefix("./") for f in found)
    return list(dict.fromkeys(f for f in clean if f and "*" not in f and not f.startswith("..")))


def _tracked_source(entry: str, tracked: set[str]) -> str | None:
    """``entry`` when git tracks it, else its tracked source (dist/index.d.ts -> src/index.ts)."""
    if entry in tracked:
        return entry
    stem = next((entry[: -len(e)] for e in _BUILT_EXTS if entry.endswith(e)), entry)
    top, _, rest = stem.partition("/")
    bases = [f"src/{rest}"] if top in _BUILD_DIRS and rest else []
    for base in [*bases, stem]:
        for ext in _SOURCE_EXTS:
            if base + ext in tracked:
                return base + ext
    return None


def tracked_files(root: Path) -> set[str] | None:
    """Paths git tracks under ``root`` (relative to it); None outside a git work tree."""
    from mergegate.errors import GitError
    from mergegate.git import git_bytes

    try:
        out = git_bytes(root, "ls-files", "-z")
    except GitError:
        return None
    return {p for p in out.decode("utf-8", "replace").split("\0") if p}


def _node_api_paths(root: Path, package: Mapping[str, Any], project: Project) -> list[str]:
    tracked = tracked_files(root)
    if tracked is None:  # no git here: what exists is all there is to go by
        tracked = {_rel(root, p) for p in root.rglob("*") if p.is_file()}
    entries = entry_files(package)
    paths = [src for e in entries if (src := _tracked_source(e, tracked)) is not None]
    if entries and not paths:
        project.notes.append(
            f"semver: package.json names {', '.join(entries)}, but git tracks none of them nor "
            "their sources; the semver gate compares tracked files only, so list your "
            "sources under api.paths yourself"
        )
    if any(p.startswith("types/") and p.endswith(".d.ts") for p in tracked):
        paths.append("types/**/*.d.ts")
    paths.extend(n for n in ("openapi.yaml", "openapi.yml", "openapi.json") if n in tracked)
    return list(dict.fromkeys(paths))


# -- package.json ------------------------------------------------------------------------


def _scripts(package: Mapping[str, Any]) -> dict[str, str]:
    raw = package.get("scripts")
    scripts = raw if isinstance(raw, dict) else {}
    return {k: v.strip() for k, v in scripts.items() if isinstance(v, str)}


def _workspace_dirs(root: Path, package: Mapping[str, Any]) -> list[Path]:
    raw = package.get("workspaces")
    globs = raw.get("packages") if isinstance(raw, Mapping) else raw
    if not isinstance(globs, list):
        return []
    dirs = {d for g in globs if isinstance(g, str) for d in root.glob(g.removeprefix("./"))}
    return sorted(d for d in dirs if (d / "package.json").is_file() and not d.is_symlink())


def _workspace_test_gates(
    root: Path, package: Mapping[str, Any], project: Project, build: GateSpec | None
) -> None:
    """One tests gate per workspace whose `test` script runs a runner mergegate can count."""
    for directory in _workspace_dirs(root, package):
        test = _scripts(_read_json(directory / "package.json", project)).get("test", "")
        if not _runner_known(test):
            continue
        rel = _rel(root, directory)
        needs = (("needs", [build.name]),) if build else ()  # siblings import what they build
        project.gates.append(GateSpec(
            f"test-{directory.name}",
            f"the `test` script of the {rel} workspace; the gate counts its tests from the\n"
            f"runner's printed summary. {_RAISE}",
            (("kind", "tests"), ("run", f"npm test -w {rel}"), ("count_from", "output"),
             ("min_passed", 1), *needs),
        ))  # fmt: skip


_FIXING = (
    (re.compile(r"\s--fix(?:-dry-run)?(?:=\S*)?(?=\s|$)"), ""),  # eslint, stylelint, biome
    (re.compile(r"\bprettier (.*?)(?:--write|-w)\b"), r"prettier \1--check"),
    (re.compile(r"\bbiome (check|lint) (.*?)--(?:write|apply(?:-unsafe)?)\b"), r"biome \1 \2"),
)


def check_only(script: str) -> str:
    """``script`` with every option that rewrites files taken out (or made a check)."""
    for pattern, replacement in _FIXING:
        script = pattern.sub(replacement, script)
    return re.sub(r"\s+", " ", script).strip()


def _lint_gate(script: str) -> GateSpec:
    checked = check_only(script)
    if checked == re.sub(r"\s+", " ", script).strip():
        return GateSpec("lint", "your `lint` script", (("run", "npm run lint"),))
    return GateSpec(
        "lint",
        "your `lint` script without the options that rewrite files (a gate only checks;\n"
        "the tree must be the same after it); npm exec puts node_modules/.bin on PATH",
        (("run", f"npm exec -c {shlex.quote(checked)}"),),
    )


def _build_gate(scripts: Mapping[str, str]) -> GateSpec | None:
    if not scripts.get("build"):
        return None
    return GateSpec(
        "build",
        "your `build` script: what the smoke scripts (and workspaces) run against is built first",
        (("run", "npm run build"),),
    )


def detect_node(root: Path) -> Project | None:
    manifest = root / "package.json"
    if not manifest.is_file():
        return None
    project = Project("Node (package.json)")
    package = _read_json(manifest, project)
    scripts = _scripts(package)
    build = _build_gate(scripts)
    if build is not None:
        project.gates.append(build)
    if scripts.get("lint"):
        project.gates.append(_lint_gate(scripts["lint"]))
    if (root / "tsconfig.json").is_file():
        project.gates.append(GateSpec(
            "type-check", "TypeScript, type-checked without emitting (tsconfig.json)",
            (("run", "npx tsc --noEmit"),),
        ))  # fmt: skip
    test = scripts.get("test", "")
    if test and _NPM_NO_TEST not in test and (_runner_known(test) or "workspaces" not in package):
        project.gates.append(_node_test_gate(test))
    elif "workspaces" in package:
        _workspace_test_gates(root, package, project, build)
    _node_semver(root, package, project)
    return project


def _node_semver(root: Path, package: Mapping[str, Any], project: Project) -> None:
    api = _node_api_paths(root, package, project)
    if isinstance(package.get("version"), str) and api:
        project.gates.append(GateSpec(
            "semver",
            "any change to the package's exported entry files (as git tracks them) needs at\n"
            "least a minor version bump",
            (("kind", "semver"), ("version", "package.json"), ("api", {"paths": api})),
        ))  # fmt: skip
    elif not api:
        project.notes.append(
            'no semver gate: no tracked API file to watch (package.json "types"/"exports"/'
            '"main", types/, openapi.yaml)'
        )
    else:
        project.notes.append("no semver gate: package.json has no version")


def smoke_gate(root: Path, build: str | None) -> GateSpec | None:
    scripts = root / "scripts"
    if not scripts.is_dir() or not any(p.is_file() for p in scripts.glob("smoke-*")):
        return None
    needs = (("needs", [build]),) if build else ()
    return GateSpec(
        "smoke",
        "every scripts/smoke-* runs (.js/.mjs with node, .py with the `python` on PATH, .sh\n"
        "with bash) and must exit 0" + (f", after {build}" if build else ""),
        (("kind", "smoke"), ("scripts", "scripts/smoke-*"), *needs),
    )


def _secrets_gate() -> GateSpec:
    return GateSpec(
        "no-secrets",
        "well-known credential formats in tracked files; findings name file:line, never the secret",
        (("kind", "forbid"), ("builtin", ["secrets"])),
    )


def _placeholder_gate() -> GateSpec:
    return GateSpec(
        "replace-me",
        "Nothing to check was detected here (no lint, type or test setup), so this\n"
        "placeholder blocks until you replace it with real checks (`run: make test`).",
        (("run", "echo 'edit gates.yaml: replace this gate with your checks' >&2; exit 1"),),
    )


# -- assembling ---------------------------------------------------------------------


def _prefixed(projects: list[Project]) -> list[GateSpec]:
    """Gate names from two languages get a py-/js- prefix so they cannot collide."""
    if len(projects) < 2:
        return [g for p in projects for g in p.gates]
    prefixes = {"Python": "py-", "Node": "js-"}
    out: list[GateSpec] = []
    for project in projects:
        prefix = next(v for k, v in prefixes.items() if project.label.startswith(k))
        for g in project.gates:
            keys = tuple(
                (k, [prefix + n for n in v]) if k == "needs" and isinstance(v, list) else (k, v)
                for k, v in g.keys
            )
            out.append(GateSpec(prefix + g.name, g.comment, keys))
    return out


def plan_gates(root: Path) -> tuple[list[Project], list[GateSpec]]:
    projects = [p for p in (detect_python(root), detect_node(root)) if p is not None]
    gates = _prefixed(projects)
    build = next((g.name for g in gates if g.name.endswith("build")), None)
    smoke = smoke_gate(root, build)
    if smoke is not None:
        gates.append(smoke)
    if not gates:
        gates.append(_placeholder_gate())
    gates.append(_secrets_gate())
    return projects, gates


def _header(projects: Iterable[Project]) -> list[str]:
    found = [p.label for p in projects] or ["no Python or Node project"]
    lines = [
        "# gates.yaml: what a change must pass before it merges. Written by `mergegate init`",
        f"# for what it found here: {', '.join(found)}.",
        "#",
        "# See the plan without running anything: mergegate run --dry-run",
        "# Run the gates:                          mergegate run",
        "# Keys every gate accepts: description, needs, timeout, env, cwd, blocking, if_changed.",
        "# Editor completion: `mergegate schema -o gates.schema.json`, then make the first line",
        "# of this file: # yaml-language-server: $schema=gates.schema.json",
    ]
    notes = [n for p in projects for n in p.notes]
    if notes:
        lines.append("#")
        lines.extend(f"# Note: {n}" for n in notes)
    return lines


_FOOTER = """\
  # More kinds, when you need them:
  # witness:                       # dist/ must match the newest signed manifest entry
  #   kind: witness                # record one with: mergegate witness sign -m "merge: #123"
  #   paths: ["dist/**"]
  #   require_new_entry: true
"""


def render(root: Path) -> tuple[str, list[GateSpec]]:
    projects, gates = plan_gates(root)
    body = [
        *_header(projects),
        "version: 1",
        "# base: origin/main  # default: origin/$GITHUB_BASE_REF in a pull request, else the",
        "#                    # merge-base with origin/main or main",
        "defaults:",
        "  timeout: 15m",
        "gates:",
    ]
    text = "\n".join(body) + "\n" + "\n".join(gate_text(g) for g in gates) + "\n" + _FOOTER
    return text, gates


def main(args: argparse.Namespace) -> int:
    target = Path(args.config)
    if target.exists() or target.is_symlink():
        sys.stderr.write(
            f"mergegate: {target} already exists; init never overwrites it. Edit it, move it "
            "away, or write a new one elsewhere with `mergegate init -c PATH`.\n"
        )
        return EXIT_USAGE
    root = target.parent if str(target.parent) else Path(".")
    if not root.is_dir():
        sys.stderr.write(f"mergegate: directory {root} does not exist\n")
        return EXIT_USAGE
    text, gates = render(root)
    from mergegate.config import parse_config

    parse_config(text, str(target))  # a starter that does not load would be a bug: exit 3
    try:
        with open(target, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        sys.stderr.write(f"mergegate: {target} appeared meanwhile; not overwriting it\n")
        return EXIT_USAGE
    names = ", ".join(g.name for g in gates)
    print(f"wrote {target} with {len(gates)} gate(s): {names}")
    print("next: read it, then `mergegate run --dry-run` to see the plan")
    return EXIT_OK
