"""Pandera schemas of the published tables, checked (blocking) on every partition before delivery."""

import pandera.polars as pa
import polars as pl

from caseworks_assets.ouchhungry.cleaning import PRODUCT_CODE
from caseworks_assets.ouchhungry.simulate import PARTNER_PRODUCTS

PRODUCTS = sorted(PARTNER_PRODUCTS.values())

TRANSACTIONS = pa.DataFrameSchema(
    {
        "transaction_id": pa.Column(pl.String, nullable=False, unique=True),
        "sold_at": pa.Column(pl.Datetime("us"), nullable=False),
        "customer_id": pa.Column(pl.String, pa.Check.str_matches(r"^C[0-9]{6}$"), nullable=False),
        "product_code": pa.Column(pl.String, pa.Check.str_matches(f"^{PRODUCT_CODE}$"), nullable=False),
        "quantity": pa.Column(pl.Int64, pa.Check.gt(0), nullable=False),
        "unit_price": pa.Column(pl.Float64, pa.Check.gt(0), nullable=False),
    },
    name="ouchhungry_transactions",
    strict=True,
)

DAILY_SALES = pa.DataFrameSchema(
    {
        "sale_date": pa.Column(pl.Date, nullable=False),
        "transaction_id": pa.Column(pl.String, nullable=False, unique=True),
        "city": pa.Column(pl.String, nullable=False),
        "state": pa.Column(pl.String, pa.Check.str_matches(r"^[A-Z]{2}$"), nullable=False),
        "product": pa.Column(pl.String, pa.Check.isin(PRODUCTS), nullable=False),
        "product_code": pa.Column(pl.String, pa.Check.isin(list(PARTNER_PRODUCTS)), nullable=False),
        "unit_price": pa.Column(pl.Float64, pa.Check.gt(0), nullable=False),
        "units": pa.Column(pl.Int64, pa.Check.gt(0), nullable=False),
        "revenue": pa.Column(pl.Float64, pa.Check.gt(0), nullable=False),
        "customer_pseudonym": pa.Column(pl.String, pa.Check.str_matches(r"^p_[0-9a-f]{32}$"), nullable=False),
    },
    name="ouchhungry_daily_sales",
    strict=True,
)

MONTHLY_CITY_SALES = pa.DataFrameSchema(
    {
        "month": pa.Column(pl.String, pa.Check.str_matches(r"^[0-9]{4}-[0-9]{2}$"), nullable=False),
        "product": pa.Column(pl.String, pa.Check.isin(PRODUCTS), nullable=False),
        "segment": pa.Column(pl.String, nullable=False),
        "city": pa.Column(pl.String, nullable=False),
        "state": pa.Column(pl.String, nullable=False),
        "cities_merged": pa.Column(pl.Int64, pa.Check.ge(1), nullable=False),
        "units": pa.Column(pl.Int64, pa.Check.ge(0), nullable=False),
        "revenue": pa.Column(pl.Float64, pa.Check.ge(0), nullable=False),
        "avg_price": pa.Column(pl.Float64, pa.Check.gt(0), nullable=True),
        "customers_reached": pa.Column(pl.Int64, pa.Check.ge(0), nullable=False),
        "segment_units": pa.Column(pl.Int64, pa.Check.gt(0), nullable=False),
        "segment_revenue": pa.Column(pl.Float64, pa.Check.gt(0), nullable=False),
        "share_of_segment_units": pa.Column(pl.Float64, pa.Check.in_range(0, 1), nullable=False),
        "share_of_segment_revenue": pa.Column(pl.Float64, pa.Check.in_range(0, 1), nullable=False),
    },
    name="ouchhungry_monthly_city_sales",
    strict=True,
)
