"""Delinquency at date D in DuckDB SQL: the independent reference implementation.

Written from the rules in :mod:`.rules` without sharing code with the Spark
job, so that agreement between the two on generated edge cases is evidence that
both follow the rules. It also runs in production as the
``delinquency_reference`` asset, a Spark-free cross-check of the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from caseworks_assets.payments.delinquency.rules import (
    COUNTED_PAYMENT_STATUS,
    CRITERION_1_DAYS,
    CRITERION_1_MONTHS,
    CRITERION_2_DAYS,
    CRITERION_2_MONTHS,
    OBLIGATION_STATUSES,
    TOLERANCE_CENTS,
    DelinquencyInputError,
    percentage,
)
from caseworks_assets.payments.delinquency.schemas import (
    CLIENT_ORDER,
    CLIENTS_SCHEMA,
    SUMMARY_SCHEMA,
    VIOLATION_ORDER,
    VIOLATIONS_SCHEMA,
    conform,
)
from caseworks_assets.resources.sql_literals import sql_string

TRANSACTION_COLUMNS = ["transaction_id", "customer_id", "amount", "transaction_date", "due_date", "status"]
PAYMENT_COLUMNS = ["payment_id", "transaction_id", "amount_paid", "payment_date", "status"]

_STATUSES = ", ".join(f"'{status}'" for status in OBLIGATION_STATUSES)

# One statement per output over the views ``tx`` and ``pay``; ``:as_of`` becomes the literal D.
_EVALUATED = f"""
CREATE OR REPLACE TEMP TABLE evaluated AS
WITH params AS (
    SELECT :as_of AS d,
           (:as_of - INTERVAL {CRITERION_1_MONTHS} MONTH)::DATE AS from_3m,
           (:as_of - INTERVAL {CRITERION_2_MONTHS} MONTH)::DATE AS from_6m
),
obligation AS (
    SELECT t.transaction_id, t.customer_id, t.status, t.amount, t.due_date,
           CAST(round(t.amount * 100) AS BIGINT) AS amount_cents
    FROM tx t, params p
    WHERE t.status IN ({_STATUSES})
      AND t.customer_id IS NOT NULL AND t.amount > 0
      AND t.due_date > p.from_6m AND t.due_date <= p.d
),
counted AS (
    SELECT y.transaction_id, y.payment_id, y.payment_date, CAST(round(y.amount_paid * 100) AS BIGINT) AS cents
    FROM pay y, params p
    WHERE y.status = '{COUNTED_PAYMENT_STATUS}' AND y.amount_paid > 0 AND y.payment_date <= p.d
),
running AS (
    SELECT o.transaction_id, o.amount_cents, c.payment_date, c.cents,
           sum(c.cents) OVER (PARTITION BY o.transaction_id ORDER BY c.payment_date, c.payment_id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative
    FROM obligation o JOIN counted c USING (transaction_id)
),
settled AS (
    SELECT transaction_id,
           sum(cents) AS paid_cents,
           min(payment_date) FILTER (WHERE cumulative >= amount_cents - {TOLERANCE_CENTS}) AS settled_on
    FROM running GROUP BY transaction_id
)
SELECT o.*, coalesce(s.paid_cents, 0) AS paid_cents, s.settled_on,
       greatest(date_diff('day', o.due_date, coalesce(s.settled_on, p.d)), 0) AS days_late,
       o.due_date > p.from_3m
         AND greatest(date_diff('day', o.due_date, coalesce(s.settled_on, p.d)), 0) > {CRITERION_1_DAYS}
         AS criterion_1,
       greatest(date_diff('day', o.due_date, coalesce(s.settled_on, p.d)), 0) > {CRITERION_2_DAYS} AS criterion_2,
       p.d AS as_of
FROM obligation o CROSS JOIN params p LEFT JOIN settled s USING (transaction_id)
"""

_CLIENTS = """
SELECT customer_id,
       count(*) AS obligations,
       count(*) FILTER (WHERE settled_on IS NULL) AS open_obligations,
       coalesce(sum(amount_cents - paid_cents) FILTER (WHERE settled_on IS NULL), 0) / 100.0 AS outstanding_amount,
       max(days_late) AS worst_days_late,
       count(*) FILTER (WHERE criterion_1 OR criterion_2) AS violations,
       bool_or(criterion_1) AS criterion_1,
       bool_or(criterion_2) AS criterion_2,
       bool_or(criterion_1) OR bool_or(criterion_2) AS inadimplente,
       any_value(as_of) AS as_of
FROM evaluated GROUP BY customer_id
"""

_VIOLATIONS = f"""
SELECT e.transaction_id, e.customer_id, e.status, e.amount, e.due_date,
       e.paid_cents / 100.0 AS paid_by_as_of, e.settled_on, e.days_late,
       e.criterion_1, e.criterion_2, e.as_of,
       coalesce((
           SELECT list({{'payment_date': y.payment_date, 'payment_id': y.payment_id,
                         'amount_paid': y.amount_paid, 'status': y.status,
                         'counted': coalesce(y.status = '{COUNTED_PAYMENT_STATUS}' AND y.amount_paid > 0
                                             AND y.payment_date <= e.as_of, false)}}
                       ORDER BY y.payment_date NULLS FIRST, y.payment_id NULLS FIRST,
                                y.amount_paid NULLS FIRST, y.status NULLS FIRST)
           FROM pay y WHERE y.transaction_id = e.transaction_id), []) AS payments
FROM evaluated e WHERE e.criterion_1 OR e.criterion_2
"""

_COUNTS = f"""
SELECT
    (SELECT count(*) FROM tx WHERE status IN ({_STATUSES})
        AND NOT coalesce(customer_id IS NOT NULL AND due_date IS NOT NULL AND amount > 0, false))
        AS obligations_not_evaluable,
    (SELECT count(*) FROM pay) AS payments_total,
    (SELECT count(*) FROM pay WHERE status = '{COUNTED_PAYMENT_STATUS}' AND amount_paid > 0
        AND payment_date <= :as_of) AS payments_counted,
    (SELECT count(*) FROM pay WHERE status = '{COUNTED_PAYMENT_STATUS}' AND amount_paid > 0
        AND payment_date > :as_of) AS payments_after_as_of,
    (SELECT count(*) FROM evaluated) AS obligations_in_window,
    (SELECT count(*) FROM evaluated WHERE criterion_1 OR criterion_2) AS violating_transactions,
    (:as_of - INTERVAL {CRITERION_1_MONTHS} MONTH)::DATE AS window_3m_from,
    (:as_of - INTERVAL {CRITERION_2_MONTHS} MONTH)::DATE AS window_6m_from
"""


@dataclass(frozen=True)
class ReferenceDelinquency:
    """The three outputs as polars frames, typed and ordered like the Spark outputs."""

    as_of: date
    clients: pl.DataFrame
    violations: pl.DataFrame
    summary: pl.DataFrame


def _latest_valid_date(con: duckdb.DuckDBPyConnection) -> date:
    latest = con.execute(
        "SELECT greatest((SELECT max(transaction_date) FROM tx), (SELECT max(payment_date) FROM pay))"
    ).fetchone()[0]
    if latest is None:
        raise DelinquencyInputError("no valid transaction_date or payment_date to default the evaluation date to")
    return latest


def evaluate_reference(
    transactions: pl.DataFrame | pl.LazyFrame, payments: pl.DataFrame | pl.LazyFrame, as_of: date | None = None
) -> ReferenceDelinquency:
    """Evaluate delinquency at ``as_of`` (default: the latest valid date) with DuckDB SQL over polars frames."""
    tx = transactions.lazy().select(TRANSACTION_COLUMNS).collect()
    pay = payments.lazy().select(PAYMENT_COLUMNS).collect()
    with duckdb.connect() as con:
        con.register("tx", tx)
        con.register("pay", pay)
        return _evaluate(con, as_of)


def evaluate_reference_parquet(transactions: str, payments: str, as_of: date | None = None) -> ReferenceDelinquency:
    """The same evaluation with DuckDB scanning the Parquet files itself (no polars frames in between)."""
    with duckdb.connect() as con:
        for name, path, columns in (("tx", transactions, TRANSACTION_COLUMNS), ("pay", payments, PAYMENT_COLUMNS)):
            source = f"read_parquet({sql_string(path)})"
            con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(columns)} FROM {source}")
        return _evaluate(con, as_of)


def _evaluate(con: duckdb.DuckDBPyConnection, as_of: date | None) -> ReferenceDelinquency:
    """The three outputs over the views ``tx`` and ``pay`` of ``con``."""
    as_of = as_of or _latest_valid_date(con)
    literal = f"DATE '{as_of.isoformat()}'"
    con.execute(_EVALUATED.replace(":as_of", literal))
    clients = conform(con.execute(_CLIENTS).pl(), CLIENTS_SCHEMA).sort(CLIENT_ORDER)
    violations = conform(con.execute(_VIOLATIONS).pl(), VIOLATIONS_SCHEMA).sort(VIOLATION_ORDER)
    counts = con.execute(_COUNTS.replace(":as_of", literal)).pl().row(0, named=True)
    evaluated = clients.height
    delinquent = int(clients["inadimplente"].sum())
    summary = pl.DataFrame(
        [
            {
                "as_of": as_of,
                "window_3m_from": counts["window_3m_from"],
                "window_6m_from": counts["window_6m_from"],
                "clients_evaluated": evaluated,
                "clients_criterion_1": int(clients["criterion_1"].sum()),
                "clients_criterion_2": int(clients["criterion_2"].sum()),
                "clients_delinquent": delinquent,
                "pct_delinquent": percentage(delinquent, evaluated),
                "obligations_in_window": counts["obligations_in_window"],
                "violating_transactions": counts["violating_transactions"],
                "obligations_not_evaluable": counts["obligations_not_evaluable"],
                "payments_counted": counts["payments_counted"],
                "payments_not_counted": counts["payments_total"] - counts["payments_counted"],
                "payments_after_as_of": counts["payments_after_as_of"],
            }
        ]
    )
    return ReferenceDelinquency(as_of, clients, violations, conform(summary, SUMMARY_SCHEMA))
