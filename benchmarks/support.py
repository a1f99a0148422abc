"""Bare-polars baseline for the support case: the same months applied with anti-join + concat, no Dagster.

It reads the same CSV files, converts the same timestamps to Eastern time,
applies each month's deltas in order (anti-join on the id, concat the added and
updated rows) and writes the final tables as Parquet: the work the pipeline
does minus orchestration, quarantine, checks, warehouse and exports. The
runner divides the pipeline's wall time by this one's.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from caseworks_assets.support.layout import TABLES, discover

EASTERN = "America/New_York"


def _typed(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    spec = TABLES[table]
    return frame.with_columns(
        *(
            pl.col(c)
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", strict=False)
            .dt.convert_time_zone(EASTERN)
            for c in spec.timestamps
        ),
        *(
            [
                pl.col("call_duration_minutes").cast(pl.Float64, strict=False),
                pl.col("satisfaction_rating").cast(pl.Int64, strict=False),
            ]
            if table == "interactions"
            else []
        ),
    )


def baseline(data_dir: Path, out_dir: Path) -> dict:
    """Apply every month with plain polars; return wall time and final row counts."""
    start = time.perf_counter()
    layout = discover(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for table, spec in TABLES.items():
        state = _typed(pl.read_csv(data_dir / "initial" / f"{table}.csv", infer_schema=False), table)
        for month in sorted(layout.deltas):
            path = layout.deltas[month].get(table)
            if path is None:
                continue
            delta = pl.read_csv(path, infer_schema=False).with_columns(
                pl.col("action").str.strip_chars().str.to_lowercase()
            )
            upserts = _typed(delta.filter(pl.col("action") != "delete"), table).select(state.columns)
            state = pl.concat([state.join(delta.select(spec.key), on=spec.key, how="anti"), upserts])
        state.write_parquet(out_dir / f"{table}_final.parquet")
        rows[table] = state.height
    return {"wall_s": round(time.perf_counter() - start, 3), "what": "polars anti-join + concat", "rows": rows}
