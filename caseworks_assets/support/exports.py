"""File exports of the final tables and the report in csv, json or parquet.

Timestamps keep their Eastern offset: csv and json get ISO-8601 text with the
offset (``2025-03-09T01:30:00-05:00``), parquet keeps the time-zone-aware type.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from caseworks_assets.resources.staging import staged_path
from caseworks_assets.support.report import as_eastern

FORMATS = ("csv", "json", "parquet")
ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%:z"
#: Snappy, the codec Spark and pandas write by default: every Parquet reader has it, and it writes a
#: large table about twice as fast as polars' default zstd, for a file about a third larger.
PARQUET_COMPRESSION = "snappy"


def as_text_timestamps(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps as ISO text with offset, dates as ISO text: what csv and json readers expect."""
    return frame.with_columns(
        [
            pl.col(name).dt.strftime(ISO_WITH_OFFSET)
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime)
        ]
        + [pl.col(name).dt.strftime("%Y-%m-%d") for name, dtype in frame.schema.items() if dtype == pl.Date]
    )


def write_export(frame: pl.DataFrame, folder: Path, name: str, fmt: str) -> Path:
    """Write ``frame`` as ``<folder>/<name>.<fmt>`` (atomically: temporary name, then rename)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    target = folder / f"{name}.{fmt}"
    frame = as_eastern(frame)
    with staged_path(target) as staging:
        if fmt == "parquet":
            frame.write_parquet(staging, compression=PARQUET_COMPRESSION)
        elif fmt == "csv":
            as_text_timestamps(frame).write_csv(staging)
        else:
            as_text_timestamps(frame).write_json(staging)
    return target
