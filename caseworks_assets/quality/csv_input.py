"""Reading a CSV export as text: its separator and column names found from its header, its bytes repaired.

Excel and many ERPs in Brazil (and wherever the decimal mark is a comma) save
"CSV" with ``;`` between fields, and some tools write tabs or ``|``. The
separator is the one that splits the header into the most of the column names
the reader expects; a header that names none of them under any separator is
read with ``,``, and the reader's own header check names what is missing.

Exports also spell a column's name their own way: ``Interaction_ID``,
`` agent id ``, ``Date Start`` for ``interaction_id``, ``agent_id`` and
``date_start``. A header cell names an expected column when both read the same
in :func:`header_key` form, and the reader renames it to the expected name
(:func:`expected_names`), so the rest of a case sees only its contract's names.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from caseworks_assets.quality.encoding import LOG, decode_text, repaired_copy
from caseworks_assets.scratch import scratch_folder

SEPARATORS = (",", ";", "\t", "|")


def header_key(text: object) -> str:
    """``" Date Start "``, ``DATE-START``, ``date.start`` -> ``date_start``: the form a header cell is compared in.

    Case is folded and runs of spaces, hyphens, dots, slashes and underscores are
    one ``_``; every other character counts, so a damaged name (``id\u00ff``) still
    names no column.
    """
    return re.sub(r"[\s\-./_]+", "_", str(text or "").strip().lower()).strip("_")


def expected_names(names: Sequence[str], expected: Sequence[str]) -> list[str]:
    """A header's ``names`` with every cell that names an ``expected`` column (by :func:`header_key`) renamed to it.

    The other cells are kept, trimmed: the reader reports or drops them. Two
    cells naming one column both get its name, which the reader's header check
    reports as a duplicate.
    """
    wanted = {header_key(name): name for name in expected}
    return [wanted.get(header_key(name), name.strip()) for name in names]


def with_expected_names(frame: pl.DataFrame, expected: Sequence[str]) -> pl.DataFrame:
    """``frame`` with its columns named by :func:`expected_names`; as it is when two would get one name."""
    names = expected_names(frame.columns, expected)
    return frame.rename(dict(zip(frame.columns, names, strict=True))) if len(set(names)) == len(names) else frame


def has_a_value(columns: Sequence[str]) -> pl.Expr:
    """True for a row with a value in one of ``columns``.

    A line without a single value (a blank line, or the ``,,,,`` rows a
    spreadsheet saves below the data) is no record: nothing is lost by not
    reading it, and a rule would reject it as a record without its key.
    """
    return pl.any_horizontal(pl.col(name).is_not_null() for name in columns)


def warn_unread_columns(path: Path, columns: Sequence[str], name: str | None = None) -> None:
    """Warn that ``path`` has ``columns`` no contract names, so they are not read: once per version of the file."""
    if columns:
        _warn_once(name or str(path), tuple(columns), path.stat().st_mtime_ns)


@functools.cache
def _warn_once(name: str, columns: tuple[str, ...], _version: int) -> None:
    LOG.warning(f"{name}: columns not in the contract are not read: {', '.join(columns)}")


def read_header(path: Path, expected: Sequence[str]) -> tuple[str, list[str]]:
    """``path``'s header: the separator that yields the most of ``expected`` (``,`` on a tie), and its cells.

    The cells come trimmed, each one that names an expected column spelled as expected (:func:`expected_names`).
    """
    with path.open("rb") as handle:
        line = decode_text(handle.readline()).lstrip("\ufeff").rstrip("\r\n")
    wanted = set(expected)
    split = {s: expected_names(next(csv.reader([line], delimiter=s), []), expected) for s in SEPARATORS}
    separator = max(SEPARATORS, key=lambda s: len(wanted & set(split[s])))  # max keeps the first of equals: ","
    return separator, split[separator]


def header_separator(path: Path, expected: Sequence[str]) -> str:
    """The separator of ``path``'s header (see :func:`read_header`)."""
    return read_header(path, expected)[0]


def read_csv(path: Path, expected: Sequence[str] = (), **options: Any) -> pl.DataFrame:
    """``pl.read_csv(path, **options)`` with the separator of :func:`header_separator` (``expected`` columns).

    The file is read as UTF-8 first; if that fails and the file is not all
    UTF-8, a repaired copy is read instead (:mod:`caseworks_assets.quality.encoding`).
    A failure of a file that is UTF-8 after all is raised as polars raised it.
    A column that names an expected one in another spelling gets the expected
    name (:func:`expected_names`), unless two of them name the same one.
    """
    options = {"separator": header_separator(path, expected) if expected else ",", **options}
    try:
        frame = pl.read_csv(path, **options)
    except pl.exceptions.ComputeError:
        with scratch_folder("utf8") as folder:
            copy = repaired_copy(path, folder)
            if copy is None:
                raise
            frame = pl.read_csv(copy, **options)
    return with_expected_names(frame, expected)
