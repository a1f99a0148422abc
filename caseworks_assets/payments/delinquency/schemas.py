"""Columns of the delinquency outputs, declared once as column contracts (``governance.ColumnSpec``).

The Pandera schemas (with the rules across a client's columns as named row
rules), the polars schema (used to give both implementations identical column
types and order) and the Dagster ``dagster/column_schema`` metadata are derived
from them. Classification follows the case's governance levels: a real
``customer_id`` tied to a credit status is ``confidential``, money amounts are
``confidential``, ids and dates ``internal``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from caseworks_assets.governance import Classification, ColumnSpec, RowRule, pandera_schema

PAYMENT_STRUCT = pl.Struct(
    {
        "payment_date": pl.Date,
        "payment_id": pl.String,
        "amount_paid": pl.Float64,
        "status": pl.String,
        "counted": pl.Boolean,
    }
)

INTERNAL, CONFIDENTIAL = Classification.INTERNAL, Classification.CONFIDENTIAL
NON_NEGATIVE = (pa.Check.ge(0),)


def _col(
    name: str,
    dtype: str | pl.DataType,
    description: str,
    classification: Classification,
    *,
    nullable: bool = False,
    checks: tuple[pa.Check, ...] = (),
) -> ColumnSpec:
    """An output column: required unless said otherwise; a customer id identifies a person."""
    return ColumnSpec(
        name,
        dtype,
        description,
        classification,
        identifier=name == "customer_id",
        nullable=nullable,
        checks=checks,
    )


CUSTOMER_ID = _col("customer_id", "String", "Customer id as in the source (not pseudonymized).", CONFIDENTIAL)
AS_OF = _col("as_of", "Date", "Evaluation date D.", INTERNAL)

CLIENT_COLUMNS = (
    CUSTOMER_ID,
    _col("obligations", "Int64", "Obligations due in (D - 6 months, D].", INTERNAL, checks=(pa.Check.ge(1),)),
    _col("open_obligations", "Int64", "Of those, still not settled at D.", INTERNAL, checks=NON_NEGATIVE),
    _col(
        "outstanding_amount",
        "Float64",
        "Amount still unpaid at D on those obligations.",
        CONFIDENTIAL,
        checks=NON_NEGATIVE,
    ),
    _col(
        "worst_days_late",
        "Int64",
        "Largest days late among the obligations in the window.",
        INTERNAL,
        checks=NON_NEGATIVE,
    ),
    _col("violations", "Int64", "Obligations in the window meeting criterion 1 or 2.", INTERNAL, checks=NON_NEGATIVE),
    _col("criterion_1", "Boolean", "Some obligation due in (D - 3 months, D] is > 30 days late.", CONFIDENTIAL),
    _col("criterion_2", "Boolean", "Some obligation due in (D - 6 months, D] is > 15 days late.", CONFIDENTIAL),
    _col("inadimplente", "Boolean", "Delinquent: criterion 1 or criterion 2.", CONFIDENTIAL),
    AS_OF,
)
#: What holds between a client's columns: the flag is the criteria, and the counts bound each other.
CLIENT_RULES = (
    RowRule(
        "inadimplente_is_criterion_1_or_2", pl.col("inadimplente") == (pl.col("criterion_1") | pl.col("criterion_2"))
    ),
    RowRule("criterion_1_implies_criterion_2", ~pl.col("criterion_1") | pl.col("criterion_2")),
    RowRule("violations_at_most_obligations", pl.col("violations") <= pl.col("obligations")),
    RowRule("open_at_most_obligations", pl.col("open_obligations") <= pl.col("obligations")),
    RowRule("violations_iff_delinquent", (pl.col("violations") > 0) == pl.col("inadimplente")),
)
CLIENTS_SCHEMA = pandera_schema("delinquent_clients", CLIENT_COLUMNS, unique=["customer_id"], rows=CLIENT_RULES)

VIOLATION_COLUMNS = (
    _col("transaction_id", "String", "The violating transaction.", INTERNAL),
    CUSTOMER_ID,
    _col("status", "String", "Transaction status (pending or completed).", INTERNAL),
    _col("amount", "Float64", "Amount due.", CONFIDENTIAL, checks=(pa.Check.gt(0),)),
    _col("due_date", "Date", "Due date.", INTERNAL),
    _col(
        "paid_by_as_of", "Float64", "Sum of counted payments dated on or before D.", CONFIDENTIAL, checks=NON_NEGATIVE
    ),
    _col("settled_on", "Date", "Date of the payment that settled it; null while open at D.", INTERNAL, nullable=True),
    _col("days_late", "Int64", "Settlement (or D) minus due date, at least 0.", INTERNAL, checks=(pa.Check.gt(0),)),
    _col("criterion_1", "Boolean", "Due in (D - 3 months, D] and > 30 days late.", CONFIDENTIAL),
    _col("criterion_2", "Boolean", "Due in (D - 6 months, D] and > 15 days late.", CONFIDENTIAL),
    AS_OF,
    _col(
        "payments",
        pl.List(PAYMENT_STRUCT),
        "Every payment of the transaction (any status or date) ordered by date and id; "
        "`counted` marks those that count at D.",
        CONFIDENTIAL,
    ),
)
VIOLATIONS_SCHEMA = pandera_schema("delinquency_violations", VIOLATION_COLUMNS, unique=["transaction_id"])

SUMMARY_COLUMNS = (
    AS_OF,
    _col("window_3m_from", "Date", "D - 3 months (exclusive start of criterion 1's window).", INTERNAL),
    _col("window_6m_from", "Date", "D - 6 months (exclusive start of criterion 2's window).", INTERNAL),
    _col("clients_evaluated", "Int64", "Clients with an obligation due in the 6-month window.", INTERNAL),
    _col("clients_criterion_1", "Int64", "Clients meeting criterion 1.", INTERNAL),
    _col("clients_criterion_2", "Int64", "Clients meeting criterion 2.", INTERNAL),
    _col("clients_delinquent", "Int64", "Clients inadimplentes (criterion 1 or 2).", INTERNAL),
    _col(
        "pct_delinquent",
        "Float64",
        "clients_delinquent / clients_evaluated in percent, 2 decimals.",
        INTERNAL,
        checks=(pa.Check.in_range(0, 100),),
    ),
    _col("obligations_in_window", "Int64", "Obligations due in the 6-month window.", INTERNAL),
    _col("violating_transactions", "Int64", "Obligations meeting criterion 1 or 2.", INTERNAL),
    _col(
        "obligations_not_evaluable",
        "Int64",
        "Pending/completed transactions without customer, due date or amount > 0.",
        INTERNAL,
    ),
    _col("payments_counted", "Int64", "Completed payments with amount > 0 dated on or before D.", INTERNAL),
    _col("payments_not_counted", "Int64", "Every other payment (failed, processing, invalid, after D).", INTERNAL),
    _col("payments_after_as_of", "Int64", "Completed, valid payments dated after D (ignored).", INTERNAL),
)
SUMMARY_SCHEMA = pandera_schema("delinquency_summary", SUMMARY_COLUMNS)


def polars_schema(schema: pa.DataFrameSchema) -> pl.Schema:
    """The polars column types of ``schema``, in declaration order."""
    return pl.Schema({name: column.dtype.type for name, column in schema.columns.items()})


def conform(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in order and cast to its types."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in polars_schema(schema).items())


CLIENT_ORDER = ["customer_id"]
VIOLATION_ORDER = ["transaction_id"]
