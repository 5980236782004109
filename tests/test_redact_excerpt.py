"""Excerpts (DESIGN §6): head and tail, cut at line or character boundaries, memory bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergegate.excerpt import (
    CUT_MARKER,
    HEAD_BYTES,
    TAIL_BYTES,
    Captured,
    read_captured,
    shorten,
)


def captured(tmp_path: Path, data: bytes) -> Captured:
    spool = tmp_path / "out.log"
    spool.write_bytes(data)
    return read_captured(spool)


def test_small_output_is_kept_whole(tmp_path: Path) -> None:
    out = captured(tmp_path, b"one\ntwo\n")
    assert out.text() == out.tail_text() == "one\ntwo\n"


def test_many_lines_keep_head_and_tail_cut_at_line_boundaries(tmp_path: Path) -> None:
    lines = [f"line {i:06d}" for i in range(20_000)]
    text = captured(tmp_path, ("\n".join(lines) + "\n").encode()).tail_text()
    head, marker, tail = _split(text)
    assert head.startswith("line 000000\n")
    assert head.endswith("\n")
    assert tail.endswith("line 019999\n")
    assert all(line in lines for line in (head + tail).splitlines())  # no partial line
    assert "bytes of output omitted" in marker


@pytest.mark.parametrize("char", ["é", "€", "😀"])
@pytest.mark.parametrize("shift", [0, 1, 2, 3])
def test_a_long_single_line_is_cut_at_a_character_boundary(
    tmp_path: Path, char: str, shift: int
) -> None:
    data = b"x" * shift + (char * 60_000).encode() + b"\n"
    out = captured(tmp_path, data)
    text = out.text()
    assert "\ufffd" not in text
    head, marker, tail = _split(text)
    assert marker.startswith("… [")
    assert marker.endswith("bytes cut] …")
    shown = len(head.encode()) + len(tail.encode())
    assert f"[{len(data) - shown} bytes cut]" in marker
    assert set(head) <= {"x", char}
    assert set(tail) <= {char, "\n"}


def test_tail_text_keeps_both_ends_within_its_budget(tmp_path: Path) -> None:
    data = b"BEGIN\n" + b"middle line\n" * 50_000 + b"END\n"
    text = captured(tmp_path, data).tail_text(2000)
    assert text.startswith("BEGIN\n")
    assert text.endswith("END\n")
    assert len(text.encode()) <= 2100


def test_only_head_and_tail_are_read(tmp_path: Path) -> None:
    spool = tmp_path / "huge.log"
    with spool.open("wb") as fh:
        fh.write(b"HEAD\n")
        fh.truncate(8 * 1024**3)  # 8 GiB, sparse: reading it whole would not fit in memory
        fh.seek(8 * 1024**3 - 5)
        fh.write(b"TAIL\n")
    out = read_captured(spool)
    assert len(out.head) == HEAD_BYTES
    assert len(out.tail) == TAIL_BYTES
    assert out.total == 8 * 1024**3
    assert out.text().endswith("TAIL\n")


def test_shorten_keeps_first_and_last_lines() -> None:
    text = "\n".join(f"l{i}" for i in range(100))
    short = shorten(text, 10_000, 10)
    kept = short.split("\n")
    assert kept[:2] == ["l0", "l1"]
    assert kept[-1] == "l99"
    assert CUT_MARKER.fullmatch(kept[2])
    assert len(kept) == 10


def test_shorten_cuts_a_long_line_with_a_marker() -> None:
    short = shorten("a" * 5000 + "b" * 5000, 1000)
    head, marker, tail = _split(short)
    assert set(head) == {"a"}
    assert set(tail) == {"b"}
    assert marker == "… [9000 characters cut] …"


def _split(text: str) -> tuple[str, str, str]:
    found = CUT_MARKER.search(text)
    assert found is not None, text[:200]
    tail = text[found.end() :]
    return text[: found.start()], found.group(), tail.removeprefix("\n")
