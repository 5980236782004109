"""Versions read from files at a ref and in the tree, and the bump between two of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mergegate.errors import GitError
from mergegate.semver.kinds import Level, judge
from mergegate.semver.versions import (
    VersionError,
    VersionSource,
    bump_between,
    extract,
    parse,
    read_at_ref,
    read_in_tree,
    scheme_for,
)
from tests.helpers import commit_all, git, init_repo, write_files


def _extract(name: str, text: str, pattern: str | None = None) -> str:
    return extract(VersionSource(name, pattern), text.encode(), "test")


# -- reading ------------------------------------------------------------------------


def test_pyproject_static_version() -> None:
    assert _extract("pyproject.toml", '[project]\nname = "x"\nversion = "1.4.0rc2"\n') == "1.4.0rc2"


def test_pyproject_poetry_fallback_without_project_table() -> None:
    assert _extract("pyproject.toml", '[tool.poetry]\nversion = "0.3.1"\n') == "0.3.1"


def test_pyproject_dynamic_version_is_an_error_with_advice() -> None:
    text = '[project]\nname = "x"\ndynamic = ["version"]\n'
    with pytest.raises(VersionError) as info:
        _extract("pyproject.toml", text)
    message = str(info.value)
    assert "dynamic" in message
    assert "static [project].version" in message
    assert "{file:" in message  # the alternative to configure


def test_pyproject_dynamic_from_hatch_path_names_that_file() -> None:
    text = (
        '[project]\nname = "x"\ndynamic = ["version"]\n'
        '[tool.hatch.version]\npath = "src/x/__about__.py"\n'
    )
    with pytest.raises(VersionError, match=r"src/x/__about__\.py"):
        _extract("pyproject.toml", text)


def test_pyproject_vcs_version_says_tags_cannot_carry_the_bump() -> None:
    text = '[project]\nname = "x"\ndynamic = ["version"]\n[tool.hatch.version]\nsource = "vcs"\n'
    with pytest.raises(VersionError, match="git tags"):
        _extract("pyproject.toml", text)


def test_pyproject_without_version_and_invalid_toml() -> None:
    with pytest.raises(VersionError, match="no static"):
        _extract("pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(VersionError, match="invalid TOML"):
        _extract("pyproject.toml", "[project\n")


def test_package_json() -> None:
    assert _extract("package.json", json.dumps({"name": "x", "version": "2.0.0-beta.3"})) == (
        "2.0.0-beta.3"
    )
    with pytest.raises(VersionError, match='no "version"'):
        _extract("package.json", "{}")
    with pytest.raises(VersionError, match="invalid JSON"):
        _extract("package.json", "{")
    with pytest.raises(VersionError, match='no "version"'):
        _extract("package.json", "[1, 2]")


def test_cargo_package_and_workspace_root() -> None:
    assert _extract("Cargo.toml", '[package]\nname = "x"\nversion = "0.7.1"\n') == "0.7.1"
    root = '[workspace]\nmembers = ["a"]\n[workspace.package]\nversion = "3.1.0"\n'
    assert _extract("Cargo.toml", root) == "3.1.0"


def test_cargo_workspace_inherited_version_is_an_error_with_advice() -> None:
    text = '[package]\nname = "x"\nversion.workspace = true\n'
    with pytest.raises(VersionError) as info:
        _extract("crates/x/Cargo.toml", text)
    assert "inherited from the workspace" in str(info.value)
    assert "workspace root" in str(info.value)


def test_pattern_source() -> None:
    text = 'x = 1\n__version__ = "1.2.3"\n'
    assert _extract("src/p/__init__.py", text, r'^__version__ = "([^"]+)"') == "1.2.3"
    with pytest.raises(VersionError, match="does not match"):
        _extract("src/p/__init__.py", "nothing here\n", r'__version__ = "([^"]+)"')


def test_not_utf8_and_too_large_are_errors() -> None:
    source = VersionSource("package.json")
    with pytest.raises(VersionError, match="not UTF-8"):
        extract(source, b'{"version": "\xff"}', "test")
    with pytest.raises(VersionError, match="larger than"):
        extract(source, b" " * (4 * 1024 * 1024 + 1), "test")


def test_read_at_ref_and_in_tree(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"package.json": '{"version": "1.0.0"}'})
    base = git(repo, "rev-parse", "HEAD")
    write_files(repo, {"package.json": '{"version": "1.1.0"}'})
    source = VersionSource("package.json")
    assert read_at_ref(repo, base, source, "base") == "1.0.0"
    assert read_in_tree(repo, source) == "1.1.0"
    with pytest.raises(VersionError, match="does not exist at base"):
        read_at_ref(repo, base, VersionSource("sub/package.json"), "base")
    with pytest.raises(GitError, match="fetch-depth"):
        read_at_ref(repo, "origin/nowhere", source, "base")
    with pytest.raises(VersionError, match="not found in the working tree"):
        read_in_tree(repo, VersionSource("sub/package.json"))


def test_read_in_tree_refuses_a_symlink_out_of_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text('{"version": "9.9.9"}')
    repo = init_repo(tmp_path / "r")
    (repo / "package.json").symlink_to(outside)
    commit_all(repo, "link")
    with pytest.raises(VersionError, match="outside the project"):
        read_in_tree(repo, VersionSource("package.json"))


# -- comparing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "head", "level"),
    [
        ("1.2.0", "1.2.1", Level.PATCH),
        ("1.2.0", "1.3.0", Level.MINOR),
        ("1.2.0", "2.0.0", Level.MAJOR),
        ("1.2.0", "1.2.0", Level.NONE),
        ("1.2", "1.2.0", Level.NONE),
        ("1.2.0", "1.2.0.post1", Level.NONE),
        ("1.2.0", "1.3.0rc1", Level.MINOR),
        ("2.0.0rc1", "2.0.0rc2", Level.MAJOR),  # within the series of a major
        ("2.0.0rc1", "2.0.0", Level.MAJOR),
        ("1.3.0b1", "1.3.0", Level.MINOR),
        ("1.3.1.dev2", "1.3.1", Level.PATCH),
        ("1.2.3.4", "1.2.3.5", Level.PATCH),
        ("1!1.0", "2!0.1", Level.MAJOR),
    ],
)
def test_pep440_bumps(base: str, head: str, level: Level) -> None:
    bump = bump_between(parse(base, "pep440", "b"), parse(head, "pep440", "h"))
    assert not bump.lowered
    assert bump.level is level


@pytest.mark.parametrize(
    ("base", "head", "level"),
    [
        ("1.2.0", "1.2.1", Level.PATCH),
        ("1.2.0", "1.3.0", Level.MINOR),
        ("1.2.0", "2.0.0", Level.MAJOR),
        ("1.2.0+build.1", "1.2.0+build.2", Level.NONE),
        ("2.0.0-rc.1", "2.0.0-rc.2", Level.MAJOR),
        ("1.3.0-alpha", "1.3.0", Level.MINOR),
        ("0.3.0", "0.4.0", Level.MINOR),
    ],
)
def test_semver_bumps(base: str, head: str, level: Level) -> None:
    bump = bump_between(parse(base, "semver", "b"), parse(head, "semver", "h"))
    assert not bump.lowered
    assert bump.level is level


@pytest.mark.parametrize(
    ("base", "head", "scheme"),
    [
        ("1.3.0", "1.2.9", "semver"),
        ("1.2.0", "1.2.0-rc.1", "semver"),  # a pre-release sorts before its release
        ("2.0.0", "1.99.0", "pep440"),
        ("1.0.0", "1.0.0rc1", "pep440"),
        ("1.0.0.post2", "1.0.0.post1", "pep440"),
    ],
)
def test_lowered_versions(base: str, head: str, scheme: str) -> None:
    bump = bump_between(parse(base, scheme, "b"), parse(head, scheme, "h"))  # type: ignore[arg-type]
    assert bump.lowered
    assert "lowered" in bump.describe()


def test_invalid_versions_are_errors() -> None:
    with pytest.raises(VersionError, match="not SemVer"):
        parse("1.2", "semver", "package.json at base")
    with pytest.raises(VersionError, match="not a PEP 440"):
        parse("one.two", "pep440", "pyproject.toml at base")


def test_scheme_by_source() -> None:
    assert scheme_for(VersionSource("pyproject.toml"), "1.0.0", "1.1.0") == "pep440"
    assert scheme_for(VersionSource("a/package.json"), "1.0", "1.1") == "semver"
    assert scheme_for(VersionSource("Cargo.toml"), "1.0.0", "1.1.0") == "semver"
    pattern = VersionSource("v.txt", "(.*)")
    assert scheme_for(pattern, "1.0.0-rc.1", "1.0.0") == "semver"
    assert scheme_for(pattern, "1.0", "1.1.dev0") == "pep440"


def test_below_one() -> None:
    assert parse("0.9.3", "semver", "x").below_one
    assert not parse("1.0.0-rc.1", "semver", "x").below_one
    assert not parse("1!0.1", "pep440", "x").below_one


# -- levels -------------------------------------------------------------------------


def test_judge_defaults_policy_and_zero_shift() -> None:
    kw = {"policy": {}, "paths_level": Level.MINOR, "below_one": False}
    assert judge("object-removed", **kw).level is Level.MAJOR  # type: ignore[arg-type]
    assert judge("added", **kw).level is Level.MINOR  # type: ignore[arg-type]
    assert judge("file-changed", **kw).level is Level.MINOR  # type: ignore[arg-type]
    policy = {"parameter-default-changed": "minor", "added": "ignore"}
    assert judge("parameter-default-changed", policy=policy, paths_level=Level.MINOR,
                 below_one=False).level is Level.MINOR  # fmt: skip
    assert judge("added", policy=policy, paths_level=Level.MINOR, below_one=False).level is (
        Level.NONE
    )
    zero = {"policy": {}, "paths_level": Level.PATCH, "below_one": True}
    assert judge("object-removed", **zero).level is Level.MINOR  # type: ignore[arg-type]
    assert judge("added", **zero).level is Level.PATCH  # type: ignore[arg-type]
    assert judge("file-changed", **zero).level is Level.PATCH  # type: ignore[arg-type]
