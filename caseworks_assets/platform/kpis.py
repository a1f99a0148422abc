"""The platform's key figures, as polars expressions over the run, step, activity and cost tables.

Every KPI is one row of a long table ``(kpi, scope, period, value, unit)``:
``scope`` is the job, asset or ``all``; ``period`` a day, a month or ``all``.
The same frame feeds the warehouse table, the dashboard and the UI's Markdown.
"""

from __future__ import annotations

import polars as pl

KPI_COLUMNS = ["kpi", "scope", "period", "value", "unit"]

#: Run statuses that count as finished for the success rate (queued and running runs are left out).
FINISHED = ["SUCCESS", "FAILURE", "CANCELED"]


def _long(frame: pl.DataFrame, kpi: str, scope: str, period: str | pl.Expr, value: str, unit: str) -> pl.DataFrame:
    period_expr = period if isinstance(period, pl.Expr) else pl.lit(period)
    return frame.select(
        kpi=pl.lit(kpi),
        scope=pl.col(scope).cast(pl.String) if scope in frame.columns else pl.lit(scope),
        period=period_expr.cast(pl.String),
        value=pl.col(value).cast(pl.Float64),
        unit=pl.lit(unit),
    )


def job_reliability(runs: pl.DataFrame) -> pl.DataFrame:
    """Per job: finished runs, success rate, p50 and p95 duration (seconds), over the whole history."""
    return (
        runs.filter(pl.col("status").is_in(FINISHED))
        .group_by("job_name")
        .agg(
            runs=pl.len(),
            success_rate=(pl.col("status") == "SUCCESS").mean(),
            p50_s=pl.col("duration_s").quantile(0.5, interpolation="linear"),
            p95_s=pl.col("duration_s").quantile(0.95, interpolation="linear"),
        )
        .sort("job_name")
    )


def failures_per_day(runs: pl.DataFrame) -> pl.DataFrame:
    """Failed runs per day (days with runs but no failure count 0)."""
    return (
        runs.group_by("day")
        .agg(failures=(pl.col("status") == "FAILURE").sum().cast(pl.Int64), runs=pl.len())
        .sort("day")
    )


def monthly_growth(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """Month-over-month growth of ``value`` summed per month: (this - previous) / previous, null the first month."""
    monthly = frame.group_by("month").agg(pl.col(value).sum()).sort("month")
    return monthly.with_columns(growth=(pl.col(value) / pl.col(value).shift(1) - 1))


def compute_kpis(
    runs: pl.DataFrame, activity: pl.DataFrame, costs: pl.DataFrame, freshness_misses: int | None = None
) -> pl.DataFrame:
    """Every KPI of the case in the long layout of :data:`KPI_COLUMNS`.

    Freshness misses are the ``freshness_miss`` observations in ``activity``
    (recorded by the freshness sensor) unless ``freshness_misses`` is given.
    """
    parts: list[pl.DataFrame] = []
    reliability = job_reliability(runs)
    parts.append(_long(reliability, "success_rate", "job_name", "all", "success_rate", "ratio"))
    parts.append(_long(reliability, "p50_duration", "job_name", "all", "p50_s", "s"))
    parts.append(_long(reliability, "p95_duration", "job_name", "all", "p95_s", "s"))
    finished = runs.filter(pl.col("status").is_in(FINISHED))
    overall = finished.select(rate=(pl.col("status") == "SUCCESS").mean())  # null (no figure) with no finished run
    parts.append(_long(overall, "success_rate", "all", "all", "rate", "ratio"))
    per_day = failures_per_day(runs)
    parts.append(_long(per_day, "failures", "all", pl.col("day"), "failures", "runs"))
    if freshness_misses is None:
        freshness_misses = activity.filter(pl.col("event") == "freshness_miss").height
    checks = activity.filter(pl.col("event") == "check")
    failed_checks = checks.filter(~pl.col("passed")).height
    parts.append(pl.DataFrame({"kpi": ["freshness_misses"], "value": [float(freshness_misses)]}).pipe(_scalar, "runs"))
    parts.append(pl.DataFrame({"kpi": ["checks_failed"], "value": [float(failed_checks)]}).pipe(_scalar, "checks"))
    parts.append(_long(costs, "cost_per_asset", "asset_key", pl.col("month"), "total_usd", "usd"))
    cost_growth = monthly_growth(costs, "total_usd").filter(pl.col("growth").is_not_null())
    parts.append(_long(cost_growth, "cost_mom_growth", "all", pl.col("month"), "growth", "ratio"))
    written = activity.filter(pl.col("event") == "materialization").with_columns(
        pl.col("bytes").fill_null(0).cast(pl.Float64)
    )
    bytes_growth = monthly_growth(written, "bytes").filter(
        pl.col("growth").is_not_null() & pl.col("growth").is_finite()
    )
    parts.append(_long(bytes_growth, "bytes_written_mom_growth", "all", pl.col("month"), "growth", "ratio"))
    return pl.concat(parts, how="vertical").select(KPI_COLUMNS)


def _scalar(frame: pl.DataFrame, unit: str) -> pl.DataFrame:
    return frame.select(
        kpi=pl.col("kpi"), scope=pl.lit("all"), period=pl.lit("all"), value=pl.col("value"), unit=pl.lit(unit)
    )


def kpi_value(kpis: pl.DataFrame, kpi: str, scope: str = "all", period: str = "all") -> float | None:
    """One KPI's value, or None when it has none (no finished run, no month)."""
    row = kpis.filter((pl.col("kpi") == kpi) & (pl.col("scope") == scope) & (pl.col("period") == period))
    return None if row.is_empty() else row["value"][0]
