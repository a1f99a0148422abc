"""Property: writing a value another lossless way never changes what a case produces.

``5`` <-> ``5.0`` <-> `` 5 ``, empty <-> blank <-> missing, ``Z`` <-> ``+00:00`` <->
the same instant at another offset: each case's typing step must read them
the same, so ``support_report``, the payments tables and ouchhungry's clean
products and sales come out identical. Hypothesis picks, cell by cell, which
form each value is written in (few examples: the suite stays fast).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseworks_assets.ouchhungry import cleaning
from caseworks_assets.payments.clean import text_columns, typed
from caseworks_assets.payments.columns import TRANSACTION_COLUMNS
from caseworks_assets.payments.rules import TRANSACTION_RULES
from caseworks_assets.quality import apply_rules
from caseworks_assets.support.changes import typed_changes
from caseworks_assets.support.layout import INTERACTIONS, SOURCE_FILE, SOURCE_LINE
from caseworks_assets.support.report import build_report
from caseworks_assets.support.sample import (
    CONTACT_CENTERS,
    DELTA_INTERACTIONS,
    INITIAL_INTERACTIONS,
    SERVICE_CATEGORIES,
    _interaction_row,
)
from caseworks_assets.support.schemas import STATE_SCHEMAS

EXAMPLES = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _number_forms(text: str | None) -> list[str | None]:
    """Lossless ways to write a number (or a missing value)."""
    if text is None or not text.strip():
        return [None, "", " "]
    value = text.strip()
    whole = value.removesuffix(".0") if value.endswith(".0") else value
    forms = [value, f" {value} ", f"{value}  "]
    if whole.isdigit():
        forms += [f"{whole}.0", f" {whole}.00 "]
    return forms


def _instant_forms(text: str | None) -> list[str | None]:
    """Lossless ways to write an instant: ``Z``, ``+00:00``, the same instant at ``-05:00``, padded."""
    if text is None:
        return [None, "", " "]
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    utc = moment.strftime("%Y-%m-%dT%H:%M:%S")
    eastern = (moment - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S")
    return [f"{utc}Z", f"{utc}+00:00", f"{eastern}-05:00", f" {utc}Z "]


def _rewritten(frame: pl.DataFrame, forms: dict[str, object], choices: list[int]) -> pl.DataFrame:
    """``frame`` with each cell of the ``forms`` columns written in the form ``choices`` picks."""
    picks = iter(choices)
    columns = {}
    for column, form_of in forms.items():
        values = []
        for value in frame[column].to_list():
            options = form_of(value)  # type: ignore[operator]
            values.append(options[next(picks) % len(options)])
        columns[column] = pl.Series(column, values, dtype=pl.String)
    return frame.with_columns(**columns)


# --------------------------------------------------------------------------- support

SUPPORT_ROWS = pl.DataFrame(
    [_interaction_row(call) for call in INITIAL_INTERACTIONS]
    + [
        _interaction_row(call)
        for month in DELTA_INTERACTIONS.values()
        for _, call in month
        if not isinstance(call, str)
    ],
    schema={c: pl.String for c in INTERACTIONS.columns},
).with_columns(
    pl.lit("interactions.csv").alias(SOURCE_FILE),
    pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(SOURCE_LINE),
    pl.lit("add").alias("action"),
)
SUPPORT_FORMS = {
    "call_duration_minutes": _number_forms,
    "satisfaction_rating": _number_forms,
    **dict.fromkeys(
        ["interaction_start", "agent_resolution_timestamp", "interaction_end", "timestamp"], _instant_forms
    ),
}
CENTERS = pl.DataFrame(CONTACT_CENTERS, schema=STATE_SCHEMAS["contact_centers"], orient="row")
CATEGORIES = pl.DataFrame(SERVICE_CATEGORIES, schema=STATE_SCHEMAS["service_categories"], orient="row")


def _support_outputs(rows: pl.DataFrame):
    changes = typed_changes(INTERACTIONS, rows)
    report = build_report(changes.rows, CENTERS, CATEGORIES)
    nulled = changes.warnings.filter(~pl.col("rule").str.starts_with("repaired_"))  # repairs differ by form, by design
    return report, changes.quarantine.select("line", "rule").rows(), nulled.select("line", "rule").rows()


SUPPORT_BASELINE = _support_outputs(SUPPORT_ROWS)


@EXAMPLES
@given(st.lists(st.integers(0, 4), min_size=SUPPORT_ROWS.height * 6, max_size=SUPPORT_ROWS.height * 6))
def test_support_report_does_not_depend_on_how_values_are_written(choices):
    report, rejected, warned = _support_outputs(_rewritten(SUPPORT_ROWS, SUPPORT_FORMS, choices))
    assert report.equals(SUPPORT_BASELINE[0])
    assert (rejected, warned) == SUPPORT_BASELINE[1:]
    assert report["total_interactions"].sum() == SUPPORT_ROWS.height - len(rejected)  # nothing lost


# --------------------------------------------------------------------------- payments

PAYMENT_TX = pl.DataFrame(
    {
        "source_file": ["transactions.json"] * 4,
        "source_line": [1, 2, 3, 4],
        "transaction_id": ["T1", "T2", "T3", "T4"],
        "customer_id": ["C1", "C2", "C1", "C3"],
        "amount": ["100", "250.5", "12", "-5"],
        "currency": ["BRL", None, "USD", "BRL"],
        "transaction_date": ["2024-01-05", "2024-02-01", None, "2024-03-01"],
        "due_date": ["2024-02-05", "2024-02-10", "2024-03-01", "2024-04-01"],
        "payment_terms": ["net_30", "net_10", None, "net_30"],
        "status": ["pending", "completed", "pending", "pending"],
        "product_category": ["books", None, "toys", "books"],
        "sales_rep": ["R1", "R2", None, "R1"],
        "channel": ["web", "store", "web", None],
        "discount_applied": ["false", "true", None, "true"],
        "installments": ["2", "1", None, "3"],
    }
)


def _amount_forms(text: str | None) -> list[str | None]:
    """A JSON number literal written losslessly: as a number, ``x.0``, or a (padded) string."""
    if text is None:
        return [None]
    forms = [text, f'"{text}"', f'" {text} "']
    if "." not in text:
        forms.append(f"{text}.0")
    return forms


def _text_forms(text: str | None) -> list[str | None]:
    return [None, "", " "] if text is None else [text, f" {text}", f"{text} "]


PAYMENT_FORMS = {
    "amount": _amount_forms,
    "installments": _number_forms,
    **dict.fromkeys(["currency", "payment_terms", "product_category", "sales_rep", "channel", "status"], _text_forms),
}


def _payment_outputs(frame: pl.DataFrame):
    result = apply_rules(frame, TRANSACTION_RULES, text_columns=text_columns(frame))
    return typed(result.clean, TRANSACTION_COLUMNS), result.quarantine.select("row_number", "rule").rows()


PAYMENT_BASELINE = _payment_outputs(PAYMENT_TX)


@EXAMPLES
@given(st.lists(st.integers(0, 4), min_size=4 * len(PAYMENT_FORMS), max_size=4 * len(PAYMENT_FORMS)))
def test_payments_tables_do_not_depend_on_how_values_are_written(choices):
    clean, rejected = _payment_outputs(_rewritten(PAYMENT_TX, PAYMENT_FORMS, choices))
    assert clean.equals(PAYMENT_BASELINE[0])
    assert rejected == PAYMENT_BASELINE[1] == [(4, "amount_positive")]


# --------------------------------------------------------------------------- ouchhungry

PRODUCTS = pl.DataFrame(
    {
        "product_code": ["HNG-0001", "OCH-0002", "ABC-0003"],
        "product_name": ["Hungry", "Ouch", None],
        "brand": ["OuchHungry", "OuchHungry", "Other"],
        "segment": ["Refrigerantes", "Salgadinhos", "Salgadinhos"],
        "list_price": ["4,49", "1.234,50", "7"],
        "launched_on": ["01/02/2024", None, "15/03/2023"],
    }
)
SALES = pl.DataFrame(
    {
        "transaction_id": ["S1", "S2", "S3"],
        "sold_at": ["05/01/2025 10:00", "05/01/2025 11:30", "06/01/2025 09:15"],
        "customer_id": ["C000001", "C000002", "C000001"],
        "product_code": ["HNG-0001", "OCH-0002", "ABC-0003"],
        "quantity": ["2", "1", "6"],
        "unit_price": ["4,49", "3,99", "7,00"],
    }
)


def _br_money_forms(text: str | None) -> list[str | None]:
    if text is None:
        return [None, "", " "]
    return [text, f" {text} ", f"R$ {text}", f"R${text}"]


def _br_count_forms(text: str | None) -> list[str | None]:
    return [text, f" {text} ", f"{text},0", f"{text}.0"] if text else [None]


def _ouch_outputs(products: pl.DataFrame, sales: pl.DataFrame):
    clean_products = apply_rules(
        products, cleaning.PRODUCT_RULES, cleaning.PRODUCT_DEDUPE, text_columns=products.columns
    )
    rules = cleaning.transaction_rules(clean_products.clean["product_code"].to_list(), ["C000001", "C000002"])
    clean_sales = apply_rules(sales, rules, cleaning.TRANSACTION_DEDUPE, text_columns=sales.columns)
    return clean_products.clean, clean_sales.clean, clean_products.quarantine.height + clean_sales.quarantine.height


OUCH_BASELINE = _ouch_outputs(PRODUCTS, SALES)


@EXAMPLES
@given(st.lists(st.integers(0, 4), min_size=3 * 5, max_size=3 * 5))
def test_ouchhungry_products_do_not_depend_on_how_values_are_written(choices):
    products = _rewritten(
        PRODUCTS, {"list_price": _br_money_forms, "launched_on": _text_forms, "product_name": _text_forms}, choices
    )
    sales = _rewritten(SALES, {"quantity": _br_count_forms, "unit_price": _br_money_forms}, choices[9:] + choices[:9])
    clean_products, clean_sales, rejected = _ouch_outputs(products, sales)
    assert clean_products.equals(OUCH_BASELINE[0])
    assert clean_sales.equals(OUCH_BASELINE[1])
    assert rejected == OUCH_BASELINE[2] == 0
    assert clean_products["list_price"].to_list() == [4.49, 1234.5, 7.0]
