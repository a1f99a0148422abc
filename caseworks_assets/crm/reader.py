"""Reading the export: every file of a table, every column as text, the header found under any title rows.

The original system's export comes as CSV or .xlsx, sometimes with title rows
("CRM export", a date) above the header and in either header variant. A file's
header is the first of its first :data:`HEADER_SEARCH_ROWS` rows whose
normalised cells hold every canonical column of the table; rows above it are
titles, not records. Nothing is cast here: the clean rules cast and validate.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from caseworks_assets.crm.columns import (
    FILE_PREFIXES,
    HEADERS,
    SOURCE_FILE,
    SOURCE_ROW,
    canonical_columns,
)
from caseworks_assets.quality.csv_input import header_key
from caseworks_assets.quality.encoding import repaired_text
from caseworks_assets.registry import InputError

HEADER_SEARCH_ROWS = 20
SUFFIXES = (".csv", ".xlsx")
SEPARATORS = (",", ";", "\t")


def input_files(data_dir: Path, table: str) -> list[Path]:
    """The table's files in ``data_dir``: names starting with its prefix, CSV or .xlsx, sorted."""
    prefix = FILE_PREFIXES[table]
    return sorted(
        path
        for path in data_dir.iterdir()
        if path.is_file()
        and path.suffix.lower() in SUFFIXES
        and path.name.lower().startswith(prefix)
        and not path.name.startswith(("~$", "."))
    )


def header_mapping(table: str, cells: list[object]) -> dict[int, str] | None:
    """Position -> canonical column when ``cells`` are a header of ``table`` (every column present), else None."""
    variants = HEADERS[table]
    found: dict[int, str] = {}
    for position, cell in enumerate(cells):
        column = variants.get(header_key(cell))
        if column is not None and column not in found.values():
            found[position] = column
    return found if set(found.values()) == set(canonical_columns(table)) else None


def _expected(table: str) -> str:
    return " / ".join(sorted(HEADERS[table]))


def _text_source(path: Path) -> tuple[Path | io.BytesIO, str]:
    """The file as polars should read it, and its first lines: UTF-8 as is, else repaired into UTF-8.

    Spreadsheet exports on Windows are often Windows-1252 (``Engenheiro Elétrico``):
    the bytes that are not UTF-8 are read as that (:mod:`caseworks_assets.quality.encoding`),
    never replaced by a replacement character.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
        source: Path | io.BytesIO = path
    except UnicodeDecodeError:
        text = repaired_text(data, str(path))
        source = io.BytesIO(text.encode("utf-8"))
    end = -1
    for _ in range(HEADER_SEARCH_ROWS):  # only the head is split into lines, not a million rows
        end = text.find("\n", end + 1)
        if end < 0:
            break
    head = text if end < 0 else text[:end]
    return source, "\n".join(head.splitlines()[:HEADER_SEARCH_ROWS])


def _csv_header(path: Path, table: str, head: str) -> tuple[int, dict[int, str], str]:
    """(lines above the header, header mapping, separator) of a CSV file: ``,``, ``;`` or tab."""
    for separator in SEPARATORS:
        for line, cells in enumerate(csv.reader(io.StringIO(head), delimiter=separator)):
            mapping = header_mapping(table, cells)
            if mapping is not None:
                return line, mapping, separator
    raise InputError(f"{path}: no {table} header (columns {_expected(table)}) in its first {HEADER_SEARCH_ROWS} rows")


def _finish(frame: pl.DataFrame, mapping: dict[int, str], table: str, path: Path) -> pl.DataFrame:
    """Canonical text columns in declaration order, with the source file and row number."""
    names = frame.columns
    renamed = frame.select(
        pl.col(names[position]).cast(pl.String).alias(column) for position, column in mapping.items()
    )
    return renamed.select(
        *canonical_columns(table),
        pl.lit(path.name).alias(SOURCE_FILE),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
    )


def _overlong_line(source: Path | io.BytesIO, separator: str, above: int) -> int | None:
    """The file line of the first record with a non-empty value beyond its header's columns, else None.

    Read with Python's CSV reader, only after polars refused the file: a value
    past the header is a separator inside an unquoted field (``Engineer, Senior``)
    that shifts every value after it, while empty ones are trailing separators.
    """
    data = source.getvalue() if isinstance(source, io.BytesIO) else source.read_bytes()
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=separator)
    width = 0
    for number, cells in enumerate(rows, start=1):
        if number == above + 1:
            width = len(cells)
        elif number > above + 1 and any(cell.strip() for cell in cells[width:]):
            return number
    return None


def read_csv(path: Path, table: str) -> pl.DataFrame:
    """A CSV export's rows as text under its header; a record with more values than the header is an error.

    Trailing empty fields (``a,b,c,``) are dropped. A value beyond the header's
    columns means a separator inside an unquoted field, which shifts the values
    after it into the wrong columns: the file is refused naming that line, rather
    than loaded wrong.
    """
    source, head = _text_source(path)
    above, mapping, separator = _csv_header(path, table, head)
    options = {"separator": separator, "skip_rows": above, "infer_schema": False, "has_header": True}
    try:
        frame = pl.read_csv(source, **options)
    except pl.exceptions.ComputeError as error:
        line = _overlong_line(source, separator, above)
        if line is not None:
            raise InputError(
                f"{path}, line {line}: more values than the header has columns (a separator inside an unquoted "
                f"field?): quote that field"
            ) from error
        if isinstance(source, io.BytesIO):
            source.seek(0)  # polars read it to the end
        try:
            frame = pl.read_csv(source, **options, truncate_ragged_lines=True)  # only empty trailing fields
        except pl.exceptions.PolarsError as again:
            raise InputError(f"{path}: cannot read as CSV: {again}") from again
    except pl.exceptions.PolarsError as error:
        raise InputError(f"{path}: cannot read as CSV: {error}") from error
    return _finish(frame, mapping, table, path)


def read_xlsx(path: Path, table: str) -> pl.DataFrame:
    """The first sheet through calamine, every cell as text; rows above the header dropped."""
    try:
        sheet = pl.read_excel(
            path, engine="calamine", has_header=False, read_options={"dtypes": "string"}, raise_if_empty=False
        )
    except Exception as error:  # fastexcel raises its own error types for broken workbooks
        raise InputError(f"{path}: cannot read as .xlsx: {error}") from error
    for position, cells in enumerate(sheet.head(HEADER_SEARCH_ROWS).iter_rows()):
        mapping = header_mapping(table, list(cells))
        if mapping is not None:
            return _finish(sheet.slice(position + 1), mapping, table, path)
    raise InputError(f"{path}: no {table} header (columns {_expected(table)}) in its first {HEADER_SEARCH_ROWS} rows")


def read_file(path: Path, table: str) -> pl.DataFrame:
    return read_xlsx(path, table) if path.suffix.lower() == ".xlsx" else read_csv(path, table)


def read_table(data_dir: Path, table: str) -> pl.DataFrame:
    """Every file of ``table`` in ``data_dir``, concatenated in file order (text columns + source)."""
    files = input_files(data_dir, table)
    if not files:
        raise InputError(f"{data_dir}: no {FILE_PREFIXES[table]}*.csv or .xlsx file for {table}")
    return pl.concat([read_file(path, table) for path in files], how="vertical")


def validate_inputs(data_dir: Path) -> None:
    """Raise :class:`InputError` unless every table has files whose header can be found."""
    if not data_dir.is_dir():
        raise InputError(f"crm input folder not found: {data_dir}")
    for table in HEADERS:
        files = input_files(data_dir, table)
        if not files:
            raise InputError(f"{data_dir}: no {FILE_PREFIXES[table]}*.csv or .xlsx file for {table}")
        for path in files:
            if path.suffix.lower() == ".csv":
                _csv_header(path, table, _text_source(path)[1])
