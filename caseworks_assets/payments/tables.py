"""Cleaned, typed tables and their quarantines, in the warehouse and the lake.

``payments/clean/transactions.parquet`` and ``payments/clean/payments.parquet``
(and the warehouse tables ``payments.transactions`` / ``payments.payments``)
are the contract the delinquency assets build on: typed columns, amounts > 0,
due dates always present, statuses from the known sets, and every payment
belonging to a cleaned transaction.
"""

from collections.abc import Callable

import dagster as dg
import polars as pl

from caseworks_assets.governance import PrivacyResource, governance_metadata, governance_tags
from caseworks_assets.payments import clean, reader
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    PAYMENT_RESTRICTED_COLUMNS,
    QUARANTINE_COLUMNS,
    RESTRICTED_COLUMN,
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


def _table(
    lake: LakeResource,
    parts: tuple[str, ...],
    output_name: str,
    extra: dict | None = None,
    sealed: tuple[str, ...] = (),
) -> dg.Output:
    """The lake file just written, published in the warehouse engine-side (no rows through Python)."""
    metadata = {"lake_path": str(lake.path(*parts)), **(extra or {})}
    return dg.Output(LakeTable(str(lake.path(*parts)), sealed=sealed), output_name=output_name, metadata=metadata)


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
    """One row per received transaction id, sorted by id: ``clean`` if it was loaded, else ``quarantined``.

    Computed by DuckDB (memory-capped) and sorted there, so each batch of
    payments can look its transactions up by binary search.
    """
    raw, loaded = (reader.sql_string(str(lake.path(*parts))) for parts in (RAW_TRANSACTIONS, CLEAN_TRANSACTIONS))
    with reader.connect() as con:
        return con.execute(
            f"""SELECT r.transaction_id,
                       CASE WHEN c.transaction_id IS NULL THEN 'quarantined' ELSE 'clean' END AS {TRANSACTION_STATE}
                FROM (SELECT DISTINCT transaction_id FROM read_parquet({raw}) WHERE transaction_id IS NOT NULL) r
                LEFT JOIN (SELECT DISTINCT transaction_id FROM read_parquet({loaded})) c USING (transaction_id)
                ORDER BY r.transaction_id"""
        ).pl()


def state_joiner(states: pl.DataFrame) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Adds ``transaction_state`` (``unknown`` when never received) to a batch of payments, in place of a join.

    The known transactions, sorted once by id, are binary-searched for each
    batch's ids: no hash table of millions of ids is rebuilt per batch, and
    the batch keeps its rows and their order.
    """
    known = states if states["transaction_id"].is_sorted() else states.sort("transaction_id")
    ids, state = known["transaction_id"], known[TRANSACTION_STATE]
    last = max(ids.len() - 1, 0)

    def join(batch: pl.DataFrame) -> pl.DataFrame:
        wanted = batch["transaction_id"]
        if ids.is_empty():
            return batch.with_columns(pl.lit("unknown").alias(TRANSACTION_STATE))
        at = ids.search_sorted(wanted, side="left").clip(0, last)
        found = (ids.gather(at) == wanted).fill_null(False)
        return batch.with_columns(
            pl.when(found).then(state.gather(at)).otherwise(pl.lit("unknown")).alias(TRANSACTION_STATE)
        )

    return join


@dg.multi_asset(
    outs={
        "payments": _out(PAYMENTS_KEY, PAYMENT_COLUMNS, "Cleaned, typed payments of cleaned transactions."),
        "payments_restricted": _out(
            PAYMENTS_RESTRICTED_KEY,
            PAYMENT_RESTRICTED_COLUMNS,
            "Restricted metadata of cleaned payments: in the lake file, encrypted with Parquet modular "
            "encryption (admin only, with the key ring); the warehouse table lists payment, position and key id.",
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
    ring = privacy.keyring()  # opens the raw file's restricted column and seals the restricted table
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
            ring=ring,
            enrich=with_state,
        )
    context.log.info(f"payments: {stats.rows_loaded} loaded, {stats.rows_quarantined} quarantined")
    yield _table(lake, CLEAN_PAYMENTS, "payments", _quality_metadata(stats))
    yield _table(
        lake, CLEAN_PAYMENTS_RESTRICTED, "payments_restricted", {"key_id": ring.active_id}, (RESTRICTED_COLUMN,)
    )
    yield _table(lake, QUARANTINE_PAYMENTS, "payments_quarantine", {"rows_quarantined": stats.rows_quarantined})
