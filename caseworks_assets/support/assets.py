"""The support case's assets: raw months, state per month, final tables, report, answers and exports.

Per month (partitions of ``support_months``, keys ``YYYY-MM``), all in the
one step of the ``support_month`` multi-asset::

    raw_<table>       ->  <table>_state  ->  quarantine
    (file as given)       (previous month's state + this month's changes, in the lake)

Then, unpartitioned, on the latest applied month::

    <table>_final (warehouse)  ->  support_report  ->  support_answers, support_exports

A month's state is recomputed from the previous month's state every time it
runs, so running a month again gives the same state: a delta is never applied
twice. A month whose predecessor has no state fails and says which month to
apply first. The month step here is a thin adapter: the state logic is
:mod:`~caseworks_assets.support.months` (no Dagster in it), and how states are
kept in the lake (snapshots, or a range's earlier months as changes) is
:mod:`~caseworks_assets.support.states`.
"""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import polars as pl
from pydantic import Field

from caseworks_assets.quality import reconciliation_result, validate_frame
from caseworks_assets.resources import (
    WAREHOUSE_KIND,
    WAREHOUSE_POOL,
    CaseInputs,
    CaseOutputs,
    LakeResource,
    LakeTable,
)
from caseworks_assets.resources.overlap import WriteBehind
from caseworks_assets.scratch import scratch_folder
from caseworks_assets.support.answers import LABELLED_COLUMNS, answer
from caseworks_assets.support.checks import (
    FINAL_SCHEMA_CHECKS,
    REPORT_CHECKS,
    final_schema,
    report_reconciles,
    report_schema,
    unique_key_result,
    unknown_dimension_values,
)
from caseworks_assets.support.exports import FORMATS, write_export
from caseworks_assets.support.keys import PREFIX, QUARANTINE_KEY, REPORT_KEY, final_key, raw_key, state_key
from caseworks_assets.support.layout import CASE, TABLES, Layout, TableSpec, discover
from caseworks_assets.support.months import (
    MonthOrderError,
    MonthStates,
    TableMonth,
    apply_table_month,
    copy_raw,
    count_rows,
    latest_applied_month,
    month_rows,
    months_in_order,
    quarantine_figures,
    quarantine_parts,
    quarantine_rows,
    raw_figures,
)
from caseworks_assets.support.report import (
    IS_CALL,
    build_report,
    labelled_interactions,
    reconciliation,
    unknown_counts,
)
from caseworks_assets.support.schemas import (
    QUARANTINE_COLUMNS,
    QUARANTINE_SCHEMA,
    REPORT_COLUMNS,
    column_metadata,
    raw_columns,
    state_columns,
)
from caseworks_assets.support.states import (
    chain_files,
    has_state,
    read_state,
    scan_snapshot,
    snapshot_parts,
    state_version,
    write_snapshot,
)

MONTHS = dg.DynamicPartitionsDefinition(name="support_months")


def _check_key(result: dg.AssetCheckResult) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(result.asset_key, result.check_name)


def _raw_spec(spec: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        raw_key(spec.name),
        group_name=CASE,
        kinds={"csv"},
        metadata=column_metadata(raw_columns(spec.name)),
        description=f"The month's {spec.name} file as delivered, copied byte for byte into the lake "
        f"(support/raw_{spec.name}/<month>.csv): initial/{spec.name}.csv for the first month, "
        f"delta/{spec.name}_delta_<YYYYMM>.csv after; a header without rows when the table has no delta that month.",
    )


def _state_spec(spec: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        state_key(spec.name),
        group_name=CASE,
        deps=[raw_key(spec.name)],
        kinds={"polars", "parquet"},
        metadata=column_metadata(state_columns(spec.name)),
        description=f"Current {spec.name} after the month: the previous month's state with this month's "
        f"changes applied by {spec.key} (lake: support/{spec.name}_state/<month>.parquet; a month before the "
        f"last of a range run keeps its changes instead, support/{spec.name}_changes/<month>.parquet).",
    )


def _state_check_specs(spec: TableSpec) -> list[dg.AssetCheckSpec]:
    key = state_key(spec.name)
    return [
        dg.AssetCheckSpec(
            "reconciliation",
            asset=key,
            blocking=True,
            description="Nothing lost: rows_read = rows_loaded + rows_quarantined for the month's file, "
            "counted as the month is applied.",
        ),
        dg.AssetCheckSpec(
            "valid_actions",
            asset=key,
            description="Every change row's action is add, update or delete (any case/spaces).",
        ),
        dg.AssetCheckSpec(
            f"unique_{spec.key}",
            asset=key,
            blocking=True,
            description=f"Each {spec.key} appears once in the state: deltas are upserts by id.",
        ),
        dg.AssetCheckSpec("known_ids", asset=key, description="Updates and deletes name ids the previous state holds."),
    ]


QUARANTINE_SPEC = dg.AssetSpec(
    QUARANTINE_KEY,
    group_name=CASE,
    deps=[state_key(table) for table in TABLES],
    kinds={"polars", WAREHOUSE_KIND},
    metadata={"partition_expr": "month", **column_metadata(QUARANTINE_COLUMNS)},
    description="Rows of the month's files that were not applied, with the rule, file, line and raw record.",
).with_io_manager_key("io_manager")  # stored in the warehouse; the other month assets write the lake themselves
QUARANTINE_CHECK = dg.AssetCheckSpec(
    "quarantine_schema",
    asset=QUARANTINE_KEY,
    description="Quarantine rows match the Pandera schema (checked before the write, since "
    "an empty month writes no table to read back).",
)


def _state_checks(applied: TableMonth) -> list[dg.AssetCheckResult]:
    """The month's checks of ``<table>_state``, from the figures of applying it."""
    key, spec, stats = state_key(applied.spec.name), applied.spec, applied.stats
    duplicates = applied.duplicates
    return [
        reconciliation_result(
            applied.rows_read,
            applied.rows_loaded,
            applied.rows_quarantined,
            asset_key=key,
            check_name="reconciliation",
        ),
        unique_key_result(spec.key, duplicates, applied.rows_after, key),
        dg.AssetCheckResult(
            asset_key=key,
            check_name="valid_actions",
            passed=applied.bad_actions == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"bad_actions": applied.bad_actions},
            description=f"{applied.bad_actions} row(s) with an action other than add/update/delete quarantined",
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name="known_ids",
            passed=applied.unknown_ids == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={k: stats[k] for k in ("unknown_deletes", "unknown_updates", "adds_of_existing_ids")},
            description=f"{stats['unknown_deletes']} delete(s) and {stats['unknown_updates']} update(s) "
            "of ids not in the previous state (deletes ignored, updates inserted)",
        ),
    ]


def _quarantine_metadata(rows: pl.DataFrame | pl.LazyFrame) -> dict[str, dg.MetadataValue]:
    figures = quarantine_figures(rows)
    return {
        name: dg.MetadataValue.json(value) if isinstance(value, dict) else dg.MetadataValue.int(value)
        for name, value in figures.items()
    }


def _quarantine_check(rows: pl.DataFrame | pl.LazyFrame) -> dg.AssetCheckResult:
    check = validate_frame(rows, QUARANTINE_SCHEMA)
    return dg.AssetCheckResult(
        asset_key=QUARANTINE_KEY,
        check_name=QUARANTINE_CHECK.name,
        passed=check.passed,
        metadata=check.metadata,
        description=check.description,
    )


def _blocked(table: str, month: str, failed: list[str], applied_before: list[str]) -> dg.Failure:
    message = f"{table} for {month}: blocking check(s) {', '.join(failed)} failed; nothing after it applied"
    if applied_before:
        # their snapshots are written, but a failed step records no materialization: run the range again
        message += f" (this run applied {', '.join(applied_before)} before it: run them again with the fix)"
    return dg.Failure(message)


def _merged_check(results: list[tuple[str, dg.AssetCheckResult]]) -> dg.AssetCheckResult:
    """One result for a check evaluated on several months: failed if any month failed, each month's figures.

    A run over a range of partitions has no single partition for Dagster to
    file a check result under, and a step yields each check once; so a range
    reports one result per check, listing every month (a single-month run
    reports per partition). See the README for what a run per month costs.
    """
    last = results[-1][1]
    failed = [(month, result) for month, result in results if not result.passed]
    per_month = {
        month: {name: getattr(value, "value", value) for name, value in result.metadata.items()}
        for month, result in results
    }
    return dg.AssetCheckResult(
        asset_key=last.asset_key,
        check_name=last.check_name,
        passed=not failed,
        severity=last.severity,
        metadata={"months": dg.MetadataValue.json(per_month), "failed_months": ", ".join(m for m, _ in failed)},
        description="; ".join(f"{month}: {result.description}" for month, result in failed)
        or f"passed for {', '.join(month for month, _ in results)}",
    )


@dg.multi_asset(
    name="support_month",
    specs=[
        *(_raw_spec(spec) for spec in TABLES.values()),
        *(_state_spec(spec) for spec in TABLES.values()),
        QUARANTINE_SPEC,
    ],
    check_specs=[*(check for spec in TABLES.values() for check in _state_check_specs(spec)), QUARANTINE_CHECK],
    partitions_def=MONTHS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool=WAREHOUSE_POOL,
    description="Apply months in one step, in order: read each table's file, build its state on the previous "
    "month's, then gather the rows that were not applied into the quarantine.",
)
def support_month(context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource):
    """Every asset of a month in one step: a month is small work for Dagster and big work for polars.

    Nine assets in nine steps (plus a check step per table) cost more in
    orchestration events than the three small tables cost to process; one step
    keeps each asset, partition and check as the UI shows them. A subset of the
    month's assets can still be selected (``can_subset``). A failed blocking
    check stops the month before the quarantine is written, as a check step would.

    A backfill of several months is one run (``BackfillPolicy.single_run``):
    months build on each other, so separate runs could only wait for one
    another. The step applies them in order; each month's materialization keeps
    its own metadata, and each check gives one result listing every month.
    The data work is :mod:`~caseworks_assets.support.months`; this adapter
    only turns its figures into Dagster events.
    """
    layout = discover(inputs.dir_for(CASE))
    try:
        # the spill folder is removed last, after the writes behind that read it are done
        with (
            scratch_folder("support") as spill,
            WriteBehind(depth=1) as writes,
            chain_files(lake) as files,
        ):
            states = MonthStates(lake, layout, writes, files, spill)
            try:
                yield from _apply_months(context, layout, lake, states)
            finally:
                states.close()
    except MonthOrderError as error:
        raise dg.Failure(str(error)) from error


def _apply_months(
    context: dg.AssetExecutionContext, layout: Layout, lake: LakeResource, states: MonthStates
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult | dg.Output]:
    """The body of :func:`support_month`: the run's months in order, table by table, then the quarantine."""
    months = months_in_order(list(context.partition_keys), layout)
    ranged = len(months) > 1
    selected = context.selected_asset_keys
    selected_checks = context.selected_asset_check_keys
    materialized: dict[dg.AssetKey, None] = {}  # assets of a range, yielded once after its last month
    check_results: dict[dg.AssetCheckKey, list[tuple[str, dg.AssetCheckResult]]] = {}
    quarantines: list[pl.LazyFrame] = []

    def record(result: dg.MaterializeResult, month: str) -> Iterator[dg.MaterializeResult]:
        if not ranged:
            states.wait()  # recorded means stored
            yield result
            return
        context.add_asset_metadata(result.metadata or {}, asset_key=result.asset_key, partition_key=month)
        materialized[result.asset_key] = None

    for month in months:
        for spec in TABLES.values():
            stored = copy_raw(spec, layout, month, lake) if raw_key(spec.name) in selected else None
            if state_key(spec.name) not in selected:
                if stored is not None:
                    figures = raw_figures(spec, layout, month, stored, count_rows(spec, layout, month))
                    yield from record(dg.MaterializeResult(asset_key=raw_key(spec.name), metadata=figures), month)
                continue
            with month_rows(spec, layout, month, lake, copied=stored is not None) as raw:
                applied = apply_table_month(spec, layout, month, lake, raw, states, in_full=month == months[-1])
            if stored is not None:
                figures = raw_figures(spec, layout, month, stored, applied.rows_read)
                yield from record(dg.MaterializeResult(asset_key=raw_key(spec.name), metadata=figures), month)
            yield from record(dg.MaterializeResult(asset_key=state_key(spec.name), metadata=applied.metadata()), month)
            chosen = [check for check in _state_checks(applied) if _check_key(check) in selected_checks]
            for check in chosen:
                check_results.setdefault(_check_key(check), []).append((month, check))
            if not ranged:
                yield from chosen
            failed = [c.check_name for c in chosen if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
            if failed:
                if ranged:
                    yield from (_merged_check(results) for results in check_results.values())
                raise _blocked(spec.name, month, failed, applied_before=months[: months.index(month)])
        if QUARANTINE_KEY in selected:
            rows = quarantine_rows(month, lake)
            if ranged:
                context.add_asset_metadata(_quarantine_metadata(rows), asset_key=QUARANTINE_KEY, partition_key=month)
            quarantines.append(rows)
    if ranged:
        states.wait()
        yield from (dg.MaterializeResult(asset_key=key) for key in materialized)
        yield from (_merged_check(results) for results in check_results.values())
    if QUARANTINE_KEY in selected:
        # each month's rows streamed into its lake file once every month passed; the warehouse table is a view
        # over every month's file (locally; BigQuery appends the run's files)
        files = [
            lake.write_parquet(rows, *quarantine_parts(month), compression=lake.working_compression)
            for month, rows in zip(months, quarantines, strict=True)
        ]
        rows = pl.concat([lake.scan_parquet(*quarantine_parts(month)) for month in months])
        count = sum(lake.row_count(*quarantine_parts(month)) for month in months)
        table = LakeTable(str(lake.path(*quarantine_parts("*"))), count, partition_files=tuple(map(str, files)))
        name = QUARANTINE_KEY.to_python_identifier()
        yield dg.Output(table, output_name=name, metadata={} if ranged else _quarantine_metadata(rows))
        if QUARANTINE_CHECK.key in selected_checks:
            yield _quarantine_check(rows)


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
    check_specs=list(FINAL_SCHEMA_CHECKS.values()),
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
        if not has_state(lake, table, month):
            raise dg.Failure(f"the state of {table} after {month} does not exist; apply {month} first")
    for table in TABLES:
        if not lake.exists(*snapshot_parts(table, month)):  # kept as changes in a range: write it in full once
            try:
                state = read_state(lake, table, month)
            except MonthOrderError as error:  # its base was applied again since: the rule's own message
                raise dg.Failure(str(error)) from error
            write_snapshot(lake, table, month, state, state_version(lake, table, month))
        # The snapshot file is loaded into the warehouse engine-side: its rows never pass through Python
        # for the load; the schema check streams them from the file a million rows at a time.
        rows = lake.row_count(*snapshot_parts(table, month))
        yield dg.Output(
            LakeTable(str(lake.path(*snapshot_parts(table, month))), rows),
            output_name=f"{table}_final",
            metadata={"month": month, "dagster/row_count": rows},
        )
        yield final_schema(table, scan_snapshot(lake, table, month))


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
    check_specs=REPORT_CHECKS,
    description="Interactions, phone calls and call minutes per month (US Eastern), contact center and department, "
    "on the final state of the dimensions; missing or deleted dimension values are Unknown.",
    # a month's delta lands in the first days of the next month; the report is due by the 5th, 09:00 Eastern
    freshness_policy=dg.FreshnessPolicy.cron(
        deadline_cron="0 9 5 * *", lower_bound_delta=timedelta(days=5), timezone="America/New_York"
    ),
)
def support_report(
    interactions: pl.LazyFrame,  # tens of millions of rows: streamed, never whole in memory
    contact_centers: pl.DataFrame,
    service_categories: pl.DataFrame,
):
    report = build_report(interactions, contact_centers, service_categories)
    figures = reconciliation(report, interactions)
    yield dg.Output(report, metadata={"dagster/row_count": report.height, **figures, **unknown_counts(report)})
    # the checks read what this step computed: no second pass over interactions_final
    yield report_schema(report)
    yield report_reconciles(report, interactions, figures)
    yield unknown_dimension_values(report)


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
    interactions: pl.LazyFrame,
    contact_centers: pl.DataFrame,
    service_categories: pl.DataFrame,
    outputs: CaseOutputs,
) -> dg.MaterializeResult:
    # the third answer measures phone calls only: label just those, streaming, and hold only what it reads
    calls = (
        labelled_interactions(interactions.filter(IS_CALL), contact_centers, service_categories)
        .select(LABELLED_COLUMNS)
        .collect(engine="streaming")
    )
    result = answer(report, calls)
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
    interactions_final: pl.LazyFrame,  # tens of millions of rows: streamed from the lake into the file
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


PARTITIONED_ASSETS = [support_month]
OUTPUT_ASSETS = [final_state, support_report, support_answers, support_exports]
ALL_ASSETS = [*PARTITIONED_ASSETS, *OUTPUT_ASSETS]
