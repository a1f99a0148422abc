"""The stream's settled state: the batch path's rules over every record landed so far.

A payment can land before its transaction, and a later record can repeat an
earlier one's id, so no micro-batch can be judged alone. Each batch's
materialization therefore re-evaluates everything landed so far with the
batch path's own rule lists and enrichers (:mod:`.rules`): duplicates by
``duplicate_id`` (latest date, then the later batch and line -- batch names
are sequential, so this is the stream's "last in file"), transactions by
``TRANSACTION_RULES``, payments by ``PAYMENT_RULES`` against the transactions
settled so far. A payment rejected only as ``transaction_unknown`` is not
quarantined but *pending*: it waits for its transaction and is judged again
when the next batch lands. The result does not depend on the order in which
batches arrive; the price is a pass over every landed record per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from caseworks_assets.payments.clean import quarantine_frame, text_columns, typed
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    QUARANTINE_COLUMNS,
    RESTRICTED_COLUMN,
    TRANSACTION_COLUMNS,
)
from caseworks_assets.payments.rules import (
    PAYMENT_RULES,
    TRANSACTION_RULES,
    judging_duplicates,
    known_ids,
    state_joiner,
)
from caseworks_assets.quality import QualityResult, Rule, apply_rules

PENDING_RULE = "transaction_unknown"  # the only rule a later batch can still overturn


@dataclass
class Settled:
    """Clean tables, pending payments and the quarantine (``record_type`` + the batch path's columns)."""

    transactions: pl.DataFrame
    payments: pl.DataFrame
    restricted: pl.DataFrame  # source_file, source_line, payment_id, restricted_metadata of clean payments
    pending: pl.DataFrame
    quarantine: pl.DataFrame  # rejected records (severity error) and warnings of loaded or pending ones
    rows_read: int


def _judge(
    raw: pl.DataFrame, kind: str, rules: list[Rule], enrich: Callable[[pl.DataFrame], pl.DataFrame] | None = None
) -> tuple[QualityResult, pl.DataFrame]:
    """``rules`` over ``raw`` exactly as the batch path runs them, ``duplicate_id`` first when an id repeats."""
    _, rules, enrich = judging_duplicates(raw.lazy(), kind, rules, enrich)
    frame = enrich(raw) if enrich is not None else raw
    return apply_rules(frame, rules, text_columns=text_columns(frame)), frame


def _rows(result: QualityResult, frame: pl.DataFrame, record_type: str) -> pl.DataFrame:
    rows = pl.concat([quarantine_frame(result, frame), quarantine_frame(result, frame, warnings=True)])
    return rows.select([c.name for c in QUARANTINE_COLUMNS]).with_columns(pl.lit(record_type).alias("record_type"))


def settle(transactions: pl.DataFrame, payments: pl.DataFrame) -> Settled:
    """Judge every landed transaction, then every landed payment against the transactions judged.

    ``transactions`` / ``payments`` are raw text records with ``source_file``
    (the batch) and ``source_line``; ``payments`` carries its sealed
    ``restricted_metadata``, which never enters the rules.
    """
    tx_result, tx_frame = _judge(transactions, "transactions", TRANSACTION_RULES)
    clean_tx = typed(tx_result.clean, TRANSACTION_COLUMNS)
    clean_ids, quarantined_ids = known_ids(clean_tx["transaction_id"].unique(), transactions["transaction_id"])

    sealed = payments.select("source_file", "source_line", RESTRICTED_COLUMN)
    pay_result, pay_frame = _judge(
        payments.drop(RESTRICTED_COLUMN), "payments", PAYMENT_RULES, state_joiner(clean_ids, quarantined_ids)
    )
    clean_pay = typed(pay_result.clean, PAYMENT_COLUMNS)
    pay_rows = _rows(pay_result, pay_frame, "payment")
    waiting = (pl.col("rule") == PENDING_RULE) & (pl.col("severity") == "error")
    restricted = clean_pay.select("payment_id", "source_file", "source_line").join(
        sealed, on=["source_file", "source_line"], how="left"
    )
    return Settled(
        transactions=clean_tx,
        payments=clean_pay,
        restricted=restricted,
        pending=pay_rows.filter(waiting),
        quarantine=pl.concat([_rows(tx_result, tx_frame, "transaction"), pay_rows.filter(~waiting)]),
        rows_read=transactions.height + payments.height,
    )
