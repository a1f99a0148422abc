"""The support case's input folder: which files exist, which months they bring, and their headers.

Layout (see the product specification)::

    initial/{agents,contact_centers,service_categories,interactions}.csv
    delta/<table>_delta_<YYYYMM>.csv      # same columns plus ``action``

The initial extract is the state at the end of its own month, the month before
the earliest delta; each delta brings the next month. Everything here fails
fast with :class:`~caseworks_assets.registry.InputError` naming the file (and
line), because a misnamed or malformed file must stop a run before any month
is applied, not halfway through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import polars as pl

from caseworks_assets.quality.csv_input import (
    expected_names,
    has_a_value,
    header_separator,
    read_header,
    warn_unread_columns,
)
from caseworks_assets.quality.encoding import RepairedCopies
from caseworks_assets.registry import InputError

CASE = "support"
EASTERN = "America/New_York"
#: A frame in memory or a lazy one (a scan of the lake): helpers that only add columns take either.
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)
ACTIONS = ("add", "update", "delete")
SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"


@dataclass(frozen=True)
class TableSpec:
    """One source table: its key, its columns and how its values are typed."""

    name: str
    key: str
    columns: tuple[str, ...]
    timestamps: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    @property
    def delta_columns(self) -> tuple[str, ...]:
        return (*self.columns, "action")


AGENTS = TableSpec(
    "agents",
    key="agent_id",
    columns=("agent_id", "full_name", "contact_center_id", "hire_date", "category_id"),
)
CONTACT_CENTERS = TableSpec(
    "contact_centers",
    key="contact_center_id",
    columns=("contact_center_id", "contact_center_name", "location"),
)
SERVICE_CATEGORIES = TableSpec(
    "service_categories",
    key="category_id",
    columns=("category_id", "category_name", "department"),
)
INTERACTIONS = TableSpec(
    "interactions",
    key="interaction_id",
    columns=(
        "interaction_id",
        "timestamp",
        "channel",
        "category_id",
        "agent_id",
        "contact_center_id",
        "interaction_start",
        "agent_resolution_timestamp",
        "interaction_end",
        "call_duration_minutes",
        "satisfaction_rating",
    ),
    timestamps=("timestamp", "interaction_start", "agent_resolution_timestamp", "interaction_end"),
    required=("interaction_start",),
)
TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (AGENTS, CONTACT_CENTERS, SERVICE_CATEGORIES, INTERACTIONS)}

_DELTA_NAME = re.compile(r"^(?P<table>[a-z_]+?)_delta_(?P<month>.+)\.csv$")
_MONTH = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})$")


def month_key(yyyymm: str) -> str:
    """``202502`` -> ``2025-02`` (the partition key)."""
    return f"{yyyymm[:4]}-{yyyymm[4:]}"


def month_arg(key: str) -> str:
    """``2025-02`` -> ``202502`` (the file-name and ``--months`` form)."""
    return key.replace("-", "")


def previous_month(key: str) -> str:
    year, month = int(key[:4]), int(key[5:])
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class Layout:
    """The months an input folder brings and the file of each table in each month."""

    data_dir: Path
    initial_month: str
    deltas: dict[str, dict[str, Path]] = field(default_factory=dict)

    @property
    def months(self) -> list[str]:
        """Every month in application order: the initial extract's, then each delta's."""
        return [self.initial_month, *sorted(self.deltas)]

    def previous(self, month: str) -> str | None:
        """The month whose state ``month`` builds on (None for the initial extract)."""
        months = self.months
        if month not in months:
            raise InputError(f"{self.data_dir}: no input for month {month} (months found: {', '.join(months)})")
        index = months.index(month)
        return months[index - 1] if index else None

    def file_for(self, table: str, month: str) -> Path | None:
        """The file that brings ``table`` in ``month``; None when that table has no delta that month."""
        if month == self.initial_month:
            return self.data_dir / "initial" / f"{table}.csv"
        return self.deltas.get(month, {}).get(table)

    def raw_file(self, spec: TableSpec, month: str) -> RawFile:
        """The delivered file that brings ``spec``'s table in ``month``, to read (no rows when there is none)."""
        return RawFile(spec, self.file_for(spec.name, month), initial=month == self.initial_month)

    def all_files(self) -> list[Path]:
        files = [self.data_dir / "initial" / f"{table}.csv" for table in TABLES]
        return files + [path for month in sorted(self.deltas) for path in self.deltas[month].values()]


def _delta_files(data_dir: Path) -> dict[str, dict[str, Path]]:
    deltas: dict[str, dict[str, Path]] = {}
    folder = data_dir / "delta"
    if not folder.is_dir():
        return deltas
    for path in sorted(folder.glob("*.csv")):
        match = _DELTA_NAME.match(path.name)
        if not match or match["table"] not in TABLES:
            raise InputError(
                f"{path}: unexpected file name; expected <table>_delta_<YYYYMM>.csv with table one of "
                f"{', '.join(TABLES)}"
            )
        month = _MONTH.match(match["month"])
        if not month or not 1 <= int(month["month"]) <= 12:
            raise InputError(f"{path}: {match['month']!r} in the file name is not a YYYYMM month")
        deltas.setdefault(month_key(match["month"]), {})[match["table"]] = path
    return deltas


def _latest_interaction_month(path: Path) -> str:
    """The latest Eastern-time month of ``interaction_start``; the initial month when there are no deltas."""
    from caseworks_assets.support.changes import parse_utc

    latest = parse_utc(pl.col("interaction_start")).dt.convert_time_zone(EASTERN).dt.strftime("%Y-%m").max()
    separator = header_separator(path, INTERACTIONS.columns)
    starts = collect_text(
        lambda source: pl.scan_csv(
            source,
            separator=separator,
            infer_schema=False,
            with_column_names=lambda names: expected_names(names, INTERACTIONS.columns),
        ).select(latest),
        path,
    ).item()
    if starts is None:
        raise InputError(f"{path}: no readable interaction_start, and no delta/ files to date the initial extract")
    return starts


def discover(data_dir: Path) -> Layout:
    """The folder's layout; raises :class:`InputError` for a missing initial file or a misnamed delta."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: input folder not found (expected initial/ and delta/ inside)")
    for table in TABLES:
        path = data_dir / "initial" / f"{table}.csv"
        if not path.is_file():
            raise InputError(f"{path}: missing initial extract of {table}")
    deltas = _delta_files(data_dir)
    if deltas:
        initial = previous_month(min(deltas))
    else:
        _check_header(data_dir / "initial" / "interactions.csv", INTERACTIONS.columns)
        initial = _latest_interaction_month(data_dir / "initial" / "interactions.csv")
    return Layout(data_dir=data_dir, initial_month=initial, deltas=deltas)


#: Repaired UTF-8 copies of files that were not all UTF-8 (see :mod:`caseworks_assets.quality.encoding`),
#: made by the first reader that meets one and read by every later one.
REPAIRED = RepairedCopies()


def collect_text(query: Callable[[Path], pl.LazyFrame], path: Path, name: str | None = None) -> pl.DataFrame:
    """``query`` of the CSV at ``path`` collected; through its repaired copy when it is not all UTF-8."""
    try:
        return query(REPAIRED.source(path)).collect()
    except pl.exceptions.ComputeError:
        copy = REPAIRED.repair(path, name)
        if copy is None:
            raise
        return query(copy).collect()


def _check_header(path: Path, expected: tuple[str, ...], name: str | None = None) -> str:
    """Raise unless ``path``'s header names every ``expected`` column once; return the header's separator.

    A column may be spelled its own way (``Interaction_ID``: see
    :func:`~caseworks_assets.quality.csv_input.expected_names`). Columns the
    contract does not name are not read; a file that has some says so once
    (:func:`~caseworks_assets.quality.csv_input.warn_unread_columns`).
    """
    separator, found = read_header(path, expected)
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    duplicates = sorted({c for c in found if found.count(c) > 1})
    if missing or duplicates:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if missing and extra else "",  # most likely a renamed column
                f"columns named twice: {', '.join(duplicates)}" if duplicates else "",
            )
            if part
        )
        raise InputError(f"{name or path}, line 1: wrong header ({detail}); expected {','.join(expected)}")
    warn_unread_columns(path, extra, name)
    return separator


def validate_inputs(data_dir: Path) -> None:
    """Check names and headers of every input file before a run starts."""
    layout = discover(data_dir)
    for table, spec in TABLES.items():
        _check_header(data_dir / "initial" / f"{table}.csv", spec.columns)
    for month in sorted(layout.deltas):
        for table, path in layout.deltas[month].items():
            _check_header(path, TABLES[table].delta_columns)


@dataclass(frozen=True)
class RawFile:
    """One table's file of one month read as text rows, with the file and line each came from.

    Nothing is typed here: typing happens in :mod:`~caseworks_assets.support.changes`
    where a bad value quarantines its row instead of failing the file. The
    initial extract gets ``action = add``. A table without a delta that month
    (``path`` None) has no rows and the same columns. ``source`` names the
    delivered file when ``path`` is a copy of it (the raw file in the lake).

    The rows are streamed in chunks (:meth:`chunks`), so a file is never whole
    in memory; a malformed file raises :class:`InputError` naming it.
    """

    spec: TableSpec
    path: Path | None
    initial: bool = False
    source: str | None = None

    @property
    def name(self) -> str:
        return self.source or str(self.path)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c: pl.String for c in self.spec.delta_columns} | {SOURCE_FILE: pl.String, SOURCE_LINE: pl.Int64}

    def scan(self) -> pl.LazyFrame:
        """The rows as a lazy CSV scan (after checking the header)."""
        columns = self.spec.delta_columns
        if self.path is None:
            return pl.LazyFrame(schema=self.schema)
        expected = self.spec.columns if self.initial else columns
        separator = _check_header(self.path, expected, self.name)
        rows = pl.scan_csv(
            REPAIRED.source(self.path),
            separator=separator,  # ",", or ";" as pt-BR Excel saves
            infer_schema=False,
            encoding="utf8",  # strict and fast; a file that is not all UTF-8 is read through its repaired copy
            with_column_names=lambda names: expected_names(names, expected),
            row_index_name=SOURCE_LINE,
            row_index_offset=2,  # line 1 is the header
        )
        if self.initial:
            rows = rows.with_columns(pl.lit("add").alias("action"))
        return rows.select(*columns, pl.lit(self.name).alias(SOURCE_FILE), pl.col(SOURCE_LINE).cast(pl.Int64))

    def _records(self) -> pl.Expr:
        """True for a record: a row with a value in the file's own columns (an initial row's action is ours)."""
        return has_a_value(self.spec.columns if self.initial else self.spec.delta_columns)

    def chunks(self, rows: int) -> Iterator[pl.DataFrame]:
        """The rows, ``rows`` at a time, in file order (read ahead by polars' streaming engine).

        A file that turns out not to be all UTF-8 is read on from its repaired
        copy, which has the same records in the same places, after the rows
        already given.
        """
        given = 0
        batches = iter(self.scan().collect_batches(chunk_size=rows))
        while True:
            try:
                chunk = next(batches)
            except StopIteration:
                return
            except pl.exceptions.PolarsError as error:
                first = str(error).strip().splitlines()[0]
                # a file that is not all UTF-8 goes on from its repaired copy
                if self.path is None or REPAIRED.repair(self.path, self.name) is None:
                    raise InputError(f"{self.name}: malformed CSV ({first})") from error
                batches = iter(self.scan().slice(given).collect_batches(chunk_size=rows))
                continue
            given += chunk.height  # the lines read, records or not: where a repaired copy resumes
            yield chunk.filter(self._records())

    def count(self) -> int:
        """Rows of the file (after checking its header)."""
        if self.path is None:
            return 0
        return collect_text(
            lambda _source: self.scan().filter(self._records()).select(pl.len()), self.path, self.name
        ).item()

    def read(self) -> pl.DataFrame:
        """All rows at once (small files and tests)."""
        return pl.concat([pl.DataFrame(schema=self.schema), *self.chunks(1_000_000)])


def read_raw(spec: TableSpec, path: Path | None, *, initial: bool) -> pl.DataFrame:
    """``path``'s rows as text (see :class:`RawFile`)."""
    return RawFile(spec, path, initial).read()
