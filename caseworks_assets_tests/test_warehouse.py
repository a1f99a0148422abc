"""The local warehouse IO manager keeps the DuckDB file open for a run, and always lets go of it after."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from caseworks_assets.resources import LakeTable, LocalWarehouseIOManager

#: Opening the file with a setting the IO manager does not use fails while the IO manager holds it open.
OTHER_CONFIG = {"threads": 1}


def _held_open(database: Path) -> bool:
    """Whether this process holds ``database`` open with another configuration (DuckDB refuses a second one)."""
    try:
        duckdb.connect(str(database), config=OTHER_CONFIG).close()
    except duckdb.ConnectionException:
        return True
    return False


def _materialize(assets: list[dg.AssetsDefinition], database: Path) -> dg.ExecuteInProcessResult:
    """Run ``assets`` on a new instance with the warehouse at ``database``; a failed run is returned, not raised."""
    return dg.materialize(
        assets,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"io_manager": LocalWarehouseIOManager(database=str(database))},
        raise_on_error=False,
    )


def _value(database: Path, sql: str):
    """The first value ``sql`` returns from the warehouse, read by a connection of its own."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def _assets(database: Path, fail_after_load: bool = False) -> list[dg.AssetsDefinition]:
    @dg.asset(key_prefix="w")
    def numbers() -> pl.DataFrame:
        return pl.DataFrame({"n": [1, 2, 3]})

    @dg.asset(key_prefix="w", ins={"numbers": dg.AssetIn(key=numbers.key)})
    def doubled(numbers: pl.DataFrame) -> pl.DataFrame:
        # upstream stored and loaded through the IO manager: the run still holds the file
        assert _held_open(database)
        if fail_after_load:
            raise RuntimeError("boom")
        return numbers.with_columns(pl.col("n") * 2)

    return [numbers, doubled]


def test_a_run_keeps_the_warehouse_open_across_steps_and_closes_it_at_the_end(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    assert _materialize(_assets(database), database).success
    assert not _held_open(database)
    assert _value(database, "select list(n order by n) from w.doubled") == [2, 4, 6]


def test_a_failed_run_lets_go_of_the_warehouse(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    assert not _materialize(_assets(database, fail_after_load=True), database).success
    assert not _held_open(database)
    assert _value(database, "select count(*) from w.numbers") == 3


def test_a_failed_store_leaves_the_previous_table_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    source = {"value": pl.DataFrame({"n": [1, 2, 3]})}

    @dg.asset(key_prefix="w")
    def table():
        return source["value"]

    assert _materialize([table], database).success
    # the next store empties the table, drops it for a view, then fails: the file the view would read is missing
    source["value"] = LakeTable(str(tmp_path / "missing.parquet"), rows=0)
    assert not _materialize([table], database).success
    assert _value(database, "select list(n order by n) from w.table") == [1, 2, 3]


def test_a_lazy_input_streams_a_lake_table_from_its_file_and_any_table_from_the_warehouse(tmp_path: Path) -> None:
    """``pl.LazyFrame`` inputs: a scan of the view's lake file (nothing loaded up front), or the table made lazy."""
    lake_file = tmp_path / "lake.parquet"
    pl.DataFrame({"n": [1, 2, 3], "label": ["a", "b", "c"]}).write_parquet(lake_file)
    seen: dict[str, object] = {}

    @dg.asset(key_prefix="w")
    def from_lake() -> LakeTable:
        return LakeTable(str(lake_file), rows=3)

    @dg.asset(key_prefix="w")
    def in_warehouse() -> pl.DataFrame:
        return pl.DataFrame({"n": [4, 5]})

    @dg.asset(
        key_prefix="w",
        ins={
            "lake": dg.AssetIn(key=from_lake.key, metadata={"columns": ["n"]}),
            "table": dg.AssetIn(key=in_warehouse.key),
        },
    )
    def reader(lake: pl.LazyFrame, table: pl.LazyFrame) -> None:
        seen["lake_plan"] = lake.explain()
        seen["lake"] = lake.collect()
        seen["table"] = table.collect()
        assert isinstance(lake, pl.LazyFrame) and isinstance(table, pl.LazyFrame)

    result = _materialize([from_lake, in_warehouse, reader], tmp_path / "warehouse.duckdb")
    assert result.success
    assert "lake.parquet" in str(seen["lake_plan"])  # read from the file by polars, not through DuckDB
    assert seen["lake"].to_dict(as_series=False) == {"n": [1, 2, 3]}  # only the asked-for columns
    assert seen["table"].to_dict(as_series=False) == {"n": [4, 5]}


def test_a_partitioned_lake_table_with_a_file_per_partition_is_a_view_over_them(tmp_path: Path) -> None:
    """Publishing a partition copies no row: the table is a view over every partition's file, re-runs replace one."""
    folder = tmp_path / "lake" / "parts"
    folder.mkdir(parents=True)
    months = dg.StaticPartitionsDefinition(["2025-01", "2025-02"])
    values = {"2025-01": [1, 2], "2025-02": [3]}

    @dg.asset(key_prefix="w", partitions_def=months, metadata={"partition_expr": "month"})
    def parted(context) -> LakeTable:
        month = context.partition_key
        file = folder / f"{month}.parquet"
        pl.DataFrame({"month": [month] * len(values[month]), "n": values[month]}).write_parquet(file)
        return LakeTable(str(folder / "*.parquet"), partition_files=(str(file),))

    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:  # a warehouse from before: the rows were copied into a table
        con.execute("create schema w; create table w.parted as select '2025-01' as month, 99 as n")
    instance = dg.DagsterInstance.ephemeral()
    resources = {"io_manager": LocalWarehouseIOManager(database=str(database))}
    for month in ("2025-01", "2025-02"):
        assert dg.materialize([parted], partition_key=month, instance=instance, resources=resources).success
    assert _value(database, "select table_type from information_schema.tables where table_name = 'parted'") == "VIEW"
    assert _value(database, "select list(n order by n) from w.parted") == [1, 2, 3]

    values["2025-01"] = [10]  # the month applied again: its file replaced, the other month untouched
    result = dg.materialize([parted], partition_key="2025-01", instance=instance, resources=resources)
    assert result.success
    assert _value(database, "select list(n order by n) from w.parted") == [3, 10]
    materialization = result.asset_materializations_for_node("w__parted")[0]
    assert materialization.metadata["dagster/row_count"].value == 1  # the run's partition, not the table
