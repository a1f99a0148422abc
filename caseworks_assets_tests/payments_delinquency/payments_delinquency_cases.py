"""The hand-made edge-case data set of the delinquency tests and its expected results.

Evaluated at D = 2024-05-31 (D - 3 months = 2024-02-29, D - 6 months =
2023-11-30); the expected numbers in ``EXPECTED_CLIENTS``/``EXPECTED_SUMMARY``
are computed by hand, outside both implementations, so every rule is pinned.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

D = date(2024, 5, 31)

#: The Spark settings of every test: 1 core, no UI, few shuffle partitions (the machine is shared).
SPARK_CONFIG = {
    "spark.master": "local[1]",
    "spark.app.name": "caseworks-delinquency-tests",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
}


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# transaction_id, customer_id, amount, due_date, status
_TRANSACTIONS = [
    ("T01", "C01", 100.00, "2024-04-01", "completed"),  # paid 30 days late: criterion 2 only
    ("T02", "C02", 100.00, "2024-04-01", "completed"),  # paid 31 days late: criterion 1 and 2
    ("T03", "C03", 100.00, "2024-04-01", "pending"),  # paid 15 days late: nothing
    ("T04", "C04", 100.00, "2024-04-01", "pending"),  # paid 16 days late: criterion 2
    ("T05", "C05", 200.00, "2024-02-29", "pending"),  # due on D - 3 months: outside the 3-month window
    ("T06", "C06", 200.00, "2024-03-01", "pending"),  # first day inside the 3-month window
    ("T07", "C07", 50.00, "2023-11-30", "pending"),  # due on D - 6 months: not in the window at all
    ("T08", "C08", 50.00, "2023-12-01", "pending"),  # first day inside the 6-month window
    ("T09", "C09", 80.00, "2024-05-31", "pending"),  # due on D: in the window, 0 days late
    ("T10", "C10", 80.00, "2024-06-01", "pending"),  # due after D: not an obligation in the window
    ("T11", "C11", 300.00, "2024-03-10", "completed"),  # three partials, the third crosses the amount
    ("T12", "C12", 300.00, "2024-03-10", "completed"),  # 299.99 paid: settled within the 0.01 tolerance
    ("T13", "C13", 300.00, "2024-03-10", "completed"),  # 299.98 paid, then 0.02 settles it 41 days late
    ("T14", "C14", 100.00, "2024-04-10", "completed"),  # overpaid 2 days late
    ("T15", "C15", 100.00, "2024-04-10", "pending"),  # only failed/processing payments: open
    ("T16", "C16", 100.00, "2024-05-01", "pending"),  # paid after D: open at D, 30 days
    ("T17", "C17", 100.00, "2024-04-20", "pending"),  # two payments on one day
    ("T18", "C18", 100.00, "2024-04-01", "cancelled"),  # no obligation
    ("T19", "C18", 100.00, "2024-04-01", "refunded"),  # no obligation
    ("T20", "C20", 200.00, "2024-01-15", "pending"),  # open since January: 137 days
    ("T21", "C20", 100.00, "2024-04-15", "completed"),  # paid 5 days late
    ("T22", "C20", 100.00, "2024-05-20", "pending"),  # open, 11 days
    ("T23", "C21", 100.00, None, "pending"),  # not evaluable: no due date
    ("T24", "C21", None, "2024-04-01", "completed"),  # not evaluable: no amount
    ("T25", "C21", -5.00, "2024-04-01", "completed"),  # not evaluable: amount <= 0
    ("T26", None, 100.00, "2024-04-01", "pending"),  # not evaluable: no customer
    ("T27", "C21", 100.00, "2024-04-01", None),  # no status: no obligation
    ("T30", "C30", 100.00, "2024-01-30", "pending"),  # month-end edge for D = 2024-04-30
    ("T31", "C31", 100.00, "2024-01-31", "pending"),  # month-end edge for D = 2024-04-30
]

# payment_id, transaction_id, amount_paid, payment_date, status
_PAYMENTS = [
    ("P01", "T01", 100.00, "2024-05-01", "completed"),
    ("P02", "T02", 100.00, "2024-05-02", "completed"),
    ("P03", "T03", 100.00, "2024-04-16", "completed"),
    ("P04", "T04", 100.00, "2024-04-17", "completed"),
    ("P09a", "T09", 80.00, None, "completed"),  # invalid date: does not count
    ("P09b", "T09", None, "2024-05-01", "completed"),  # no amount: does not count
    ("P11a", "T11", 100.00, "2024-03-12", "completed"),
    ("P11b", "T11", 100.00, "2024-03-20", "completed"),
    ("P11c", "T11", 100.00, "2024-04-15", "completed"),
    ("P12a", "T12", 150.00, "2024-03-15", "completed"),
    ("P12b", "T12", 149.99, "2024-03-20", "completed"),
    ("P12c", "T12", 0.01, "2024-05-01", "completed"),
    ("P13a", "T13", 150.00, "2024-03-15", "completed"),
    ("P13b", "T13", 149.98, "2024-03-20", "completed"),
    ("P13c", "T13", 0.02, "2024-04-20", "completed"),
    ("P14", "T14", 150.00, "2024-04-12", "completed"),
    ("P15a", "T15", 100.00, "2024-04-11", "failed"),
    ("P15b", "T15", 100.00, "2024-04-12", "processing"),
    ("P16", "T16", 100.00, "2024-06-05", "completed"),  # after D; also the latest date in the data
    ("P17b", "T17", 60.00, "2024-05-10", "completed"),
    ("P17a", "T17", 40.00, "2024-05-10", "completed"),
    ("P21", "T21", 100.00, "2024-04-20", "completed"),
]

# customer_id: obligations, open, outstanding, worst days late, violations, criterion 1, criterion 2
EXPECTED_CLIENTS = {
    "C01": (1, 0, 0.0, 30, 1, False, True),
    "C02": (1, 0, 0.0, 31, 1, True, True),
    "C03": (1, 0, 0.0, 15, 0, False, False),
    "C04": (1, 0, 0.0, 16, 1, False, True),
    "C05": (1, 1, 200.0, 92, 1, False, True),
    "C06": (1, 1, 200.0, 91, 1, True, True),
    "C08": (1, 1, 50.0, 182, 1, False, True),
    "C09": (1, 1, 80.0, 0, 0, False, False),
    "C11": (1, 0, 0.0, 36, 1, True, True),
    "C12": (1, 0, 0.0, 10, 0, False, False),
    "C13": (1, 0, 0.0, 41, 1, True, True),
    "C14": (1, 0, 0.0, 2, 0, False, False),
    "C15": (1, 1, 100.0, 51, 1, True, True),
    "C16": (1, 1, 100.0, 30, 1, False, True),
    "C17": (1, 0, 0.0, 20, 1, False, True),
    "C20": (3, 2, 300.0, 137, 1, False, True),
    "C30": (1, 1, 100.0, 122, 1, False, True),
    "C31": (1, 1, 100.0, 121, 1, False, True),
}

EXPECTED_SUMMARY = {
    "as_of": D,
    "window_3m_from": date(2024, 2, 29),
    "window_6m_from": date(2023, 11, 30),
    "clients_evaluated": 18,
    "clients_criterion_1": 5,
    "clients_criterion_2": 14,
    "clients_delinquent": 14,
    "pct_delinquent": 77.78,
    "obligations_in_window": 20,
    "violating_transactions": 14,
    "obligations_not_evaluable": 4,
    "payments_counted": 17,
    "payments_not_counted": 5,
    "payments_after_as_of": 1,
}


def expected_clients_frame() -> pl.DataFrame:
    """``EXPECTED_CLIENTS`` as a frame shaped like the ``delinquent_clients`` output."""
    rows = [
        {
            "customer_id": customer,
            "obligations": values[0],
            "open_obligations": values[1],
            "outstanding_amount": values[2],
            "worst_days_late": values[3],
            "violations": values[4],
            "criterion_1": values[5],
            "criterion_2": values[6],
            "inadimplente": values[5] or values[6],
            "as_of": D,
        }
        for customer, values in sorted(EXPECTED_CLIENTS.items())
    ]
    return pl.DataFrame(rows)


def edge_transactions() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "transaction_id": tid,
                "customer_id": customer,
                "amount": amount,
                "currency": "BRL",
                "transaction_date": _d(due) - timedelta(days=30) if due else date(2024, 1, 1),
                "due_date": _d(due),
                "payment_terms": "net_30",
                "status": status,
            }
            for tid, customer, amount, due, status in _TRANSACTIONS
        ],
        schema={
            "transaction_id": pl.String,
            "customer_id": pl.String,
            "amount": pl.Float64,
            "currency": pl.String,
            "transaction_date": pl.Date,
            "due_date": pl.Date,
            "payment_terms": pl.String,
            "status": pl.String,
        },
    )


def edge_payments() -> pl.DataFrame:
    owners = {tid: customer for tid, customer, *_ in _TRANSACTIONS}
    return pl.DataFrame(
        [
            {
                "payment_id": pid,
                "transaction_id": tid,
                "customer_id": owners[tid],
                "amount_paid": amount,
                "currency": "BRL",
                "payment_date": _d(day),
                "payment_method": "pix",
                "payment_type": "full",
                "status": status,
            }
            for pid, tid, amount, day, status in _PAYMENTS
        ],
        schema={
            "payment_id": pl.String,
            "transaction_id": pl.String,
            "customer_id": pl.String,
            "amount_paid": pl.Float64,
            "currency": pl.String,
            "payment_date": pl.Date,
            "payment_method": pl.String,
            "payment_type": pl.String,
            "status": pl.String,
        },
    )
