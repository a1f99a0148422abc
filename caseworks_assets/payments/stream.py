"""Streaming emulation: replay the inputs as NDJSON micro-batches, and read one batch back.

``replay`` orders every transaction and payment by event time (transaction or
payment date; unreadable dates last) and writes them, ``batch_rows`` at a time,
as ``batch-000001.ndjson``, ... into a landing folder -- each file written under
a temporary name and renamed, so a reader never sees half a batch. Each line is
the original record plus ``"_type": "transaction" | "payment"``.

``parse_batch`` reads one landed batch line by line: lines that are not JSON
objects of a known type go to quarantine with their line number instead of
failing the batch, so one corrupt file never stops the stream.

Both read text that is not all UTF-8 as written, as every reader of the
project does (:mod:`caseworks_assets.quality.encoding`): an input file through
its repaired copy, a landed batch decoded in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from caseworks_assets.payments import reader
from caseworks_assets.payments.columns import PAYMENT_FIELDS, TRANSACTION_FIELDS
from caseworks_assets.quality.encoding import repaired_text
from caseworks_assets.resources.sql_literals import sql_string
from caseworks_assets.resources.staging import staged_path

BATCH_PREFIX = "batch-"
BATCH_SUFFIX = ".ndjson"
EVENT_TIME = {"transaction": "transaction_date", "payment": "payment_date"}
ID_FIELD = {"transaction": "transaction_id", "payment": "payment_id"}


def batch_name(sequence: int) -> str:
    return f"{BATCH_PREFIX}{sequence:06d}{BATCH_SUFFIX}"


def _timeline_sql(files: dict[str, list[Path]]) -> str:
    parts = []
    for kind, kind_files in files.items():
        if not kind_files:
            continue
        listing = "[" + ", ".join(sql_string(str(p)) for p in kind_files) + "]"
        date = f"record->>'{EVENT_TIME[kind]}'"
        parts.append(
            f"""SELECT
              try_cast({date} AS TIMESTAMP) AS event_time,
              {0 if kind == "transaction" else 1} AS kind_rank,
              record->>'{ID_FIELD[kind]}' AS record_id,
              json_merge_patch(record, json_object('_type', '{kind}'))::VARCHAR AS line
            FROM read_json({listing}, format='auto', records=false, columns={{'record': 'JSON'}})"""
        )
    return " UNION ALL ".join(parts) + " ORDER BY event_time NULLS LAST, kind_rank, record_id, line"


def _timeline(con: duckdb.DuckDBPyConnection, files: dict[str, list[Path]]) -> duckdb.DuckDBPyConnection:
    """The ordered timeline of ``files``; a file that is not all UTF-8 is read from its repaired copy.

    The sort reads every record before it gives the first, so a decoding
    error comes here, before any batch is landed, and the statement is simply
    run again with the copies standing in (each file is repaired at most once).
    """
    while True:
        sources = {kind: [reader.REPAIRED.source(p) for p in paths] for kind, paths in files.items()}
        try:
            return con.execute(_timeline_sql(sources))
        except duckdb.InvalidInputException as error:
            if not reader.not_utf8(error):
                raise
            repaired = [p for paths in files.values() for p in paths if reader.REPAIRED.repair(p, p.name) is not None]
            if not repaired:
                raise


def replay(
    data_dir: Path,
    landing: Path,
    *,
    batch_rows: int = 1000,
    interval: float = 1.0,
    on_batch: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the records of ``data_dir`` into ``landing`` as event-time-ordered NDJSON micro-batches."""
    files = {
        "transaction": reader.input_files(data_dir, "transactions"),
        "payment": reader.input_files(data_dir, "payments"),
    }
    if not any(files.values()):
        raise reader.MalformedInput(f"no transactions*/payments* JSON files in {data_dir}")
    landing.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    con = reader.connect()
    try:
        result = _timeline(con, files)
        pending: list[str] = []

        def flush() -> None:
            target = landing / batch_name(len(written) + 1)
            with staged_path(target) as staging:
                staging.write_text("\n".join(pending) + "\n")
            written.append(target)
            pending.clear()
            if on_batch is not None:
                on_batch(target)

        while rows := result.fetchmany(batch_rows):
            if written and interval > 0:
                time.sleep(interval)
            pending.extend(row[3] for row in rows)
            flush()
    except duckdb.InvalidInputException as error:
        raise reader.MalformedInput(f"malformed JSON input: {error}") from error
    finally:
        con.close()
    return written


@dataclass
class ParsedBatch:
    """One landed batch split into raw transactions, raw payments (restricted in plain) and bad lines."""

    lines: int
    transactions: pl.DataFrame
    payments: pl.DataFrame
    malformed: pl.DataFrame  # source_line, raw_record, reason


def parse_batch(path: Path, source_file: str) -> ParsedBatch:
    """Split a landed NDJSON batch into typed-as-text records per kind, line by line."""
    text = repaired_text(path.read_bytes(), source_file)
    raw_lines = text.splitlines()
    lines = pl.DataFrame(
        {"source_line": range(1, len(raw_lines) + 1), "line": raw_lines},
        schema={"source_line": pl.Int64, "line": pl.String},
    ).filter(pl.col("line").str.strip_chars() != "")
    con = duckdb.connect()
    try:
        con.register("batch_lines", lines)
        con.execute(
            """CREATE TEMP TABLE classified AS
               SELECT source_line, line,
                 CASE WHEN NOT coalesce(json_valid(line), false) THEN 'malformed_json'
                      WHEN json_type(line) <> 'OBJECT' THEN 'not_an_object'
                      WHEN coalesce(json_extract_string(line, '$._type'), '') NOT IN ('transaction', 'payment')
                        THEN 'unknown_record_type'
                      ELSE json_extract_string(line, '$._type') END AS kind
               FROM batch_lines"""
        )
        source = "(SELECT source_line, CAST(line AS JSON) AS record FROM classified WHERE kind = '{kind}')"
        keep = ("source_line",)
        transactions = con.execute(
            reader.projection_sql(TRANSACTION_FIELDS, source.format(kind="transaction"), False, keep=keep)
        ).pl()
        payments = con.execute(
            reader.projection_sql(PAYMENT_FIELDS, source.format(kind="payment"), True, keep=keep)
        ).pl()
        malformed = con.execute(
            "SELECT source_line, line AS raw_record, kind AS rule FROM classified "
            "WHERE kind NOT IN ('transaction', 'payment') ORDER BY source_line"
        ).pl()
    finally:
        con.close()

    def with_source(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.lit(source_file).alias("source_file")).select(
            "source_file", "source_line", pl.exclude("source_file", "source_line")
        )

    return ParsedBatch(
        lines=lines.height,
        transactions=with_source(transactions),
        payments=with_source(payments),
        malformed=with_source(malformed),
    )
