"""The README's table of severities says what the column contracts declare, column for column."""

from __future__ import annotations

from pathlib import Path

from caseworks_assets.ouchhungry import columns as ouchhungry
from caseworks_assets.payments.columns import PAYMENT_COLUMNS, TRANSACTION_COLUMNS
from caseworks_assets.support.schemas import TABLE_COLUMNS

README = Path(__file__).resolve().parents[2] / "README.md"
CONTRACTS = {
    **{("support", table): columns for table, columns in TABLE_COLUMNS.items()},
    ("payments", "transactions"): TRANSACTION_COLUMNS,
    ("payments", "payments"): PAYMENT_COLUMNS,
    ("ouchhungry", "products"): ouchhungry.PRODUCTS,
    ("ouchhungry", "customers"): ouchhungry.CUSTOMERS,
    ("ouchhungry", "transactions"): ouchhungry.TRANSACTIONS,
}


def _names(columns, severity: str) -> str:
    return ", ".join(
        f"`{c.name}`" for c in columns if c.severity.value == severity and c.name not in ("source_file", "source_line")
    )


def test_every_column_of_every_case_has_its_declared_severity_in_the_readme():
    text = README.read_text()
    for (case, table), columns in CONTRACTS.items():
        row = f"| {case} | {table} | {_names(columns, 'error')} | {_names(columns, 'warning')} |"
        assert row.replace("|  |", "| |").rstrip() in text.replace("|  |", "| |"), row


def test_the_payments_pandera_schemas_are_derived_from_the_column_contracts():
    from datetime import date

    import polars as pl

    from caseworks_assets.governance.classification import POLARS_TYPES
    from caseworks_assets.payments.checks import TRANSACTIONS_SCHEMA
    from caseworks_assets.quality import validate_frame

    assert list(TRANSACTIONS_SCHEMA.columns) == [c.name for c in TRANSACTION_COLUMNS]
    assert TRANSACTIONS_SCHEMA.columns["installments"].metadata == {"classification": "internal", "severity": "warning"}
    good = {
        "transaction_id": "T1", "customer_id": "C1", "amount": 10.0, "currency": None, "transaction_date": None,
        "due_date": date(2024, 1, 1), "payment_terms": None, "status": "pending", "product_category": None,
        "sales_rep": None, "channel": None, "discount_applied": None, "installments": None,
        "source_file": "t.json", "source_line": 1,
    }  # fmt: skip
    frame = pl.DataFrame(
        [good, {**good, "transaction_id": "T2", "amount": -1.0}, {**good, "transaction_id": None}],
        schema={c.name: POLARS_TYPES[c.dtype] for c in TRANSACTION_COLUMNS},
    )
    result = validate_frame(frame, TRANSACTIONS_SCHEMA)
    assert not result.passed and result.metadata["failing_rows"].value == 2
    # the id is the table's key: a repeated one fails the stored table's check, even between batches
    repeated = pl.concat([frame.head(1), frame.head(1)]).lazy()
    result = validate_frame(repeated, TRANSACTIONS_SCHEMA, batch_rows=1)
    assert not result.passed and "transaction_id / field_uniqueness" in result.metadata["failures_by_check"].value
