"""LakeTable outputs: Parquet loaded into the DuckDB warehouse engine-side, replaced on re-runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from caseworks_assets.resources import LocalWarehouseIOManager
from caseworks_assets.resources.lake_tables import LakeTable, iter_parquet


def test_lake_table_loads_replaces_and_keeps_empty_tables(tmp_path: Path):
    source = tmp_path / "rows.parquet"
    empty = tmp_path / "empty.parquet"
    pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None]}).write_parquet(source)
    pl.DataFrame(schema={"id": pl.Int64, "name": pl.String}).write_parquet(empty)

    @dg.asset(key_prefix=["demo"])
    def rows() -> LakeTable:
        return LakeTable(str(source))

    @dg.asset(key_prefix=["demo"])
    def nothing() -> LakeTable:
        return LakeTable(str(empty))

    database = str(tmp_path / "wh.duckdb")
    resources = {"io_manager": LocalWarehouseIOManager(database=database)}
    for _ in range(2):  # a re-run replaces the table instead of appending
        assert dg.materialize([rows, nothing], resources=resources, instance=dg.DagsterInstance.ephemeral()).success
    with duckdb.connect(database, read_only=True) as con:
        assert con.execute("select id, name from demo.rows order by id").fetchall() == [(1, "a"), (2, "b"), (3, None)]
        assert con.execute("select count(*) from demo.nothing").fetchone() == (0,)
        columns = con.execute(
            "select column_name, data_type from information_schema.columns where table_name='nothing'"
        )
        assert columns.fetchall() == [("id", "BIGINT"), ("name", "VARCHAR")]


def test_iter_parquet_yields_every_row_once_in_bounded_batches(tmp_path: Path):
    path = tmp_path / "big.parquet"
    pl.DataFrame({"n": range(2500)}).write_parquet(path, row_group_size=1000)
    sizes, values = [], []
    for table in iter_parquet(path, 400):
        sizes.append(table.num_rows)
        values += table.column("n").to_pylist()
    assert values == list(range(2500))
    assert max(sizes) == 400 and sum(sizes) == 2500
