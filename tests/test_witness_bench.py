"""The witness benchmark still runs (tiny sizes) and checks its digests against sha256sum."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_witness.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_witness", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_tiny_bench_runs_and_reports_a_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    code = bench.main(["--files", "20", "--mb", "2", "--rounds", "1", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "20 files, 2.0 MB" in out
    assert "ratio (in-process verify / sha256sum): " in out
    assert len(list((tmp_path / "dist").rglob("*.bin"))) == 20


def test_sizes_put_half_the_bytes_in_one_percent_of_the_files() -> None:
    sizes = _bench().file_sizes(2000, 500_000_000)
    assert len(sizes) == 2000
    large = sorted(sizes)[-20:]
    assert sum(large) == pytest.approx(250_000_000, rel=0.01)
    assert sum(sizes) == pytest.approx(500_000_000, rel=0.01)


def test_bad_sizes_are_a_usage_error() -> None:
    assert _bench().main(["--files", "0"]) == 2
