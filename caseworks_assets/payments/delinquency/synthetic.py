"""Synthetic *cleaned* transactions and payments, vectorized, deterministic for a seed.

Used by the cross-check tests (random data around the rule edges) and the
benchmark (millions of rows). Raw-input generation belongs to the ingestion
side of the case; this writes what the ingestion hands to delinquency.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

TRANSACTION_STATUSES = ["pending", "completed", "refunded", "cancelled"]
PAYMENT_STATUSES = ["completed", "processing", "failed"]
NO_PAYMENT = 0.04  # transactions never paid
RISKY_CUSTOMERS = 0.3  # customers who often pay late
RISKY_LATE = 0.3  # share of a risky customer's payments made after the due date + 5 days
PUNCTUAL_LATE = 0.03  # the same share for everyone else


def _code(prefix: str, column: str, width: int) -> pl.Expr:
    """``prefix`` + the zero-padded integer column, e.g. ``T000000042``."""
    return pl.lit(prefix) + pl.col(column).cast(pl.String).str.zfill(width)


def generate_clean_inputs(
    transactions: int, *, seed: int = 0, start: date = date(2024, 1, 1), days: int = 240, customers: int | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``transactions`` transactions over ``days`` days from ``start`` and 0-4 payments each.

    Amounts are whole cents; payments are full, partial (possibly not reaching the
    amount), overpaying or tiny remainders around the 0.01 tolerance; some are
    failed or processing; due dates spread 0-60 days after the transaction so
    every window edge and lateness threshold is hit at scale.
    """
    rng = np.random.default_rng(seed)
    customers = customers or max(1, transactions // 8)
    n = transactions
    tx_day = rng.integers(0, days, n)
    due_offset = rng.integers(0, 61, n)
    amount_cents = rng.integers(100, 500_000, n)
    status = rng.choice(TRANSACTION_STATUSES, n, p=[0.3, 0.55, 0.08, 0.07])
    customer = rng.integers(0, customers, n)
    start_day = pl.lit(start)
    tx = pl.DataFrame(
        {
            "tx_index": np.arange(n),
            "customer": customer,
            "amount": amount_cents / 100.0,
            "tx_day": tx_day,
            "due_offset": due_offset,
            "status": status,
        }
    ).with_columns(
        transaction_id=_code("T", "tx_index", 9),
        customer_id=_code("C", "customer", 7),
        transaction_date=start_day + pl.duration(days=pl.col("tx_day")),
        due_date=start_day + pl.duration(days=pl.col("tx_day") + pl.col("due_offset")),
    )

    # Most transactions are paid once; some in instalments, a few never (``NO_PAYMENT``).
    per_tx = rng.choice([0, 1, 2, 3, 4], n, p=[NO_PAYMENT, 0.72, 0.13, 0.07, 1 - NO_PAYMENT - 0.92])
    owner = np.repeat(np.arange(n), per_tx)
    m = owner.size
    count_of_owner = per_tx[owner]
    # Shares of the amount: full split across the payments, sometimes short or over by a little.
    share = np.where(count_of_owner > 0, 1.0 / np.maximum(count_of_owner, 1), 0)
    wobble = rng.choice([0, -1, 1, -2, -500], m, p=[0.9, 0.03, 0.03, 0.02, 0.02])
    paid_cents = np.maximum(np.rint(amount_cents[owner] * share).astype(np.int64) + wobble, 1)
    # Lateness is a habit of the customer, not a coin per payment: a minority of risky customers
    # pays weeks or months late often; everyone else is mostly on time, now and then a little late.
    risky = rng.random(customers) < RISKY_CUSTOMERS
    late_share = np.where(risky[customer[owner]], RISKY_LATE, PUNCTUAL_LATE)
    roll = rng.random(m) / late_share
    lateness = np.where(
        roll >= 1, rng.integers(-15, 6, m), np.where(roll >= 0.35, rng.integers(6, 45, m), rng.integers(45, 150, m))
    )
    pay_day = np.maximum(tx_day[owner] + due_offset[owner] + lateness, tx_day[owner])
    payments = pl.DataFrame(
        {
            "payment_index": np.arange(m),
            "owner": owner,
            "amount_paid": paid_cents / 100.0,
            "pay_day": pay_day,
            "status": rng.choice(PAYMENT_STATUSES, m, p=[0.94, 0.03, 0.03]),
        }
    ).with_columns(
        payment_id=_code("P", "payment_index", 10),
        transaction_id=_code("T", "owner", 9),
        payment_date=start_day + pl.duration(days=pl.col("pay_day")),
    )
    payments = payments.join(tx.select("transaction_id", "customer_id"), on="transaction_id", how="left")
    return (
        tx.select(
            "transaction_id",
            "customer_id",
            "amount",
            pl.lit("BRL").alias("currency"),
            pl.col("transaction_date").cast(pl.Date),
            pl.col("due_date").cast(pl.Date),
            pl.lit("net_30").alias("payment_terms"),
            "status",
        ),
        payments.select(
            "payment_id",
            "transaction_id",
            "customer_id",
            "amount_paid",
            pl.lit("BRL").alias("currency"),
            pl.col("payment_date").cast(pl.Date),
            pl.lit("pix").alias("payment_method"),
            pl.lit("full").alias("payment_type"),
            "status",
        ),
    )
