"""The platform tables' columns, declared once with their type and meaning.

Nothing here is personal data: job and asset names, timings, sizes and prices
are internal operational figures.
"""

from caseworks_assets.governance.classification import Classification, ColumnSpec

INTERNAL = Classification.INTERNAL


def _specs(*columns: tuple[str, str, str]) -> list[ColumnSpec]:
    return [ColumnSpec(name, dtype, description, INTERNAL) for name, dtype, description in columns]


DAY = ("day", "Date", "UTC day the run started (or was created); the partition key.")
MONTH = ("month", "String", "YYYY-MM of `day`.")

RUN_HISTORY = _specs(
    ("run_id", "String", "Dagster run id."),
    ("job_name", "String", "Job the run executed."),
    ("status", "String", "Run status: SUCCESS, FAILURE, CANCELED, STARTED, QUEUED, ..."),
    ("case", "String", "Case that launched it (the run's `caseworks/case` tag), if any."),
    ("partition", "String", "Partition key of the run, if one."),
    ("root_run_id", "String", "First run of its retry chain (itself when not a retry)."),
    ("is_retry", "Boolean", "The run re-executes an earlier one."),
    ("created_at", "Datetime(UTC)", "When the run was created."),
    ("queued_at", "Datetime(UTC)", "When it was enqueued (or launched, without the queue); null in process."),
    ("started_at", "Datetime(UTC)", "When its execution started."),
    ("ended_at", "Datetime(UTC)", "When it finished."),
    ("duration_s", "Float64", "Seconds from start to end."),
    ("queue_wait_s", "Float64", "Seconds from queued to started; null when it was never queued."),
    DAY,
    MONTH,
)
STEP_HISTORY = _specs(
    ("run_id", "String", "Run of the step."),
    ("job_name", "String", "Job of the run."),
    ("step_key", "String", "Step (op) key."),
    ("status", "String", "SUCCESS, FAILURE, SKIPPED or IN_PROGRESS."),
    ("attempts", "Int64", "Attempts of the step in the run (retries included)."),
    ("started_at", "Datetime(UTC)", "Start of its first attempt."),
    ("ended_at", "Datetime(UTC)", "End of its last attempt."),
    ("asset_key", "String", "Asset the step builds (`case/name`, from the op name)."),
    ("duration_s", "Float64", "Seconds from start to end: the CPU-seconds the cost model prices."),
    DAY,
    MONTH,
)
ASSET_ACTIVITY = _specs(
    ("timestamp", "Datetime(UTC)", "When the event was recorded."),
    ("asset_key", "String", "Asset key, `/`-separated."),
    ("event", "String", "materialization, observation, check or freshness_miss."),
    ("run_id", "String", "Run that recorded it (empty for runless events)."),
    ("step_key", "String", "Step that recorded it."),
    ("partition", "String", "Partition key, if any."),
    ("check_name", "String", "Asset check name (check events)."),
    ("passed", "Boolean", "Whether the check passed (check events)."),
    ("severity", "String", "ERROR (blocking) or WARN (check events)."),
    ("rows", "Int64", "Rows written, from the event's metadata (`dagster/row_count`, `rows`, ...)."),
    ("bytes", "Int64", "Bytes written, from the event's metadata (`bytes`, `size_bytes`, ...)."),
    ("bytes_billed", "Int64", "Warehouse bytes billed by the step's queries, from metadata or dbt's run results."),
    DAY,
    MONTH,
)
STORAGE_FOOTPRINT = _specs(
    ("layer", "String", "warehouse (DuckDB / BigQuery table) or lake (files)."),
    ("table_name", "String", "schema.table in the warehouse, case/table in the lake."),
    ("asset_key", "String", "Asset key of the table (`case/table`)."),
    ("rows", "Int64", "Rows (warehouse tables; null for lake files)."),
    ("bytes", "Int64", "Bytes stored: DuckDB blocks times block size, BigQuery logical bytes, or file sizes."),
    ("days_since_change", "Int64", "Days since last modified (long-term storage after 90); null if unknown."),
    ("measured_at", "Datetime(UTC)", "When the footprint was measured."),
)
COST_ESTIMATES = _specs(
    ("month", "String", "YYYY-MM."),
    ("asset_key", "String", "Asset key."),
    ("bytes_billed", "Int64", "Warehouse bytes billed in the month."),
    ("query_usd", "Float64", "On-demand query cost: bytes billed / TiB * price."),
    ("storage_gib", "Float64", "GiB stored (current month only: measured now)."),
    ("storage_usd", "Float64", "Storage cost for the month, active or long-term price."),
    ("cpu_seconds", "Float64", "Step seconds outside Spark (one vCPU per step)."),
    ("compute_usd", "Float64", "CPU seconds priced per vCPU-hour."),
    ("spark_executor_seconds", "Float64", "Spark step seconds times executors."),
    ("spark_usd", "Float64", "Executor seconds priced per executor-hour."),
    ("total_usd", "Float64", "Sum of the four costs."),
)
KPIS = _specs(
    ("kpi", "String", "success_rate, p50_duration, p95_duration, failures, freshness_misses, checks_failed, ..."),
    ("scope", "String", "Job, asset or `all`."),
    ("period", "String", "Day, month or `all`."),
    ("value", "Float64", "The figure."),
    ("unit", "String", "ratio, s, runs, checks or usd."),
)
OPTIMIZATION_HINTS = _specs(
    ("kind", "String", "unused_asset, growing_table, p95_regression, repeated_failures or full_rebuild."),
    ("subject", "String", "The asset, job or job:step concerned."),
    ("evidence", "String", "The measured figures the hint rests on."),
    ("estimated_saving_usd_month", "Float64", "What acting on it saves per month under the cost model."),
    ("action", "String", "What to do."),
)
SCALING_RECOMMENDATIONS = _specs(
    ("resource", "String", "Run queue, warehouse pool, Spark executors or BigQuery pricing."),
    ("current", "String", "Current setting."),
    ("recommended", "String", "Recommended setting."),
    ("evidence", "String", "Measured queue wait, concurrency, durations or bytes billed."),
    ("action", "String", "Where to change it."),
)
