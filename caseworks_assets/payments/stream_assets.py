"""The stream side: one dynamic partition per landed micro-batch, then the settled stream tables.

``payments_stream_sensor`` lists the landing folder; every batch it has not
seen becomes a partition of ``payments_batches`` and one run request whose run
key is the batch name plus its content hash. The cursor remembers
``name -> sha256``: a batch delivered again (same name, or the same bytes under
a new name) requests nothing; a corrected batch (same name, new bytes) replaces
its partition.

Each run keeps its batch as received (``stream_arrivals``: the records in the
lake, restricted fields sealed value by value) and then settles the stream
(``stream_state``): the batch path's rules over every record landed so far (see
:mod:`.stream_settle`), so a payment that lands before its transaction waits in
``stream_pending_payments`` instead of being judged too early, and the tables
end the same whatever order the batches arrive in.
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
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    PAYMENT_RESTRICTED_COLUMNS,
    QUARANTINE_COLUMNS,
    RESTRICTED_COLUMN,
    TRANSACTION_COLUMNS,
)
from caseworks_assets.payments.paths import CASE
from caseworks_assets.payments.stream import BATCH_SUFFIX, parse_batch
from caseworks_assets.payments.stream_settle import settle
from caseworks_assets.quality import reconciliation_check
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, LakeResource
from caseworks_assets.settings import PAYMENTS_LANDING_ENV, Settings

LANDING_ENV = PAYMENTS_LANDING_ENV
batches = dg.DynamicPartitionsDefinition(name="payments_batches")

RECORD_TYPE = ColumnSpec(
    "record_type", "String", "transaction | payment | unknown (unparseable line)", Classification.PUBLIC
)
STREAM_QUARANTINE_COLUMNS = [RECORD_TYPE, *QUARANTINE_COLUMNS]


class StreamLanding(dg.ConfigurableResource):
    """The folder micro-batches land in.

    ``path`` if set, else the settings' landing folder (``CASEWORKS_PAYMENTS_LANDING``,
    else ``<CASEWORKS_OUT_DIR>/payments/landing``) -- resolved when used, so the
    CLI's folders apply.
    """

    path: str | None = None

    def folder(self) -> Path:
        return Path(self.path) if self.path else Settings.from_env().payments_landing_dir

    def batch_files(self) -> list[Path]:
        folder = self.folder()
        if not folder.is_dir():
            return []
        return sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix == BATCH_SUFFIX and not p.name.startswith(".")
        )


#: Where each landed batch's records are kept, as received (one folder per batch), for the settling step.
LANDED = (CASE, "stream", "landed")
LANDED_FILES = ("transactions.parquet", "payments.parquet", "lines.parquet")
ARRIVALS_KEY = dg.AssetKey([CASE, "stream_arrivals"])
ARRIVAL_COLUMNS = [
    ColumnSpec("batch_id", "String", "the micro-batch (landing file)", Classification.INTERNAL),
    RECORD_TYPE,
    ColumnSpec("rows", "Int64", "lines of this type in the batch", Classification.PUBLIC),
]


def _out(name: str, columns: list[ColumnSpec], description: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=dg.AssetKey([CASE, name]),
        description=description,
        metadata=governance_metadata(columns),
        tags=governance_tags(columns),
        kinds={WAREHOUSE_KIND},
    )


@dg.asset(
    key=ARRIVALS_KEY,
    partitions_def=batches,
    group_name=CASE,
    pool=WAREHOUSE_POOL,
    metadata={**governance_metadata(ARRIVAL_COLUMNS), "partition_expr": "batch_id"},
    tags=governance_tags(ARRIVAL_COLUMNS),
    kinds={WAREHOUSE_KIND, "parquet"},
)
def stream_batch(
    context: dg.AssetExecutionContext, payments_landing: StreamLanding, privacy: PrivacyResource, lake: LakeResource
) -> dg.Output[pl.DataFrame]:
    """Keep one landed micro-batch as received: its records (restricted fields sealed) and its unreadable lines.

    The records are judged by ``stream_state``, over every batch landed so
    far; this partition only counts what arrived.
    """
    batch_id = context.partition_key
    path = payments_landing.folder() / batch_id
    if not path.is_file():
        raise dg.Failure(f"micro-batch {batch_id!r} is not in the landing folder {payments_landing.folder()}")
    parsed = parse_batch(path, batch_id)
    ring = privacy.keyring()
    payments = parsed.payments.with_columns(ring.encrypt(parsed.payments["_restricted_plain"]).alias(RESTRICTED_COLUMN))
    frames = (parsed.transactions, payments.drop("_restricted_plain"), parsed.malformed)
    for name, frame in zip(LANDED_FILES, frames, strict=True):
        lake.write_parquet(frame, *LANDED, batch_id, name)
    arrivals = pl.DataFrame(
        {
            "batch_id": [batch_id] * 3,
            "record_type": ["transaction", "payment", "unknown"],
            "rows": [f.height for f in frames],
        }
    )
    counts = {
        "rows_read": parsed.lines,
        "records_landed": parsed.transactions.height + parsed.payments.height,
        "malformed_lines": parsed.malformed.height,
    }
    context.log.info(f"batch {batch_id}: {counts}")
    return dg.Output(arrivals, metadata={**counts, "dagster/row_count": arrivals.height})


def _landed(lake: LakeResource, name: str) -> pl.DataFrame:
    """Every landed batch's file ``name``, in batch order."""
    folder = lake.path(*LANDED)
    found = sorted(p.name for p in folder.iterdir() if (p / name).exists()) if folder.exists() else []
    return pl.concat([lake.read_parquet(*LANDED, b, name) for b in found], how="diagonal_relaxed")


@dg.multi_asset(
    outs={
        "stream_transactions": _out(
            "stream_transactions", TRANSACTION_COLUMNS, "Cleaned transactions of every batch landed so far."
        ),
        "stream_payments": _out(
            "stream_payments", PAYMENT_COLUMNS, "Cleaned payments of cleaned transactions, over every batch so far."
        ),
        "stream_payments_restricted": _out(
            "stream_payments_restricted", PAYMENT_RESTRICTED_COLUMNS, "Encrypted restricted metadata of clean payments."
        ),
        "stream_pending_payments": _out(
            "stream_pending_payments",
            QUARANTINE_COLUMNS,
            "Payments whose transaction has not landed yet; judged again when the next batch lands.",
        ),
        "stream_quarantine": _out(
            "stream_quarantine",
            STREAM_QUARANTINE_COLUMNS,
            "Rejected stream records (the batch path's rules) and unparseable lines.",
        ),
    },
    deps=[ARRIVALS_KEY],
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def stream_state(context: dg.AssetExecutionContext, lake: LakeResource, privacy: PrivacyResource):
    """Judge every record landed so far by the batch path's rules; payments of unseen transactions wait."""
    settled = settle(_landed(lake, LANDED_FILES[0]), _landed(lake, LANDED_FILES[1]))
    malformed = _landed(lake, LANDED_FILES[2])
    bad_lines = malformed.select(
        pl.lit("unknown").alias("record_type"),
        pl.col("source_line").alias("row_number"),
        "rule",
        pl.lit("line").alias("column"),
        pl.format("line is not a transaction or payment JSON object ({})", "rule").alias("reason"),
        "raw_record",
        pl.lit("error").alias("severity"),
        "source_file",
        "source_line",
    )
    quarantine = pl.concat([settled.quarantine, bad_lines], how="diagonal_relaxed").select(
        [c.name for c in STREAM_QUARANTINE_COLUMNS]
    )
    # the landed files keep the key each batch was sealed with; the table is re-sealed under the active key,
    # so settling after ``rotate-keys`` does not bring a retired key back
    ring = privacy.keyring()
    fresh = pl.Series(RESTRICTED_COLUMN, ring.rotate_values(settled.restricted[RESTRICTED_COLUMN].to_list()), pl.String)
    restricted = settled.restricted.with_columns(fresh)
    restricted = restricted.with_columns(key_id_of(pl.col(RESTRICTED_COLUMN)).alias("key_id")).select(
        [c.name for c in PAYMENT_RESTRICTED_COLUMNS]
    )
    rejected = int((quarantine["severity"] == "error").sum())
    counts = {
        "rows_read": settled.rows_read + malformed.height,
        "rows_loaded": settled.transactions.height + settled.payments.height,
        "rows_quarantined": rejected,
        "rows_pending": settled.pending.height,
        "rows_quarantined_or_pending": rejected + settled.pending.height,
        "values_warned": int((quarantine["severity"] == "warning").sum()),
    }
    context.log.info(f"stream state: {counts}")
    for name, frame in (
        ("stream_transactions", settled.transactions),
        ("stream_payments", settled.payments),
        ("stream_payments_restricted", restricted),
        ("stream_pending_payments", settled.pending),
    ):
        yield dg.Output(frame, name, metadata={"dagster/row_count": frame.height})
    yield dg.Output(quarantine, "stream_quarantine", metadata={**counts, "dagster/row_count": quarantine.height})


STREAM_ASSETS = [stream_batch, stream_state]
STREAM_CHECKS = [
    reconciliation_check(
        ARRIVALS_KEY,
        partitions_def=batches,
        loaded_key="records_landed",
        quarantined_key="malformed_lines",
        name="batch_reconciliation",
    ),
    reconciliation_check(
        dg.AssetKey([CASE, "stream_quarantine"]),
        quarantined_key="rows_quarantined_or_pending",
        name="stream_reconciliation",
    ),
]

payments_stream_job = dg.define_asset_job(
    "payments_stream_job",
    selection=dg.AssetSelection.assets(*STREAM_ASSETS),
    description="Keep one landed micro-batch (requested by payments_stream_sensor), then settle the stream's tables.",
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
