"""`python -m throttlekit`, called in-process."""

from __future__ import annotations

import pytest

from throttlekit.__main__ import main


def test_reports_a_burst(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["3/s", "--requests", "5"]) == 0
    out = capsys.readouterr().out
    assert "3 of 5 allowed at once" in out
    assert "next request in 0.333s" in out


def test_bad_rate_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["often"]) == 2
    assert "cannot parse rate 'often'" in capsys.readouterr().err
