"""record.py: a record behaves as the dataclass it replaces, without generating code."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mergegate.record import record
from tests.helpers import write_config


def _pair(frozen: bool) -> tuple[type[Any], type[Any]]:
    """The same class written twice: once as a dataclass, once as a record."""

    def body() -> dict[str, Any]:
        return {
            "__annotations__": {
                "kind": "ClassVar[str]",
                "name": "str",
                "count": "int",
                "tags": "tuple[str, ...]",
                "extra": "dict[str, int]",
                "note": "str",
                "hidden": "int",
            },
            "kind": "k",
            "count": 0,
            "tags": (),
            "extra": field(default_factory=dict, compare=False, repr=False),
            "note": field(default="", repr=False),
            "hidden": field(default=7, init=False),
            "__module__": __name__,
        }

    made: type[Any] = dataclasses.dataclass(frozen=frozen)(type("Thing", (), body()))
    rec = record(frozen=frozen)(type("Thing", (), body()))
    return made, rec


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("a",), {}),
    (("a", 2), {}),
    (("a", 2, ("x", "y")), {"note": "n"}),
    ((), {"name": "b", "extra": {"q": 1}}),
    (("a",), {"count": 3, "tags": ("t",)}),
]
BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),  # a required field missing
    (("a", 1, (), {}, "n", "too many"), {}),
    (("a",), {"name": "twice"}),
    (("a",), {"nope": 1}),
    (("a",), {"hidden": 1}),  # init=False: not an argument
]


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_a_record_builds_compares_and_shows_like_a_dataclass(
    frozen: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    made, rec = _pair(frozen)
    a, b = made(*args, **kwargs), rec(*args, **kwargs)
    assert repr(a) == repr(b)
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert [f.name for f in dataclasses.fields(a)] == [f.name for f in dataclasses.fields(b)]
    assert b == rec(*args, **kwargs)
    assert b != rec("other")
    assert b != a  # another class, even with the same fields: dataclass's rule
    assert (b == rec(*args, **{**kwargs, "extra": {"z": 9}})) == (
        a == made(*args, **{**kwargs, "extra": {"z": 9}})
    )  # compare=False fields do not count
    assert b.hidden == a.hidden == 7
    assert rec.__match_args__ == made.__match_args__
    assert dataclasses.is_dataclass(b)


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize(("args", "kwargs"), BAD_CALLS)
def test_a_record_refuses_the_calls_a_dataclass_refuses(
    frozen: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    made, rec = _pair(frozen)
    with pytest.raises(TypeError):
        made(*args, **kwargs)
    with pytest.raises(TypeError):
        rec(*args, **kwargs)


def test_a_frozen_record_hashes_like_a_dataclass_and_refuses_writes() -> None:
    made, rec = _pair(True)
    a, b = made("a", 2, ("t",)), rec("a", 2, ("t",))
    assert hash(b) == hash(a)  # the same tuple of compared fields
    assert len({b, rec("a", 2, ("t",)), rec("c")}) == 2
    with pytest.raises(FrozenInstanceError):
        b.name = "x"
    with pytest.raises(FrozenInstanceError):
        del b.name
    assert dataclasses.replace(b, count=5) == rec("a", 5, ("t",))
    assert b.count == 2


def test_a_mutable_record_is_unhashable_and_assignable_like_a_dataclass() -> None:
    made, rec = _pair(False)
    assert vars(made)["__hash__"] is None
    assert vars(rec)["__hash__"] is None
    b = rec("a")
    b.count = 4
    assert b == rec("a", 4)


def test_default_factories_give_each_instance_its_own_value() -> None:
    _, rec = _pair(False)
    one, two = rec("a"), rec("b")
    one.extra["k"] = 1
    assert two.extra == {}


def test_records_copy_and_pickle() -> None:
    b = Frozen("a", (1, 2))
    assert copy.copy(b) == b == copy.deepcopy(b)
    assert pickle.loads(pickle.dumps(b)) == b  # noqa: S301 - our own bytes


@record(frozen=True)
class Frozen:
    name: str
    items: tuple[int, ...] = ()


@record(frozen=True)
class Child(Frozen):
    extra: int = 0
    label: ClassVar[str] = "child"


@record
class Counted:
    start: int
    seen: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen.append(self.start)


@record(frozen=True)
class Written:
    value: int

    def __repr__(self) -> str:
        return "mine"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Written)

    def __hash__(self) -> int:
        return 1


def test_a_dataclass_subclass_of_a_frozen_record_is_frozen_as_a_kind_spec_is() -> None:
    @dataclasses.dataclass(frozen=True)
    class Spec(Frozen):  # how a kind module outside mergegate writes its spec
        level: int = 1

    spec = Spec("s", (), 2)
    assert repr(spec).endswith(".<locals>.Spec(name='s', items=(), level=2)")
    with pytest.raises(FrozenInstanceError):
        spec.level = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        dataclasses.dataclass(type("Loose", (Frozen,), {"__annotations__": {"x": "int"}}))
    with pytest.raises(TypeError):
        record(type("Loose", (Frozen,), {"__annotations__": {"x": "int"}}))
    with pytest.raises(TypeError):
        record(frozen=True)(type("Tight", (Counted,), {}))


def test_inheritance_post_init_and_own_methods() -> None:
    child = Child("c", (1,), 3)
    assert [f.name for f in dataclasses.fields(child)] == ["name", "items", "extra"]
    assert repr(child) == "Child(name='c', items=(1,), extra=3)"
    assert child != Frozen("c", (1,))  # another class
    assert Counted(4).seen == [4]
    assert repr(Written(1)) == "mine"
    assert Written(1) == Written(2)
    assert hash(Written(3)) == 1


def test_a_record_that_holds_itself_repr_as_a_dataclass_does() -> None:
    box = Counted(1)
    box.seen.append(box)  # type: ignore[arg-type]
    assert repr(box) == "Counted(start=1, seen=[1, ...])"


def test_a_record_is_defined_without_compiling_code() -> None:
    calls = []
    real = compile

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    import builtins

    builtins.compile = counting
    try:
        probe = record(frozen=True)(type("Probe", (), {"__annotations__": {"a": "int"}}))
    finally:
        builtins.compile = real
    assert calls == []
    assert probe.__doc__ == "Probe(a)"  # undocumented: named as dataclass would, unparsed


WARM_CONFIG = """
version: 1
gates:
  a: {run: "true"}
  b: {kind: tests, run: "echo '1 passed in 0.01s'", count_from: output}
  c: {kind: smoke, scripts: ["none/*.sh"], allow_empty: true}
  d: {kind: forbid, patterns: {never: "NEVER-SEEN-0"}, paths: ["*.txt"]}
"""
# after a run: every mergegate class that @dataclass made (and so compiled methods for)
_WRAPPER = """
import atexit, dataclasses, runpy, sys
def report():
    made = sorted(
        f"{name}.{value.__qualname__}"
        for name, module in list(sys.modules.items()) if name.startswith("mergegate")
        for value in list(vars(module).values())
        if isinstance(value, type) and value.__module__ == name
        and dataclasses.is_dataclass(value) and "__record_shape__" not in vars(value)
    )
    sys.stderr.write("GENERATED=" + ",".join(made) + "\\n")
atexit.register(report)
sys.argv = ["mergegate", *sys.argv[1:]]
runpy.run_module("mergegate", run_name="__main__", alter_sys=True)
"""


def test_a_warm_run_defines_no_class_with_generated_methods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("MERGEGATE_CACHE_DIR", str(tmp_path / "results"))
    project = tmp_path / "p"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    write_config(project, WARM_CONFIG)
    (project / "notes.txt").write_text("nothing forbidden here\n")
    wrapper = tmp_path / "wrap.py"
    wrapper.write_text(_WRAPPER)
    runs = [
        subprocess.run(
            [sys.executable, str(wrapper), "run"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    assert "GENERATED=\n" in runs[1].stderr  # warm: the plan came from its cache
