"""Cleaning: the declared rules applied to each source; rejected rows go to quarantine.

Products and customers are small dimensions kept in the warehouse
(``ouchhungry.products``, ``ouchhungry.customers``); a day of sales is a lake
partition. Each clean asset has a twin ``*_quarantine`` asset holding the
rejected rows with their rule and raw record, and a reconciliation check
(rows read = loaded + quarantined).
"""

import dagster as dg
import polars as pl

from caseworks_assets.governance.classification import governance_metadata
from caseworks_assets.ouchhungry import cleaning, columns
from caseworks_assets.ouchhungry.partitions import CASE, daily_partitions
from caseworks_assets.quality import (
    QUARANTINE_TABLE_SCHEMA,
    Dedupe,
    QualityResult,
    Rule,
    apply_rules,
    quality_metadata,
    reconciliation_check,
)
from caseworks_assets.quality.repairs import SQL_NULLS
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL

QUARANTINE_METADATA = {"dagster/column_schema": QUARANTINE_TABLE_SCHEMA, "classification": "restricted"}


def _outputs(name: str, result: QualityResult) -> tuple[dg.Output, dg.Output]:
    """The clean rows, and the quarantine table: rejected rows (``severity = error``) and warnings."""
    issues = result.issues
    quarantine_meta = {
        "rows": issues.height,
        "rows_rejected": result.quarantine.height,
        "warnings": result.warnings.height,
    }
    return (
        dg.Output(result.clean, output_name=name, metadata=quality_metadata(result)),
        dg.Output(issues, output_name=f"{name}_quarantine", metadata=quarantine_meta),
    )


def _apply(frame: pl.DataFrame, rules: list[Rule], dedupe: Dedupe) -> QualityResult:
    """``rules`` on an extracted table (row 1 is the header): every text column trimmed first, and blank or
    written as the marketplace database's ``NULL`` read as null (lossless repairs, counted)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return apply_rules(frame, rules, dedupe, row_number_offset=2, text_columns=text, null_placeholders=SQL_NULLS)


def _outs(name: str, specs: list, io_manager_key: str) -> dict[str, dg.AssetOut]:
    kinds = {"polars", WAREHOUSE_KIND if io_manager_key == "io_manager" else "parquet"}
    return {
        name: dg.AssetOut(
            key_prefix=[CASE],
            io_manager_key=io_manager_key,
            metadata=governance_metadata(specs),
            kinds=kinds,
            description=f"Clean, typed {name}: every rule of the quality toolkit applied.",
        ),
        f"{name}_quarantine": dg.AssetOut(
            key_prefix=[CASE],
            io_manager_key=io_manager_key,
            metadata=QUARANTINE_METADATA,
            kinds=kinds,
            description=f"Rows of {name} rejected by a rule, with the rule, reason and raw record.",
        ),
    }


@dg.multi_asset(
    name=f"{CASE}_clean_products",
    outs=_outs("products", columns.PRODUCTS, "io_manager"),
    ins={"raw_products": dg.AssetIn(key=[CASE, "raw_products"])},
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def clean_products(raw_products: pl.DataFrame):
    """Product codes repaired (``ref 0001`` -> ``REF-0001``), prices parsed, duplicates dropped."""
    return _outputs(
        "products",
        _apply(raw_products, cleaning.PRODUCT_RULES, cleaning.PRODUCT_DEDUPE),
    )


@dg.multi_asset(
    name=f"{CASE}_clean_customers",
    outs=_outs("customers", columns.CUSTOMERS, "io_manager"),
    ins={"raw_customers": dg.AssetIn(key=[CASE, "raw_customers"])},
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def clean_customers(raw_customers: pl.DataFrame):
    """CPF check digits verified, e-mail/phone/CEP normalized (or nulled), latest record per id kept."""
    return _outputs(
        "customers",
        _apply(raw_customers, cleaning.CUSTOMER_RULES, cleaning.CUSTOMER_DEDUPE),
    )


@dg.multi_asset(
    name=f"{CASE}_clean_transactions",
    outs=_outs("transactions", columns.TRANSACTIONS, "lake_io_manager"),
    ins={
        "raw_transactions": dg.AssetIn(key=[CASE, "raw_transactions"]),
        "products": dg.AssetIn(key=[CASE, "products"]),
        "customers": dg.AssetIn(key=[CASE, "customers"]),
    },
    group_name=CASE,
    partitions_def=daily_partitions,
)
def clean_transactions(raw_transactions: pl.DataFrame, products: pl.DataFrame, customers: pl.DataFrame):
    """Sale times and prices parsed, codes repaired, references checked against the clean dimensions."""
    rules = cleaning.transaction_rules(products["product_code"].to_list(), customers["customer_id"].to_list())
    result = _apply(raw_transactions, rules, cleaning.TRANSACTION_DEDUPE)
    result.clean = result.clean.with_columns(pl.col("quantity").cast(pl.Int64))
    return _outputs("transactions", result)


reconciliation_checks = [
    reconciliation_check(dg.AssetKey([CASE, "products"]), name="products_reconciliation"),
    reconciliation_check(dg.AssetKey([CASE, "customers"]), name="customers_reconciliation"),
    reconciliation_check(
        dg.AssetKey([CASE, "transactions"]), name="transactions_reconciliation", partitions_def=daily_partitions
    ),
]
