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
