"""The cleaning rules of the three sources, declared as data for the shared quality toolkit.

Adding a check or a field is adding a :class:`Rule` to a list here; the engine
(:func:`caseworks_assets.quality.apply_rules`) applies them in order, repairs
what can be repaired, nulls optional values that stay invalid and sends every
rejected row to quarantine with the rule that rejected it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from caseworks_assets.governance.classification import ColumnSpec
from caseworks_assets.ouchhungry import columns as contracts
from caseworks_assets.quality import (
    Action,
    Dedupe,
    Rule,
    fill_null,
    is_cpf,
    matches,
    normalize_br_phone,
    normalize_cep,
    normalize_email,
    not_null,
    parse_date,
    parse_datetime,
    restore_cpf,
)
from caseworks_assets.quality.repairs import Severity, read_money

PRODUCT_CODE, CUSTOMER_ID = contracts.PRODUCT_CODE, contracts.CUSTOMER_ID
UNKNOWN_CITY = "Não informada"
BR_DATE_FORMATS = ("%d/%m/%Y",)
BR_DATETIME_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
#: The sales' clock: ``sold_at`` is São Paulo wall time, whatever offset an export writes beside it.
SAO_PAULO = "America/Sao_Paulo"


def normalize_product_code(expr: pl.Expr) -> pl.Expr:
    """``ref 0001`` / ``ref0001`` / ``REF_0001`` -> ``REF-0001``; anything else stays as typed (and fails)."""
    text = expr.cast(pl.String).str.strip_chars().str.to_uppercase()
    return text.str.replace(r"^([A-Z]{3})[\s_-]?([0-9]{4})$", "$1-$2")


def _action(columns: list[ColumnSpec], name: str) -> Action:
    """A defect in ``name`` per its column contract: quarantine the row (error) or null the value with a warning."""
    spec = next(c for c in columns if c.name == name)
    return Action.WARN if spec.severity is Severity.WARNING else Action.QUARANTINE


def _number(columns: list[ColumnSpec], name: str):
    """The reader of a money or count column, in the number convention its contract declares."""
    fmt = next(c for c in columns if c.name == name).number_format
    return lambda expr: read_money(expr, fmt)


def _positive(expr: pl.Expr) -> pl.Expr:
    return expr > 0


def _whole_positive(expr: pl.Expr) -> pl.Expr:
    return (expr > 0) & (expr == expr.round(0))


def _in(values: Sequence[str]):
    allowed = pl.Series(values, dtype=pl.String)
    return lambda expr: expr.is_in(allowed.implode())


#: Shared by the catalog and the sales: a code is repaired and checked the same way wherever it is typed.
PRODUCT_CODE_RULE = Rule(
    "product_code_format",
    "product_code",
    repair=normalize_product_code,
    valid=matches(PRODUCT_CODE),
    required=True,
    reason="product code is not AAA-9999 even after repair",
)

PRODUCT_RULES: list[Rule] = [
    PRODUCT_CODE_RULE,
    not_null("segment", reason="product without segment cannot count in segment share"),
    Rule(
        "list_price_number",
        "list_price",
        repair=_number(contracts.PRODUCTS, "list_price"),
        valid=_positive,
        required=True,
        reason="list price missing, unreadable or not positive",
    ),
    Rule(
        "launched_on_date",
        "launched_on",
        repair=parse_date(BR_DATE_FORMATS),
        action=_action(contracts.PRODUCTS, "launched_on"),
        reason="launch date unreadable, nulled",
    ),
]
PRODUCT_DEDUPE = Dedupe(keys=("product_code",), name="duplicate_product")

CUSTOMER_RULES: list[Rule] = [
    Rule(
        "customer_id_format",
        "customer_id",
        valid=matches(CUSTOMER_ID),
        required=True,
        reason="customer id missing or not C999999",
    ),
    Rule(
        "cpf_check_digits",
        "cpf",
        repair=restore_cpf,
        valid=is_cpf,
        action=_action(contracts.CUSTOMERS, "cpf"),
        reason="CPF with wrong check digits, nulled",
    ),
    Rule(
        "email_valid",
        "email",
        repair=normalize_email,
        action=_action(contracts.CUSTOMERS, "email"),
        reason="e-mail invalid, nulled",
    ),
    Rule(
        "phone_e164",
        "phone",
        repair=normalize_br_phone,
        action=_action(contracts.CUSTOMERS, "phone"),
        reason="phone not a Brazilian number with area code, nulled",
    ),
    Rule(
        "cep_format",
        "cep",
        repair=normalize_cep,
        action=_action(contracts.CUSTOMERS, "cep"),
        reason="CEP unreadable, nulled",
    ),
    fill_null("city", UNKNOWN_CITY, name="city_filled"),
    Rule(
        "birth_date",
        "birth_date",
        repair=parse_date(BR_DATE_FORMATS),
        action=_action(contracts.CUSTOMERS, "birth_date"),
        reason="birth date unreadable, nulled",
    ),
    Rule(
        "updated_at_date",
        "updated_at",
        repair=parse_date(BR_DATE_FORMATS),
        required=True,
        reason="record date missing or unreadable",
    ),
]
CUSTOMER_DEDUPE = Dedupe(keys=("customer_id",), order_by="updated_at", name="duplicate_customer")


def transaction_rules(product_codes: Sequence[str], customer_ids: Sequence[str]) -> list[Rule]:
    """Rules for one day of sales; references are checked against the clean dimensions."""
    return [
        not_null("transaction_id"),
        Rule(
            "sold_at_datetime",
            "sold_at",
            repair=parse_datetime(BR_DATETIME_FORMATS, time_zone=SAO_PAULO, wall_clock=True),
            required=True,
            reason="sale time missing or unreadable",
        ),
        PRODUCT_CODE_RULE,
        Rule(
            "product_code_known",
            "product_code",
            valid=_in(product_codes),
            reason="product code not in the product catalog",
        ),
        Rule(
            "customer_known",
            "customer_id",
            valid=_in(customer_ids),
            required=True,
            reason="customer missing or not in the customer table",
        ),
        Rule(
            "quantity_whole",
            "quantity",
            repair=_number(contracts.TRANSACTIONS, "quantity"),
            valid=_whole_positive,
            required=True,
            reason="quantity missing, unreadable or not a positive whole number",
        ),
        Rule(
            "unit_price_number",
            "unit_price",
            repair=_number(contracts.TRANSACTIONS, "unit_price"),
            valid=_positive,
            required=True,
            reason="unit price missing, unreadable or not positive",
        ),
    ]


TRANSACTION_DEDUPE = Dedupe(keys=("transaction_id",), name="duplicate_transaction")
