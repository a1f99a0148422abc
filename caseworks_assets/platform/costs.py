"""The cost model: what a run, a query and a stored byte cost, as documented constants anyone can override.

Prices are list prices in USD (Google Cloud, us multi-region, 2025) and are
meant to be replaced by the contract's through :class:`CostModel`'s fields
(environment variables ``CASEWORKS_COST_*``, read in ``settings.py``):

* BigQuery on-demand queries: ``bq_usd_per_tib_billed`` per TiB of bytes billed
  (6.25). The bytes come from the job statistics the adapters return (dbt's
  ``run_results.json`` ``adapter_response.bytes_billed``; an asset may also put
  ``bytes_billed`` in its metadata); a local DuckDB run bills nothing.
* Storage: ``storage_usd_per_gib_month_active`` (0.02) for tables changed in
  the last 90 days, ``storage_usd_per_gib_month_long_term`` (0.01) after that.
* Compute: the CPU-seconds of steps priced per vCPU-hour
  (``vcpu_usd_per_hour``, 0.0475, an on-demand N2 vCPU); a step is assumed to
  hold one vCPU for its duration.
* Spark: executor time (steps of Spark jobs: duration times executors) at
  ``spark_executor_usd_per_hour`` (Dataproc: vCPU price plus the 0.01 premium,
  4 vCPU per executor by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

TIB = 1024**4
GIB = 1024**3


@dataclass(frozen=True)
class CostModel:
    """Unit prices in USD; see the module docstring for where each default comes from."""

    bq_usd_per_tib_billed: float = 6.25
    storage_usd_per_gib_month_active: float = 0.02
    storage_usd_per_gib_month_long_term: float = 0.01
    long_term_after_days: int = 90
    vcpu_usd_per_hour: float = 0.0475
    spark_executor_usd_per_hour: float = 4 * (0.0475 + 0.01)
    spark_executors: int = 2
    bq_slot_usd_per_hour: float = 0.06  # Enterprise edition pay-as-you-go slot-hour, for slots vs on-demand

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.__dataclass_fields__}


def step_costs(steps: pl.DataFrame, model: CostModel, spark_steps: str | None = None) -> pl.DataFrame:
    """Compute cost per asset and month from step durations: one vCPU per step, executors for Spark steps.

    ``steps`` has ``month``, ``asset_key``, ``step_key`` and ``duration_s``; ``spark_steps`` is a regex of
    the step keys that run on Spark.
    """
    is_spark = pl.col("step_key").str.contains(spark_steps) if spark_steps else pl.lit(False)
    return (
        steps.with_columns(
            cpu_seconds=pl.when(is_spark).then(0.0).otherwise(pl.col("duration_s")),
            spark_executor_seconds=pl.when(is_spark).then(pl.col("duration_s") * model.spark_executors).otherwise(0.0),
        )
        .group_by("month", "asset_key")
        .agg(pl.col("cpu_seconds").sum(), pl.col("spark_executor_seconds").sum())
        .with_columns(
            compute_usd=pl.col("cpu_seconds") / 3600 * model.vcpu_usd_per_hour,
            spark_usd=pl.col("spark_executor_seconds") / 3600 * model.spark_executor_usd_per_hour,
        )
    )


def query_costs(activity: pl.DataFrame, model: CostModel) -> pl.DataFrame:
    """Bytes billed per asset and month (from materialization metadata or dbt's run results), priced on demand."""
    return (
        activity.filter(pl.col("bytes_billed").is_not_null())
        .group_by("month", "asset_key")
        .agg(bytes_billed=pl.col("bytes_billed").sum())
        .with_columns(query_usd=pl.col("bytes_billed") / TIB * model.bq_usd_per_tib_billed)
    )


def storage_costs(storage: pl.DataFrame, month: str, model: CostModel) -> pl.DataFrame:
    """One month of storage for the current footprint: active or long-term by the table's last change."""
    long_term = pl.col("days_since_change") >= model.long_term_after_days
    price = (
        pl.when(long_term)
        .then(model.storage_usd_per_gib_month_long_term)
        .otherwise(model.storage_usd_per_gib_month_active)
    )
    return (
        storage.filter(pl.col("asset_key").is_not_null())
        .with_columns(gib=pl.col("bytes") / GIB, price=price)
        .group_by("asset_key")
        .agg(storage_gib=pl.col("gib").sum(), storage_usd=(pl.col("gib") * pl.col("price")).sum())
        .with_columns(month=pl.lit(month))
    )


COST_COLUMNS = [
    "month",
    "asset_key",
    "bytes_billed",
    "query_usd",
    "storage_gib",
    "storage_usd",
    "cpu_seconds",
    "compute_usd",
    "spark_executor_seconds",
    "spark_usd",
    "total_usd",
]


def cost_estimates(
    steps: pl.DataFrame,
    activity: pl.DataFrame,
    storage: pl.DataFrame,
    current_month: str,
    model: CostModel,
    spark_steps: str | None = None,
) -> pl.DataFrame:
    """Cost per asset per month: queries, storage (current month only: the footprint is measured now) and compute."""
    keys = ["month", "asset_key"]
    # a step that built no known asset (an asset check's op, a plain op) is charged to its job
    known = pl.concat([activity.select("asset_key"), storage.select("asset_key")]).drop_nulls().unique()
    steps = steps.with_columns(
        asset_key=pl.when(pl.col("asset_key").is_in(known["asset_key"].implode()))
        .then(pl.col("asset_key"))
        .otherwise(pl.format("{} (other steps)", pl.col("job_name")))
    )
    frames = [
        step_costs(steps, model, spark_steps),
        query_costs(activity, model),
        storage_costs(storage, current_month, model),
    ]
    joined = frames[0]
    for frame in frames[1:]:
        joined = joined.join(frame, on=keys, how="full", coalesce=True)
    numbers = [c for c in COST_COLUMNS if c not in keys]
    joined = joined.with_columns(
        [pl.col(c).cast(pl.Float64).fill_null(0.0) for c in numbers if c not in ("bytes_billed", "total_usd")]
        + [pl.col("bytes_billed").cast(pl.Int64).fill_null(0)]
    ).with_columns(total_usd=pl.col("query_usd") + pl.col("storage_usd") + pl.col("compute_usd") + pl.col("spark_usd"))
    return joined.select(COST_COLUMNS).sort(keys)
