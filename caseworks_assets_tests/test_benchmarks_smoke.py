"""The benchmark runner works end to end at tiny scale (a smoke test, not a timing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.runner import run_benchmark, without_bytecode
from caseworks_assets.registry import registered_cases
from caseworks_assets.settings import MECHANISMS


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(registered_cases()))
def test_benchmark_runner_reports_time_throughput_and_memory(case: str, tmp_path: Path) -> None:
    result = run_benchmark(case, rows=200, work_dir=tmp_path)
    assert result["case"] == case
    assert result["rows"] == 200
    assert result["wall_s"] > 0
    assert result["rows_per_s"] > 0
    assert 0 < result["peak_rss_mib"] < 4096
    assert result["instance_setup_s"] > 0  # the instance is created apart, before the timed run
    assert any((tmp_path / "out").rglob("*")), "the benchmarked run wrote nothing"


@pytest.mark.slow
def test_repeated_attempts_alternate_and_report_each_sides_fastest(tmp_path: Path) -> None:
    result = run_benchmark("support", rows=200, work_dir=tmp_path, repeat=2)
    attempts = result["attempts"]
    assert result["repeat"] == 2 and len(attempts) == 2
    assert result["wall_s"] == min(attempt["wall_s"] for attempt in attempts)
    bare = min(attempt["bare_program_s"] for attempt in attempts)
    assert result["baseline"]["bare_program_s"] == bare
    assert result["ratio_to_baseline"] == round(result["wall_s"] / bare, 2)
    assert all(attempt["ratio"] == round(attempt["wall_s"] / attempt["bare_program_s"], 2) for attempt in attempts)
    # the last attempt's outputs are there, each attempt started from a new instance
    assert (tmp_path / "out" / "support" / "support_report.parquet").exists()
    run_logs = [db for db in (tmp_path / "dagster_home" / "history" / "runs").glob("*.db") if db.name != "index.db"]
    assert len(run_logs) == 1  # the CLI's one run over the months, not one per attempt


@pytest.mark.slow
def test_without_switches_mechanisms_off_and_a_kept_sample_is_reused(tmp_path: Path) -> None:
    with_all = run_benchmark("support", rows=200, work_dir=tmp_path)
    assert with_all["sample"] is not None and with_all["without"] == [] and with_all["cpu_s"] > 0
    assert "caseworks_assets.instance_storage" in (tmp_path / "dagster_home" / "dagster.yaml").read_text()

    without = run_benchmark("support", rows=200, work_dir=tmp_path, without=MECHANISMS)
    assert without["sample"] is None  # the inputs of the same row count are reused, not sampled again
    assert without["without"] == list(MECHANISMS)
    assert without["baseline"]["rows"] == with_all["baseline"]["rows"]
    # Dagster's own storage classes, on the same files
    config = (tmp_path / "dagster_home" / "dagster.yaml").read_text()
    assert "caseworks_assets.instance_storage" not in config and "class: SqliteEventLogStorage" in config
    assert not (tmp_path / "no-bytecode").exists()  # the runs without compiled modules kept none
    with pytest.raises(ValueError, match="unknown mechanisms"):
        run_benchmark("support", rows=200, work_dir=tmp_path, without=("no_such_mechanism",))


def test_without_bytecode_a_process_reads_every_module_from_source(tmp_path: Path) -> None:
    """What ``--without bytecode`` gives the benchmark's children: no compiled module found, none written."""
    probe = "import sys, polars; print(sys.flags.dont_write_bytecode, polars.__spec__.cached)"
    env = {**os.environ, **without_bytecode(tmp_path / "prefix")}
    flag, cached = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert flag == "1" and cached.startswith(str(tmp_path / "prefix"))
    assert not Path(cached).exists() and not (tmp_path / "prefix").exists()
