"""The crm assets: the export as read, the clean tables with their quarantine, and the serving store.

::

    raw_customers, raw_interactions, raw_products   (every value as text, with source file and row)
        -> customers, interactions, products, quarantine   (one step: the rules of ``rules.py``)
        -> serving_store   (Alembic migrations, then the load; the DuckDB snapshot is published atomically)
"""

import dagster as dg
import polars as pl

from caseworks_assets.crm import reader, rules
from caseworks_assets.crm.columns import (
    CASE,
    CUSTOMER_COLUMNS,
    INTERACTION_COLUMNS,
    PRODUCT_COLUMNS,
    QUARANTINE_COLUMNS,
    raw_columns,
)
from caseworks_assets.crm.serving import SERVING_KIND, CrmServing
from caseworks_assets.crm.store import ServingData
from caseworks_assets.governance import governance_metadata, governance_tags
from caseworks_assets.quality import quality_metadata
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, CaseInputs, LakeResource, LakeTable

TABLES = ("customers", "interactions", "products")


def key(name: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, name])


def _raw_asset(table: str) -> dg.AssetsDefinition:
    columns = raw_columns(table)

    @dg.asset(
        key=key(f"raw_{table}"),
        group_name=CASE,
        io_manager_key="lake_io_manager",
        kinds={"polars", "parquet"},
        metadata=governance_metadata(columns),
        tags=governance_tags(columns),
        description=f"Every {table} file of the export (CSV or .xlsx, title rows skipped, either header variant), "
        "every value as the text it was, with its source file and row, as Parquet in the lake.",
    )
    def _raw(context: dg.AssetExecutionContext, inputs: CaseInputs) -> dg.MaterializeResult:
        frame = reader.read_table(inputs.dir_for(CASE), table)
        files = frame.group_by("source_file", maintain_order=True).len()
        context.log.info(f"read {frame.height} {table} record(s) from {files.height} file(s)")
        return dg.MaterializeResult(
            value=frame,
            metadata={"dagster/row_count": frame.height, "files": dg.MetadataValue.json(dict(files.iter_rows()))},
        )

    return _raw


RAW_ASSETS = [_raw_asset(table) for table in TABLES]

_CLEAN = {
    "customers": (CUSTOMER_COLUMNS, "Customers: integer ids (``5.0`` repaired), optional occupation and type."),
    "interactions": (
        INTERACTION_COLUMNS,
        "Interactions: day-first dates, canonical channels, existing customers, no duplicates; the topic is the "
        "product of discussion of the interaction's month (an assumption: the source links them only by month).",
    ),
    "products": (PRODUCT_COLUMNS, "Products of discussion, one per month."),
    "quarantine": (QUARANTINE_COLUMNS, "Every rejected record of the three tables, with its rule and raw record."),
}


@dg.multi_asset(
    name=f"{CASE}_clean",
    outs={
        name: dg.AssetOut(
            key_prefix=[CASE],
            kinds={"polars", WAREHOUSE_KIND},
            metadata=governance_metadata(columns),
            tags=governance_tags(columns),
            description=description,
        )
        for name, (columns, description) in _CLEAN.items()
    },
    ins={f"raw_{table}": dg.AssetIn(key=key(f"raw_{table}")) for table in TABLES},
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def crm_clean(
    raw_customers: pl.DataFrame, raw_interactions: pl.DataFrame, raw_products: pl.DataFrame, lake: LakeResource
):
    """Clean the three tables in one step: interactions need the clean customer ids and products.

    Each table is written once, as Parquet in the lake (``<lake>/crm/<table>.parquet``); the warehouse
    table is a view over the file (BigQuery loads it), and the checks and ``serving_store`` read the file
    back, instead of every row being copied into the warehouse and out of it again.
    """
    customers = rules.clean_customers(raw_customers)
    products = rules.clean_products(raw_products)
    interactions = rules.clean_interactions(raw_interactions, customers.clean["customer_id"], products.clean)
    results = {"customers": customers, "interactions": interactions, "products": products}
    for name, result in results.items():
        yield dg.Output(_lake_table(lake, name, result.clean), output_name=name, metadata=quality_metadata(result))
    quarantine = rules.quarantine(results)
    by_rule = quarantine.group_by("table", "rule").len().sort("table", "rule")
    yield dg.Output(
        _lake_table(lake, "quarantine", quarantine),
        output_name="quarantine",
        metadata={
            "dagster/row_count": quarantine.height,
            "by_rule": dg.MetadataValue.json({f"{t}/{r}": n for t, r, n in by_rule.iter_rows()}),
        },
    )


def _lake_table(lake: LakeResource, name: str, frame: pl.DataFrame) -> LakeTable:
    return lake.write_table(frame, CASE, f"{name}.parquet", compression=lake.working_compression)


@dg.asset(
    key=key("serving_store"),
    ins={"customers": dg.AssetIn(key=key("customers")), "interactions": dg.AssetIn(key=key("interactions"))},
    group_name=CASE,
    kinds={"polars", SERVING_KIND},
    metadata=governance_metadata(INTERACTION_COLUMNS),
    tags=governance_tags(INTERACTION_COLUMNS),
    pool=WAREHOUSE_POOL,
    description="The API's store: Alembic migrations to the newest serving schema, then the load of customers, "
    "interactions and known channels. Locally a new DuckDB snapshot under <out dir>/crm/serving made current by "
    "an atomic pointer swap; PostgreSQL (one transaction) when CASEWORKS_CRM_DATABASE_URL is set. Tables "
    "interactions (columns below), customers and channels (the known channels).",
)
def serving_store(
    context: dg.AssetExecutionContext, customers: pl.DataFrame, interactions: pl.DataFrame, crm_serving: CrmServing
) -> dg.MaterializeResult:
    data = ServingData.from_clean(customers, interactions)
    published = crm_serving.publish(data)
    context.log.info(f"published serving data version {published['version']} to {published['store']}")
    return dg.MaterializeResult(
        metadata={
            **published,
            "customers": data.customers.height,
            "interactions": data.interactions.height,
            "channels": ", ".join(data.channels),
        }
    )


ALL_ASSETS = [*RAW_ASSETS, crm_clean, serving_store]
