"""The stream side: one dynamic partition per landed micro-batch, materialized exactly once.

``payments_stream_sensor`` lists the landing folder; every batch it has not
seen becomes a partition of ``payments_batches`` and one run request whose run
key is the batch name plus its content hash. The cursor remembers
``name -> sha256``: a batch delivered again (same name, or the same bytes under
a new name) requests nothing; a corrected batch (same name, new bytes) replaces
its partition. Partitions are stored in the warehouse by ``batch_id``, so even a
forced re-run replaces rows instead of duplicating them.

Stream cleaning applies the record rules of the batch pipeline; whether a
payment's transaction exists is checked by the batch pipeline over the whole
history, not per micro-batch (a payment may land before a late transaction).
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
import polars as pl

from caseworks_assets.governance import (
    Classification,
    ColumnSpec,
    PrivacyResource,
    governance_metadata,
    governance_tags,
    key_id_of,
)
from caseworks_assets.payments.clean import quarantine_frame, text_columns, typed
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    PAYMENT_RESTRICTED_COLUMNS,
    QUARANTINE_COLUMNS,
    RESTRICTED_COLUMN,
    TRANSACTION_COLUMNS,
)
from caseworks_assets.payments.paths import CASE
from caseworks_assets.payments.rules import PAYMENT_RECORD_RULES, TRANSACTION_RULES
from caseworks_assets.payments.stream import BATCH_SUFFIX, parse_batch
from caseworks_assets.quality import apply_rules, reconciliation_check
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL
from caseworks_assets.settings import Settings, env_value

LANDING_ENV = "CASEWORKS_PAYMENTS_LANDING"
batches = dg.DynamicPartitionsDefinition(name="payments_batches")

BATCH_ID = ColumnSpec(
    "batch_id", "String", "the micro-batch (landing file) the row arrived in", Classification.INTERNAL
)
RECORD_TYPE = ColumnSpec(
    "record_type", "String", "transaction | payment | unknown (unparseable line)", Classification.PUBLIC
)
STREAM_TRANSACTION_COLUMNS = [*TRANSACTION_COLUMNS, BATCH_ID]
STREAM_PAYMENT_COLUMNS = [*PAYMENT_COLUMNS, BATCH_ID]
STREAM_RESTRICTED_COLUMNS = [*PAYMENT_RESTRICTED_COLUMNS, BATCH_ID]
STREAM_QUARANTINE_COLUMNS = [RECORD_TYPE, *QUARANTINE_COLUMNS, BATCH_ID]


class StreamLanding(dg.ConfigurableResource):
    """The folder micro-batches land in.

    ``path`` if set, else ``CASEWORKS_PAYMENTS_LANDING``, else
    ``<CASEWORKS_OUT_DIR>/payments/landing`` -- resolved when used, so the CLI's
    folders apply.
    """

    path: str | None = None

    def folder(self) -> Path:
        chosen = self.path or env_value(LANDING_ENV)
        return Path(chosen) if chosen else Settings.from_env().case_out_dir(CASE) / "landing"

    def batch_files(self) -> list[Path]:
        folder = self.folder()
        if not folder.is_dir():
            return []
        return sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix == BATCH_SUFFIX and not p.name.startswith(".")
        )


def _out(name: str, columns: list[ColumnSpec], description: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=dg.AssetKey([CASE, name]),
        description=description,
        metadata={**governance_metadata(columns), "partition_expr": "batch_id"},
        tags=governance_tags(columns),
        kinds={WAREHOUSE_KIND},
    )


def _quarantine(result, frame: pl.DataFrame, record_type: str) -> pl.DataFrame:
    """Rejected records and warnings (``severity``) of one record type."""
    rows = pl.concat([quarantine_frame(result, frame), quarantine_frame(result, frame, warnings=True)])
    return rows.with_columns(pl.lit(record_type).alias("record_type"))


@dg.multi_asset(
    outs={
        "stream_transactions": _out(
            "stream_transactions", STREAM_TRANSACTION_COLUMNS, "Cleaned transactions per micro-batch."
        ),
        "stream_payments": _out("stream_payments", STREAM_PAYMENT_COLUMNS, "Cleaned payments per micro-batch."),
        "stream_payments_restricted": _out(
            "stream_payments_restricted", STREAM_RESTRICTED_COLUMNS, "Encrypted restricted metadata per micro-batch."
        ),
        "stream_quarantine": _out(
            "stream_quarantine",
            STREAM_QUARANTINE_COLUMNS,
            "Rejected stream records and unparseable lines per micro-batch.",
        ),
    },
    partitions_def=batches,
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def stream_batch(context: dg.AssetExecutionContext, payments_landing: StreamLanding, privacy: PrivacyResource):
    """Clean one landed micro-batch; corrupt lines are quarantined and the batch still loads."""
    batch_id = context.partition_key
    path = payments_landing.folder() / batch_id
    if not path.is_file():
        raise dg.Failure(f"micro-batch {batch_id!r} is not in the landing folder {payments_landing.folder()}")
    parsed = parse_batch(path, batch_id)
    ring = privacy.keyring()

    transactions = apply_rules(parsed.transactions, TRANSACTION_RULES, text_columns=text_columns(parsed.transactions))
    sealed = parsed.payments.select(
        "source_line",
        ring.encrypt(parsed.payments["_restricted_plain"]).alias(RESTRICTED_COLUMN),
    )
    payment_rows = parsed.payments.drop("_restricted_plain")
    payments = apply_rules(payment_rows, PAYMENT_RECORD_RULES, text_columns=text_columns(payment_rows))
    bad_lines = parsed.malformed.select(
        pl.lit("unknown").alias("record_type"),
        pl.col("source_line").alias("row_number"),
        "rule",
        pl.lit("error").alias("severity"),
        pl.lit("line").alias("column"),
        pl.format("line is not a transaction or payment JSON object ({})", "rule").alias("reason"),
        "raw_record",
        "source_file",
        "source_line",
    )
    batch = pl.lit(batch_id).alias("batch_id")
    clean_tx = typed(transactions.clean, TRANSACTION_COLUMNS).with_columns(batch)
    clean_pay = typed(payments.clean, PAYMENT_COLUMNS).with_columns(batch)
    restricted = (
        clean_pay.select("payment_id", "source_file", "source_line", "batch_id")
        .join(sealed, on="source_line", how="left")
        .with_columns(key_id_of(pl.col(RESTRICTED_COLUMN)).alias("key_id"))
        .select([c.name for c in STREAM_RESTRICTED_COLUMNS])
    )
    quarantine = pl.concat(
        [
            _quarantine(transactions, parsed.transactions, "transaction").with_columns(batch),
            _quarantine(payments, payment_rows, "payment").with_columns(batch),
            bad_lines.with_columns(batch),
        ],
        how="diagonal_relaxed",
    ).select([c.name for c in STREAM_QUARANTINE_COLUMNS])
    counts = {
        "rows_read": parsed.lines,
        "rows_loaded": clean_tx.height + clean_pay.height,
        "rows_quarantined": int((quarantine["severity"] == "error").sum()),
        "values_warned": int((quarantine["severity"] == "warning").sum()),
        "malformed_lines": parsed.malformed.height,
    }
    context.log.info(f"batch {batch_id}: {counts}")
    yield dg.Output(clean_tx, "stream_transactions", metadata={"dagster/row_count": clean_tx.height})
    yield dg.Output(clean_pay, "stream_payments", metadata={"dagster/row_count": clean_pay.height})
    yield dg.Output(restricted, "stream_payments_restricted", metadata={"dagster/row_count": restricted.height})
    yield dg.Output(quarantine, "stream_quarantine", metadata={**counts, "dagster/row_count": quarantine.height})


STREAM_ASSETS = [stream_batch]
STREAM_CHECKS = [
    reconciliation_check(
        dg.AssetKey([CASE, "stream_quarantine"]),
        partitions_def=batches,
        name="batch_reconciliation",
    )
]

payments_stream_job = dg.define_asset_job(
    "payments_stream_job",
    selection=dg.AssetSelection.assets(stream_batch),
    description="Materialize one landed micro-batch (requested by payments_stream_sensor).",
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dg.sensor(
    job=payments_stream_job,
    minimum_interval_seconds=10,
    description="Turns each new micro-batch in the landing folder into a partition and materializes it once.",
)
def payments_stream_sensor(context: dg.SensorEvaluationContext, payments_landing: StreamLanding):
    seen: dict[str, str] = json.loads(context.cursor)["batches"] if context.cursor else {}
    known_digests = set(seen.values())
    new_partitions: list[str] = []
    requests: list[dg.RunRequest] = []
    for path in payments_landing.batch_files():
        digest = _digest(path)
        if seen.get(path.name) == digest:
            continue  # already materialized
        if path.name not in seen and digest in known_digests:
            context.log.info(f"{path.name} repeats an already loaded batch byte for byte; skipped")
            seen[path.name] = digest
            continue
        if path.name not in seen:
            new_partitions.append(path.name)
        seen[path.name] = digest
        known_digests.add(digest)
        requests.append(dg.RunRequest(run_key=f"{path.name}:{digest[:16]}", partition_key=path.name))
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[batches.build_add_request(new_partitions)] if new_partitions else [],
        cursor=json.dumps({"batches": seen}, sort_keys=True),
    )
