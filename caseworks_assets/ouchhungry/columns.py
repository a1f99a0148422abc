"""Every published column, declared once: type, nulls, checks, meaning, classification and severity.

The specs feed ``dagster/column_schema``, the classification metadata and the
Pandera schemas checked (blocking) on every partition before delivery (see
:mod:`caseworks_assets.governance.classification`). Delivered tables hold no
restricted or confidential column: the customer appears only as a keyed
pseudonym, and cities with fewer than k customers are merged.
"""

import pandera.polars as pa

from caseworks_assets.governance.classification import Classification, ColumnSpec, pandera_schema
from caseworks_assets.ouchhungry.simulate import PARTNER_PRODUCTS
from caseworks_assets.quality.repairs import NumberFormat, Severity

PRODUCT_CODE = r"[A-Z]{3}-[0-9]{4}"
CUSTOMER_ID = r"C[0-9]{6}"
PRODUCT_NAMES = sorted(PARTNER_PRODUCTS.values())
POSITIVE, NON_NEGATIVE, SHARE = pa.Check.gt(0), pa.Check.ge(0), pa.Check.in_range(0, 1)

ERROR, WARNING = Severity.ERROR, Severity.WARNING
#: the marketplace writes Brazilian numbers: R$ 1.234,56 (a lone dot, as in 4.49, is still a decimal point)
BR = NumberFormat.DECIMAL_COMMA

PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = (
    Classification.PUBLIC,
    Classification.INTERNAL,
    Classification.CONFIDENTIAL,
    Classification.RESTRICTED,
)


def _raw(names: list[str], classes: dict[str, Classification]) -> list[ColumnSpec]:
    return [
        ColumnSpec(name, "String", f"{name} exactly as extracted (text).", classes.get(name, INTERNAL))
        for name in names
    ]


RAW_PRODUCTS = _raw(["product_code", "product_name", "brand", "segment", "list_price", "launched_on"], {})
RAW_CUSTOMERS = _raw(
    ["customer_id", "full_name", "cpf", "email", "phone", "cep", "city", "state", "birth_date", "updated_at"],
    {
        "full_name": RESTRICTED,
        "cpf": RESTRICTED,
        "email": RESTRICTED,
        "phone": RESTRICTED,
        "birth_date": RESTRICTED,
        "cep": CONFIDENTIAL,
        "customer_id": CONFIDENTIAL,
    },
)
RAW_TRANSACTIONS = _raw(
    ["transaction_id", "sold_at", "customer_id", "product_code", "quantity", "unit_price"],
    {"customer_id": CONFIDENTIAL},
)

PRODUCTS = [
    ColumnSpec("product_code", "String", "Catalog code AAA-9999 (repaired from lower case / missing dash).", PUBLIC),
    ColumnSpec("product_name", "String", "Product name as sold.", PUBLIC, severity=WARNING),
    ColumnSpec("brand", "String", "Brand; OuchHungry is the partner.", PUBLIC),
    ColumnSpec("segment", "String", "Market segment (Refrigerantes, Salgadinhos, ...).", PUBLIC),
    ColumnSpec(
        "list_price",
        "Float64",
        "List price in BRL (R$ 1.234,56 read with the Brazilian convention).",
        PUBLIC,
        number_format=BR,
    ),
    ColumnSpec("launched_on", "Date", "Launch date (null with a warning when unreadable).", PUBLIC, severity=WARNING),
]
CUSTOMERS = [
    ColumnSpec("customer_id", "String", "Marketplace customer id.", CONFIDENTIAL, identifier=True),
    ColumnSpec("full_name", "String", "Customer name.", RESTRICTED, severity=WARNING),
    ColumnSpec(
        "cpf",
        "String",
        "CPF with valid check digits (leading zeros a spreadsheet dropped restored); null with a warning when its "
        "check digits are wrong: no output reads it, so the customer and their sales are kept.",
        RESTRICTED,
        severity=WARNING,
    ),
    ColumnSpec(
        "email", "String", "Lower-cased e-mail, null with a warning when invalid.", RESTRICTED, severity=WARNING
    ),
    ColumnSpec(
        "phone", "String", "Phone in E.164 (+55...), null with a warning when unusable.", RESTRICTED, severity=WARNING
    ),
    ColumnSpec(
        "cep", "String", "CEP as NNNNN-NNN, null with a warning when unreadable.", CONFIDENTIAL, severity=WARNING
    ),
    ColumnSpec("city", "String", "City ('Não informada' when missing).", INTERNAL, severity=WARNING),
    ColumnSpec("state", "String", "State (UF).", INTERNAL, severity=WARNING),
    ColumnSpec("birth_date", "Date", "Birth date, null with a warning when unreadable.", RESTRICTED, severity=WARNING),
    ColumnSpec("updated_at", "Date", "Last change in the source; the latest record per id wins.", INTERNAL),
]
TRANSACTIONS = [
    ColumnSpec("transaction_id", "String", "Sale id, unique.", INTERNAL, nullable=False, unique=True),
    ColumnSpec("sold_at", "Datetime", "Sale time (São Paulo wall clock).", INTERNAL, nullable=False),
    ColumnSpec(
        "customer_id",
        "String",
        "Buyer (customer table id).",
        CONFIDENTIAL,
        identifier=True,
        nullable=False,
        checks=(pa.Check.str_matches(f"^{CUSTOMER_ID}$"),),
    ),
    ColumnSpec(
        "product_code",
        "String",
        "Product sold (catalog code).",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.str_matches(f"^{PRODUCT_CODE}$"),),
    ),
    ColumnSpec(
        "quantity",
        "Int64",
        "Units sold, positive whole number (2,0 read as 2).",
        INTERNAL,
        number_format=BR,
        nullable=False,
        checks=(POSITIVE,),
    ),
    ColumnSpec(
        "unit_price",
        "Float64",
        "Unit price paid in BRL (R$ 4,49 / 4,49 / 4.49).",
        INTERNAL,
        number_format=BR,
        nullable=False,
        checks=(POSITIVE,),
    ),
]
DAILY_SALES = [
    ColumnSpec("sale_date", "Date", "Day of the sale (São Paulo).", PUBLIC, nullable=False),
    ColumnSpec("transaction_id", "String", "Sale id (no personal data).", INTERNAL, nullable=False, unique=True),
    ColumnSpec("city", "String", "Buyer's city.", INTERNAL, nullable=False),
    ColumnSpec(
        "state",
        "String",
        "Buyer's state (UF).",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.str_matches(r"^[A-Z]{2}$"),),
    ),
    ColumnSpec("product", "String", "Hungry or Ouch.", PUBLIC, nullable=False, checks=(pa.Check.isin(PRODUCT_NAMES),)),
    ColumnSpec(
        "product_code",
        "String",
        "Catalog code of the product.",
        PUBLIC,
        nullable=False,
        checks=(pa.Check.isin(list(PARTNER_PRODUCTS)),),
    ),
    ColumnSpec("unit_price", "Float64", "Unit price paid in BRL.", INTERNAL, nullable=False, checks=(POSITIVE,)),
    ColumnSpec("units", "Int64", "Units sold.", INTERNAL, nullable=False, checks=(POSITIVE,)),
    ColumnSpec("revenue", "Float64", "unit_price x units, BRL.", INTERNAL, nullable=False, checks=(POSITIVE,)),
    ColumnSpec(
        "customer_pseudonym",
        "String",
        "Keyed HMAC pseudonym of the buyer; not reversible without the key.",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.str_matches(r"^p_[0-9a-f]{32}$"),),
    ),
]
MONTHLY_CITY_SALES = [
    ColumnSpec(
        "month",
        "String",
        "Month YYYY-MM.",
        PUBLIC,
        nullable=False,
        checks=(pa.Check.str_matches(r"^[0-9]{4}-[0-9]{2}$"),),
    ),
    ColumnSpec("product", "String", "Hungry or Ouch.", PUBLIC, nullable=False, checks=(pa.Check.isin(PRODUCT_NAMES),)),
    ColumnSpec("segment", "String", "The product's segment.", PUBLIC, nullable=False),
    ColumnSpec(
        "city", "String", "City, or the bucket of cities with fewer than k customers.", INTERNAL, nullable=False
    ),
    ColumnSpec("state", "String", "State (UF); '--' for the merged bucket.", INTERNAL, nullable=False),
    ColumnSpec(
        "cities_merged",
        "Int64",
        "Number of cities in the row (1 for a single city).",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.ge(1),),
    ),
    ColumnSpec("units", "Int64", "Units of the product sold.", INTERNAL, nullable=False, checks=(NON_NEGATIVE,)),
    ColumnSpec("revenue", "Float64", "Revenue of the product, BRL.", INTERNAL, nullable=False, checks=(NON_NEGATIVE,)),
    ColumnSpec("avg_price", "Float64", "revenue / units (null without sales).", INTERNAL, checks=(POSITIVE,)),
    ColumnSpec(
        "customers_reached",
        "Int64",
        "Distinct buyers of the product.",
        INTERNAL,
        nullable=False,
        checks=(NON_NEGATIVE,),
    ),
    ColumnSpec(
        "segment_units", "Int64", "Units of every brand in the segment.", INTERNAL, nullable=False, checks=(POSITIVE,)
    ),
    ColumnSpec(
        "segment_revenue",
        "Float64",
        "Revenue of every brand in the segment, BRL.",
        INTERNAL,
        nullable=False,
        checks=(POSITIVE,),
    ),
    ColumnSpec(
        "share_of_segment_units", "Float64", "units / segment_units.", INTERNAL, nullable=False, checks=(SHARE,)
    ),
    ColumnSpec(
        "share_of_segment_revenue", "Float64", "revenue / segment_revenue.", INTERNAL, nullable=False, checks=(SHARE,)
    ),
]
INSIGHTS = [
    ColumnSpec("month", "String", "Month YYYY-MM.", PUBLIC),
    ColumnSpec("product", "String", "Hungry or Ouch.", PUBLIC),
    ColumnSpec("units", "Int64", "Units sold in the month.", INTERNAL),
    ColumnSpec("revenue", "Float64", "Revenue in the month, BRL.", INTERNAL),
    ColumnSpec("units_mom_pct", "Float64", "Units change vs the previous month, % (null without one).", INTERNAL),
    ColumnSpec("revenue_mom_pct", "Float64", "Revenue change vs the previous month, % (null without one).", INTERNAL),
    ColumnSpec("share_of_segment_revenue", "Float64", "National share of the segment's revenue.", INTERNAL),
    ColumnSpec("avg_price", "Float64", "Average price paid, BRL.", INTERNAL),
    ColumnSpec("segment_avg_price", "Float64", "Average price paid in the segment (all brands), BRL.", INTERNAL),
    ColumnSpec("price_vs_segment_pct", "Float64", "avg_price vs segment_avg_price, %.", INTERNAL),
    ColumnSpec("top_cities", "String", "Top 3 cities by revenue (merged bucket excluded).", INTERNAL),
]
DELIVERIES = [
    ColumnSpec("kind", "String", "daily or monthly.", INTERNAL),
    ColumnSpec("partition", "String", "Partition delivered (YYYY-MM-DD or YYYY-MM-01).", INTERNAL),
    ColumnSpec("channel", "String", "sftp, api or email.", INTERNAL),
    ColumnSpec("destination", "String", "Where it went (URL, remote path, recipients or outbox path).", INTERNAL),
    ColumnSpec("file_name", "String", "Delivered file (or the notice).", INTERNAL),
    ColumnSpec("sha256", "String", "Content hash of the file.", INTERNAL),
    ColumnSpec("size_bytes", "Int64", "File size in bytes.", INTERNAL),
    ColumnSpec("status", "String", "delivered, outbox (channel not configured), skipped or failed.", INTERNAL),
    ColumnSpec("delivered_at", "String", "UTC time of the delivery (ISO 8601).", INTERNAL),
    ColumnSpec("detail", "String", "Receipt, idempotency key or error.", INTERNAL),
]

#: The published tables' Pandera schemas, derived from the specs above (blocking checks before delivery).
TRANSACTIONS_SCHEMA = pandera_schema("ouchhungry_transactions", TRANSACTIONS, strict=True)
DAILY_SALES_SCHEMA = pandera_schema("ouchhungry_daily_sales", DAILY_SALES, strict=True)
MONTHLY_CITY_SALES_SCHEMA = pandera_schema("ouchhungry_monthly_city_sales", MONTHLY_CITY_SALES, strict=True)
