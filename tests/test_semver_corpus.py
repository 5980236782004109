"""The release corpus on two real pairs, downloaded from the package index into tmp.

click 8.3.1 → 8.3.2 is the release issue 11 saw blocked: ``Option.get_default`` overrides
the method it inherited from ``Parameter`` (no addition) and ``StreamMixer.__del__`` went
(no API). Slow: it downloads two wheels and runs griffe check next to the gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "semver_corpus.py"


@pytest.mark.slow
def test_click_8_3_2_passes_as_a_patch_release(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--package", "click", "--start", "8.3.1", "--pairs", "1",
         "--cache", str(tmp_path / "cache"), "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())
    assert [(r["old"], r["new"], r["bump"], r["verdict"]) for r in rows] == [
        ("8.3.1", "8.3.2", "patch", "passed")
    ]
    assert rows[0]["changes"] == []
    # griffe alone reports the removed __del__ as breaking: a patch release it would block
    assert "| click | 8.3.1 → 8.3.2 | patch | no bump | pass | 1 | **block** |" in proc.stdout
