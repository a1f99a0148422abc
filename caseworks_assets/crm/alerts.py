"""Anomaly alerts of the crm case, sent through the project's alert channel (SMTP, else the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from caseworks_assets.crm import anomalies, queries
from caseworks_assets.crm.columns import CASE

NEXT_STEP = (
    "look at the day's interactions on that channel (GET /api/v1/statistics?channel=...&date_from=DAY&date_to=DAY): "
    "a campaign or an outage explains a real spike or drop; a re-sent export shows as repeated rows."
)


@dataclass(frozen=True)
class AnomalyAlert:
    """An alert about crm interaction volumes: what, where and what to do next in its first lines."""

    stage: str
    what: str
    where: str
    next_step: str
    details: str = ""

    @property
    def subject(self) -> str:
        return f"[caseworks ALERT] {CASE} {self.stage}: {self.what[:90]}"

    @property
    def body(self) -> str:
        text = f"WHAT: {self.what}\nWHERE: {self.where}\nNEXT STEP: {self.next_step}\n"
        return text + (f"\nDETAILS:\n{self.details}\n" if self.details else "")


def daily_from_store(reader: queries.ServingReader) -> pl.DataFrame:
    """Interactions per channel and day, as the serving store holds them."""
    rows = queries.daily_counts(reader)
    schema = {"channel": pl.String, "day": pl.Date, "interactions": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def anomaly_alert(flagged: pl.DataFrame, version: str) -> AnomalyAlert:
    return AnomalyAlert(
        stage="anomaly",
        what=f"{flagged.height} channel-day(s) of interactions far outside their trailing {anomalies.WINDOW} days",
        where=f"crm serving data version {version}",
        next_step=NEXT_STEP,
        details="\n".join(f"- {line}" for line in anomalies.describe(flagged)),
    )
