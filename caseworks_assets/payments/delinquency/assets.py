"""Delinquency assets of the ``payments`` case.

Lineage::

    payments/transactions ─┬─> delinquency_evaluation (Spark) ─┬─> delinquent_clients [partitions true|false]
    payments/payments ─────┤                                   ├─> delinquency_violations
                           │                                   └─> delinquency_summary  <- check: matches reference
                           └─> delinquency_reference (DuckDB SQL, no Spark)

The Spark step reads the cleaned Parquet from the lake and writes its results
back to the lake (``payments/delinquency/...``), so on a cluster every file it
touches is on shared storage (``gs://`` in production). The small downstream
assets publish those results: the warehouse tables and the Hive-style export
``<out>/payments/delinquent_clients/inadimplente=true|false/``.

``delinquent_clients`` is partitioned by the flag; both partitions are computed
by one step (single-run backfill policy, ``context.partition_keys``) and the
warehouse table carries the partition column ``inadimplente``.

Failure isolation: the Spark step retries with exponential backoff; if it still
fails only its downstream assets are skipped, and ``delinquency_reference``
(which does not need Spark) materializes in the same run.
"""

import shutil
from collections.abc import Sequence
from datetime import date
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl
from dagster_pyspark import LazyPySparkResource
from pydantic import Field
from upath import UPath

from caseworks_assets.governance import ColumnSpec, governance_metadata, governance_tags
from caseworks_assets.payments.delinquency import spark_job
from caseworks_assets.payments.delinquency.reference import (
    PAYMENT_COLUMNS,
    TRANSACTION_COLUMNS,
    ReferenceDelinquency,
    evaluate_reference,
)
from caseworks_assets.payments.delinquency.rules import DelinquencyInputError, parse_as_of
from caseworks_assets.payments.delinquency.schemas import (
    CLIENT_COLUMNS,
    CLIENT_ORDER,
    CLIENTS_SCHEMA,
    SUMMARY_COLUMNS,
    SUMMARY_SCHEMA,
    VIOLATION_COLUMNS,
    VIOLATION_ORDER,
    VIOLATIONS_SCHEMA,
    conform,
    polars_schema,
)
from caseworks_assets.payments.paths import CASE, CLEAN_PAYMENTS, CLEAN_TRANSACTIONS, QUARANTINE_TRANSACTIONS
from caseworks_assets.quality import markdown_table, pandera_check, validate_frame
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, CaseOutputs, LakeResource

TRANSACTIONS_KEY = dg.AssetKey([CASE, "transactions"])
PAYMENTS_KEY = dg.AssetKey([CASE, "payments"])

LAKE_CLIENTS = (CASE, "delinquency", "clients")
LAKE_VIOLATIONS = (CASE, "delinquency", "violations")
LAKE_SUMMARY = (CASE, "delinquency", "summary.parquet")
EXPORT_FOLDER = "delinquent_clients"

FLAG = "inadimplente"
FLAG_PARTITIONS = dg.StaticPartitionsDefinition(["true", "false"])
#: Run tags that select both flag partitions in one run (what ``caseworks run payments`` uses).
ALL_FLAGS_TAGS = {
    "dagster/asset_partition_range_start": "true",
    "dagster/asset_partition_range_end": "false",
}

#: Transient Spark failures (lost executors, a busy cluster, object-store hiccups) often pass on retry.
SPARK_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=3, backoff=dg.Backoff.EXPONENTIAL)

EVALUATION_NAME = "delinquency_evaluation"
REFERENCE_NAME = "delinquency_reference"
JOB_NAME = "payments_delinquency_job"


class DelinquencyConfig(dg.Config):
    """Run configuration of the two evaluating assets (``--as-of`` on the CLI)."""

    as_of: str | None = Field(
        default=None,
        description="Evaluation date D as YYYY-MM-DD; default: the latest valid transaction or payment date.",
    )


def delinquency_run_config(
    as_of: date | str | None, assets: tuple[str, ...] = (EVALUATION_NAME, REFERENCE_NAME)
) -> dict[str, Any]:
    """Run config giving the evaluating ``assets`` (default: both) the same D (``None``: the default D)."""
    value = as_of.isoformat() if isinstance(as_of, date) else as_of
    return {"ops": {f"{CASE}__{name}": {"config": {"as_of": value}} for name in assets}}


def _governed(columns: Sequence[ColumnSpec], **extra: Any) -> dict[str, Any]:
    return {"metadata": {**governance_metadata(columns), **extra}, "tags": governance_tags(columns)}


def _parquet_files(folder: UPath) -> list[str]:
    return sorted(str(path) for path in folder.rglob("*.parquet") if not path.name.startswith((".", "_")))


def read_lake_folder(
    folder: UPath, schema: pa.DataFrameSchema, *, hive: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """A Spark output folder as a polars frame with ``schema``'s columns; empty when Spark wrote no file."""
    files = _parquet_files(folder) if folder.exists() else []
    if not files:
        return pl.DataFrame(schema=polars_schema(schema))
    frame = pl.read_parquet(files, hive_partitioning=hive is not None, hive_schema=hive)
    return conform(frame, schema)


def read_clients(folder: UPath) -> pl.DataFrame:
    """The per-client flags of a Hive-style folder (``inadimplente=true|false/``): Spark's output or the export."""
    return read_lake_folder(folder, CLIENTS_SCHEMA, hive={FLAG: pl.Boolean})


def reference_from_lake(lake: LakeResource, as_of: date | None) -> ReferenceDelinquency:
    """The DuckDB reference evaluation over the cleaned Parquet in the lake (the Spark step's inputs)."""
    transactions = pl.scan_parquet(str(lake.path(*CLEAN_TRANSACTIONS))).select(TRANSACTION_COLUMNS)
    payments = pl.scan_parquet(str(lake.path(*CLEAN_PAYMENTS))).select(PAYMENT_COLUMNS)
    return evaluate_reference(transactions, payments, as_of)


def _summary_metadata(summary: pl.DataFrame) -> dict[str, Any]:
    row = summary.row(0, named=True)
    return {
        "as_of": str(row["as_of"]),
        "pct_delinquent": dg.MetadataValue.float(row["pct_delinquent"]),
        "clients_evaluated": dg.MetadataValue.int(row["clients_evaluated"]),
        "clients_delinquent": dg.MetadataValue.int(row["clients_delinquent"]),
        "obligations_not_evaluable": dg.MetadataValue.int(row["obligations_not_evaluable"]),
    }


@dg.asset(
    key_prefix=[CASE],
    name=EVALUATION_NAME,
    group_name=CASE,
    deps=[TRANSACTIONS_KEY, PAYMENTS_KEY],
    kinds={"spark", "parquet"},
    retry_policy=SPARK_RETRY_POLICY,
    description=(
        "Spark step: evaluates every obligation due in (D - 6 months, D] (settlement, days late, criteria) and "
        "writes the per-client flags (Hive-partitioned by inadimplente), the violations and the summary to the "
        "lake under payments/delinquency/."
    ),
    **_governed(CLIENT_COLUMNS),
)
def delinquency_evaluation(
    context: dg.AssetExecutionContext, config: DelinquencyConfig, spark: LazyPySparkResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Run the rules of :mod:`.rules` on Spark and write the results to the lake."""
    try:
        as_of = parse_as_of(config.as_of)
        session = spark.spark_session
        spark_job.tune_session(session)
        transactions, payments = spark_job.read_inputs(
            session, str(lake.path(*CLEAN_TRANSACTIONS)), str(lake.path(*CLEAN_PAYMENTS))
        )
        result = spark_job.evaluate(transactions, payments, as_of)
    except DelinquencyInputError as error:
        # Bad configuration or data: a retry cannot help.
        raise dg.Failure(description=str(error), allow_retries=False) from error
    master = session.conf.get("spark.master", "unknown")
    context.log.info(f"evaluating delinquency at D = {result.as_of} on {master}")
    try:
        spark_job.write_outputs(result, str(lake.path(*LAKE_CLIENTS)), str(lake.path(*LAKE_VIOLATIONS)))
        summary = conform(pl.DataFrame([result.summary()]), SUMMARY_SCHEMA)
    finally:
        result.evaluated.unpersist()
    lake.write_parquet(summary, *LAKE_SUMMARY)
    return dg.MaterializeResult(
        metadata={
            **_summary_metadata(summary),
            "spark_master": master,
            "clients_path": str(lake.path(*LAKE_CLIENTS)),
            "violations_path": str(lake.path(*LAKE_VIOLATIONS)),
        }
    )


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    deps=[delinquency_evaluation],
    partitions_def=FLAG_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    kinds={"polars", WAREHOUSE_KIND, "parquet"},
    description=(
        "One row per client with an obligation due in (D - 6 months, D]: flag per criterion, worst days late, "
        "violations, inadimplente. Partitioned by the flag; exported as Hive-style Parquet under "
        "<out>/payments/delinquent_clients/inadimplente=true|false/."
    ),
    **_governed(CLIENT_COLUMNS, partition_expr=f"CAST({FLAG} AS STRING)"),
)
def delinquent_clients(
    context: dg.AssetExecutionContext, lake: LakeResource, outputs: CaseOutputs
) -> dg.Output[pl.DataFrame]:
    """Publish the Spark step's client flags for the selected flag partitions (both in one step)."""
    keys = list(context.partition_keys)
    flags = [key == "true" for key in keys]
    clients = read_clients(lake.path(*LAKE_CLIENTS)).filter(pl.col(FLAG).is_in(flags)).sort(CLIENT_ORDER)
    export_root = outputs.dir_for(CASE) / EXPORT_FOLDER
    for key, flag in zip(keys, flags, strict=True):
        folder = export_root / f"{FLAG}={key}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        clients.filter(pl.col(FLAG) == flag).drop(FLAG).write_parquet(folder / "part-0.parquet")
    summary = lake.read_parquet(*LAKE_SUMMARY)
    return dg.Output(
        clients,
        metadata={
            **_summary_metadata(summary),
            "dagster/row_count": clients.height,
            "rows_by_partition": dg.MetadataValue.json(
                {
                    key: clients.filter(pl.col(FLAG) == flag).height
                    for key, flag in zip(context.partition_keys, flags, strict=True)
                }
            ),
            "export_path": str(export_root),
        },
    )


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    deps=[delinquency_evaluation],
    pool=WAREHOUSE_POOL,
    kinds={"polars", WAREHOUSE_KIND},
    description="One row per violating transaction (criterion 1 or 2) with all of its payments.",
    **_governed(VIOLATION_COLUMNS),
)
def delinquency_violations(lake: LakeResource) -> dg.Output[pl.DataFrame]:
    """Publish the Spark step's violations to the warehouse."""
    violations = read_lake_folder(lake.path(*LAKE_VIOLATIONS), VIOLATIONS_SCHEMA).sort(VIOLATION_ORDER)
    return dg.Output(
        violations,
        metadata={
            "dagster/row_count": violations.height,
            "preview": dg.MetadataValue.md(markdown_table(violations.drop("payments"), 10)),
        },
    )


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    deps=[delinquency_evaluation],
    pool=WAREHOUSE_POOL,
    kinds={"polars", WAREHOUSE_KIND},
    description="Delinquency at D in one row: clients evaluated, per criterion, delinquent and their percentage.",
    **_governed(SUMMARY_COLUMNS),
)
def delinquency_summary(lake: LakeResource) -> dg.Output[pl.DataFrame]:
    """Publish the Spark step's summary; the percentage of delinquent clients is also metadata.

    Transactions that could not be evaluated never reach the clean data: ingestion
    quarantined them (invalid due date, missing amount, ...). Their count per rule
    is shown next to the obligations the evaluation itself could not judge.
    """
    summary = conform(lake.read_parquet(*LAKE_SUMMARY), SUMMARY_SCHEMA)
    quarantined: dict[str, int] = {}
    if lake.exists(*QUARANTINE_TRANSACTIONS):
        by_rule = lake.read_parquet(*QUARANTINE_TRANSACTIONS).group_by("rule").len().sort("rule")
        quarantined = dict(by_rule.iter_rows())
    return dg.Output(
        summary,
        metadata={
            **_summary_metadata(summary),
            "summary": dg.MetadataValue.md(markdown_table(summary)),
            "transactions_quarantined_by_ingestion": dg.MetadataValue.int(sum(quarantined.values())),
            "quarantined_by_rule": dg.MetadataValue.json(quarantined),
        },
    )


@dg.asset(
    key_prefix=[CASE],
    name=REFERENCE_NAME,
    group_name=CASE,
    deps=[TRANSACTIONS_KEY, PAYMENTS_KEY],
    pool=WAREHOUSE_POOL,
    kinds={WAREHOUSE_KIND, "polars"},
    description=(
        "The delinquency summary recomputed without Spark by the independent DuckDB SQL implementation; "
        "it cross-checks the Spark result and still materializes when the Spark step fails."
    ),
    **_governed(SUMMARY_COLUMNS),
)
def delinquency_reference(config: DelinquencyConfig, lake: LakeResource) -> dg.Output[pl.DataFrame]:
    """Evaluate the same rules with DuckDB SQL over the cleaned Parquet."""
    result = reference_from_lake(lake, parse_as_of(config.as_of))
    return dg.Output(result.summary, metadata=_summary_metadata(result.summary))


@dg.asset_check(
    asset=delinquency_summary,
    additional_ins={"reference": dg.AssetIn(key=delinquency_reference.key)},
    blocking=False,
    description="The Spark summary equals the DuckDB reference summary computed from the same inputs and D.",
)
def summary_matches_reference(delinquency_summary: pl.DataFrame, reference: pl.DataFrame) -> dg.AssetCheckResult:
    """Two independent implementations must agree on every count."""
    spark_row = conform(delinquency_summary, SUMMARY_SCHEMA).row(0, named=True)
    reference_row = conform(reference, SUMMARY_SCHEMA).row(0, named=True)
    differences = {
        name: {"spark": str(value), "reference": str(reference_row[name])}
        for name, value in spark_row.items()
        if value != reference_row[name]
    }
    return dg.AssetCheckResult(
        passed=not differences,
        metadata={"differences": dg.MetadataValue.json(differences), "as_of": str(spark_row["as_of"])},
        description="identical" if not differences else f"{len(differences)} column(s) differ",
    )


@dg.asset_check(
    asset=delinquent_clients,
    blocking=False,
    description=(
        "The exported clients of both flag partitions match the Pandera schema (one row per client, "
        "inadimplente = criterion 1 or 2, ...) and the summary's client counts."
    ),
)
def delinquent_clients_schema(outputs: CaseOutputs, lake: LakeResource) -> dg.AssetCheckResult:
    """Validate the Hive export as a whole: the partitions together must be the summary's clients."""
    export = UPath(outputs.dir_for(CASE) / EXPORT_FOLDER)
    clients = read_clients(export)
    result = validate_frame(clients, CLIENTS_SCHEMA)
    summary = lake.read_parquet(*LAKE_SUMMARY).row(0, named=True)
    counted = {"clients": clients.height, "delinquent": int(clients[FLAG].sum())}
    expected = {"clients": summary["clients_evaluated"], "delinquent": summary["clients_delinquent"]}
    return dg.AssetCheckResult(
        passed=result.passed and counted == expected,
        metadata={**result.metadata, "counted": counted, "summary_counts": expected},
        description=result.description if counted == expected else f"export {counted} != summary {expected}",
    )


DELINQUENCY_ASSETS = [
    delinquency_evaluation,
    delinquent_clients,
    delinquency_violations,
    delinquency_summary,
    delinquency_reference,
]
DELINQUENCY_CHECKS = [
    summary_matches_reference,
    delinquent_clients_schema,
    pandera_check(delinquency_violations, VIOLATIONS_SCHEMA, blocking=False),
    pandera_check(delinquency_summary, SUMMARY_SCHEMA, blocking=False),
]

delinquency_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.assets(*DELINQUENCY_ASSETS),
    description="Delinquency at D: the Spark evaluation, its published tables and the DuckDB cross-check.",
)
