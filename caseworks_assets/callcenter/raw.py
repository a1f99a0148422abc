"""Reading a source table as text and repairing it into its contract's types (no Dagster).

Every value is read as text first, so a number written ``5.0`` or `` 5 `` in a
CSV, or an integer column a Parquet export typed as float, gets the same
lossless repair; what is still unreadable follows the column's contract
(:mod:`~caseworks_assets.callcenter.columns`). Duplicates are kept: the model
decides which row of a call wins, and the answers on the sources do the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl
import polars.selectors as cs

from caseworks_assets.callcenter.columns import CONTRACTS, TABLES, Contract
from caseworks_assets.quality import (
    Action,
    QualityResult,
    Rule,
    apply_rules,
    null_if_blank,
    parse_datetime,
    parse_number,
)
from caseworks_assets.quality.csv_input import has_a_value, read_csv, with_expected_names
from caseworks_assets.quality.repairs import SQL_NULLS
from caseworks_assets.registry import InputError

DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
#: Timestamps exported with an offset (``2024-01-05 08:00:00-03``, ``...T11:00:00Z``) are read as local wall time.
OFFSET_FORMATS = ("%Y-%m-%d %H:%M:%S%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%dT%H:%M:%S%.f%#z")
LOCAL_TIME_ZONE = "America/Sao_Paulo"
TRUE_WORDS = ("true", "t", "1", "yes", "y", "sim", "s")
FALSE_WORDS = ("false", "f", "0", "no", "n", "nao", "não")


def source_file(data_dir: Path, table: str) -> Path:
    """``<table>.csv`` or ``<table>.parquet`` in ``data_dir``; :class:`InputError` if neither is there."""
    for suffix in (".parquet", ".csv"):
        path = Path(data_dir) / f"{table}{suffix}"
        if path.exists():
            return path
    raise InputError(f"{Path(data_dir) / table}.csv: missing (expected {table}.csv or {table}.parquet)")


def validate_inputs(data_dir: Path) -> None:
    """Every table is there and its header names the contract's columns."""
    if not Path(data_dir).is_dir():
        raise InputError(f"{data_dir}: not a folder")
    for table in TABLES:
        path = source_file(data_dir, table)
        found = set(read_text(path, rows=0, expected=[c.name for c in CONTRACTS[table]]).columns)
        missing = [c.name for c in CONTRACTS[table] if c.name not in found]
        if missing:
            raise InputError(f"{path}: line 1: missing column(s) {', '.join(missing)}")


def read_text(path: Path, rows: int | None = None, expected: Sequence[str] = ()) -> pl.DataFrame:
    """The file with every column as text (Parquet values cast to text).

    A CSV is read with the separator that names the ``expected`` columns (``,``,
    ``;``, tab, ``|``) and, when it is not all UTF-8, through a repaired copy (the
    bytes that are not UTF-8 as Windows-1252: ``Saída``); see
    :mod:`caseworks_assets.quality.csv_input`.
    """
    try:
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path, n_rows=rows)
            frame = with_expected_names(frame, expected)
            # a float NaN is how pandas writes a null into a number column (an integer column with nulls included)
            return frame.with_columns(cs.float().fill_nan(None)).with_columns(pl.all().cast(pl.String))
        return read_csv(path, expected, infer_schema=False, n_rows=rows)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as error:
        raise InputError(f"{path}: cannot be read: {error}") from error


def _integer(expr: pl.Expr) -> pl.Expr:
    number = parse_number(null_if_blank()(expr))
    return pl.when(number == number.floor()).then(number).cast(pl.Int64, strict=False)


def _seconds(expr: pl.Expr) -> pl.Expr:
    """Seconds as a number (``125``, ``125.0``, ``R$``-free) or as a time of day ``HH:MM:SS`` (an interval)."""
    text = null_if_blank()(expr)
    parts = text.str.extract_groups(r"^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
    clock = (
        parts.struct.field("1").cast(pl.Float64) * 3600
        + parts.struct.field("2").cast(pl.Float64) * 60
        + parts.struct.field("3").cast(pl.Float64)
    )
    return pl.coalesce(clock, parse_number(text))


def local_datetime(expr: pl.Expr) -> pl.Expr:
    """Wall time as the call center saw it: naive forms as they are, offset forms converted to local time.

    Values in the export's own form (the first of :data:`DATETIME_FORMATS`, exactly) are read by one plain
    cast; only the others reach the parsers of every form, which cost about 30 times as much per value
    (the CLI reads the days of every call with this before a run).
    """
    plain = expr.str.strptime(pl.Datetime("us"), DATETIME_FORMATS[0], strict=False)
    text = pl.when(plain.is_null()).then(null_if_blank()(expr))
    naive = parse_datetime(DATETIME_FORMATS)(text)
    shifted = parse_datetime(OFFSET_FORMATS, time_zone=LOCAL_TIME_ZONE, iso=False)(text).dt.replace_time_zone(None)
    return pl.coalesce(plain, shifted, naive)


def _boolean(expr: pl.Expr) -> pl.Expr:
    text = null_if_blank()(expr).str.to_lowercase()
    return pl.when(text.is_in(TRUE_WORDS)).then(True).when(text.is_in(FALSE_WORDS)).then(False)


def _text(expr: pl.Expr) -> pl.Expr:
    return null_if_blank(("",))(expr)


REPAIRS = {
    "Int64": _integer,
    "Float64": lambda expr: parse_number(null_if_blank()(expr)),
    "Boolean": _boolean,
    "Datetime": local_datetime,
    "Seconds": _seconds,
    "String": _text,
}


def rules(table: str) -> list[Rule]:
    """One rule per column: repair to the type, then quarantine or null what is still unreadable."""
    return [_rule(contract) for contract in CONTRACTS[table]]


def _rule(contract: Contract) -> Rule:
    return Rule(
        name=f"{contract.name}_{contract.dtype.lower()}",
        column=contract.name,
        repair=REPAIRS[contract.dtype],
        action=Action.QUARANTINE if contract.on_defect == "quarantine" else Action.WARN,
        required=contract.required,
        reason=f"{contract.name} is not a readable {contract.dtype}" + (" or is missing" if contract.required else ""),
    )


def _clean_cast(values: pl.Series, dtype: str) -> pl.Series | None:
    """``values`` (text) in ``dtype`` when every value reads as it is, without any repair; else None.

    The fast path of a column: a plain cast costs a fraction of the repairs
    (number and date parsers, trimming), which then run only on columns
    holding something to repair.
    """
    if dtype == "String":
        untouched = not (values.str.strip_chars() != values).any() and not values.is_in(["", *SQL_NULLS]).any()
        return values if untouched else None
    if dtype == "Int64":
        typed = values.cast(pl.Int64, strict=False)
    elif dtype in ("Float64", "Seconds"):
        typed = values.cast(pl.Float64, strict=False)
        if (typed.is_nan() | typed.is_infinite()).any():  # "nan"/"inf" are no amounts: the repair rejects them
            return None
    elif dtype == "Datetime":
        typed = values.str.strptime(pl.Datetime("us"), DATETIME_FORMATS[0], strict=False)
    else:
        lowered = values.str.to_lowercase()
        typed = pl.select(pl.when(lowered == "true").then(True).when(lowered == "false").then(False)).to_series()
    return typed.alias(values.name) if typed.null_count() == values.null_count() else None


def load_table(data_dir: Path, table: str) -> QualityResult:
    """The table repaired into its types (``source_line`` first) and what was quarantined."""
    wanted = [contract.name for contract in CONTRACTS[table]]
    frame = read_text(source_file(data_dir, table), expected=wanted)
    # extra columns of an export are not part of the contract; the row's position is kept for "latest wins"
    frame = (
        frame.select(wanted)
        .with_row_index("source_line", offset=1)
        .with_columns(pl.col("source_line").cast(pl.Int64))
        .filter(has_a_value(wanted))
    )
    to_repair, clean = [], []
    for contract in CONTRACTS[table]:
        typed = _clean_cast(frame[contract.name], contract.dtype)
        if typed is None:
            to_repair.append(_rule(contract))
        else:
            clean.append(typed)
            if contract.required:  # read as it is, but a missing key still quarantines its row
                to_repair.append(replace(_rule(contract), repair=None))
    typed = frame.with_columns(clean)
    # what is still text is read losslessly first: trimmed, blank and the export's NULL / \N placeholders as null
    text = [name for name in wanted if typed.schema[name] == pl.String]
    result = apply_rules(typed, to_repair, text_columns=text, null_placeholders=SQL_NULLS)
    result.counts.update({_rule(c).name: 0 for c in CONTRACTS[table] if _rule(c).name not in result.counts})
    return result
