"""Streaming JSON ingestion: JSON arrays or NDJSON, one file or many, bounded memory.

DuckDB parses each file out of core and hands the fields over in Arrow
batches with their source file and position already attached (see
:class:`Projection`: :func:`typed_projection_sql`, and
:func:`robust_projection_sql` for files holding records that are not
objects), and each batch is appended to a
Parquet file whose restricted column the writer encrypts (Parquet modular
encryption, :mod:`~caseworks_assets.governance.lake_encryption`). No file is
ever held in Python whole, and plaintext restricted values never touch disk.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from caseworks_assets.governance import KeyRing
from caseworks_assets.governance.lake_encryption import sealed_writer
from caseworks_assets.payments.columns import (
    JSON_LITERAL_FIELDS,
    PAYMENT_FIELDS,
    RESTRICTED_COLUMN,
    RESTRICTED_FIELDS,
    TRANSACTION_FIELDS,
)
from caseworks_assets.quality.encoding import RepairedCopies
from caseworks_assets.registry import InputError
from caseworks_assets.resources.parquet_sink import ParquetSink
from caseworks_assets.resources.sql_literals import sql_string

KINDS: dict[str, dict[str, str]] = {"transactions": TRANSACTION_FIELDS, "payments": PAYMENT_FIELDS}
SUFFIXES = (".json", ".ndjson", ".jsonl")
BATCH_ROWS = 200_000
DUCKDB_MEMORY_LIMIT = "512MB"
READ_THREADS = 1


class MalformedInput(InputError):
    """An input file is not valid JSON / NDJSON; the message names the file and line."""


def input_files(data_dir: Path, kind: str) -> list[Path]:
    """``<kind>*.json|.ndjson|.jsonl`` in ``data_dir`` and any such file under ``data_dir/<kind>/``, sorted."""
    found = [p for p in data_dir.glob(f"{kind}*") if p.is_file() and p.suffix in SUFFIXES]
    folder = data_dir / kind
    if folder.is_dir():
        found += [p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    return sorted(set(found))


def _paths(fields: dict[str, str]) -> str:
    return "[" + ", ".join(sql_string(p) for p in fields.values()) + "]"


def _restricted_plain_sql() -> str:
    """The restricted fields, extracted once into the list ``_r``, as one JSON object (NULL if all are null).

    The object is spelled out around each value's ``to_json``: the same text
    as ``json_object`` (the same escaping; equal on every record of the 2.38M
    benchmark payments), at a quarter of its cost (0.25 s less per 2.38M).
    """
    members = ", ',', ".join(
        f"{sql_string(json.dumps(k) + ':')}, coalesce(to_json(_r[{i + 1}])::VARCHAR, 'null')"
        for i, k in enumerate(RESTRICTED_FIELDS)
    )
    all_null = " AND ".join(f"_r[{i + 1}] IS NULL" for i in range(len(RESTRICTED_FIELDS)))
    return f"CASE WHEN {all_null} THEN NULL ELSE concat('{{', {members}, '}}') END AS _restricted_plain"


RESTRICTED_PLAIN_SQL = _restricted_plain_sql()


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
        select.append(RESTRICTED_PLAIN_SQL)
    return f"SELECT {', '.join(select)} FROM (SELECT {', '.join(inner)} FROM {source})"


def raw_schema(fields: dict[str, str], restricted: bool) -> pa.Schema:
    columns = [pa.field("source_file", pa.string()), pa.field("source_line", pa.int64())]
    columns += [pa.field(name, pa.string()) for name in fields]
    if restricted:
        columns.append(pa.field(RESTRICTED_COLUMN, pa.string()))
    return pa.schema(columns)


def _split(path: str) -> tuple[str, str | None]:
    """``$.a`` -> (``a``, None); ``$.a.b`` -> (``a``, ``$.b``): the top-level key and the path inside it."""
    top, _, rest = path.removeprefix("$.").partition(".")
    return top, f"$.{rest}" if rest else None


class Projection(IntEnum):
    """How a file's records are read, fastest first; each reads what the one before could not."""

    STRUCTS = 0  #: top-level keys typed, nested objects read as typed structs (each must be an object or null)
    OBJECTS = 1  #: top-level keys typed, nested objects kept as JSON (each record must be an object)
    RECORDS = 2  #: every record read as one JSON value, whatever it is (slowest, never fails)


def _nested_type(name: str) -> str:
    return "JSON" if name in JSON_LITERAL_FIELDS else "VARCHAR"


def file_head(path: Path, size: int = 64) -> bytes:
    """The first ``size`` bytes of ``path`` from its first JSON character: a UTF-8 byte order mark and blanks skipped.

    Spreadsheet tools and Windows editors start UTF-8 files with a byte order
    mark; DuckDB reads such a file, so the checks of what a file holds look
    past it too.
    """
    with path.open("rb") as handle:
        return handle.read(size).removeprefix(codecs.BOM_UTF8).lstrip()


def json_format(path: Path) -> str:
    """DuckDB's ``format`` for ``path``: ``array`` for a document that starts with ``[``, else ``auto``.

    Named, an array is read without DuckDB's detection: the 2.4M payments of
    the 2M-row benchmark took 4.1 s of CPU on one thread instead of 5.7 s with
    ``auto``. NDJSON reads as fast under ``auto`` (3.1 s), which also keeps
    reading pretty-printed objects one after another.
    """
    return "array" if file_head(path).startswith(b"[") else "auto"


def typed_projection_sql(
    fields: dict[str, str], path: Path, source_file: str, restricted: bool, structs: bool = True
) -> str:
    """The fast raw projection of one file: ``read_json`` with every top-level key typed up front.

    Top-level text fields are read as VARCHAR (a number arrives as its text)
    and amount-like fields as JSON, so no value can fail a cast and the result
    equals :func:`projection_sql`'s. A nested object is read as a STRUCT of
    the fields wanted from it (``structs``, :attr:`Projection.STRUCTS`), or
    else as JSON that each field is extracted from. The parse happens once, in
    DuckDB's typed reader, instead of per field on a JSON text per record.
    Positions come from ``row_number() OVER ()``, which follows the file with
    insertion order preserved. A record that is not a JSON object (or, with
    ``structs``, a nested value that is not one) makes DuckDB raise; the
    caller then reads the file with the next :class:`Projection`.
    """
    wanted = {**fields, **(RESTRICTED_FIELDS if restricted else {})}
    members: dict[str, dict[str, str] | None] = {}  # top-level key -> its struct members (None: JSON)
    types: dict[str, str] = {}
    direct = {top for top, inner in map(_split, wanted.values()) if inner is None}  # wanted whole: not a struct
    for name, field_path in wanted.items():
        top, inner = _split(field_path)
        if inner is None:
            types[top] = "JSON" if name in JSON_LITERAL_FIELDS else "VARCHAR"
            continue
        member = inner.removeprefix("$.")
        simple = structs and member.isidentifier() and top not in direct and members.get(top, {}) is not None
        members[top] = {**(members.get(top) or {}), member: _nested_type(name)} if simple else None
    for top, struct in members.items():
        fields_sql = ", ".join(f'"{m}" {kind}' for m, kind in (struct or {}).items())
        types[top] = f"STRUCT({fields_sql})" if struct else "JSON"

    def value(name: str) -> str:
        top, inner = _split(wanted[name])
        column = f'"{top}"'
        if inner is not None and members.get(top):
            column = f'{column}."{inner.removeprefix("$.")}"'
            inner = None
        if inner is None:
            return f"nullif({column}::VARCHAR, 'null')" if name in JSON_LITERAL_FIELDS else column
        if name in JSON_LITERAL_FIELDS:
            return f"nullif(json_extract({column}, {sql_string(inner)})::VARCHAR, 'null')"
        return f"json_extract_string({column}, {sql_string(inner)})"

    select = [f"{sql_string(source_file)} AS source_file", "row_number() OVER () AS source_line"]
    select += [f"{value(name)} AS {name}" for name in fields]
    columns = "{" + ", ".join(f"{sql_string(top)}: {sql_string(kind)}" for top, kind in types.items()) + "}"
    source = f"read_json({sql_string(str(path))}, format={sql_string(json_format(path))}, columns={columns})"
    if not restricted:
        return f"SELECT {', '.join(select)} FROM {source}"
    # the restricted fields into one list (from JSON, in one extraction), then one JSON object built from it
    tops = {_split(p)[0] for p in RESTRICTED_FIELDS.values()}
    top = next(iter(tops))
    if len(tops) == 1 and types.get(top) == "JSON":
        inner_paths = ", ".join(sql_string(_split(p)[1] or "$") for p in RESTRICTED_FIELDS.values())
        select.append(f'json_extract_string("{top}", [{inner_paths}]) AS _r')
    else:
        select.append(f"[{', '.join(value(name) for name in RESTRICTED_FIELDS)}] AS _r")
    return f"SELECT * EXCLUDE (_r), {RESTRICTED_PLAIN_SQL} FROM (SELECT {', '.join(select)} FROM {source})"


def robust_projection_sql(fields: dict[str, str], path: Path, source_file: str, restricted: bool) -> str:
    """The fallback raw projection: every record read as one JSON value, whatever it is (slower, never fails)."""
    fmt = sql_string(json_format(path))
    source = f"read_json({sql_string(str(path))}, format={fmt}, records=false, columns={{'record': 'JSON'}})"
    positioned = f"(SELECT row_number() OVER () AS source_line, record FROM {source})"
    projected = projection_sql(fields, positioned, restricted, keep=("source_line",))
    return f"SELECT {sql_string(source_file)} AS source_file, * FROM ({projected})"


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A memory-capped DuckDB connection that keeps insertion order; ``threads`` caps its worker threads."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")  # positions follow the file
    return con


class NotAnObject(InputError):
    """A file holds a record (or nested value) that is not a JSON object: the projection cannot read it."""


class ReadAgain(InputError):
    """A file was not all UTF-8 and now has a repaired copy (:data:`REPAIRED`): start the pass again.

    JSON is UTF-8 by definition (RFC 8259), but an export written on Windows
    may hold Windows-1252 text (``José``): those bytes are read as that, as in
    every case's CSV inputs (:mod:`caseworks_assets.quality.encoding`).
    """


#: Repaired UTF-8 copies of input files that were not all UTF-8, read in their place (named as the original).
REPAIRED = RepairedCopies()


def not_utf8(error: Exception) -> bool:
    """Whether DuckDB failed reading JSON on bytes that are not UTF-8 (a repaired copy can be read instead)."""
    return "UTF-8" in str(error)


@dataclass
class IngestStats:
    """Records read per source file."""

    per_file: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.per_file.values())


def to_raw_table(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """A projected batch in the raw schema (the restricted JSON, still plain here, is encrypted by the writer)."""
    table = pa.Table.from_batches([batch])
    if "_restricted_plain" in table.column_names:
        table = table.rename_columns([RESTRICTED_COLUMN if n == "_restricted_plain" else n for n in table.column_names])
    return table.cast(schema)


def read_json_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source_file: str,
    fields: dict[str, str],
    restricted: bool,
    batch_rows: int = BATCH_ROWS,
    projection: Projection = Projection.STRUCTS,
) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the raw fields (with source file and position) of one JSON array / NDJSON file, in order."""
    if projection is Projection.RECORDS:
        sql = robust_projection_sql(fields, path, source_file, restricted)
    else:
        sql = typed_projection_sql(fields, path, source_file, restricted, structs=projection is Projection.STRUCTS)
    try:
        yield from con.execute(sql).to_arrow_reader(batch_rows)
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException) as error:
        message = str(error).replace(str(path), source_file).replace(str(path.parent) + "/", "").strip()
        if projection is not Projection.RECORDS and "Expected OBJECT" in message:
            what = "a record or nested value" if projection is Projection.STRUCTS else "a record"
            raise NotAnObject(f"{source_file}: {what} is not a JSON object ({message.splitlines()[0]})") from error
        raise MalformedInput(malformed_message(path, source_file, message)) from error


#: DuckDB's position of a JSON syntax error ("at byte 16 in line 7: <reason>"): its line is not the file's
#: (one off for NDJSON, a record index for arrays), so only the reason is kept.
_DUCKDB_POSITION = re.compile(r"at byte \d+ in (?:line|record/value) \d+: (?P<reason>.*)$", re.DOTALL)
#: Largest JSON array parsed again in Python, on the error path only, to find its bad line.
EXACT_LINE_BYTES = 256 * 1024 * 1024


def malformed_message(path: Path, source_file: str, duckdb_message: str) -> str:
    """``<file>: line <n>: not valid JSON: <reason>``, the line being the file's physical line."""
    found = _DUCKDB_POSITION.search(duckdb_message)
    reason = found["reason"].strip().rstrip(".") if found else duckdb_message.splitlines()[0]
    line = first_bad_line(path)
    where = f"line {line}: " if line else ""
    return f"{source_file}: {where}not valid JSON: {reason}"


def first_bad_line(path: Path) -> int | None:
    """The physical line of the first JSON syntax error of ``path`` (only called on the error path).

    NDJSON is checked line by line (streamed). A JSON array is parsed whole by
    Python's parser, which reports the exact line, if it is small enough
    (:data:`EXACT_LINE_BYTES`); otherwise the position is unknown.
    """
    if file_head(path).startswith(b"["):
        if path.stat().st_size > EXACT_LINE_BYTES:
            return None
        try:
            json.loads(path.read_bytes())
        except json.JSONDecodeError as error:
            return error.lineno
        except ValueError:
            return None
        return None
    return first_bad_ndjson_line(path)


def first_bad_ndjson_line(path: Path) -> int | None:
    """For NDJSON, the first line that is not a JSON value (streamed; only on the error path)."""
    if file_head(path).startswith(b"["):
        return None  # a JSON array: see first_bad_line
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    return number
    return None


#: A document whose top level is an object holding an array, as ``{"transactions": [`` starts.
_WRAPPED = re.compile(rb'^\s*\{\s*"(?P<key>[^"]{1,200})"\s*:\s*\[')


def check_top_level(path: Path, source_file: str, fields: dict[str, str]) -> None:
    """Refuse a JSON document whose top level is an object wrapping the records (``{"transactions": [...]}``).

    Read as NDJSON it would be one record with none of the expected fields, so
    every record in it would be lost. Only the file's first 4 KiB are read.
    """
    found = _WRAPPED.match(file_head(path, 4096))
    top_keys = {p.removeprefix("$.").split(".")[0] for p in fields.values()}
    if found and found["key"].decode(errors="replace") not in top_keys:
        key = found["key"].decode(errors="replace")
        raise MalformedInput(
            f"{source_file}: line 1: the top level is a JSON object ({{{key!r}: [...]}}); expected a JSON array "
            f"of records or NDJSON (one object per line): write the array under {key!r} on its own"
        )


def raw_batches(
    files: Sequence[Path],
    base_dir: Path,
    kind: str,
    stats: IngestStats,
    batch_rows: int = BATCH_ROWS,
    projection: Projection = Projection.STRUCTS,
) -> Iterator[pa.Table]:
    """Every record of ``files`` in the raw schema, batch by batch in file order; counts go to ``stats``.

    The restricted JSON of payments is still plain here: whoever writes a
    batch to disk encrypts it (:func:`raw_writer`). Raises
    :class:`NotAnObject` when ``projection`` meets a value it cannot read as
    an object; start again with the next :class:`Projection` then. Raises
    :class:`ReadAgain` when a file turns out not to be all UTF-8: start again,
    and its repaired copy is read in its place.
    """
    fields = KINDS[kind]
    schema = raw_schema(fields, kind == "payments")
    # One parsing thread: the batches are consumed in order by one loop whose rules and Parquet writes keep
    # the other core busy, and more DuckDB threads only contend with them (measured at 6.5M payments:
    # about 15 CPU-s and 4 s of wall time more with DuckDB's default of one thread per core).
    con = connect(threads=READ_THREADS)
    try:
        for path in files:
            name = path.relative_to(base_dir).as_posix() if path.is_relative_to(base_dir) else path.name
            stats.per_file[name] = 0
            check_top_level(path, name, fields)
            source = REPAIRED.source(path)
            try:
                for batch in read_json_file(con, source, name, fields, kind == "payments", batch_rows, projection):
                    stats.per_file[name] += batch.num_rows
                    yield to_raw_table(batch, schema)
            except MalformedInput as error:
                if not not_utf8(error) or REPAIRED.repair(path, name) is None:
                    raise
                copy = "a copy with those bytes read as Windows-1252 stands in"
                raise ReadAgain(f"{name}: not all UTF-8 ({copy})") from error
    finally:
        con.close()


def raw_writer(sink: BinaryIO, kind: str, ring: KeyRing | None = None) -> ParquetSink:
    """The raw Parquet writer of ``kind``; for payments it encrypts the restricted column as it writes."""
    restricted = kind == "payments"
    schema = raw_schema(KINDS[kind], restricted)
    if not restricted:
        return ParquetSink(sink, schema)
    assert ring is not None, "restricted fields need a key ring"
    return sealed_writer(sink, schema, ring, [RESTRICTED_COLUMN])
