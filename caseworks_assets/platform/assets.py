"""The platform assets: the instance's history as tables, then costs, KPIs, hints, recommendations and the dashboard.

The history tables are daily partitions over the instance's history (a
backfill of any range re-reads those days); the figures built from them are
unpartitioned, recomputed over the whole history each time.
"""

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from caseworks_assets.governance.classification import governance_metadata
from caseworks_assets.platform import collect, columns, costs, dashboard, hints, kpis, storage
from caseworks_assets.quality.checks import markdown_table
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, CaseOutputs, LakeResource
from caseworks_assets.settings import Settings

CASE = "platform"
START_DATE = "2025-01-01"
daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)

#: Step keys that run on Spark (the payments delinquency evaluation): priced as executor time.
SPARK_STEPS = r"delinquency_evaluation"
#: Where dbt writes its run results under the output folder (the callcenter dbt project's target).
DBT_RUN_RESULTS = ("callcenter", "dbt_target", "run_results.json")


def cost_model(settings: Settings | None = None) -> costs.CostModel:
    """The documented defaults with the settings' ``CASEWORKS_COST_*`` overrides."""
    overrides = dict((settings or Settings.from_env()).platform.cost_overrides)
    unknown = set(overrides) - set(costs.CostModel.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown cost model field(s) {sorted(unknown)}; the fields are {costs.CostModel().as_dict()}")
    return costs.CostModel(
        **{k: (int(v) if k in ("long_term_after_days", "spark_executors") else v) for k, v in overrides.items()}
    )


def _window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def _history(name: str, specs, description: str, deps=()) -> dict:
    return {
        "key": [CASE, name],
        "group_name": CASE,
        "partitions_def": daily_partitions,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "pool": WAREHOUSE_POOL,
        "kinds": {"dagster", "polars", WAREHOUSE_KIND},
        "metadata": {"partition_expr": "day", **governance_metadata(specs)},
        "description": description,
        "deps": list(deps),
    }


@dg.asset(**_history("run_history", columns.RUN_HISTORY, "Every run of every job: status, duration and queue wait."))
def run_history(context: dg.AssetExecutionContext) -> dg.Output[pl.DataFrame]:
    start, end = _window(context)
    runs = collect.read_runs(context.instance, start, end)
    failed = runs.filter(pl.col("status") == "FAILURE").height
    return dg.Output(
        runs,
        metadata={
            "dagster/row_count": runs.height,
            "runs": runs.height,
            "failed_runs": failed,
            "jobs": runs["job_name"].n_unique(),
        },
    )


@dg.asset(
    **_history(
        "step_history",
        columns.STEP_HISTORY,
        "Every step of those runs, from the instance's step statistics.",
        [run_history],
    )
)
def step_history(context: dg.AssetExecutionContext) -> dg.Output[pl.DataFrame]:
    start, end = _window(context)
    steps = collect.read_steps(context.instance, start, end)
    return dg.Output(steps, metadata={"dagster/row_count": steps.height, "steps": steps.height})


@dg.asset(
    **_history(
        "asset_activity",
        columns.ASSET_ACTIVITY,
        "Materializations, observations and check results per asset, with rows and bytes from their metadata, "
        "plus bytes billed from dbt's run_results.json when a dbt project ran on BigQuery.",
    )
)
def asset_activity(context: dg.AssetExecutionContext) -> dg.Output[pl.DataFrame]:
    start, end = _window(context)
    activity = collect.read_activity(context.instance, start, end)
    billed = storage.dbt_bytes_billed(Settings.from_env().out_dir.joinpath(*DBT_RUN_RESULTS))
    if not billed.is_empty():
        extra = billed.with_columns(
            timestamp=pl.col("completed_at")
            .str.to_datetime(time_zone="UTC", strict=False)
            .fill_null(datetime.now(UTC)),
            event=pl.lit("query"),
        ).drop("completed_at")
        extra = extra.with_columns(day=pl.col("timestamp").dt.date(), month=pl.col("timestamp").dt.strftime("%Y-%m"))
        extra = extra.filter(pl.col("day").is_between(start, end, closed="left"))
        activity = pl.concat([activity, extra], how="diagonal_relaxed").select(activity.columns)
    checks = activity.filter(pl.col("event") == "check")
    return dg.Output(
        activity,
        metadata={
            "dagster/row_count": activity.height,
            "materializations": activity.filter(pl.col("event") == "materialization").height,
            "checks_failed": checks.filter(~pl.col("passed")).height,
        },
    )


@dg.asset(
    key=[CASE, "storage_footprint"],
    group_name=CASE,
    kinds={WAREHOUSE_KIND, "parquet", "polars"},
    pool=WAREHOUSE_POOL,
    metadata=governance_metadata(columns.STORAGE_FOOTPRINT),
    description="Bytes per warehouse table (DuckDB block statistics; INFORMATION_SCHEMA.TABLE_STORAGE on "
    "BigQuery) and per lake table (file sizes), measured now.",
)
def storage_footprint(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.Output[pl.DataFrame]:
    settings = Settings.from_env()
    if settings.env == "prod":
        from caseworks_assets.registry import case_names

        warehouse = storage.bigquery_footprint(
            settings.bigquery_project or "", settings.bigquery_location or "US", case_names()
        )
    else:
        warehouse = storage.duckdb_footprint(settings.warehouse_path)
    footprint = storage.with_measured_at(pl.concat([warehouse, storage.lake_footprint(lake.root)]))
    total = int(footprint["bytes"].sum() or 0)
    by_layer = {layer: int(size) for layer, size in footprint.group_by("layer").agg(pl.col("bytes").sum()).iter_rows()}
    return dg.Output(
        footprint,
        metadata={
            "dagster/row_count": footprint.height,
            "total_bytes": total,
            **{f"{layer}_bytes": size for layer, size in by_layer.items()},
        },
    )


def _table_asset(name: str, specs, description: str, **kwargs):
    return dg.asset(
        key=[CASE, name],
        group_name=CASE,
        kinds={"polars", WAREHOUSE_KIND},
        pool=WAREHOUSE_POOL,
        metadata=governance_metadata(specs),
        description=description,
        **kwargs,
    )


@_table_asset(
    "cost_estimates",
    columns.COST_ESTIMATES,
    "Cost per asset per month under the documented cost model (caseworks_assets/platform/costs.py): BigQuery "
    "bytes billed on demand, storage per GiB-month active/long-term, step CPU-seconds per vCPU-hour, Spark "
    "executor time.",
    ins={
        "steps": dg.AssetIn(key=step_history.key),
        "activity": dg.AssetIn(key=asset_activity.key),
        "footprint": dg.AssetIn(key=storage_footprint.key),
    },
)
def cost_estimates(steps: pl.DataFrame, activity: pl.DataFrame, footprint: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    model = cost_model()
    month = datetime.now(UTC).strftime("%Y-%m")
    table = costs.cost_estimates(steps, activity, footprint, month, model, SPARK_STEPS)
    this_month = table.filter(pl.col("month") == month)
    return dg.Output(
        table,
        metadata={
            "dagster/row_count": table.height,
            "month": month,
            "month_total_usd": float(this_month["total_usd"].sum()),
            "cost_model": dg.MetadataValue.json(model.as_dict()),
        },
    )


def key_figures(runs: pl.DataFrame, table: pl.DataFrame, costs_table: pl.DataFrame) -> dict[str, str]:
    """The headline numbers shown in the UI and on top of the dashboard."""
    rate = kpis.kpi_value(table, "success_rate")
    month = costs_table["month"].max() if costs_table.height else None
    month_cost = float(costs_table.filter(pl.col("month") == month)["total_usd"].sum()) if month else 0.0
    return {
        "runs": f"{runs.height}",
        "success rate": "n/a" if rate is None else f"{rate:.1%}",
        "failed runs": f"{runs.filter(pl.col('status') == 'FAILURE').height}",
        "checks failed": f"{kpis.kpi_value(table, 'checks_failed') or 0:.0f}",
        "freshness misses": f"{kpis.kpi_value(table, 'freshness_misses') or 0:.0f}",
        f"estimated cost {month or '-'}": f"{month_cost:,.4f} USD",
    }


@_table_asset(
    "kpis",
    columns.KPIS,
    "Success rate and p50/p95 per job, failures per day, freshness misses, checks failed, cost per asset, "
    "month-over-month growth.",
    ins={
        "runs": dg.AssetIn(key=run_history.key),
        "activity": dg.AssetIn(key=asset_activity.key),
        "costs_table": dg.AssetIn(key=cost_estimates.key),
    },
)
def kpi_table(runs: pl.DataFrame, activity: pl.DataFrame, costs_table: pl.DataFrame) -> dg.Output[pl.DataFrame]:
    table = kpis.compute_kpis(runs, activity, costs_table)
    figures = key_figures(runs, table, costs_table)
    reliability = kpis.job_reliability(runs)
    text = "\n".join(f"- **{k}**: {v}" for k, v in figures.items())
    return dg.Output(
        table,
        metadata={
            "dagster/row_count": table.height,
            "key_figures": dg.MetadataValue.md(text + "\n\n" + markdown_table(reliability)),
        },
    )


def _consumers(context: dg.AssetExecutionContext) -> dict[str, int]:
    """Downstream assets per asset in the whole code location.

    A run launched from the UI or the daemon knows its code location; a run
    of this case alone (the CLI) loads the other cases' definitions to learn
    who reads what.
    """
    try:
        graph = context.repository_def.asset_graph
    except Exception:  # a run executed in process has no repository: Dagster raises its check error
        graph = None
    if graph is not None:
        return {key.to_user_string(): len(graph.get(key).child_keys) for key in graph.get_all_asset_keys()}
    from caseworks_assets.registry import registered_cases

    consumers: dict[str, int] = {}
    for case in registered_cases().values():
        for assets_def in case.defs.assets or []:
            for spec in getattr(assets_def, "specs", []):
                consumers.setdefault(spec.key.to_user_string(), 0)
                for dep in spec.deps:
                    name = dep.asset_key.to_user_string()
                    consumers[name] = consumers.get(name, 0) + 1
    return consumers


@_table_asset(
    "optimization_hints",
    columns.OPTIMIZATION_HINTS,
    "Unused assets, growing tables, p95 regressions, repeated failures and full rebuilds that could be "
    "incremental, each with its evidence and estimated saving per month.",
    ins={
        "runs": dg.AssetIn(key=run_history.key),
        "steps": dg.AssetIn(key=step_history.key),
        "activity": dg.AssetIn(key=asset_activity.key),
        "footprint": dg.AssetIn(key=storage_footprint.key),
    },
)
def optimization_hints(
    context: dg.AssetExecutionContext,
    runs: pl.DataFrame,
    steps: pl.DataFrame,
    activity: pl.DataFrame,
    footprint: pl.DataFrame,
) -> dg.Output[pl.DataFrame]:
    table = hints.optimization_hints(
        runs, steps, activity, footprint, _consumers(context), datetime.now(UTC), cost_model()
    )
    return dg.Output(
        table,
        metadata={
            "dagster/row_count": table.height,
            "estimated_saving_usd_month": float(table["estimated_saving_usd_month"].sum()),
            "hints": dg.MetadataValue.md(markdown_table(table) if table.height else "nothing to optimize"),
        },
    )


@_table_asset(
    "scaling_recommendations",
    columns.SCALING_RECOMMENDATIONS,
    "Run queue and caseworks_warehouse pool limits, Spark executors and BigQuery slots vs on-demand, from the "
    "measured queue wait, concurrency, durations and bytes billed.",
    ins={
        "runs": dg.AssetIn(key=run_history.key),
        "steps": dg.AssetIn(key=step_history.key),
        "costs_table": dg.AssetIn(key=cost_estimates.key),
    },
)
def scaling_recommendations(
    runs: pl.DataFrame, steps: pl.DataFrame, costs_table: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    settings = Settings.from_env()
    limits = settings.platform
    table = hints.scaling_recommendations(
        runs,
        steps,
        costs_table,
        max_concurrent_runs=limits.max_concurrent_runs,
        warehouse_pool_limit=limits.warehouse_pool_limit,
        warehouse_engine=settings.warehouse_kind,
        spark_steps=SPARK_STEPS,
        model=cost_model(settings),
    )
    return dg.Output(
        table,
        metadata={
            "dagster/row_count": table.height,
            "recommendations": dg.MetadataValue.md(markdown_table(table) if table.height else "no change recommended"),
        },
    )


@dg.asset(
    key=[CASE, "dashboard"],
    group_name=CASE,
    kinds={"html", "markdown"},
    description="Self-contained HTML dashboard (<out>/platform/dashboard.html): runs per day by status, p95 "
    "durations, cost per asset per month, storage footprint over time, hints and recommendations.",
    ins={
        "runs": dg.AssetIn(key=run_history.key),
        "activity": dg.AssetIn(key=asset_activity.key),
        "footprint": dg.AssetIn(key=storage_footprint.key),
        "costs_table": dg.AssetIn(key=cost_estimates.key),
        "kpi": dg.AssetIn(key=kpi_table.key),
        "hint_table": dg.AssetIn(key=optimization_hints.key),
        "recommendations": dg.AssetIn(key=scaling_recommendations.key),
    },
)
def platform_dashboard(
    outputs: CaseOutputs,
    runs: pl.DataFrame,
    activity: pl.DataFrame,
    footprint: pl.DataFrame,
    costs_table: pl.DataFrame,
    kpi: pl.DataFrame,
    hint_table: pl.DataFrame,
    recommendations: pl.DataFrame,
) -> dg.MaterializeResult:
    figures = key_figures(runs, kpi, costs_table)
    page = dashboard.render_dashboard(
        generated_at=datetime.now(UTC),
        figures=figures,
        runs=runs,
        reliability=kpis.job_reliability(runs),
        costs=costs_table,
        activity=activity,
        current_bytes=int(footprint["bytes"].sum() or 0),
        hints=hint_table,
        recommendations=recommendations,
    )
    path = write_dashboard(outputs.dir_for(CASE), page)
    text = "\n".join(f"- **{k}**: {v}" for k, v in figures.items())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "key_figures": dg.MetadataValue.md(text),
        }
    )


def write_dashboard(folder: Path, page: str) -> Path:
    """Write the page next to a temporary name, then rename: a reader never sees half a dashboard."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "dashboard.html"
    staging = target.with_suffix(".html.part")
    staging.write_text(page, encoding="utf-8")
    staging.replace(target)
    return target


HISTORY_ASSETS = [run_history, step_history, asset_activity]
ALL_ASSETS = [
    *HISTORY_ASSETS,
    storage_footprint,
    cost_estimates,
    kpi_table,
    optimization_hints,
    scaling_recommendations,
    platform_dashboard,
]
