"""Writing a Parquet file table by table, with encodings chosen from the data.

pyarrow dictionary-encodes every column by default. That pays for a column
that repeats a few values (a status, a currency, the source file's name) and
costs for one that does not (ids, amounts, timestamps, free text): the
writer builds a dictionary for each column chunk, outgrows it, and falls back
to plain encoding after doing the work. Measured on the 2M raw transactions
of ``python -m benchmarks payments`` (zstd, 200k-row tables): every column
dictionary-encoded, 1.24 s and 36.6 MB; no column, 0.98 s and 34.0 MB; only the
columns that repeat, 0.94 s and 27.7 MB. :class:`ParquetSink` therefore opens
its writer on the first table and dictionary-encodes only the columns whose
values repeat there.

It also writes min/max statistics only for the columns whose ranges let a
reader skip row groups: numbers, dates and timestamps. Text columns (ids,
codes, free text, and every field of a raw file, kept as received) get none:
their statistics are the slowest part of the write after compression (2.38M
raw payments, zstd: 1.14 s with them, 0.93 s without; half of that for the
few-valued columns alone), and a text range prunes only files sorted by that
column, which arrival-ordered exports are not. Readers here filter text by
equality or join on it (DuckDB views, Spark, BigQuery loads, which never read
Parquet statistics).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: A column is dictionary-encoded when the first table holds at most this share of distinct values.
REPEATING_SHARE = 0.05


#: Rows of the first table the choice is made on (counting distinct values of a whole 200k-row table
#: for every column cost more than the dictionaries it spared).
SAMPLE_ROWS = 10_000


def repeating_columns(table: pa.Table, share: float = REPEATING_SHARE) -> list[str]:
    """The columns whose distinct non-null values are at most ``share`` of the rows, in ``table``'s first rows."""
    table = table.slice(0, SAMPLE_ROWS)
    if table.num_rows == 0:
        return []
    limit = max(1, int(table.num_rows * share))
    return [name for name, column in zip(table.column_names, table.columns, strict=True) if _distinct(column) <= limit]


def statistics_columns(schema: pa.Schema) -> list[str]:
    """The columns written with min/max statistics: every column but text and binary (see the module docstring)."""
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)
    return [field.name for field in schema if not any(is_text(field.type) for is_text in text)]


def _distinct(column: pa.ChunkedArray) -> int:
    try:
        return pc.count_distinct(column).as_py()
    except pa.ArrowNotImplementedError:  # a type without a hash kernel (nested): never dictionary-encoded
        return column.length() + 1


class ParquetSink:
    """A ``pq.ParquetWriter`` with ``schema`` and ``options``, opened on the first table (see the module docstring).

    Closing a sink that was given no rows still writes a valid, empty file with the schema.
    """

    def __init__(self, where: BinaryIO | str, schema: pa.Schema, **options: Any) -> None:
        self.where = where
        self.schema = schema
        self.options = {"compression": "zstd", "write_statistics": statistics_columns(schema), **options}
        self._writer: pq.ParquetWriter | None = None

    def _open(self, first: pa.Table | None) -> pq.ParquetWriter:
        if self._writer is None:
            dictionary = repeating_columns(first) if first is not None else False
            self._writer = pq.ParquetWriter(self.where, self.schema, use_dictionary=dictionary, **self.options)
        return self._writer

    def write_table(self, table: pa.Table) -> None:
        self._open(table).write_table(table)

    def close(self) -> None:
        self._open(None).close()

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
