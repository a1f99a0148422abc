"""Anomaly alerts of the crm case, sent through the project's alert channel (SMTP, else the outbox)."""

from __future__ import annotations

import polars as pl

from caseworks_assets.alerts import Alert
from caseworks_assets.crm import anomalies, queries
from caseworks_assets.crm.columns import CASE

NEXT_STEP = (
    "look at the day's interactions on that channel (GET /api/v1/statistics?channel=...&date_from=DAY&date_to=DAY): "
    "a campaign or an outage explains a real spike or drop; a re-sent export shows as repeated rows."
)


def daily_from_store(reader: queries.ServingReader) -> pl.DataFrame:
    """Interactions per channel and day, as the serving store holds them."""
    rows = queries.daily_counts(reader)
    schema = {"channel": pl.String, "day": pl.Date, "interactions": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def anomaly_alert(flagged: pl.DataFrame, version: str) -> Alert:
    return Alert(
        stage="anomaly",
        what=f"{flagged.height} channel-day(s) of interactions far outside their trailing {anomalies.WINDOW} days",
        where=f"crm serving data version {version}",
        next_step=NEXT_STEP,
        details="\n".join(f"- {line}" for line in anomalies.describe(flagged)),
        case=CASE,
        failure=False,
    )
