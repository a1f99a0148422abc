"""File exports of the final tables and the report in csv, json or parquet.

Timestamps keep their Eastern offset: csv and json get ISO-8601 text with the
offset (``2025-03-09T01:30:00-05:00``), parquet keeps the time-zone-aware type.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from caseworks_assets.resources.staging import staged_path
from caseworks_assets.support.layout import Frame
from caseworks_assets.support.report import as_eastern

FORMATS = ("csv", "json", "parquet")
ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%:z"
#: Snappy, the codec Spark and pandas write by default: every Parquet reader has it, and it writes a
#: large table about twice as fast as polars' default zstd, for a file about a third larger.
PARQUET_COMPRESSION = "snappy"


def as_text_timestamps(frame: Frame) -> Frame:
    """Timestamps as ISO text with offset, dates as ISO text: what csv and json readers expect."""
    schema = frame.collect_schema()
    return frame.with_columns(
        [pl.col(name).dt.strftime(ISO_WITH_OFFSET) for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
        + [pl.col(name).dt.strftime("%Y-%m-%d") for name, dtype in schema.items() if dtype == pl.Date]
    )


def write_export(frame: pl.DataFrame | pl.LazyFrame, folder: Path, name: str, fmt: str) -> Path:
    """Write ``frame`` as ``<folder>/<name>.<fmt>`` (atomically: temporary name, then rename).

    A lazy frame (a scan of the lake) is streamed into parquet and csv, never
    whole in memory; json, one array, is written from the collected frame.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    target = folder / f"{name}.{fmt}"
    lazy = as_eastern(frame.lazy())
    with staged_path(target) as staging:
        if fmt == "parquet":
            lazy.sink_parquet(staging, compression=PARQUET_COMPRESSION)
        elif fmt == "csv":
            as_text_timestamps(lazy).sink_csv(staging)
        else:
            as_text_timestamps(lazy).collect().write_json(staging)
    return target
