"""Asset checks of the payments tables: schemas, and nothing lost per source file.

The toolkit's ``reconciliation_check`` compares the counters the clean step
wrote; ``per_file_reconciliation`` recounts the stored data itself, file by
file (raw rows = cleaned rows + quarantined rows), so a bug in the counters
cannot hide a lost record. Both are blocking: payments are not cleaned against
transactions that did not reconcile, and delinquency never runs on them.
"""

import dagster as dg
import pandera.polars as pa
import polars as pl

from caseworks_assets.governance.classification import pandera_schema
from caseworks_assets.payments.columns import PAYMENT_COLUMNS, TRANSACTION_COLUMNS
from caseworks_assets.payments.paths import (
    CLEAN_PAYMENTS,
    CLEAN_TRANSACTIONS,
    QUARANTINE_PAYMENTS,
    QUARANTINE_TRANSACTIONS,
    RAW_PAYMENTS,
    RAW_TRANSACTIONS,
)
from caseworks_assets.payments.tables import PAYMENTS_KEY, TRANSACTIONS_KEY
from caseworks_assets.quality import reconciliation_check, validate_frame
from caseworks_assets.resources import LakeResource

#: derived from the column contracts in :mod:`.columns` (type, nulls, rules): declared once
TRANSACTIONS_SCHEMA = pandera_schema("payments.transactions", TRANSACTION_COLUMNS)
PAYMENTS_SCHEMA = pandera_schema("payments.payments", PAYMENT_COLUMNS)


def per_file_counts(lake: LakeResource, raw: tuple[str, ...], clean: tuple[str, ...], quarantine: tuple[str, ...]):
    """``source_file, read, loaded, quarantined`` recounted from the stored lake files."""

    def count(parts: tuple[str, ...], label: str) -> pl.LazyFrame:
        rows = pl.scan_parquet(str(lake.path(*parts)))
        if label == "quarantined":  # warnings are loaded rows with a nulled value, not rejected ones
            rows = rows.filter(pl.col("severity") != "warning")
        return rows.group_by("source_file").agg(pl.len().alias(label))

    return (
        count(raw, "read")
        .join(count(clean, "loaded"), on="source_file", how="full", coalesce=True)
        .join(count(quarantine, "quarantined"), on="source_file", how="full", coalesce=True)
        .with_columns(pl.col("read", "loaded", "quarantined").fill_null(0))
        .sort("source_file")
        .collect()
    )


def _per_file_check(key: dg.AssetKey, raw, clean, quarantine) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name="per_file_reconciliation",
        blocking=True,
        description="Recounted from the lake, per source file: raw rows = loaded rows + quarantined rows.",
    )
    def _check(lake: LakeResource) -> dg.AssetCheckResult:
        counts = per_file_counts(lake, raw, clean, quarantine)
        broken = counts.filter(pl.col("read") != pl.col("loaded") + pl.col("quarantined"))
        return dg.AssetCheckResult(
            passed=broken.is_empty(),
            metadata={
                "files": dg.MetadataValue.json({r["source_file"]: r for r in counts.to_dicts()}),
                "files_not_reconciled": broken.height,
            },
            description=(
                f"{counts.height} file(s), all reconciled"
                if broken.is_empty()
                else f"not reconciled: {broken['source_file'].to_list()}"
            ),
        )

    return _check


def _schema_check(key: dg.AssetKey, parts: tuple[str, ...], schema: pa.DataFrameSchema) -> dg.AssetChecksDefinition:
    """Pandera validation of the stored lake file, streamed in batches so memory does not grow with the table.

    A unique column (the ids) is checked once over that column alone, so a
    duplicate in two different batches fails it too.
    """

    @dg.asset_check(
        asset=key,
        name=f"{key.path[-1]}_schema",
        blocking=True,
        description=f"Pandera schema {schema.name!r} over every row of the stored table: types, nulls, value rules.",
    )
    def _check(lake: LakeResource) -> dg.AssetCheckResult:
        stored = lake.scan_parquet(*parts)
        columns = [c for c in schema.columns if c in stored.collect_schema().names()]
        return validate_frame(stored.select(columns), schema)

    return _check


CHECKS = [
    reconciliation_check(TRANSACTIONS_KEY),
    reconciliation_check(PAYMENTS_KEY),
    _per_file_check(TRANSACTIONS_KEY, RAW_TRANSACTIONS, CLEAN_TRANSACTIONS, QUARANTINE_TRANSACTIONS),
    _per_file_check(PAYMENTS_KEY, RAW_PAYMENTS, CLEAN_PAYMENTS, QUARANTINE_PAYMENTS),
    _schema_check(TRANSACTIONS_KEY, CLEAN_TRANSACTIONS, TRANSACTIONS_SCHEMA),
    _schema_check(PAYMENTS_KEY, CLEAN_PAYMENTS, PAYMENTS_SCHEMA),
]
