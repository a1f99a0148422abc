"""LakeTable outputs: Parquet loaded into the DuckDB warehouse engine-side, replaced on re-runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from caseworks_assets.resources import LocalWarehouseIOManager
from caseworks_assets.resources.lake_tables import LakeTable, iter_parquet, lake_view_file


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


def test_a_view_over_a_lake_file_loads_from_the_file_with_the_rows_duckdb_gives(tmp_path: Path):
    """Downstream assets read a lake view straight from its file: same rows and instants as through DuckDB,
    only the columns asked for; a sealed view or a partitioned table is still read by DuckDB."""
    source = tmp_path / "events.parquet"
    frame = pl.DataFrame(
        {
            "id": ["e1", "e2", "e3"],
            "at": ["2025-03-09T06:30:00Z", "2025-03-09T07:30:00Z", None],
            "n": [1.5, None, 3.0],
        }
    ).with_columns(pl.col("at").str.to_datetime(time_zone="UTC").dt.convert_time_zone("America/New_York"))
    frame.write_parquet(source)

    @dg.asset(key_prefix=["demo"])
    def events() -> LakeTable:
        return LakeTable(str(source))

    loaded: dict[str, pl.DataFrame] = {}

    @dg.asset(key_prefix=["demo"], ins={"events": dg.AssetIn(key=["demo", "events"])})
    def whole(events: pl.DataFrame) -> None:
        loaded["whole"] = events

    @dg.asset(
        key_prefix=["demo"], ins={"events": dg.AssetIn(key=["demo", "events"], metadata={"columns": ["n", "id"]})}
    )
    def some(events: pl.DataFrame) -> None:
        loaded["some"] = events

    database = str(tmp_path / "wh.duckdb")
    resources = {"io_manager": LocalWarehouseIOManager(database=database)}
    assert dg.materialize([events, whole, some], resources=resources, instance=dg.DagsterInstance.ephemeral()).success
    with duckdb.connect(database, read_only=True) as con:
        assert lake_view_file(con, "demo", "events") == str(source.resolve())
        through_duckdb = con.execute("select * from demo.events").pl()
    assert loaded["whole"].columns == through_duckdb.columns
    assert loaded["whole"].schema["at"] == pl.Datetime("us", "America/New_York")  # the file's zone, not DuckDB's
    assert (
        loaded["whole"]
        .with_columns(pl.col("at").dt.convert_time_zone("UTC"))
        .equals(through_duckdb.with_columns(pl.col("at").dt.convert_time_zone("UTC")))
    )
    assert loaded["some"].columns == ["n", "id"] and loaded["some"].equals(frame.select("n", "id"))

    source.unlink()  # the view now fails in DuckDB too; the loader does not invent rows
    with duckdb.connect(database) as con:
        assert lake_view_file(con, "demo", "events") is None
        con.execute('comment on view demo.events is \'lake:{"path": "x.parquet", "sealed": ["n"]}\'')
        assert lake_view_file(con, "demo", "events") is None  # sealed columns: DuckDB excludes them
