"""Blocking checks of the platform tables: what every figure downstream relies on."""

import dagster as dg
import polars as pl

from caseworks_assets.platform.assets import cost_estimates, kpi_table, run_history, step_history


@dg.asset_check(asset=run_history, blocking=True, description="One row per run: a run id appears once.")
def run_ids_unique(run_history: pl.DataFrame) -> dg.AssetCheckResult:
    repeated = run_history.filter(pl.col("run_id").is_duplicated())["run_id"].unique().to_list()
    return dg.AssetCheckResult(passed=not repeated, metadata={"repeated_run_ids": repeated[:20]})


@dg.asset_check(asset=step_history, blocking=True, description="No step ends before it starts.")
def step_durations_not_negative(step_history: pl.DataFrame) -> dg.AssetCheckResult:
    negative = step_history.filter(pl.col("duration_s") < 0).height
    return dg.AssetCheckResult(passed=negative == 0, metadata={"negative_durations": negative})


@dg.asset_check(asset=cost_estimates, blocking=True, description="Every cost is a finite, non-negative number.")
def costs_finite_and_not_negative(cost_estimates: pl.DataFrame) -> dg.AssetCheckResult:
    numbers = [c for c, t in cost_estimates.schema.items() if t.is_numeric()]
    bad = cost_estimates.filter(
        pl.any_horizontal([(pl.col(c) < 0) | pl.col(c).cast(pl.Float64).is_nan() for c in numbers])
    )
    return dg.AssetCheckResult(passed=bad.is_empty(), metadata={"bad_rows": bad.height})


@dg.asset_check(asset=kpi_table, blocking=True, description="Ratios (success rates) lie in [0, 1].")
def kpi_ratios_in_range(kpis: pl.DataFrame) -> dg.AssetCheckResult:
    ratios = kpis.filter((pl.col("unit") == "ratio") & pl.col("kpi").str.starts_with("success"))
    outside = ratios.filter(~pl.col("value").is_between(0, 1)).height
    return dg.AssetCheckResult(passed=outside == 0, metadata={"outside": outside, "ratios": ratios.height})


ALL_CHECKS = [run_ids_unique, step_durations_not_negative, costs_finite_and_not_negative, kpi_ratios_in_range]
