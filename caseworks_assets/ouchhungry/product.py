"""The data product: daily sales of Hungry and Ouch, monthly city aggregates and insights.

Only the partner's two products leave, and no direct personal data: the buyer
is a keyed HMAC pseudonym (daily) or a count (monthly), and in the monthly
table a city with fewer than ``k`` buyers of a product is merged into one
bucket row so no small group can be singled out.
"""

from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl

from caseworks_assets.governance.classification import governance_metadata
from caseworks_assets.governance.keys import PrivacyResource
from caseworks_assets.ouchhungry import columns, guardrails
from caseworks_assets.ouchhungry.guardrails import GuardrailConfig
from caseworks_assets.ouchhungry.partitions import CASE, daily_partitions, monthly_partitions
from caseworks_assets.ouchhungry.simulate import PARTNER_PRODUCTS
from caseworks_assets.quality import markdown_table

MERGED_CITY = "Outras cidades"
CODE_OF_PRODUCT = {product: code for code, product in PARTNER_PRODUCTS.items()}
MERGED_STATE = "--"
_DAILY_COLUMNS = [c.name for c in columns.DAILY_SALES]
_MONTHLY_COLUMNS = [c.name for c in columns.MONTHLY_CITY_SALES]


def as_partitions(value: Any, key: str) -> dict[str, pl.DataFrame]:
    """An input of one or many partitions as ``{partition key: frame}`` (the lake returns either)."""
    if value is None:
        return {}
    return dict(value) if isinstance(value, dict) else {key: value}


def _blocking_specs(asset: str, checks: dict[str, str]) -> list[dg.AssetCheckSpec]:
    """Blocking check specs of ``ouchhungry/<asset>`` from ``{check name: description}``."""
    key = dg.AssetKey([CASE, asset])
    return [dg.AssetCheckSpec(name, asset=key, description=text, blocking=True) for name, text in checks.items()]


def _window_input(asset: str, start_offset: int = 0) -> dg.AssetIn:
    """The lake partitions of ``ouchhungry/<asset>`` inside this partition's window (missing days allowed)."""
    return dg.AssetIn(
        key=[CASE, asset],
        partition_mapping=dg.TimeWindowPartitionMapping(start_offset=start_offset),
        metadata={"allow_missing_partitions": True},
    )


def partner_products(products: pl.DataFrame) -> pl.DataFrame:
    return products.filter(pl.col("product_code").is_in(list(PARTNER_PRODUCTS))).with_columns(
        pl.col("product_code").replace_strict(PARTNER_PRODUCTS, default=None).alias("product")
    )


def sales_with_context(transactions: pl.DataFrame, products: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Sales joined to their product (segment, list price) and buyer's city."""
    return transactions.join(
        products.select("product_code", "segment", "list_price"), on="product_code", how="inner"
    ).join(customers.select("customer_id", "city", "state"), on="customer_id", how="left")


def build_daily_sales(
    transactions: pl.DataFrame, products: pl.DataFrame, customers: pl.DataFrame, privacy: PrivacyResource
) -> pl.DataFrame:
    """One row per sale of Hungry or Ouch, buyer pseudonymized (with ``list_price`` for the price guardrail)."""
    ours = partner_products(products)
    sales = sales_with_context(transactions, products, customers).join(
        ours.select("product_code", "product"), on="product_code", how="inner"
    )
    return sales.select(
        pl.col("sold_at").dt.date().alias("sale_date"),
        "transaction_id",
        "city",
        "state",
        "product",
        "product_code",
        "unit_price",
        pl.col("quantity").cast(pl.Int64).alias("units"),
        (pl.col("unit_price") * pl.col("quantity")).round(2).alias("revenue"),
        privacy.pseudonymize(sales["customer_id"]).alias("customer_pseudonym"),
        "list_price",
    ).sort("transaction_id")


def _previous_row_counts(context: dg.AssetExecutionContext, day: date, days: int) -> list[int]:
    """Rows of the trailing ``days`` partitions, from their latest materializations."""
    keys = [(day - timedelta(days=offset)).isoformat() for offset in range(1, days + 1)]
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=keys), limit=days * 20
    ).records
    counts: dict[str, int] = {}
    for record in records:  # newest first
        materialization = record.event_log_entry.asset_materialization
        if materialization is None or materialization.partition in counts:
            continue
        value = materialization.metadata.get("rows")
        if value is not None:
            counts[materialization.partition] = int(value.value)
    return list(counts.values())


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    partitions_def=daily_partitions,
    ins={
        "transactions": dg.AssetIn(key=[CASE, "transactions"]),
        "transactions_quarantine": dg.AssetIn(key=[CASE, "transactions_quarantine"]),
        "products": dg.AssetIn(key=[CASE, "products"]),
        "customers": dg.AssetIn(key=[CASE, "customers"]),
    },
    check_specs=_blocking_specs("daily_sales", guardrails.GUARDRAIL_SPECS),
    kinds={"polars", "parquet"},
    metadata=governance_metadata(columns.DAILY_SALES),
)
def daily_sales(
    context: dg.AssetExecutionContext,
    config: GuardrailConfig,
    transactions: pl.DataFrame,
    transactions_quarantine: pl.DataFrame,
    products: pl.DataFrame,
    customers: pl.DataFrame,
    privacy: PrivacyResource,
):
    """The daily product at analytic level; the guardrails must pass before it is delivered."""
    day = date.fromisoformat(context.partition_key)
    sales = build_daily_sales(transactions, products, customers, privacy)
    delivered = sales.select(_DAILY_COLUMNS)
    yield dg.Output(
        delivered,
        metadata={
            "rows": delivered.height,
            "units": int(delivered["units"].sum() or 0),
            "revenue": float(delivered["revenue"].sum() or 0.0),
            "preview": dg.MetadataValue.md(markdown_table(delivered.drop("customer_pseudonym"), 10)),
        },
    )
    history = _previous_row_counts(context, day, config.volume_history_days)
    yield guardrails.volume_check(delivered.height, history, config)
    yield guardrails.null_rate_check(delivered, ["city", "state", "unit_price", "units", "customer_pseudonym"], config)
    rejected = (  # warnings are kept rows with a nulled optional value, not rejects
        transactions_quarantine.filter(pl.col("severity") != "warning")
        if "severity" in transactions_quarantine.columns
        else transactions_quarantine
    )
    yield guardrails.quarantine_rate_check(transactions.height, rejected.height, config)
    yield guardrails.price_range_check(sales, config)
    yield guardrails.duplicates_check(delivered, "transaction_id")


def merge_small_cities(by_city: pl.DataFrame, k: int) -> pl.DataFrame:
    """Cities where a product reached fewer than ``k`` buyers become one ``Outras cidades`` row."""
    keys = ["month", "product", "segment"]
    sums = ["units", "revenue", "customers_reached", "segment_units", "segment_revenue"]
    small = pl.col("customers_reached") < k
    kept = by_city.filter(~small).with_columns(pl.lit(1, pl.Int64).alias("cities_merged"))
    merged = (
        by_city.filter(small)
        .group_by(keys)
        .agg(pl.len().cast(pl.Int64).alias("cities_merged"), *[pl.col(c).sum() for c in sums])
        .with_columns(pl.lit(MERGED_CITY).alias("city"), pl.lit(MERGED_STATE).alias("state"))
    )
    return pl.concat([kept, merged], how="diagonal_relaxed")


def build_monthly_city_sales(
    month: str, transactions: pl.DataFrame, products: pl.DataFrame, customers: pl.DataFrame, k: int
) -> pl.DataFrame:
    """Per product and city: units, revenue, average price, buyers reached and share of the segment."""
    ours = partner_products(products).select("product", "segment")
    sales = sales_with_context(transactions, products, customers).with_columns(
        (pl.col("unit_price") * pl.col("quantity")).alias("revenue")
    )
    segment = sales.join(ours, on="segment", how="inner")  # every sale in a segment, once per partner product
    is_ours = pl.col("product_code") == pl.col("product").replace_strict(CODE_OF_PRODUCT, default=None)
    by_city = segment.group_by("product", "segment", "city", "state").agg(
        pl.col("quantity").filter(is_ours).sum().cast(pl.Int64).alias("units"),
        pl.col("revenue").filter(is_ours).sum().alias("revenue"),
        pl.col("customer_id").filter(is_ours).n_unique().cast(pl.Int64).alias("customers_reached"),
        pl.col("quantity").sum().cast(pl.Int64).alias("segment_units"),
        pl.col("revenue").sum().alias("segment_revenue"),
    )
    merged = merge_small_cities(by_city.with_columns(pl.lit(month).alias("month")), k)
    return (
        merged.with_columns(
            pl.col("revenue").round(2),
            pl.col("segment_revenue").round(2),
            pl.when(pl.col("units") > 0).then((pl.col("revenue") / pl.col("units")).round(2)).alias("avg_price"),
            (pl.col("units") / pl.col("segment_units")).round(4).alias("share_of_segment_units"),
            (pl.col("revenue") / pl.col("segment_revenue")).round(4).alias("share_of_segment_revenue"),
        )
        .select(_MONTHLY_COLUMNS)
        .sort("product", pl.col("city") == MERGED_CITY, "revenue", "city", descending=[False, False, True, False])
    )


class MonthlyConfig(dg.Config):
    """k of the k-anonymity merge, and whether every day of the month must be present."""

    k: int = 5
    require_complete_month: bool = True


def _days_of(partition_key: str) -> list[str]:
    start = date.fromisoformat(partition_key)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days)]


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    partitions_def=monthly_partitions,
    ins={
        "transactions": _window_input("transactions"),
        "products": dg.AssetIn(key=[CASE, "products"]),
        "customers": dg.AssetIn(key=[CASE, "customers"]),
    },
    check_specs=_blocking_specs(
        "monthly_city_sales",
        {
            "month_complete": "Every day of the month was extracted and cleaned.",
            "k_anonymity": "No single-city row with fewer than k buyers.",
            "shares_in_range": "Shares of segment between 0 and 1.",
        },
    ),
    kinds={"polars", "parquet"},
    metadata=governance_metadata(columns.MONTHLY_CITY_SALES),
)
def monthly_city_sales(
    context: dg.AssetExecutionContext,
    config: MonthlyConfig,
    transactions: Any,
    products: pl.DataFrame,
    customers: pl.DataFrame,
):
    """The monthly product by city, with the product's share of its segment."""
    days = as_partitions(transactions, context.partition_key)
    expected = _days_of(context.partition_key)
    missing = [day for day in expected if day not in days]
    month = context.partition_key[:7]
    frame = (
        pl.concat(list(days.values()))
        if days
        else pl.DataFrame(schema={c.name: pl.String for c in columns.TRANSACTIONS})
    )
    table = build_monthly_city_sales(month, frame, products, customers, config.k)
    yield dg.Output(
        table,
        metadata={
            "rows": table.height,
            "days_included": len(days),
            "days_missing": len(missing),
            "preview": dg.MetadataValue.md(markdown_table(table, 12)),
        },
    )
    complete = not missing
    yield dg.AssetCheckResult(
        check_name="month_complete",
        passed=complete or not config.require_complete_month,
        metadata={"days_included": len(days), "days_missing": dg.MetadataValue.json(missing[:31])},
        description=(
            f"{len(days)} of {len(expected)} days present"
            + ("" if complete else f"; missing {missing[0]}..{missing[-1]}")
            + ("" if complete or config.require_complete_month else " (partial month allowed by config)")
        ),
    )
    small = table.filter((pl.col("city") != MERGED_CITY) & (pl.col("customers_reached") < config.k)).height
    yield dg.AssetCheckResult(
        check_name="k_anonymity",
        passed=small == 0,
        metadata={"rows_below_k": small, "k": config.k},
        description=f"{small} single-city row(s) with fewer than {config.k} buyers",
    )
    bad = table.filter(
        ~pl.col("share_of_segment_units").is_between(0, 1) | ~pl.col("share_of_segment_revenue").is_between(0, 1)
    ).height
    yield dg.AssetCheckResult(
        check_name="shares_in_range",
        passed=bad == 0,
        metadata={"rows_out_of_range": bad},
        description=f"{bad} row(s) with a share of segment outside [0, 1]",
    )


def _change_pct(new: str, old: str) -> pl.Expr:
    """Change from ``old`` to ``new`` in percent; null without a previous value."""
    return pl.when(pl.col(old) > 0).then(((pl.col(new) / pl.col(old) - 1) * 100).round(2))


def build_insights(current: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Month-over-month change, national share, price versus the segment and top cities, per product."""

    def totals(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by("month", "product").agg(
            pl.col("units").sum(),
            pl.col("revenue").sum(),
            pl.col("segment_units").sum(),
            pl.col("segment_revenue").sum(),
        )

    now = totals(current)
    top = (
        current.filter(pl.col("city") != MERGED_CITY)
        .sort("revenue", "city", descending=[True, False])
        .group_by("product", maintain_order=True)
        .agg(pl.col("city").head(3).str.join(", ").alias("top_cities"))
    )
    before = (
        totals(previous).select("product", pl.col("units").alias("prev_units"), pl.col("revenue").alias("prev_revenue"))
        if previous is not None and previous.height
        else pl.DataFrame(schema={"product": pl.String, "prev_units": pl.Int64, "prev_revenue": pl.Float64})
    )
    return (
        now.join(before, on="product", how="left")
        .join(top, on="product", how="left")
        .with_columns(
            _change_pct("units", "prev_units").alias("units_mom_pct"),
            _change_pct("revenue", "prev_revenue").alias("revenue_mom_pct"),
            (pl.col("revenue") / pl.col("segment_revenue")).round(4).alias("share_of_segment_revenue"),
            (pl.col("revenue") / pl.col("units")).round(2).alias("avg_price"),
            (pl.col("segment_revenue") / pl.col("segment_units")).round(2).alias("segment_avg_price"),
        )
        .with_columns(
            ((pl.col("avg_price") / pl.col("segment_avg_price") - 1) * 100).round(2).alias("price_vs_segment_pct"),
            pl.col("revenue").round(2),
        )
        .select([c.name for c in columns.INSIGHTS])
        .sort("product")
    )


def insights_markdown(insights: pl.DataFrame) -> str:
    lines = []
    for row in insights.iter_rows(named=True):
        mom = "n/a (first month)" if row["revenue_mom_pct"] is None else f"{row['revenue_mom_pct']:+.1f}%"
        lines.append(
            f"- **{row['product']}** {row['month']}: {row['units']} units, R$ {row['revenue']:,.2f} "
            f"(revenue MoM {mom}); {row['share_of_segment_revenue']:.1%} of its segment; average price "
            f"R$ {row['avg_price']:.2f} vs segment R$ {row['segment_avg_price']:.2f} "
            f"({row['price_vs_segment_pct']:+.1f}%); top cities: {row['top_cities']}"
        )
    return "\n".join(lines)


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    partitions_def=monthly_partitions,
    ins={
        "monthly_city_sales": _window_input("monthly_city_sales", start_offset=-1),
    },
    kinds={"polars", "parquet"},
    metadata=governance_metadata(columns.INSIGHTS),
)
def monthly_insights(context: dg.AssetExecutionContext, monthly_city_sales: Any) -> dg.Output:
    """Beyond the request: month over month, top cities, price versus the segment average."""
    months = as_partitions(monthly_city_sales, context.partition_key)
    if context.partition_key not in months:
        raise dg.Failure(
            f"monthly_city_sales {context.partition_key} is missing", metadata={"alert_stage": "validation"}
        )
    previous = next((frame for key, frame in months.items() if key < context.partition_key), None)
    insights = build_insights(months[context.partition_key], previous)
    return dg.Output(
        insights, metadata={"rows": insights.height, "insights": dg.MetadataValue.md(insights_markdown(insights))}
    )
