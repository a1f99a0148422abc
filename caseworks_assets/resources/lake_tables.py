"""Warehouse tables straight from lake Parquet, without the rows passing through Python.

An asset that has already streamed its output to the lake returns a
:class:`LakeTable` (the file's path) instead of a DataFrame. The warehouse IO
managers publish it engine-side: locally, DuckDB makes the table a view over
the lake file (``CREATE VIEW ... AS SELECT * FROM read_parquet(path)``), so
millions of rows cost neither a copy nor a second compression pass, and the
table can never disagree with the lake; in prod, BigQuery loads the ``gs://``
file with a Parquet load job. An empty file still gives an (empty, typed)
table. Downstream assets read these tables like any other (as polars frames
through the same IO manager), and SQL users query them like any table.

A local view records its file in the view's comment, so the IO manager loads
it into polars straight from the file (:class:`DuckDBLakeViewPolarsTypeHandler`):
DuckDB would read the same Parquet and hand it over through Arrow at several
times the cost.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_polars import DuckDBPolarsTypeHandler

from caseworks_assets.resources.sql_literals import sql_string

DUCKDB_LOAD_MEMORY_LIMIT = "512MB"


@dataclass(frozen=True)
class LakeTable:
    """A Parquet file (local path or ``gs://`` URI) to publish as the asset's warehouse table.

    A partitioned asset that keeps **one file per partition** names the files
    this run wrote in ``partition_files`` and the pattern matching every
    partition's file (``.../*.parquet``) in ``path``: locally the table is then a
    view over all of them, so publishing a partition copies no row, and re-running
    it just replaces its file; BigQuery appends the run's files.
    """

    path: str
    rows: int | None = None
    #: Columns encrypted in the file (Parquet modular encryption): they stay in the lake only, and the
    #: warehouse table holds the other columns (no engine could read them without the key ring anyway).
    sealed: tuple[str, ...] = ()
    #: One file per partition: the files of this run's partitions (``path`` matches every partition's file).
    partition_files: tuple[str, ...] = ()

    def select_sql(self, location: str | None = None) -> str:
        """``SELECT`` of the file's readable columns, for DuckDB."""
        columns = f"* EXCLUDE ({', '.join(self.sealed)})" if self.sealed else "*"
        return f"select {columns} from read_parquet({sql_string(location or self.path)})"


#: Prefix of the comment a local lake view carries: ``lake:{"path": ..., "sealed": [...]}``.
VIEW_COMMENT_PREFIX = "lake:"


def relation_type(connection, schema: str, table: str) -> str | None:
    """``BASE TABLE``, ``VIEW`` or None for ``schema.table`` in a DuckDB connection."""
    # literals, not parameters: DuckDB imports pandas (0.2 s) to convert the first Python parameter it binds
    found = connection.execute(
        "select table_type from information_schema.tables "
        f"where table_schema = {sql_string(schema)} and table_name = {sql_string(table)}"
    ).fetchone()
    return found[0] if found else None


class LakeViewDuckDbClient(DuckDbClient):
    """Dagster's DuckDB client, aware that a table may be a view over a lake file; it may keep the file open.

    Clearing a view's "slice" means dropping the view (there is nothing to
    delete from), so an asset can move between a view and a table freely.

    With ``keep_open`` (what the warehouse IO manager asks for during a run)
    the database is opened by the first load or store and stays open until
    :meth:`close`; each call works on its own cursor of it. Dagster's client
    opens the file for every call: a DuckDB file costs about 10 ms to open
    and a checkpoint to close, around each of the 18 loads and stores of a
    support run, about half a second in all.

    Each call is one transaction: a store replaces a table (or a partition's
    rows) as a whole or, failing, leaves it as it was, and commits once
    instead of after each statement.
    """

    def __init__(self, keep_open: bool = False) -> None:
        self._keep_open = keep_open
        self._opened = ExitStack()
        self._database: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def connect(self, context, table_slice: TableSlice) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self._keep_open:
            with DuckDbClient.connect(context, table_slice) as connection, _transaction(connection):
                yield connection
            return
        if self._database is None:  # Dagster's own opening: its retries while another process holds the file
            self._database = self._opened.enter_context(DuckDbClient.connect(context, table_slice))
        with self._database.cursor() as cursor, _transaction(cursor):
            yield cursor

    def close(self) -> None:
        """Close the database kept open, if any; the next call opens it again."""
        self._database = None
        self._opened.close()

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        if relation_type(connection, table_slice.schema, table_slice.table) == "VIEW":
            connection.execute(f"drop view {table_slice.schema}.{table_slice.table}")
            return
        DuckDbClient.delete_table_slice(context, table_slice, connection)


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block did, or roll all of it back if it raised."""
    connection.begin()
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


class DuckDBLakeTableTypeHandler(DbTypeHandler[LakeTable]):
    """Publishes a :class:`LakeTable` in DuckDB: a view over the file, or appended rows for a partition."""

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: LakeTable, connection):
        target = f"{table_slice.schema}.{table_slice.table}"
        location = obj.path if "://" in obj.path else str(Path(obj.path).resolve())  # a view outlives the cwd
        select = obj.select_sql(location)
        if table_slice.partition_dimensions and obj.partition_files:  # a view over every partition's file
            if relation_type(connection, table_slice.schema, table_slice.table) == "BASE TABLE":
                connection.execute(f"drop table {target}")  # rows copied in before partitions had files
            connection.execute(f"create or replace view {target} as {select}")
        elif table_slice.partition_dimensions:  # partitions share one table: their rows are copied in
            connection.execute(f"SET memory_limit = '{DUCKDB_LOAD_MEMORY_LIMIT}'")
            exists = relation_type(connection, table_slice.schema, table_slice.table)
            connection.execute(f"insert into {target} {select}" if exists else f"create table {target} as {select}")
        else:  # the IO manager dropped any previous view or emptied the table; a view follows the file's schema
            if relation_type(connection, table_slice.schema, table_slice.table) == "BASE TABLE":
                connection.execute(f"drop table {target}")
            connection.execute(f"create view {target} as {select}")
            source = json.dumps({"path": location, "sealed": list(obj.sealed)})
            connection.execute(f"comment on view {target} is {sql_string(VIEW_COMMENT_PREFIX + source)}")
        rows = obj.rows
        if rows is None:
            files = [p if "://" in p else str(Path(p).resolve()) for p in obj.partition_files] or [location]
            listed = ", ".join(sql_string(file) for file in files)
            rows = connection.execute(f"select count(*) from read_parquet([{listed}])").fetchone()[0]
        return {"dagster/row_count": rows, "warehouse_table": target}

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> LakeTable:
        raise TypeError("LakeTable is an output type; load the table as a polars DataFrame")

    @property
    def supported_types(self) -> Sequence[type]:
        return [LakeTable]


def lake_view_file(connection, schema: str, table: str) -> str | None:
    """The local Parquet file a view over the lake reads, when ``schema.table`` is one with no sealed columns."""
    found = connection.execute(  # literals, not parameters: see relation_type
        f"select comment from duckdb_views() where schema_name = {sql_string(schema)} "
        f"and view_name = {sql_string(table)}"
    ).fetchone()
    if not found or not (found[0] or "").startswith(VIEW_COMMENT_PREFIX):
        return None
    source = json.loads(found[0][len(VIEW_COMMENT_PREFIX) :])
    path = source["path"]
    if source["sealed"] or "://" in path or not Path(path).exists():
        return None  # encrypted columns, remote or missing files: DuckDB reads the view
    return path


def wants_lazy(context: InputContext) -> bool:
    """Whether the input is annotated ``pl.LazyFrame``: a reader that streams the table instead of holding it."""
    return context.dagster_type.typing_type is pl.LazyFrame


class DuckDBLakeViewPolarsTypeHandler(DuckDBPolarsTypeHandler):
    """Loads polars frames from DuckDB; a table that is a view over a local lake file is read from the file.

    Same rows, columns and types as the view gives (a view is ``SELECT *`` of
    the file), except that time-zone-aware timestamps keep the zone written in
    the file instead of DuckDB's session zone: the same instants. An input
    annotated ``pl.LazyFrame`` gets a scan of that file, so a reader that streams
    (e.g. an export of tens of millions of rows) never holds the table.
    """

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pl.DataFrame | pl.LazyFrame:
        path = None
        if not table_slice.partition_dimensions:
            path = lake_view_file(connection, table_slice.schema, table_slice.table)
        columns = list(table_slice.columns) if table_slice.columns else None
        if path is None:
            frame = super().load_input(context, table_slice, connection)
            return frame.lazy() if wants_lazy(context) else frame
        if wants_lazy(context):
            scan = pl.scan_parquet(path)
            return scan.select(columns) if columns else scan
        return pl.read_parquet(path, columns=columns)

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame | pl.LazyFrame, connection
    ):
        """An empty frame still gives an (empty, typed) table; Dagster's handler would skip it.

        Without this, an asset whose answer is "no rows" (no hint, no
        quarantined row) leaves no table behind, and its readers fail.
        """
        obj = obj.collect() if isinstance(obj, pl.LazyFrame) else obj
        if not obj.is_empty():
            return super().handle_output(context, table_slice, obj, connection)
        empty = obj.to_arrow()  # noqa: F841  # the name DuckDB's replacement scan reads
        connection.execute(f"create schema if not exists {table_slice.schema}")
        connection.execute(
            f"create table if not exists {table_slice.schema}.{table_slice.table} as select * from empty"
        )
        context.add_output_metadata({"row_count": 0})

    @property
    def supported_types(self) -> Sequence[type]:
        return [pl.DataFrame, pl.LazyFrame]


class BigQueryLakeTableTypeHandler(DbTypeHandler[LakeTable]):
    """Loads a :class:`LakeTable` from ``gs://`` into BigQuery with a Parquet load job."""

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: LakeTable, connection):
        from google.cloud import bigquery

        if not obj.path.startswith("gs://"):
            raise ValueError(f"BigQuery loads Parquet from gs:// only, not {obj.path!r}")
        target = f"{table_slice.database}.{table_slice.schema}.{table_slice.table}"
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,  # the IO manager emptied the slice
        )
        if obj.sealed:  # BigQuery cannot skip encrypted columns: load a copy of the readable ones
            with readable_copy(obj) as copy:
                job = connection.load_table_from_file(copy, target, job_config=config)
                job.result()
        else:
            job = connection.load_table_from_uri(list(obj.partition_files) or obj.path, target, job_config=config)
        job.result()
        return {"dagster/row_count": job.output_rows, "warehouse_table": target}

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> LakeTable:
        raise TypeError("LakeTable is an output type; load the table as a polars DataFrame")

    @property
    def supported_types(self) -> Sequence[type]:
        return [LakeTable]


@contextmanager
def readable_copy(table: LakeTable) -> Iterator[BinaryIO]:
    """A temporary Parquet file with ``table``'s columns except the sealed ones, copied row group by row group."""
    from upath import UPath

    with tempfile.TemporaryFile() as copy, UPath(table.path).open("rb") as source:
        parquet = pq.ParquetFile(source, pre_buffer=False)
        columns = [name for name in parquet.schema_arrow.names if name not in table.sealed]
        with pq.ParquetWriter(copy, pa.schema([parquet.schema_arrow.field(c) for c in columns])) as out:
            for group in range(parquet.metadata.num_row_groups):
                out.write_table(parquet.read_row_group(group, columns=columns))
        copy.seek(0)
        yield copy


def iter_parquet(source, batch_rows: int, columns: Sequence[str] | None = None, decryption=None) -> Iterator[pa.Table]:
    """A Parquet file as Arrow tables of at most ``batch_rows`` rows, read row group by row group.

    Unlike ``ParquetFile.iter_batches`` (whose read-ahead kept hundreds of MB per
    column alive on multi-GB files), memory here stays at one row group.
    ``decryption`` (Arrow ``FileDecryptionProperties``) opens encrypted columns.
    """
    parquet = pq.ParquetFile(source, pre_buffer=False, decryption_properties=decryption)
    for index in range(parquet.metadata.num_row_groups):
        group = parquet.read_row_group(index, columns=list(columns) if columns is not None else None)
        for offset in range(0, group.num_rows, batch_rows):
            yield group.slice(offset, batch_rows)
