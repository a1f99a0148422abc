"""Columns of the delinquency outputs: polars types, Pandera rules, descriptions, classification.

Each output is declared once as a Pandera schema; the polars schema (used to
give both implementations identical column types and order) and the Dagster
``dagster/column_schema`` metadata are derived from it. Classification follows
the case's governance levels: a real ``customer_id`` tied to a credit status is
``confidential``, money amounts are ``confidential``, ids and dates
``internal``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

PAYMENT_STRUCT = pl.Struct(
    {
        "payment_date": pl.Date,
        "payment_id": pl.String,
        "amount_paid": pl.Float64,
        "status": pl.String,
        "counted": pl.Boolean,
    }
)


def _col(dtype, description: str, classification: str, *, nullable: bool = False, checks=None) -> pa.Column:
    return pa.Column(
        dtype,
        checks=checks,
        nullable=nullable,
        description=description,
        metadata={"classification": classification},
    )


_NON_NEGATIVE = [pa.Check.ge(0)]


def _row_check(name: str, rule: pl.Expr) -> pa.Check:
    """A row-wise rule across columns (Pandera polars: the check returns one boolean per row)."""
    return pa.Check(lambda data: data.lazyframe.select(rule), name=name, error=name)


CLIENTS_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": _col(pl.String, "Customer id as in the source (not pseudonymized).", "confidential"),
        "obligations": _col(pl.Int64, "Obligations due in (D - 6 months, D].", "internal", checks=[pa.Check.ge(1)]),
        "open_obligations": _col(pl.Int64, "Of those, still not settled at D.", "internal", checks=_NON_NEGATIVE),
        "outstanding_amount": _col(
            pl.Float64, "Amount still unpaid at D on those obligations.", "confidential", checks=_NON_NEGATIVE
        ),
        "worst_days_late": _col(
            pl.Int64, "Largest days late among the obligations in the window.", "internal", checks=_NON_NEGATIVE
        ),
        "violations": _col(
            pl.Int64, "Obligations in the window meeting criterion 1 or 2.", "internal", checks=_NON_NEGATIVE
        ),
        "criterion_1": _col(pl.Boolean, "Some obligation due in (D - 3 months, D] is > 30 days late.", "confidential"),
        "criterion_2": _col(pl.Boolean, "Some obligation due in (D - 6 months, D] is > 15 days late.", "confidential"),
        "inadimplente": _col(pl.Boolean, "Delinquent: criterion 1 or criterion 2.", "confidential"),
        "as_of": _col(pl.Date, "Evaluation date D.", "internal"),
    },
    name="delinquent_clients",
    unique=["customer_id"],
    checks=[
        _row_check(
            "inadimplente_is_criterion_1_or_2",
            pl.col("inadimplente") == (pl.col("criterion_1") | pl.col("criterion_2")),
        ),
        _row_check("criterion_1_implies_criterion_2", ~pl.col("criterion_1") | pl.col("criterion_2")),
        _row_check("violations_at_most_obligations", pl.col("violations") <= pl.col("obligations")),
        _row_check("open_at_most_obligations", pl.col("open_obligations") <= pl.col("obligations")),
        _row_check("violations_iff_delinquent", (pl.col("violations") > 0) == pl.col("inadimplente")),
    ],
)

VIOLATIONS_SCHEMA = pa.DataFrameSchema(
    {
        "transaction_id": _col(pl.String, "The violating transaction.", "internal"),
        "customer_id": _col(pl.String, "Customer id as in the source (not pseudonymized).", "confidential"),
        "status": _col(pl.String, "Transaction status (pending or completed).", "internal"),
        "amount": _col(pl.Float64, "Amount due.", "confidential", checks=[pa.Check.gt(0)]),
        "due_date": _col(pl.Date, "Due date.", "internal"),
        "paid_by_as_of": _col(
            pl.Float64, "Sum of counted payments dated on or before D.", "confidential", checks=_NON_NEGATIVE
        ),
        "settled_on": _col(
            pl.Date, "Date of the payment that settled it; null while open at D.", "internal", nullable=True
        ),
        "days_late": _col(
            pl.Int64, "Settlement (or D) minus due date, at least 0.", "internal", checks=[pa.Check.gt(0)]
        ),
        "criterion_1": _col(pl.Boolean, "Due in (D - 3 months, D] and > 30 days late.", "confidential"),
        "criterion_2": _col(pl.Boolean, "Due in (D - 6 months, D] and > 15 days late.", "confidential"),
        "as_of": _col(pl.Date, "Evaluation date D.", "internal"),
        "payments": _col(
            pl.List(PAYMENT_STRUCT),
            "Every payment of the transaction (any status or date) ordered by date and id; "
            "`counted` marks those that count at D.",
            "confidential",
        ),
    },
    name="delinquency_violations",
    unique=["transaction_id"],
)

SUMMARY_SCHEMA = pa.DataFrameSchema(
    {
        "as_of": _col(pl.Date, "Evaluation date D.", "internal"),
        "window_3m_from": _col(pl.Date, "D - 3 months (exclusive start of criterion 1's window).", "internal"),
        "window_6m_from": _col(pl.Date, "D - 6 months (exclusive start of criterion 2's window).", "internal"),
        "clients_evaluated": _col(pl.Int64, "Clients with an obligation due in the 6-month window.", "internal"),
        "clients_criterion_1": _col(pl.Int64, "Clients meeting criterion 1.", "internal"),
        "clients_criterion_2": _col(pl.Int64, "Clients meeting criterion 2.", "internal"),
        "clients_delinquent": _col(pl.Int64, "Clients inadimplentes (criterion 1 or 2).", "internal"),
        "pct_delinquent": _col(
            pl.Float64,
            "clients_delinquent / clients_evaluated in percent, 2 decimals.",
            "internal",
            checks=[pa.Check.in_range(0, 100)],
        ),
        "obligations_in_window": _col(pl.Int64, "Obligations due in the 6-month window.", "internal"),
        "violating_transactions": _col(pl.Int64, "Obligations meeting criterion 1 or 2.", "internal"),
        "obligations_not_evaluable": _col(
            pl.Int64, "Pending/completed transactions without customer, due date or amount > 0.", "internal"
        ),
        "payments_counted": _col(pl.Int64, "Completed payments with amount > 0 dated on or before D.", "internal"),
        "payments_not_counted": _col(
            pl.Int64, "Every other payment (failed, processing, invalid, after D).", "internal"
        ),
        "payments_after_as_of": _col(pl.Int64, "Completed, valid payments dated after D (ignored).", "internal"),
    },
    name="delinquency_summary",
)


def polars_schema(schema: pa.DataFrameSchema) -> pl.Schema:
    """The polars column types of ``schema``, in declaration order."""
    return pl.Schema({name: column.dtype.type for name, column in schema.columns.items()})


def conform(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in order and cast to its types."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in polars_schema(schema).items())


CLIENT_ORDER = ["customer_id"]
VIOLATION_ORDER = ["transaction_id"]
