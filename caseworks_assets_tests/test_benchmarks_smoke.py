"""The benchmark runner works end to end at tiny scale (a smoke test, not a timing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.runner import run_benchmark
from caseworks_assets.registry import registered_cases


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(registered_cases()))
def test_benchmark_runner_reports_time_throughput_and_memory(case: str, tmp_path: Path) -> None:
    result = run_benchmark(case, rows=200, work_dir=tmp_path)
    assert result["case"] == case
    assert result["rows"] == 200
    assert result["wall_s"] > 0
    assert result["rows_per_s"] > 0
    assert 0 < result["peak_rss_mib"] < 4096
    assert any((tmp_path / "out").rglob("*")), "the benchmarked run wrote nothing"
