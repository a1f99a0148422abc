"""Warehouse loads straight from lake Parquet, without the rows passing through Python.

An asset that has already streamed its output to the lake returns a
:class:`LakeTable` (the file's path) instead of a DataFrame. The warehouse IO
managers load it engine-side: DuckDB with ``CREATE TABLE ... AS SELECT * FROM
read_parquet(path)`` (streamed, memory-capped), BigQuery with a Parquet load job
from the ``gs://`` URI. Millions of rows then cost the Python process nothing,
and an empty file still creates its (empty, typed) table. Downstream assets
read these tables like any other (as polars frames through the same IO manager).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice

DUCKDB_LOAD_MEMORY_LIMIT = "512MB"


@dataclass(frozen=True)
class LakeTable:
    """A Parquet file (local path or ``gs://`` URI) to load as the asset's warehouse table."""

    path: str
    rows: int | None = None


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBLakeTableTypeHandler(DbTypeHandler[LakeTable]):
    """Loads a :class:`LakeTable` into DuckDB engine-side."""

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: LakeTable, connection):
        target = f"{table_slice.schema}.{table_slice.table}"
        source = f"read_parquet({_sql_string(obj.path)})"
        connection.execute(f"SET memory_limit = '{DUCKDB_LOAD_MEMORY_LIMIT}'")
        connection.execute("SET preserve_insertion_order = true")
        if table_slice.partition_dimensions:
            exists = connection.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [table_slice.schema, table_slice.table],
            ).fetchone()[0]
            verb = f"insert into {target} select * from" if exists else f"create table {target} as select * from"
            connection.execute(f"{verb} {source}")
        else:  # the slice was emptied by the IO manager; replace it so schema changes follow the file
            connection.execute(f"create or replace table {target} as select * from {source}")
        rows = connection.execute(f"select count(*) from {source}").fetchone()[0]
        return {"dagster/row_count": rows, "warehouse_table": target}

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> LakeTable:
        raise TypeError("LakeTable is an output type; load the table as a polars DataFrame")

    @property
    def supported_types(self) -> Sequence[type]:
        return [LakeTable]


class BigQueryLakeTableTypeHandler(DbTypeHandler[LakeTable]):
    """Loads a :class:`LakeTable` from ``gs://`` into BigQuery with a Parquet load job."""

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: LakeTable, connection):
        from google.cloud import bigquery

        if not obj.path.startswith("gs://"):
            raise ValueError(f"BigQuery loads Parquet from gs:// only, not {obj.path!r}")
        target = f"{table_slice.database}.{table_slice.schema}.{table_slice.table}"
        job = connection.load_table_from_uri(
            obj.path,
            target,
            job_config=bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,  # the IO manager emptied the slice
            ),
        )
        job.result()
        return {"dagster/row_count": job.output_rows, "warehouse_table": target}

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> LakeTable:
        raise TypeError("LakeTable is an output type; load the table as a polars DataFrame")

    @property
    def supported_types(self) -> Sequence[type]:
        return [LakeTable]


def iter_parquet(source, batch_rows: int, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """A Parquet file as Arrow tables of at most ``batch_rows`` rows, read row group by row group.

    Unlike ``ParquetFile.iter_batches`` (whose read-ahead kept hundreds of MB per
    column alive on multi-GB files), memory here stays at one row group.
    """
    parquet = pq.ParquetFile(source, pre_buffer=False)
    for index in range(parquet.metadata.num_row_groups):
        group = parquet.read_row_group(index, columns=list(columns) if columns is not None else None)
        for offset in range(0, group.num_rows, batch_rows):
            yield group.slice(offset, batch_rows)
