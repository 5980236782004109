"""semver/transforms.py: dataclass_transform classes keep the constructor they have at run
time, through the real gate on real git repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mergegate.proc import ProcessManager
from mergegate.results import Status
from tests.test_gate_semver import PY_FILES, change, make_repo, run_gate


@pytest.fixture
def procs() -> Iterator[ProcessManager]:
    manager = ProcessManager()
    yield manager
    manager.close()


# a decorator made dataclass-like by PEP 681, as pydantic's dataclasses or an in-house one
RECORDS = """\
import dataclasses
from typing import dataclass_transform


@dataclass_transform()
def record(cls=None, /, *, frozen=False):
    def make(c):
        return dataclasses.dataclass(frozen=frozen)(c)

    return make if cls is None else make(cls)


@dataclass_transform()
class Model:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(cls)
"""
POINT = """\
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple = field(default_factory=tuple)


class User(Model):
    name: str
    admin: bool = False
"""
TRANSFORM_FILES = {
    **PY_FILES,
    "src/mypkg/records.py": RECORDS,
    "src/mypkg/point.py": "from mypkg.records import Model\n" + POINT,
}


def test_a_dataclass_moved_to_a_dataclass_transform_decorator_keeps_its_constructor(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, TRANSFORM_FILES)
    moved = POINT.replace(
        "from dataclasses import dataclass, field", "from dataclasses import field"
    )
    moved = moved.replace("@dataclass(frozen=True)", "@record(frozen=True)")
    header = "from mypkg.records import Model, record\n"
    change(repo, {"src/mypkg/point.py": header + moved})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason  # same __init__(x, y=0, tags=())
    assert outcome.details["changes"] == []
    z_field = "    z: int = field(kw_only=True)\n"  # required, and valid after a default
    required = moved.replace("    y: int = 0\n", "    y: int = 0\n" + z_field)
    change(repo, {"src/mypkg/point.py": header + required})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "added required parameter z to mypkg.point.Point.__init__" in outcome.reason


def test_a_field_added_to_a_transforming_base_class_subclass_is_seen(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, TRANSFORM_FILES)
    point = TRANSFORM_FILES["src/mypkg/point.py"]
    change(
        repo,
        {"src/mypkg/point.py": point.replace("    name: str\n", "    name: str\n    email: str\n")},
    )
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.FAILED
    assert "added required parameter email to mypkg.point.User.__init__" in outcome.reason
    kinds = {c["kind"] for c in outcome.details["changes"]}
    assert {"parameter-added-required", "parameter-moved"} <= kinds  # admin's place moved too
