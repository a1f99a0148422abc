"""Bare-polars baseline for the ouchhungry case: the same cleaning and products, no Dagster, no delivery.

It reads the same sample exports, applies the same declared rules (the shared
toolkit is plain polars), builds every day's sales and the month's city table
and insights, and writes them as CSV: the pipeline's work minus orchestration,
checks, warehouse, manifest and channels. The runner divides the pipeline's
wall time by this one's.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from caseworks_assets.governance.keys import DEMO_ENCRYPTION_KEYS, DEMO_PSEUDONYM_KEY, PrivacyResource
from caseworks_assets.ouchhungry import cleaning
from caseworks_assets.ouchhungry.cli import transaction_days
from caseworks_assets.ouchhungry.product import build_daily_sales, build_insights, build_monthly_city_sales
from caseworks_assets.quality import apply_rules


def baseline(data_dir: Path, out_dir: Path) -> dict:
    """Clean, build and write the daily and monthly products with plain function calls."""
    start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    privacy = PrivacyResource(pseudonym_key=DEMO_PSEUDONYM_KEY, encryption_keys=DEMO_ENCRYPTION_KEYS)
    read = lambda path: pl.read_csv(path, infer_schema=False)  # noqa: E731
    products = apply_rules(read(data_dir / "products.csv"), cleaning.PRODUCT_RULES, cleaning.PRODUCT_DEDUPE).clean
    customers = apply_rules(read(data_dir / "customers.csv"), cleaning.CUSTOMER_RULES, cleaning.CUSTOMER_DEDUPE).clean
    rules = cleaning.transaction_rules(products["product_code"].to_list(), customers["customer_id"].to_list())
    days = transaction_days(data_dir)
    clean = []
    for day in days:
        result = apply_rules(read(data_dir / "transactions" / f"{day}.csv"), rules, cleaning.TRANSACTION_DEDUPE)
        transactions = result.clean.with_columns(pl.col("quantity").cast(pl.Int64))
        build_daily_sales(transactions, products, customers, privacy).write_csv(out_dir / f"daily_{day}.csv")
        clean.append(transactions)
    month = days[0][:7] if days else "none"
    table = build_monthly_city_sales(month, pl.concat(clean), products, customers, k=5)
    table.write_csv(out_dir / f"monthly_{month}.csv")
    build_insights(table, None).write_csv(out_dir / f"insights_{month}.csv")
    return {"wall_s": round(time.perf_counter() - start, 3), "days": len(days), "monthly_rows": table.height}
