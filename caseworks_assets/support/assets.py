"""The support case's assets: raw months, state per month, final tables, report, answers and exports.

Per month (partitions of ``support_months``, keys ``YYYY-MM``)::

    raw_<table>  ->  <table>_state  ->  quarantine
    (text rows)      (previous month's state + this month's changes, in the lake)

Then, unpartitioned, on the latest applied month::

    <table>_final (warehouse)  ->  support_report  ->  support_answers, support_exports

A month's state is recomputed from the previous month's snapshot every time it
runs, so running a month again gives the same state: a delta is never applied
twice. A month whose predecessor has no snapshot fails and says which month to
apply first.
"""

from datetime import timedelta

import dagster as dg
import polars as pl
from pydantic import Field

from caseworks_assets.quality import validate_frame
from caseworks_assets.resources import (
    WAREHOUSE_KIND,
    WAREHOUSE_POOL,
    CaseInputs,
    CaseOutputs,
    LakeResource,
    LakeTable,
)
from caseworks_assets.support.answers import answer
from caseworks_assets.support.changes import apply_changes, quarantine_schema, typed_changes, unique_key_result
from caseworks_assets.support.exports import FORMATS, write_export
from caseworks_assets.support.layout import CASE, TABLES, Layout, TableSpec, discover, read_raw
from caseworks_assets.support.report import build_report, labelled_interactions, reconciliation, unknown_counts
from caseworks_assets.support.schemas import (
    QUARANTINE_COLUMNS,
    QUARANTINE_SCHEMA,
    REPORT_COLUMNS,
    STATE_SCHEMAS,
    column_metadata,
    raw_columns,
    state_columns,
)

PREFIX = [CASE]
MONTHS = dg.DynamicPartitionsDefinition(name="support_months")


def snapshot_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of a table's state after ``month``: ``support/<table>_state/<month>.parquet``."""
    return (CASE, f"{table}_state", f"{month}.parquet")


def raw_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of a month's raw rows of ``table``: ``support/raw_<table>/<month>.parquet``."""
    return (CASE, f"raw_{table}", f"{month}.parquet")


def rejects_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of the rows of ``month``'s file of ``table`` that were quarantined."""
    return (CASE, f"{table}_rejects", f"{month}.parquet")


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"raw_{table}"])


def state_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"{table}_state"])


def final_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"{table}_final"])


REPORT_KEY = dg.AssetKey([CASE, "support_report"])
QUARANTINE_KEY = dg.AssetKey([CASE, "quarantine"])


def latest_applied_month(layout: Layout, lake: LakeResource) -> str | None:
    """The latest month (in application order) whose state snapshot exists for every table."""
    for month in reversed(layout.months):
        if all(lake.exists(*snapshot_parts(table, month)) for table in TABLES):
            return month
    return None


def _raw_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{spec.name}",
        key_prefix=PREFIX,
        group_name=CASE,
        partitions_def=MONTHS,
        kinds={"polars", "parquet"},
        metadata=column_metadata(raw_columns(spec.name)),
        description=f"The month's {spec.name} rows as read (text): initial/{spec.name}.csv for the first month, "
        f"delta/{spec.name}_delta_<YYYYMM>.csv after; empty when the table has no delta that month.",
    )
    def raw(context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource) -> dg.MaterializeResult:
        layout = discover(inputs.dir_for(CASE))
        month = context.partition_key
        layout.previous(month)  # fails clearly when the folder has no input for this month
        path = layout.file_for(spec.name, month)
        frame = read_raw(spec, path, initial=month == layout.initial_month)
        # Written by hand rather than returned: an in-process run keeps every returned value in memory.
        stored = lake.write_parquet(frame, *raw_parts(spec.name, month))
        return dg.MaterializeResult(
            metadata={
                "source_file": str(path) if path else "none (no delta this month)",
                "path": str(stored),
                "dagster/row_count": frame.height,
            }
        )

    return raw


def _state_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{spec.name}_state",
        key_prefix=PREFIX,
        group_name=CASE,
        partitions_def=MONTHS,
        deps=[raw_key(spec.name)],
        kinds={"polars", "parquet"},
        metadata=column_metadata(state_columns(spec.name)),
        check_specs=[
            dg.AssetCheckSpec(
                "valid_actions",
                asset=state_key(spec.name),
                description="Every change row's action is add, update or delete (any case/spaces).",
            ),
            dg.AssetCheckSpec(
                f"unique_{spec.key}",
                asset=state_key(spec.name),
                blocking=True,
                description=f"Each {spec.key} appears once in the state: deltas are upserts by id.",
            ),
            dg.AssetCheckSpec(
                "known_ids",
                asset=state_key(spec.name),
                description="Updates and deletes name ids the previous state holds.",
            ),
        ],
        description=f"Current {spec.name} after the month: the previous month's snapshot with this month's "
        f"changes applied by {spec.key} (lake: support/{spec.name}_state/<month>.parquet).",
    )
    def state(context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource):
        layout = discover(inputs.dir_for(CASE))
        month = context.partition_key
        if not lake.exists(*raw_parts(spec.name, month)):
            raise dg.Failure(f"raw_{spec.name} for {month} is missing: materialize it first")
        raw = lake.scan_parquet(*raw_parts(spec.name, month))  # typed chunk by chunk: the text never whole in memory
        before = layout.previous(month)
        if before is None:
            previous = pl.DataFrame(schema=STATE_SCHEMAS[spec.name])
        elif lake.exists(*snapshot_parts(spec.name, before)):
            previous = lake.read_parquet(*snapshot_parts(spec.name, before))
        else:
            raise dg.Failure(
                f"{spec.name} for {month} builds on the state after {before}, which has not been applied: "
                f"apply the months in order ({', '.join(layout.months)}), starting with {before}"
            )
        changes = typed_changes(spec, raw)
        current, stats = apply_changes(previous, changes.rows, spec.key)
        path = lake.write_parquet(current, *snapshot_parts(spec.name, month))
        lake.write_parquet(changes.quarantine, *rejects_parts(spec.name, month))
        bad_actions = changes.counts.get("bad_action", 0)
        unknown = stats["unknown_deletes"] + stats["unknown_updates"]
        return dg.MaterializeResult(
            metadata={
                **changes.metadata(),
                **stats,
                "builds_on": before or "nothing (initial extract)",
                "path": str(path),
                "dagster/row_count": current.height,
            },
            check_results=[
                unique_key_result(current, spec.key),
                dg.AssetCheckResult(
                    check_name="valid_actions",
                    passed=bad_actions == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"bad_actions": bad_actions},
                    description=f"{bad_actions} row(s) with an action other than add/update/delete quarantined",
                ),
                dg.AssetCheckResult(
                    check_name="known_ids",
                    passed=unknown == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={k: stats[k] for k in ("unknown_deletes", "unknown_updates", "adds_of_existing_ids")},
                    description=f"{stats['unknown_deletes']} delete(s) and {stats['unknown_updates']} update(s) "
                    "of ids not in the previous state (deletes ignored, updates inserted)",
                ),
            ],
        )

    return state


RAW_ASSETS = [_raw_asset(spec) for spec in TABLES.values()]
STATE_ASSETS = [_state_asset(spec) for spec in TABLES.values()]


@dg.asset(
    key_prefix=PREFIX,
    group_name=CASE,
    partitions_def=MONTHS,
    deps=[state_key(table) for table in TABLES],
    pool=WAREHOUSE_POOL,
    kinds={"polars", WAREHOUSE_KIND},
    metadata={"partition_expr": "month", **column_metadata(QUARANTINE_COLUMNS)},
    check_specs=[
        dg.AssetCheckSpec(
            "quarantine_schema",
            asset=QUARANTINE_KEY,
            description="Quarantine rows match the Pandera schema (checked before the write, since "
            "an empty month writes no table to read back).",
        ),
    ],
    description="Rows of the month's files that were not applied, with the rule, file, line and raw record.",
)
def quarantine(context: dg.AssetExecutionContext, lake: LakeResource):
    month = context.partition_key
    frames = [
        lake.read_parquet(*rejects_parts(table, month))
        if lake.exists(*rejects_parts(table, month))
        else pl.DataFrame(schema=quarantine_schema())
        for table in TABLES
    ]
    rows = pl.concat([f.cast(quarantine_schema()) for f in frames]).select(pl.lit(month).alias("month"), pl.all())
    by_rule = rows.group_by("table", "rule").len().sort("table", "rule")
    yield dg.Output(
        rows,
        metadata={
            "dagster/row_count": rows.height,
            "by_rule": dg.MetadataValue.json({f"{t}/{r}": n for t, r, n in by_rule.iter_rows()}),
        },
    )
    check = validate_frame(rows, QUARANTINE_SCHEMA)
    yield dg.AssetCheckResult(
        check_name="quarantine_schema", passed=check.passed, metadata=check.metadata, description=check.description
    )


class FinalStateConfig(dg.Config):
    month: str = Field(
        default="",
        description="YYYY-MM of the state to publish; empty = the latest month applied to every table.",
    )


@dg.multi_asset(
    outs={
        f"{table}_final": dg.AssetOut(
            key_prefix=PREFIX,
            io_manager_key="io_manager",
            kinds={"polars", WAREHOUSE_KIND},
            metadata=column_metadata(state_columns(table)),
            description=f"Current {table}: the state after the latest applied month (warehouse support.{table}_final).",
        )
        for table in TABLES
    },
    name="support_final_state",
    deps=[state_key(table) for table in TABLES],
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def final_state(context: dg.AssetExecutionContext, config: FinalStateConfig, inputs: CaseInputs, lake: LakeResource):
    """Publish one month's snapshots of all four tables together, so the finals always agree on a month."""
    layout = discover(inputs.dir_for(CASE))
    month = config.month or latest_applied_month(layout, lake)
    if month is None:
        raise dg.Failure(
            f"no month has been applied yet; materialize the support_months partitions first, "
            f"in order: {', '.join(layout.months)}"
        )
    for table in TABLES:
        if not lake.exists(*snapshot_parts(table, month)):
            raise dg.Failure(f"the state of {table} after {month} does not exist; apply {month} first")
        # The snapshot file is loaded into the warehouse engine-side: its rows never pass through Python.
        rows = lake.row_count(*snapshot_parts(table, month))
        yield dg.Output(
            LakeTable(str(lake.path(*snapshot_parts(table, month))), rows),
            output_name=f"{table}_final",
            metadata={"month": month, "dagster/row_count": rows},
        )


REPORT_INPUT_COLUMNS = ["interaction_start", "channel", "contact_center_id", "category_id", "call_duration_minutes"]
ANSWER_INPUT_COLUMNS = [*REPORT_INPUT_COLUMNS, "agent_resolution_timestamp", "interaction_end"]


def _final_in(table: str, columns: list[str] | None = None) -> dg.AssetIn:
    """Input on a final table; with ``columns`` the warehouse reads only those (2M rows is not free)."""
    return dg.AssetIn(key=final_key(table), metadata={"columns": columns} if columns else None)


DIMENSION_INS = {
    "contact_centers": _final_in("contact_centers", ["contact_center_id", "contact_center_name"]),
    "service_categories": _final_in("service_categories", ["category_id", "department"]),
}


@dg.asset(
    key_prefix=PREFIX,
    group_name=CASE,
    ins={"interactions": _final_in("interactions", REPORT_INPUT_COLUMNS), **DIMENSION_INS},
    pool=WAREHOUSE_POOL,
    kinds={"polars", WAREHOUSE_KIND},
    metadata=column_metadata(REPORT_COLUMNS),
    description="Interactions, phone calls and call minutes per month (US Eastern), contact center and department, "
    "on the final state of the dimensions; missing or deleted dimension values are Unknown.",
    # a month's delta lands in the first days of the next month; the report is due by the 5th, 09:00 Eastern
    freshness_policy=dg.FreshnessPolicy.cron(
        deadline_cron="0 9 5 * *", lower_bound_delta=timedelta(days=5), timezone="America/New_York"
    ),
)
def support_report(
    context: dg.AssetExecutionContext,
    interactions: pl.DataFrame,
    contact_centers: pl.DataFrame,
    service_categories: pl.DataFrame,
) -> pl.DataFrame:
    report = build_report(interactions, contact_centers, service_categories)
    context.add_output_metadata(
        {"dagster/row_count": report.height, **reconciliation(report, interactions), **unknown_counts(report)}
    )
    return report


@dg.asset(
    key_prefix=PREFIX,
    group_name=CASE,
    ins={
        "report": dg.AssetIn(key=REPORT_KEY),
        "interactions": _final_in("interactions", ANSWER_INPUT_COLUMNS),
        **DIMENSION_INS,
    },
    pool=WAREHOUSE_POOL,
    kinds={"polars", "markdown"},
    description="Answers to the business questions (Markdown), also written to <out>/support/support_answers.md.",
)
def support_answers(
    report: pl.DataFrame,
    interactions: pl.DataFrame,
    contact_centers: pl.DataFrame,
    service_categories: pl.DataFrame,
    outputs: CaseOutputs,
) -> dg.MaterializeResult:
    result = answer(report, labelled_interactions(interactions, contact_centers, service_categories))
    path = outputs.dir_for(CASE) / "support_answers.md"
    path.write_text(result.markdown, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={
            "answers": dg.MetadataValue.md(result.markdown),
            "figures": dg.MetadataValue.json(result.figures),
            "path": str(path),
        }
    )


class ExportConfig(dg.Config):
    fmt: str = Field(default="parquet", description="csv, json or parquet")


EXPORT_NAMES = (*(f"{table}_final" for table in TABLES), "support_report")


@dg.asset(
    key_prefix=PREFIX,
    group_name=CASE,
    ins={
        **{f"{table}_final": dg.AssetIn(key=final_key(table)) for table in TABLES},
        "support_report": dg.AssetIn(key=REPORT_KEY),
    },
    pool=WAREHOUSE_POOL,
    kinds={"csv", "json", "parquet"},
    description="The four final tables and the report as files in <out>/support/, in the run's format; "
    "timestamps keep their US Eastern offset.",
)
def support_exports(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    outputs: CaseOutputs,
    agents_final: pl.DataFrame,
    contact_centers_final: pl.DataFrame,
    service_categories_final: pl.DataFrame,
    interactions_final: pl.DataFrame,
    support_report: pl.DataFrame,
) -> dg.MaterializeResult:
    if config.fmt not in FORMATS:
        raise dg.Failure(f"unknown export format {config.fmt!r}; expected one of {', '.join(FORMATS)}")
    frames = {
        "agents_final": agents_final,
        "contact_centers_final": contact_centers_final,
        "service_categories_final": service_categories_final,
        "interactions_final": interactions_final,
        "support_report": support_report,
    }
    folder = outputs.dir_for(CASE)
    paths = {name: str(write_export(frame, folder, name, config.fmt)) for name, frame in frames.items()}
    context.log.info(f"exported {len(paths)} files as {config.fmt} to {folder}")
    return dg.MaterializeResult(metadata={"format": config.fmt, **paths})


PARTITIONED_ASSETS = [*RAW_ASSETS, *STATE_ASSETS, quarantine]
OUTPUT_ASSETS = [final_state, support_report, support_answers, support_exports]
ALL_ASSETS = [*PARTITIONED_ASSETS, *OUTPUT_ASSETS]
