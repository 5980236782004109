"""The collector is relaxed while griffe loads, and the caller's setting always comes back."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from mergegate.proc import ProcessManager
from mergegate.results import Status
from mergegate.semver.heap import LOAD_THRESHOLD, relaxed_gc
from tests.test_gate_semver import CLIENT, PY_FILES, change, make_repo, procs, pyproject, run_gate

__all__ = ["procs"]  # the fixture, imported for pytest

CALLER = (700, 11, 12)  # distinct older thresholds, to see they are kept


@pytest.fixture(autouse=True)
def caller_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*CALLER)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_raises_only_the_first_threshold_and_restores_it() -> None:
    with relaxed_gc():
        assert gc.get_threshold() == (LOAD_THRESHOLD, 11, 12)
    assert gc.get_threshold() == CALLER


def test_restores_after_an_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"), relaxed_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == CALLER


def test_overlapping_holders_restore_once_the_last_leaves() -> None:
    first, second = relaxed_gc(), relaxed_gc()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # not in nesting order: gates end in any order
    assert gc.get_threshold()[0] == LOAD_THRESHOLD
    second.__exit__(None, None, None)
    assert gc.get_threshold() == CALLER


@pytest.mark.parametrize("first", [0, LOAD_THRESHOLD * 5])
def test_a_collector_off_or_already_relaxed_is_left_alone(first: int) -> None:
    gc.set_threshold(first, 11, 12)
    with relaxed_gc():
        assert gc.get_threshold() == (first, 11, 12)
    assert gc.get_threshold() == (first, 11, 12)


def test_a_gate_run_gives_the_setting_back_whether_it_passes_or_errs(
    tmp_path: Path, procs: ProcessManager
) -> None:
    repo = make_repo(tmp_path, PY_FILES)
    client = CLIENT + "\n    def reset(self):\n        return None\n"
    change(repo, {"src/mypkg/client.py": client, "pyproject.toml": pyproject("1.3.0")})
    passed = run_gate(repo, procs)
    assert passed.status is Status.PASSED, passed.reason
    assert passed.details["griffe"] is True
    assert gc.get_threshold() == CALLER
    change(repo, {"src/mypkg/client.py": "class Client(:\n"})
    broken = run_gate(repo, procs)
    assert broken.status is Status.ERROR
    assert "does not parse" in broken.reason
    assert gc.get_threshold() == CALLER


DATACLASS_MODULE = """\
from dataclasses import dataclass


@dataclass
class Options:
    retries: int = 3
"""


def loaded_from(root: Path) -> int:
    """griffe objects still alive whose source file lies below root."""
    import griffe

    files = []
    for obj in gc.get_objects():
        if isinstance(obj, griffe.Object):  # aliases are no Object: only what was loaded
            with contextlib.suppress(Exception):  # another test's object without a file
                files.append(obj.filepath)
    return sum(1 for f in files if isinstance(f, Path) and f.is_relative_to(root))


def test_the_loaded_trees_are_freed_after_the_gate(tmp_path: Path, procs: ProcessManager) -> None:
    # griffe's dataclasses extension caches every dataclass it sees, for the process's life
    repo = make_repo(tmp_path, {**PY_FILES, "src/mypkg/options.py": DATACLASS_MODULE})
    options = DATACLASS_MODULE + "    verbose: bool = False\n"
    change(repo, {"src/mypkg/options.py": options, "pyproject.toml": pyproject("1.3.0")})
    outcome = run_gate(repo, procs)
    assert outcome.status is Status.PASSED, outcome.reason
    assert "mypkg.options.Options.__init__(verbose)" in {
        c["subject"] for c in outcome.details["changes"]
    }
    gc.collect()
    assert loaded_from(repo) == 0
