"""Cleaned, typed tables and their quarantines, in the warehouse and the lake.

``payments/clean/transactions.parquet`` and ``payments/clean/payments.parquet``
(and the warehouse tables ``payments.transactions`` / ``payments.payments``)
are the contract the delinquency assets build on: typed columns, amounts > 0,
due dates always present, statuses from the known sets, and every payment
belonging to a cleaned transaction.
"""

import dagster as dg
import polars as pl

from caseworks_assets.governance import PrivacyResource, governance_metadata, governance_tags
from caseworks_assets.payments import clean, reader
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    PAYMENT_RESTRICTED_COLUMNS,
    QUARANTINE_COLUMNS,
    TRANSACTION_COLUMNS,
)
from caseworks_assets.payments.ingest import raw_payments, raw_transactions
from caseworks_assets.payments.paths import (
    CASE,
    CLEAN_PAYMENTS,
    CLEAN_PAYMENTS_RESTRICTED,
    CLEAN_TRANSACTIONS,
    QUARANTINE_PAYMENTS,
    QUARANTINE_TRANSACTIONS,
    RAW_PAYMENTS,
    RAW_TRANSACTIONS,
    staged,
)
from caseworks_assets.payments.rules import PAYMENT_RULES, TRANSACTION_RULES, TRANSACTION_STATE
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, LakeResource, LakeTable

TRANSACTIONS_KEY = dg.AssetKey([CASE, "transactions"])
PAYMENTS_KEY = dg.AssetKey([CASE, "payments"])
PAYMENTS_RESTRICTED_KEY = dg.AssetKey([CASE, "payments_restricted"])
TRANSACTIONS_QUARANTINE_KEY = dg.AssetKey([CASE, "transactions_quarantine"])
PAYMENTS_QUARANTINE_KEY = dg.AssetKey([CASE, "payments_quarantine"])


def _out(key: dg.AssetKey, columns, description: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=key,
        description=description,
        metadata=governance_metadata(columns),
        tags=governance_tags(columns),
        kinds={WAREHOUSE_KIND, "parquet"},
    )


def _table(lake: LakeResource, parts: tuple[str, ...], output_name: str, extra: dict | None = None) -> dg.Output:
    """The lake file just written, loaded into the warehouse engine-side (no rows through Python)."""
    metadata = {"lake_path": str(lake.path(*parts)), **(extra or {})}
    return dg.Output(LakeTable(str(lake.path(*parts))), output_name=output_name, metadata=metadata)


def _quality_metadata(stats: clean.CleanStats) -> dict[str, object]:
    meta = stats.metadata()
    meta["per_file"] = dg.MetadataValue.json(meta["per_file"])
    meta["currency_null"] = int(stats.rules.get("currency_empty", 0))
    return meta


@dg.multi_asset(
    outs={
        "transactions": _out(TRANSACTIONS_KEY, TRANSACTION_COLUMNS, "Cleaned, typed transactions."),
        "transactions_quarantine": _out(
            TRANSACTIONS_QUARANTINE_KEY, QUARANTINE_COLUMNS, "Transactions rejected by a rule, with the raw record."
        ),
    },
    deps=[raw_transactions],
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def clean_transactions(context: dg.AssetExecutionContext, lake: LakeResource):
    """Repair amounts sent as numeric strings, type dates and flags; quarantine what cannot be trusted.

    Quarantined: amount missing, unreadable or <= 0; unparseable transaction or
    due date; missing due date; status missing or unknown. Empty currency is
    kept as null and counted (``currency_null``).
    """
    with (
        lake.path(*RAW_TRANSACTIONS).open("rb") as raw,
        staged(lake, *CLEAN_TRANSACTIONS) as clean_sink,
        staged(lake, *QUARANTINE_TRANSACTIONS) as quarantine_sink,
    ):
        stats = clean.clean_parquet(
            raw, TRANSACTION_RULES, TRANSACTION_COLUMNS, clean_sink, quarantine_sink, amount_column="amount"
        )
    context.log.info(f"transactions: {stats.rows_loaded} loaded, {stats.rows_quarantined} quarantined")
    yield _table(lake, CLEAN_TRANSACTIONS, "transactions", _quality_metadata(stats))
    yield _table(lake, QUARANTINE_TRANSACTIONS, "transactions_quarantine", {"rows_quarantined": stats.rows_quarantined})


def transaction_states(lake: LakeResource) -> pl.DataFrame:
    """One row per received transaction id: ``clean`` if it was loaded, else ``quarantined`` (DuckDB, memory-capped)."""
    raw, loaded = (reader.sql_string(str(lake.path(*parts))) for parts in (RAW_TRANSACTIONS, CLEAN_TRANSACTIONS))
    with reader.connect() as con:
        return con.execute(
            f"""SELECT r.transaction_id,
                       CASE WHEN c.transaction_id IS NULL THEN 'quarantined' ELSE 'clean' END AS {TRANSACTION_STATE}
                FROM (SELECT DISTINCT transaction_id FROM read_parquet({raw}) WHERE transaction_id IS NOT NULL) r
                LEFT JOIN (SELECT DISTINCT transaction_id FROM read_parquet({loaded})) c USING (transaction_id)"""
        ).pl()


def state_joiner(states: pl.DataFrame):
    """Adds ``transaction_state`` to a batch of payments, keeping its rows and their order.

    The many known transactions are first narrowed to the batch's ids (a hash set of
    the small side), so each join touches a batch-sized table, not every transaction.
    """

    def join(batch: pl.DataFrame) -> pl.DataFrame:
        relevant = states.filter(
            pl.col("transaction_id").is_in(batch["transaction_id"].drop_nulls().unique().implode())
        )
        return batch.join(relevant, on="transaction_id", how="left", maintain_order="left").with_columns(
            pl.col(TRANSACTION_STATE).fill_null("unknown")
        )

    return join


@dg.multi_asset(
    outs={
        "payments": _out(PAYMENTS_KEY, PAYMENT_COLUMNS, "Cleaned, typed payments of cleaned transactions."),
        "payments_restricted": _out(
            PAYMENTS_RESTRICTED_KEY,
            PAYMENT_RESTRICTED_COLUMNS,
            "Restricted metadata of cleaned payments, encrypted at rest (admin only, with the key ring).",
        ),
        "payments_quarantine": _out(
            PAYMENTS_QUARANTINE_KEY, QUARANTINE_COLUMNS, "Payments rejected by a rule, with the raw record."
        ),
    },
    deps=[raw_payments, TRANSACTIONS_KEY],
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def clean_payments(context: dg.AssetExecutionContext, lake: LakeResource, privacy: PrivacyResource):
    """Repair and type payments; quarantine bad amounts, dates and statuses and payments of unknown transactions.

    A payment whose transaction was never received is ``transaction_unknown``;
    one whose transaction is itself in quarantine is ``transaction_quarantined``.
    """
    privacy.keyring()  # the restricted table is only written with a valid ring configured
    with_state = state_joiner(transaction_states(lake))

    with (
        lake.path(*RAW_PAYMENTS).open("rb") as raw,
        staged(lake, *CLEAN_PAYMENTS) as clean_sink,
        staged(lake, *QUARANTINE_PAYMENTS) as quarantine_sink,
        staged(lake, *CLEAN_PAYMENTS_RESTRICTED) as restricted_sink,
    ):
        stats = clean.clean_parquet(
            raw,
            PAYMENT_RULES,
            PAYMENT_COLUMNS,
            clean_sink,
            quarantine_sink,
            amount_column="amount_paid",
            restricted_sink=restricted_sink,
            restricted_columns=PAYMENT_RESTRICTED_COLUMNS,
            enrich=with_state,
        )
    context.log.info(f"payments: {stats.rows_loaded} loaded, {stats.rows_quarantined} quarantined")
    yield _table(lake, CLEAN_PAYMENTS, "payments", _quality_metadata(stats))
    yield _table(lake, CLEAN_PAYMENTS_RESTRICTED, "payments_restricted")
    yield _table(lake, QUARANTINE_PAYMENTS, "payments_quarantine", {"rows_quarantined": stats.rows_quarantined})
