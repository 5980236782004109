"""The pre-commit / prek hook manifest, validated by pre-commit's own loader."""

from __future__ import annotations

from pathlib import Path

import pytest
from pre_commit.clientlib import (  # type: ignore[import-untyped]  # pre-commit ships no types
    InvalidManifestError,
    load_manifest,
)

from mergegate.cli import build_parser

MANIFEST = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"


def test_manifest_is_valid_for_pre_commit() -> None:
    (hook,) = load_manifest(str(MANIFEST))
    assert hook["id"] == "mergegate"
    assert hook["entry"] == "mergegate run"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the gates decide what to look at, not the hook
    assert hook["always_run"] is True  # even when no staged file matches
    assert hook["stages"] == ["pre-push"]


def test_entry_is_a_command_mergegate_accepts() -> None:
    (hook,) = load_manifest(str(MANIFEST))
    program, *argv = hook["entry"].split()
    assert program == "mergegate"
    args = build_parser().parse_args(argv)
    assert args.command == "run"


def test_the_loader_really_validates(tmp_path: Path) -> None:
    broken = tmp_path / "hooks.yaml"
    broken.write_text(MANIFEST.read_text().replace("always_run: true", "always_run: sometimes"))
    with pytest.raises(InvalidManifestError):
        load_manifest(str(broken))
