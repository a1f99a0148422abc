"""Optimization hints and scaling recommendations, each with its evidence and an estimated saving.

Rules are plain polars over the platform tables, their thresholds in
:class:`HintPolicy`. A hint is a row ``(kind, subject, evidence, estimated_saving_usd_month, action)``;
a recommendation ``(resource, current, recommended, evidence, action)``. Nothing
is emitted when the evidence is not there: an empty table means "nothing to do".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from caseworks_assets.platform.costs import GIB, TIB, CostModel

HINT_COLUMNS = ["kind", "subject", "evidence", "estimated_saving_usd_month", "action"]
RECOMMENDATION_COLUMNS = ["resource", "current", "recommended", "evidence", "action"]
HINT_SCHEMA = {
    "kind": pl.String,
    "subject": pl.String,
    "evidence": pl.String,
    "estimated_saving_usd_month": pl.Float64,
    "action": pl.String,
}
RECOMMENDATION_SCHEMA = {name: pl.String for name in RECOMMENDATION_COLUMNS}
DAYS_PER_MONTH = 30.4


@dataclass(frozen=True)
class HintPolicy:
    """Thresholds of the rules; every one is a documented knob, not a magic number in a rule."""

    unused_after_days: int = 30
    growth_ratio: float = 0.2  # month over month
    regression_recent_days: int = 7
    regression_baseline_days: int = 28
    regression_factor: float = 1.5
    regression_min_seconds: float = 5.0
    repeated_failures: int = 3
    repeated_failures_days: int = 7
    rebuild_min_builds: int = 3
    rebuild_max_growth_per_build: float = 0.1
    rebuild_min_rows: int = 1000  # smaller tables cost too little to rework
    queue_wait_p95_high_s: float = 60.0
    min_runs_for_scaling: int = 20  # fewer timed runs than this say nothing about the queue
    spark_target_p95_s: float = 600.0
    bq_slots_baseline: int = 100


def utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Every zoned datetime column in UTC (a warehouse round trip may return ``Etc/UTC``, which polars keeps apart)."""
    zoned = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return frame.with_columns([pl.col(n).dt.convert_time_zone("UTC") for n in zoned]) if zoned else frame


def _hints(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=HINT_SCHEMA)


def unused_assets(
    activity: pl.DataFrame,
    storage: pl.DataFrame,
    consumers: dict[str, int] | None,
    now: datetime,
    model: CostModel,
    policy: HintPolicy,
) -> pl.DataFrame:
    """Assets not materialized for ``unused_after_days`` that nothing downstream reads: their storage is the saving.

    ``consumers`` maps an asset to its number of downstream assets in the code
    location; an asset missing from it has no known consumer.
    """
    consumers = consumers or {}
    last = (
        activity.filter(pl.col("event") == "materialization")
        .group_by("asset_key")
        .agg(last=pl.col("timestamp").max(), builds=pl.len())
    )
    cutoff = now - timedelta(days=policy.unused_after_days)
    stored = storage.group_by("asset_key").agg(bytes=pl.col("bytes").sum())
    stale = last.filter(pl.col("last") < cutoff).join(stored, on="asset_key", how="left").sort("asset_key")
    rows = []
    for asset, when, builds, size in stale.select("asset_key", "last", "builds", "bytes").iter_rows():
        if consumers.get(asset, 0) > 0:
            continue
        size = size or 0
        rows.append(
            {
                "kind": "unused_asset",
                "subject": asset,
                "evidence": f"last materialized {when:%Y-%m-%d} ({(now - when).days} days ago, {builds} build(s) in "
                f"the history), no downstream asset reads it, {size / GIB:.3f} GiB stored",
                "estimated_saving_usd_month": size / GIB * model.storage_usd_per_gib_month_active,
                "action": "drop the asset and its table, or give it a consumer; its storage is the saving",
            }
        )
    return _hints(rows)


def growing_tables(activity: pl.DataFrame, model: CostModel, policy: HintPolicy) -> pl.DataFrame:
    """Tables whose bytes written grew more than ``growth_ratio`` month over month (the last two months)."""
    monthly = (
        activity.filter((pl.col("event") == "materialization") & pl.col("bytes").is_not_null())
        .group_by("asset_key", "month")
        .agg(bytes=pl.col("bytes").max())
        .sort("asset_key", "month")
        .with_columns(
            previous=pl.col("bytes").shift(1).over("asset_key"), prev_month=pl.col("month").shift(1).over("asset_key")
        )
        .filter(pl.col("previous") > 0)
        .with_columns(growth=pl.col("bytes") / pl.col("previous") - 1)
    )
    latest = monthly.group_by("asset_key").agg(pl.all().sort_by("month").last())
    grown = latest.filter(pl.col("growth") > policy.growth_ratio).sort("asset_key")
    rows = [
        {
            "kind": "growing_table",
            "subject": asset,
            "evidence": f"largest write grew {growth:.0%} from {prev_month} ({previous / GIB:.3f} GiB) to {month} "
            f"({size / GIB:.3f} GiB)",
            # what one more month of the same growth would add to the storage bill, avoided by expiring partitions
            "estimated_saving_usd_month": (size - previous) / GIB * model.storage_usd_per_gib_month_active,
            "action": "partition the table by date with an expiration, or cluster it so queries scan less",
        }
        for asset, month, size, previous, prev_month, growth in grown.select(
            "asset_key", "month", "bytes", "previous", "prev_month", "growth"
        ).iter_rows()
    ]
    return _hints(rows)


def p95_regressions(steps: pl.DataFrame, now: datetime, model: CostModel, policy: HintPolicy) -> pl.DataFrame:
    """Steps whose p95 over the last days exceeds ``regression_factor`` times their p95 over the weeks before."""
    recent_from = now - timedelta(days=policy.regression_recent_days)
    baseline_from = recent_from - timedelta(days=policy.regression_baseline_days)
    done = steps.filter(pl.col("status") == "SUCCESS")
    window = pl.when(pl.col("started_at") >= recent_from).then(pl.lit("recent")).otherwise(pl.lit("baseline"))
    stats = (
        done.filter(pl.col("started_at") >= baseline_from)
        .with_columns(window=window)
        .group_by("job_name", "step_key", "window")
        .agg(p95=pl.col("duration_s").quantile(0.95, interpolation="linear"), runs=pl.len())
        .pivot(on="window", index=["job_name", "step_key"], values=["p95", "runs"])
    )
    needed = {"p95_recent", "p95_baseline", "runs_recent"}
    if not needed <= set(stats.columns):
        return _hints([])
    slow = stats.filter(
        (pl.col("p95_recent") > pl.col("p95_baseline") * policy.regression_factor)
        & (pl.col("p95_recent") - pl.col("p95_baseline") > policy.regression_min_seconds)
    ).sort("job_name", "step_key")
    rows = []
    for job, step, recent, baseline, runs in slow.select(
        "job_name", "step_key", "p95_recent", "p95_baseline", "runs_recent"
    ).iter_rows():
        per_month = runs / policy.regression_recent_days * DAYS_PER_MONTH
        rows.append(
            {
                "kind": "p95_regression",
                "subject": f"{job}:{step}",
                "evidence": f"p95 {recent:.1f} s over the last {policy.regression_recent_days} days ({runs} runs) vs "
                f"{baseline:.1f} s over the {policy.regression_baseline_days} days before",
                "estimated_saving_usd_month": (recent - baseline) * per_month / 3600 * model.vcpu_usd_per_hour,
                "action": "compare the step's inputs and code between the two windows (volume, a dropped filter, "
                "a lost partition pruning); the saving is the extra compute at the current run rate",
            }
        )
    return _hints(rows)


def repeated_failures(runs: pl.DataFrame, now: datetime, model: CostModel, policy: HintPolicy) -> pl.DataFrame:
    """Jobs with ``repeated_failures`` or more failed runs in the last ``repeated_failures_days`` days."""
    since = now - timedelta(days=policy.repeated_failures_days)
    failed = (
        runs.filter((pl.col("status") == "FAILURE") & (pl.col("created_at") >= since))
        .group_by("job_name")
        .agg(failures=pl.len(), wasted_s=pl.col("duration_s").fill_null(0).sum(), last=pl.col("created_at").max())
        .filter(pl.col("failures") >= policy.repeated_failures)
        .sort("job_name")
    )
    rows = [
        {
            "kind": "repeated_failures",
            "subject": job,
            "evidence": f"{failures} failed runs in the last {policy.repeated_failures_days} days, the last at "
            f"{last:%Y-%m-%d %H:%M} UTC; {wasted:.0f} s of compute spent on them",
            "estimated_saving_usd_month": wasted
            / policy.repeated_failures_days
            * DAYS_PER_MONTH
            / 3600
            * model.vcpu_usd_per_hour,
            "action": "read the failures' common error in the UI and fix the cause before re-running; "
            "the saving is the compute of failed runs at this rate",
        }
        for job, failures, wasted, last in failed.select("job_name", "failures", "wasted_s", "last").iter_rows()
    ]
    return _hints(rows)


def full_rebuilds(activity: pl.DataFrame, steps: pl.DataFrame, model: CostModel, policy: HintPolicy) -> pl.DataFrame:
    """Unpartitioned assets rebuilt whole again and again while their rows barely change.

    An asset rebuilt at least ``rebuild_min_builds`` times whose row count grows
    by less than ``rebuild_max_growth_per_build`` per build rewrites mostly the
    same rows: an incremental (partitioned or merge) build would process only the
    new ones. The saving is that share of its compute.
    """
    builds = (
        activity.filter(
            (pl.col("event") == "materialization") & pl.col("partition").is_null() & pl.col("rows").is_not_null()
        )
        .sort("timestamp")
        .with_columns(previous=pl.col("rows").shift(1).over("asset_key"))
        .group_by("asset_key")
        .agg(
            builds=pl.len(),
            rows=pl.col("rows").last(),
            growth=((pl.col("rows") - pl.col("previous")) / pl.col("previous")).drop_nulls().drop_nans().median(),
        )
        .filter(
            (pl.col("builds") >= policy.rebuild_min_builds)
            & (pl.col("rows") >= policy.rebuild_min_rows)
            & pl.col("growth").is_between(0, policy.rebuild_max_growth_per_build)
        )
    )
    compute = (
        steps.group_by("asset_key", "month")
        .agg(seconds=pl.col("duration_s").sum())
        .group_by("asset_key")
        .agg(seconds_month=pl.col("seconds").mean())
    )
    candidates = builds.join(compute, on="asset_key", how="left").sort("asset_key")
    rows = []
    for asset, count, size, growth, seconds in candidates.select(
        "asset_key", "builds", "rows", "growth", "seconds_month"
    ).iter_rows():
        seconds = seconds or 0.0
        rows.append(
            {
                "kind": "full_rebuild",
                "subject": asset,
                "evidence": f"rebuilt whole {count} times, {size} rows now, median growth {growth:.1%} per build: "
                f"each build rewrites rows that did not change; {seconds:.0f} s of compute a month",
                "estimated_saving_usd_month": seconds * (1 - growth) / 3600 * model.vcpu_usd_per_hour,
                "action": "partition the asset by date (or merge only new keys) so a build processes the new rows",
            }
        )
    return _hints(rows)


def optimization_hints(
    runs: pl.DataFrame,
    steps: pl.DataFrame,
    activity: pl.DataFrame,
    storage: pl.DataFrame,
    consumers: dict[str, int] | None,
    now: datetime,
    model: CostModel,
    policy: HintPolicy | None = None,
) -> pl.DataFrame:
    """Every hint rule, largest saving first."""
    policy = policy or HintPolicy()
    runs, steps, activity = utc(runs), utc(steps), utc(activity)
    parts = [
        unused_assets(activity, storage, consumers, now, model, policy),
        growing_tables(activity, model, policy),
        p95_regressions(steps, now, model, policy),
        repeated_failures(runs, now, model, policy),
        full_rebuilds(activity, steps, model, policy),
    ]
    return pl.concat(parts).sort("estimated_saving_usd_month", "kind", "subject", descending=[True, False, False])


# --------------------------------------------------------------------------- scaling


def peak_concurrency(runs: pl.DataFrame) -> int:
    """The largest number of runs executing at the same moment (start/end sweep)."""
    timed = runs.filter(pl.col("started_at").is_not_null() & pl.col("ended_at").is_not_null())
    if timed.is_empty():
        return 0
    events = pl.concat(
        [
            timed.select(at=pl.col("started_at"), delta=pl.lit(1)),
            timed.select(at=pl.col("ended_at"), delta=pl.lit(-1)),
        ]
    ).sort("at", "delta")  # an end and a start at the same instant do not overlap
    return int(events.select(pl.col("delta").cum_sum().max()).item() or 0)


def scaling_recommendations(
    runs: pl.DataFrame,
    steps: pl.DataFrame,
    costs: pl.DataFrame,
    *,
    max_concurrent_runs: int,
    warehouse_pool_limit: int,
    warehouse_engine: str,
    spark_steps: str,
    model: CostModel,
    policy: HintPolicy | None = None,
) -> pl.DataFrame:
    """Run queue, warehouse pool, Spark executors and BigQuery pricing, each from measured figures."""
    policy = policy or HintPolicy()
    runs, steps = utc(runs), utc(steps)
    rows: list[dict[str, str]] = []
    waits = runs.filter(pl.col("queue_wait_s").is_not_null())["queue_wait_s"]
    p95_wait = float(waits.quantile(0.95, interpolation="linear")) if waits.len() else 0.0
    peak = peak_concurrency(runs)
    evidence = f"p95 queue wait {p95_wait:.1f} s over {waits.len()} runs; peak {peak} concurrent runs"
    timed = runs.filter(pl.col("ended_at").is_not_null()).height
    if timed < policy.min_runs_for_scaling:
        pass  # too little history to size the queue or the pool
    elif p95_wait > policy.queue_wait_p95_high_s and peak >= max_concurrent_runs:
        rows.append(
            {
                "resource": "run queue (max_concurrent_runs)",
                "current": str(max_concurrent_runs),
                "recommended": str(max_concurrent_runs * 2),
                "evidence": evidence + f", at the limit of {max_concurrent_runs}",
                "action": "raise run_queue.max_concurrent_runs in dagster.yaml (the Helm values in deployment)",
            }
        )
    elif peak < max_concurrent_runs / 2 and max_concurrent_runs > 1 and p95_wait <= policy.queue_wait_p95_high_s:
        rows.append(
            {
                "resource": "run queue (max_concurrent_runs)",
                "current": str(max_concurrent_runs),
                "recommended": str(max(1, peak)),
                "evidence": evidence + f", below half of the limit of {max_concurrent_runs}",
                "action": "the limit is never reached: lower it to size the run workers (or leave it, it costs nothing "
                "when runs are launched in-process)",
            }
        )
    if p95_wait > policy.queue_wait_p95_high_s and timed >= policy.min_runs_for_scaling:
        if warehouse_engine == "duckdb":
            recommended, action = (
                str(warehouse_pool_limit),
                "keep 1: DuckDB takes one writer per file. Spread schedules apart, or run on BigQuery "
                "(CASEWORKS_ENV=prod) where the pool can be raised",
            )
        else:
            recommended, action = (
                str(max(warehouse_pool_limit + 1, peak)),
                "raise the caseworks_warehouse pool limit (dagster instance concurrency) to the peak",
            )
        rows.append(
            {
                "resource": "pool caseworks_warehouse",
                "current": str(warehouse_pool_limit),
                "recommended": recommended,
                "evidence": evidence,
                "action": action,
            }
        )
    spark = steps.filter(pl.col("step_key").str.contains(spark_steps) & (pl.col("status") == "SUCCESS"))
    if spark.height:
        spark_p95 = float(spark["duration_s"].quantile(0.95, interpolation="linear"))
        executors = model.spark_executors
        if spark_p95 > policy.spark_target_p95_s:
            wanted = math.ceil(executors * spark_p95 / policy.spark_target_p95_s)
        elif spark_p95 < policy.spark_target_p95_s / 4 and executors > 1:
            wanted = max(1, executors // 2)
        else:
            wanted = executors
        if wanted != executors:
            rows.append(
                {
                    "resource": f"Spark executors (steps matching {spark_steps!r})",
                    "current": str(executors),
                    "recommended": str(wanted),
                    "evidence": f"p95 step duration {spark_p95:.1f} s over {spark.height} steps, target "
                    f"{policy.spark_target_p95_s:.0f} s",
                    "action": "set spark.executor.instances (or dynamic allocation's maximum) for the job",
                }
            )
    monthly = costs.group_by("month").agg(bytes_billed=pl.col("bytes_billed").sum(), usd=pl.col("query_usd").sum())
    if monthly.height and monthly["bytes_billed"].max():
        peak_month = monthly.sort("usd").row(-1, named=True)
        slots_usd = policy.bq_slots_baseline * 730 * model.bq_slot_usd_per_hour
        on_demand = peak_month["usd"]
        better = "slots" if on_demand > slots_usd else "on-demand"
        rows.append(
            {
                "resource": "BigQuery pricing",
                "current": "on-demand",
                "recommended": better if better == "on-demand" else f"{policy.bq_slots_baseline}-slot reservation",
                "evidence": f"busiest month {peak_month['month']}: {peak_month['bytes_billed'] / TIB:.3f} TiB billed = "
                f"{on_demand:.2f} USD on demand vs {slots_usd:.2f} USD for {policy.bq_slots_baseline} slots",
                "action": "keep on-demand" if better == "on-demand" else "buy a slot reservation (Enterprise edition)",
            }
        )
    return pl.DataFrame(rows, schema=RECOMMENDATION_SCHEMA)
