"""The safe walk: pattern pruning, the hashing pool, stopping, nesting, configured-file reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mergegate.witness import WitnessError, tree
from mergegate.witness.tree import Stopped, could_contain, read_regular, scan
from tests.witness_helpers import write_tree


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_scan_hashes_matching_regular_files_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "dist/a.js": "a",
            "dist/b.css": "b",
            "dist/sub/c.js": "c",
            "src/d.js": "d",
            "dist/.hidden": "h",
        },
    )
    found = scan(tmp_path, ["dist/**/*.js", "dist/.hidden"])
    assert found.files == {
        "dist/.hidden": hashlib.sha256(b"h").hexdigest(),
        "dist/a.js": hashlib.sha256(b"a").hexdigest(),
        "dist/sub/c.js": hashlib.sha256(b"c").hexdigest(),
    }
    assert found.unsafe == ()
    assert found.total_bytes == 3


def test_large_files_go_through_the_pool_with_the_same_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = {f"dist/f{i}": os.urandom(1000 + i) for i in range(40)}
    write_tree(tmp_path, contents)
    before = _open_fds()
    serial = scan(tmp_path, ["dist/**"], workers=1)
    monkeypatch.setattr(tree, "LARGE_FILE", 1024)  # half the files go to the pool
    pooled = scan(tmp_path, ["dist/**"], workers=3)
    assert (
        pooled.files
        == serial.files
        == {name: hashlib.sha256(data).hexdigest() for name, data in sorted(contents.items())}
    )
    assert _open_fds() == before  # every descriptor closed


def test_a_stop_request_interrupts_the_walk_and_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {f"dist/{i:03}": "x" * 2000 for i in range(50)})
    monkeypatch.setattr(tree, "LARGE_FILE", 1000)
    seen: list[int] = []

    def stop() -> str | None:
        seen.append(1)
        return "timed out after 1s" if len(seen) > 10 else None

    before = _open_fds()
    with pytest.raises(Stopped, match="timed out after 1s"):
        scan(tmp_path, ["dist/**"], stop=stop, workers=2)
    assert _open_fds() == before


def test_nesting_deeper_than_the_cap_is_unsafe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tree, "MAX_DEPTH", 3)
    write_tree(tmp_path, {"dist/1/2/3/4/deep.txt": "x", "dist/top.txt": "t"})
    found = scan(tmp_path, ["dist/**"])
    assert list(found.files) == ["dist/top.txt"]
    assert [(u.path, u.why) for u in found.unsafe] == [
        ("dist/1/2/3", "nested deeper than 3 directories")
    ]


def test_pruning_only_skips_directories_that_cannot_match() -> None:
    assert could_contain(["dist/**"], "dist")
    assert could_contain(["dist/**"], "dist/a/b")
    assert not could_contain(["dist/**"], "src")
    assert could_contain(["**/*.js"], "anything/at/all")
    assert could_contain(["pkg/*/lib/*.js"], "pkg/x")
    assert could_contain(["pkg/*/lib/*.js"], "pkg/x/lib")
    assert not could_contain(["pkg/*/lib/*.js"], "pkg/x/src")
    assert not could_contain(["pkg/*/lib/*.js"], "pkg/x/lib/deeper")
    assert could_contain(["a/b", "c/**"], "c")
    assert could_contain(["a/b"], "a/b/c")  # named plainly: the file, or a directory's all
    assert not could_contain(["a/b"], "a/c")


def test_symlinks_outside_the_footprint_are_ignored(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dist/a": "a", "src/real": "r"})
    (tmp_path / "src/link").symlink_to(tmp_path / "src/real")
    (tmp_path / "dist.txt").symlink_to(tmp_path / "src/real")
    found = scan(tmp_path, ["dist/**"])
    assert list(found.files) == ["dist/a"]
    assert found.unsafe == ()


def test_sockets_are_unsafe(tmp_path: Path) -> None:
    import socket

    (tmp_path / "dist").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "dist/s"))
        found = scan(tmp_path, ["dist/**"])
    finally:
        sock.close()
    assert [(u.path, u.why) for u in found.unsafe] == [("dist/s", "a socket")]


def test_read_regular_never_follows_a_symlink(tmp_path: Path) -> None:
    write_tree(tmp_path, {"real/witness.pub": "key", "keys/own.pub": "own"})
    (tmp_path / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "keys/alias.pub").symlink_to(tmp_path / "keys/own.pub")
    assert read_regular(tmp_path, "keys/own.pub", 100, "public key") == b"own"
    assert read_regular(tmp_path, "./keys/own.pub", 100, "public key") == b"own"
    assert read_regular(tmp_path, "keys/none.pub", 100, "public key") is None
    assert read_regular(tmp_path, "nodir/none.pub", 100, "public key") is None
    with pytest.raises(WitnessError, match="symlink"):
        read_regular(tmp_path, "linked/witness.pub", 100, "public key")
    with pytest.raises(WitnessError, match="symlink"):
        read_regular(tmp_path, "keys/alias.pub", 100, "public key")
    with pytest.raises(WitnessError, match="larger than 2 bytes"):
        read_regular(tmp_path, "keys/own.pub", 2, "public key")


def test_read_regular_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "manifest.json")
    with pytest.raises(WitnessError, match="not a regular file"):
        read_regular(tmp_path, "manifest.json", 100, "manifest")


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WitnessError, match="cannot open the project root"):
        scan(tmp_path / "nope", ["dist/**"])
