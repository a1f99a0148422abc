"""Interaction volumes far outside their trailing distribution, per channel and day (a robust score).

For each channel, days without interactions count as 0 between its first and
last day. A day's score compares its count with the :data:`WINDOW` days before it:
``(count - median) / max(1.4826 * MAD, 1 + sqrt(median))``, where MAD is the
median absolute deviation (1.4826 * MAD estimates a standard deviation and is
not dragged by the outliers it is meant to find). The floor is the noise of a
count (a Poisson count's deviation is the square root of its mean): a quiet
channel with a MAD of 0 or 0.5 does not flag a day for a handful of extra interactions. A day is anomalous when
at least :data:`MIN_HISTORY` earlier days exist and ``|score| > THRESHOLD``.
"""

from __future__ import annotations

import polars as pl

WINDOW = 28
MIN_HISTORY = 7
THRESHOLD = 5.0
MAD_TO_SIGMA = 1.4826


def daily_counts(interactions: pl.DataFrame) -> pl.DataFrame:
    """``channel, day, interactions`` from clean interactions."""
    return interactions.group_by("channel", "day").agg(pl.len().cast(pl.Int64).alias("interactions"))


def scores(
    daily: pl.DataFrame, window: int = WINDOW, min_history: int = MIN_HISTORY, threshold: float = THRESHOLD
) -> pl.DataFrame:
    """Every channel-day with its trailing median, MAD, score and ``anomalous`` flag."""
    if daily.is_empty():
        schema = {"channel": pl.String, "day": pl.Date, "interactions": pl.Int64, "median": pl.Float64}
        return pl.DataFrame(schema={**schema, "mad": pl.Float64, "score": pl.Float64, "anomalous": pl.Boolean})
    days = (
        daily.group_by("channel")
        .agg(pl.date_range(pl.col("day").min(), pl.col("day").max(), "1d").alias("day"))
        .explode("day")
    )
    full = (
        days.join(daily.select("channel", "day", "interactions"), on=["channel", "day"], how="left")
        .with_columns(pl.col("interactions").fill_null(0).cast(pl.Int64))
        .sort("channel", "day")
    )
    history = pl.concat_list(
        [pl.col("interactions").shift(k).over("channel").cast(pl.Float64) for k in range(1, window + 1)]
    ).list.drop_nulls()
    scored = (
        full.with_columns(history.alias("history"))
        .with_columns(
            pl.col("history").list.len().alias("history_days"),
            pl.col("history").list.median().alias("median"),
        )
        .with_columns(
            pl.col("history").list.eval((pl.element() - pl.element().median()).abs().median()).list.first().alias("mad")
        )
        .with_columns(
            (
                (pl.col("interactions") - pl.col("median"))
                / pl.max_horizontal(pl.col("mad") * MAD_TO_SIGMA, 1.0 + pl.col("median").sqrt())
            ).alias("score")
        )
    )
    return scored.with_columns(
        ((pl.col("history_days") >= min_history) & (pl.col("score").abs() > threshold))
        .fill_null(False)
        .alias("anomalous")
    ).select("channel", "day", "interactions", "median", "mad", "score", "anomalous")


def anomalies(daily: pl.DataFrame, **options: float) -> pl.DataFrame:
    """Only the anomalous channel-days, most extreme first."""
    return scores(daily, **options).filter("anomalous").sort(pl.col("score").abs(), descending=True)  # type: ignore[arg-type]


def describe(flagged: pl.DataFrame) -> list[str]:
    """One line per anomalous channel-day, for alerts and check metadata."""
    return [
        f"{row['day']} {row['channel']}: {row['interactions']} interactions, trailing median {row['median']:g} "
        f"(MAD {row['mad']:g}), score {row['score']:.1f}"
        for row in flagged.iter_rows(named=True)
    ]
