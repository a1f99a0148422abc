"""Streaming JSON ingestion: JSON arrays or NDJSON, one file or many, bounded memory.

DuckDB parses each file out of core (``read_json`` with every record kept as
one JSON value, so a wrong type never fails the load) and hands the fields over
in Arrow batches; each batch gets its source file and position, has its
restricted metadata sealed, and is appended to a Parquet file. No file is ever
held in Python whole, and plaintext restricted values never touch disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from caseworks_assets.governance import KeyRing
from caseworks_assets.payments.columns import (
    JSON_LITERAL_FIELDS,
    PAYMENT_FIELDS,
    RESTRICTED_COLUMN,
    RESTRICTED_FIELDS,
    TRANSACTION_FIELDS,
)
from caseworks_assets.registry import InputError

KINDS: dict[str, dict[str, str]] = {"transactions": TRANSACTION_FIELDS, "payments": PAYMENT_FIELDS}
SUFFIXES = (".json", ".ndjson", ".jsonl")
BATCH_ROWS = 100_000
DUCKDB_MEMORY_LIMIT = "512MB"


class MalformedInput(InputError):
    """An input file is not valid JSON / NDJSON; the message names the file and line."""


def input_files(data_dir: Path, kind: str) -> list[Path]:
    """``<kind>*.json|.ndjson|.jsonl`` in ``data_dir`` and any such file under ``data_dir/<kind>/``, sorted."""
    found = [p for p in data_dir.glob(f"{kind}*") if p.is_file() and p.suffix in SUFFIXES]
    folder = data_dir / kind
    if folder.is_dir():
        found += [p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    return sorted(set(found))


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _paths(fields: dict[str, str]) -> str:
    return "[" + ", ".join(sql_string(p) for p in fields.values()) + "]"


def projection_sql(
    fields: dict[str, str], source: str, restricted: bool, record: str = "record", keep: Sequence[str] = ()
) -> str:
    """SELECT of the raw text fields (plus the restricted JSON in plain) from ``source`` with a JSON ``record``.

    Each record is parsed once (``json_extract*`` with a list of paths); amount
    fields keep their JSON literal, JSON ``null`` becomes SQL NULL.
    """
    text_fields = {k: v for k, v in fields.items() if k not in JSON_LITERAL_FIELDS}
    literal_fields = {k: v for k, v in fields.items() if k in JSON_LITERAL_FIELDS}
    names = list(text_fields)
    lit_names = list(literal_fields)
    select = []
    for name in fields:
        if name in text_fields:
            select.append(f"_t[{names.index(name) + 1}] AS {name}")
        else:
            select.append(f"nullif(_j[{lit_names.index(name) + 1}]::VARCHAR, 'null') AS {name}")
    select = [*keep, *select]
    inner = [*keep, f"json_extract_string({record}, {_paths(text_fields)}) AS _t"]
    if literal_fields:
        inner.append(f"json_extract({record}, {_paths(literal_fields)}) AS _j")
    if restricted:
        inner.append(f"json_extract_string({record}, {_paths(RESTRICTED_FIELDS)}) AS _r")
        pairs = ", ".join(f"{sql_string(k)}, _r[{i + 1}]" for i, k in enumerate(RESTRICTED_FIELDS))
        all_null = " AND ".join(f"_r[{i + 1}] IS NULL" for i in range(len(RESTRICTED_FIELDS)))
        select.append(f"CASE WHEN {all_null} THEN NULL ELSE json_object({pairs})::VARCHAR END AS _restricted_plain")
    return f"SELECT {', '.join(select)} FROM (SELECT {', '.join(inner)} FROM {source})"


def raw_schema(fields: dict[str, str], restricted: bool) -> pa.Schema:
    columns = [pa.field("source_file", pa.string()), pa.field("source_line", pa.int64())]
    columns += [pa.field(name, pa.string()) for name in fields]
    if restricted:
        columns.append(pa.field(RESTRICTED_COLUMN, pa.string()))
    return pa.schema(columns)


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")  # positions follow the file
    return con


@dataclass
class IngestStats:
    """Records read per source file."""

    per_file: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.per_file.values())


def to_raw_batch(
    batch: pa.RecordBatch, schema: pa.Schema, source_file: str, first_line: int, ring: KeyRing | None
) -> pa.RecordBatch:
    """Add source file/position and seal the restricted JSON; the plaintext column is dropped here."""
    n = batch.num_rows
    columns: dict[str, pa.Array] = {
        "source_file": pa.array([source_file] * n, pa.string()),
        "source_line": pa.array(range(first_line, first_line + n), pa.int64()),
    }
    for name in schema.names[2:]:
        if name == RESTRICTED_COLUMN:
            plain = batch.column("_restricted_plain").to_pylist()
            assert ring is not None, "restricted fields need a key ring"
            columns[name] = pa.array(ring.encrypt_values(plain), pa.string())
        else:
            columns[name] = batch.column(name).cast(pa.string())
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def read_json_file(
    con: duckdb.DuckDBPyConnection, path: Path, fields: dict[str, str], restricted: bool, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the raw fields of one JSON array / NDJSON file, in file order."""
    source = f"read_json({sql_string(str(path))}, format='auto', records=false, columns={{'record': 'JSON'}})"
    try:
        reader = con.execute(projection_sql(fields, source, restricted)).to_arrow_reader(batch_rows)
        yield from reader
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException) as error:
        message = str(error).replace(str(path.parent) + "/", "").strip()
        line = first_bad_ndjson_line(path)
        where = f"line {line}: " if line else ""
        raise MalformedInput(f"{path.name}: {where}malformed JSON input ({message})") from error


def first_bad_ndjson_line(path: Path) -> int | None:
    """For NDJSON, the first line that is not a JSON value (streamed; only on the error path)."""
    with path.open("rb") as handle:
        head = handle.read(64).lstrip()
        if head.startswith(b"["):
            return None  # a JSON array: DuckDB's byte/line position is the best available
        handle.seek(0)
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    return number
    return None


def ingest(
    files: Sequence[Path],
    base_dir: Path,
    kind: str,
    sink: BinaryIO,
    ring: KeyRing | None = None,
    batch_rows: int = BATCH_ROWS,
) -> IngestStats:
    """Stream every record of ``files`` into one raw Parquet written to ``sink``."""
    fields = KINDS[kind]
    restricted = kind == "payments"
    schema = raw_schema(fields, restricted)
    stats = IngestStats()
    con = connect()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for path in files:
            name = path.relative_to(base_dir).as_posix() if path.is_relative_to(base_dir) else path.name
            line = 1
            for batch in read_json_file(con, path, fields, restricted, batch_rows):
                writer.write_batch(to_raw_batch(batch, schema, name, line, ring))
                line += batch.num_rows
            stats.per_file[name] = line - 1
    finally:
        writer.close()
        con.close()
    return stats
