"""How the CLI drives the callcenter case: one run over the days the calls span, then the answers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from caseworks_assets.callcenter.columns import CASE
from caseworks_assets.callcenter.raw import local_datetime, source_file
from caseworks_assets.callcenter.transform import DAYS
from caseworks_assets.quality.csv_input import expected_names, header_separator
from caseworks_assets.registry import InputError

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun


def call_days(data_dir: Path) -> tuple[str, str]:
    """First and last day of the calls in ``data_dir`` (read as the raw step reads them)."""
    path = source_file(data_dir, "call_history_queue")
    try:  # the one column, without reading the rest of the file
        if path.suffix == ".parquet":
            text = pl.scan_parquet(path).select(pl.col("created_at").cast(pl.String))
        else:
            separator = header_separator(path, ["created_at"])  # dates only: other bytes may be read lossily
            text = pl.scan_csv(
                path,
                separator=separator,
                infer_schema=False,
                encoding="utf8-lossy",
                with_column_names=lambda names: expected_names(names, ["created_at"]),
            ).select("created_at")
        # the day as a column first: polars evaluates the parsers inside min()/max() some 10 times slower
        days = text.select(local_datetime(pl.col("created_at")).dt.date().alias("day"))
        day = pl.col("day")
        first, last = days.select(day.min().alias("first"), day.max().alias("last")).collect().row(0)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"{path}: cannot be read: {error}") from error
    if first is None:
        raise InputError(f"{path}: no call with a readable created_at")
    known_first, known_last = DAYS.get_first_partition_key(), DAYS.get_last_partition_key()
    if first.isoformat() < known_first or last.isoformat() > (known_last or ""):
        raise InputError(f"{path}: calls from {first} to {last}, outside the days {known_first}..{known_last}")
    return first.isoformat(), last.isoformat()


def run(case_run: CaseRun) -> None:
    """Everything in one run over the calls' days: raw, dbt (call_history for the whole range), answers."""
    from caseworks_assets.callcenter.jobs import days_target

    first, last = call_days(case_run.data_dir)
    case_run.echo(f"[{CASE}] loading, remodelling with dbt and answering for {first}..{last}")
    case_run.execute("callcenter_job", **days_target(first, last))


def summarize(case_run: CaseRun) -> str:
    """The answers' Markdown, as written by ``callcenter/answers``."""
    path = case_run.out_dir / CASE / "answers.md"
    return path.read_text(encoding="utf-8") if path.exists() else "(callcenter answers not written)"
