"""Reading a CSV export as text: its separator found from its header, its bytes repaired when not all UTF-8.

Excel and many ERPs in Brazil (and wherever the decimal mark is a comma) save
"CSV" with ``;`` between fields, and some tools write tabs or ``|``. The
separator is the one that splits the header into the most of the column names
the reader expects; a header that names none of them under any separator is
read with ``,``, and the reader's own header check names what is missing.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from caseworks_assets.quality.encoding import decode_text, repaired_copy
from caseworks_assets.scratch import scratch_folder

SEPARATORS = (",", ";", "\t", "|")


def read_header(path: Path, expected: Sequence[str]) -> tuple[str, list[str]]:
    """``path``'s header: the separator that yields the most of ``expected`` (``,`` on a tie), and its trimmed cells."""
    with path.open("rb") as handle:
        line = decode_text(handle.readline()).rstrip("\r\n")
    wanted = set(expected)
    split = {s: [cell.strip() for cell in next(csv.reader([line], delimiter=s), [])] for s in SEPARATORS}
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
    """
    options = {"separator": header_separator(path, expected) if expected else ",", **options}
    try:
        return pl.read_csv(path, **options)
    except pl.exceptions.ComputeError:
        with scratch_folder("utf8") as folder:
            copy = repaired_copy(path, folder)
            if copy is None:
                raise
            return pl.read_csv(copy, **options)
