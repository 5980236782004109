"""The cache prunes itself: a run that stores a pass removes entries unused for 30 days and,
beyond the cap, the least recently used; a hit marks its entry used. Real runs of the CLI
on real git repositories; ages are set with os.utime, never waited for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mergegate import cache as cache_mod
from tests.helpers import GIT_IDENTITY, commit_all, init_repo, load_json, run_cli, write_config

DAY = 24 * 3600.0
GATES = "version: 1\ngates:\n  check:\n    run: grep -q ok src/a.txt\n"


def _repo(path: Path, content: str = "ok\n") -> Path:
    root = init_repo(path, {"src/a.txt": content})
    write_config(root, GATES)
    commit_all(root, "gates")
    return root


def _aged(path: Path, days: float) -> Path:
    """Give ``path`` (not a symlink's target) an mtime ``days`` in the past."""
    when = time.time() - days * DAY
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def _file(path: Path, days: float, text: str = "{}") -> Path:
    path.write_text(text)
    return _aged(path, days)


def _name(char: str) -> str:
    return char * 64 + ".json"


def _run(root: Path, cache: Path) -> str:
    """One run with the cache at ``cache``; returns whether its gate was cached."""
    proc = run_cli(["run"], root, {"MERGEGATE_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = load_json(root / "reports" / "gates.json")
    return "cached" if "cached" in report["gates"][0]["details"] else "ran"


def _entries(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir() if cache_mod.ENTRY_NAME.match(p.name)}


@pytest.mark.slow
def test_a_storing_run_removes_only_old_entries_and_stale_temp_files(tmp_path: Path) -> None:
    root, cache = _repo(tmp_path / "repo"), tmp_path / "cache"
    cache.mkdir()
    outside = _file(tmp_path / "outside.json", 90)
    (cache / _name("e")).symlink_to(outside)
    kept = [
        _file(cache / _name("b"), 29),  # used within 30 days
        _file(cache / "notes.txt", 90),  # not a cache entry: never removed
        _file(cache / "README.json", 90),
        _file(cache / ("C" * 64 + ".json"), 90),  # not a key (upper case)
        _file(cache / ".gitignore", 90, "*\n"),
        _file(cache / ".tmp-inflight1.json", 0.5),  # another run may be writing it
        _aged(cache / _name("e"), 90),  # a symlink is neither followed nor removed
    ]
    (cache / _name("d")).mkdir()
    _file(cache / _name("d") / _name("f"), 90)  # a subdirectory is never entered
    kept += [_aged(cache / _name("d"), 90)]
    gone = [_file(cache / _name("a"), 31), _file(cache / ".tmp-killed01.json", 2)]
    assert _run(root, cache) == "ran"
    assert all(os.path.lexists(p) for p in kept), [p.name for p in kept if not p.exists()]
    assert not any(os.path.lexists(p) for p in gone)
    assert outside.read_text() == "{}"
    assert (cache / _name("d") / _name("f")).exists()
    assert len(_entries(cache) - {_name(c) for c in "bde"}) == 1  # the run's own pass


@pytest.mark.slow
def test_a_run_that_stores_nothing_prunes_nothing(tmp_path: Path) -> None:
    root, cache = _repo(tmp_path / "repo"), tmp_path / "cache"
    assert _run(root, cache) == "ran"
    old = _file(cache / _name("a"), 31)
    assert _run(root, cache) == "cached"  # a hit stores nothing
    (root / "src/a.txt").write_text("bad\n")
    proc = run_cli(["run"], root, {"MERGEGATE_CACHE_DIR": str(cache)})
    assert proc.returncode == 1, proc.stdout  # a failure stores nothing
    assert old.exists()


@pytest.mark.slow
def test_a_hit_marks_its_entry_used_so_pruning_keeps_it(tmp_path: Path) -> None:
    root, cache = _repo(tmp_path / "repo"), tmp_path / "cache"
    assert _run(root, cache) == "ran"
    (entry,) = _entries(cache)
    before = _aged(cache / entry, 31).stat().st_mtime  # would be pruned by the next store
    assert _run(root, cache) == "cached"
    assert (cache / entry).stat().st_mtime > before + 30 * DAY
    (root / "src/a.txt").write_text("ok, changed\n")
    assert _run(root, cache) == "ran"  # stores a second entry, and prunes
    assert entry in _entries(cache)
    assert len(_entries(cache)) == 2


@pytest.mark.slow
def test_beyond_the_cap_the_least_recently_used_go_first(tmp_path: Path) -> None:
    root, cache = _repo(tmp_path / "repo"), tmp_path / "cache"
    cache.mkdir()
    now = time.time()
    for i in range(cache_mod.MAX_ENTRIES):  # all within 30 days; i = 0 the most recent
        path = cache / f"{i:064x}.json"
        path.write_text("{}")
        os.utime(path, (now - DAY - i * 60, now - DAY - i * 60))
    assert _run(root, cache) == "ran"
    names = _entries(cache)
    assert len(names) == cache_mod.MAX_ENTRIES
    assert f"{cache_mod.MAX_ENTRIES - 1:064x}.json" not in names  # the least recently used
    assert f"{cache_mod.MAX_ENTRIES - 2:064x}.json" in names
    assert f"{0:064x}.json" in names


@pytest.mark.slow
def test_two_runs_pruning_the_same_directory_at_once_both_pass(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    old = [_file(cache / f"{i:064x}.json", 40) for i in range(300)]
    roots = [_repo(tmp_path / f"repo{n}", f"ok {n}\n") for n in range(2)]
    env = {**os.environ, **GIT_IDENTITY, "MERGEGATE_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mergegate", "run"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for root in roots
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    assert not any(p.exists() for p in old)
    assert len(_entries(cache)) == 2  # each run's own pass


def test_prune_never_raises_on_a_missing_or_odd_directory(tmp_path: Path) -> None:
    assert cache_mod.prune(tmp_path / "missing") == 0
    not_a_dir = _file(tmp_path / "file", 90)
    assert cache_mod.prune(not_a_dir) == 0
    assert not_a_dir.exists()


def test_an_entry_used_or_removed_since_the_scan_is_left_alone(tmp_path: Path) -> None:
    entry = _file(tmp_path / _name("a"), 31)
    scanned = entry.stat().st_mtime
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        cache_mod.touch(tmp_path, "a" * 64)  # another run hit it after this one's scan
        assert cache_mod._unlink_if_same(fd, entry.name, scanned) is False
        assert entry.exists()
        assert cache_mod._unlink_if_same(fd, _name("b"), scanned) is False  # already gone
        assert cache_mod._unlink_if_same(fd, entry.name, entry.stat().st_mtime) is True
        assert not entry.exists()
    finally:
        os.close(fd)


def test_prune_with_a_small_cap_keeps_the_most_recent(tmp_path: Path) -> None:
    for char, days in zip("abc", (3, 1, 2), strict=True):
        _file(tmp_path / _name(char), days)
    assert cache_mod.prune(tmp_path, cap=2) == 1
    assert _entries(tmp_path) == {_name("b"), _name("c")}
