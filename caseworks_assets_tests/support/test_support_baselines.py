"""The benchmark's bare programs compute what the pipeline computes, so a ratio to them compares like with like."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from support_testkit import make_run, make_settings, warehouse_table

from benchmarks.support import KEYS, duckdb_program, polars_program
from caseworks_assets.support.cli import run as run_support
from caseworks_assets.support.sample import write_sample


def _comparable(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Sorted by key, instants in UTC: the warehouse reads them back in UTC, the programs keep their own zone."""
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    ).sort(KEYS[table])


@pytest.mark.slow
def test_bare_programs_write_the_pipelines_final_tables(tmp_path):
    """Same rows, same values, on the hand-made core (every rule, every repair) plus generated volume."""
    data = make_settings(tmp_path).data_dir / "support"
    write_sample(data, rows=500)
    run_support(make_run(tmp_path, dg.DagsterInstance.ephemeral(), fmt="parquet"))
    for name, program in (("duckdb", duckdb_program), ("polars", polars_program)):
        out = tmp_path / name
        out.mkdir()
        rows = program(data, out)
        for table in KEYS:
            expected = _comparable(warehouse_table(tmp_path, f"{table}_final"), table)
            written = _comparable(pl.read_parquet(out / f"{table}_final.parquet"), table)
            assert rows[table] == expected.height, (name, table)
            assert_frame_equal(written.select(expected.columns), expected, check_dtypes=False)
            assert (
                expected.hash_rows().sum() == written.select(expected.columns).cast(expected.schema).hash_rows().sum()
            )
