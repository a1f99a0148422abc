"""The ouchhungry case's definitions: every asset, check, job, schedule and sensor, and its ``CASE``."""

import dagster as dg

from caseworks_assets.ouchhungry import cli, columns
from caseworks_assets.ouchhungry.clean import (
    clean_customers,
    clean_products,
    clean_transactions,
    reconciliation_checks,
)
from caseworks_assets.ouchhungry.delivery import daily_delivery, monthly_delivery
from caseworks_assets.ouchhungry.extract import raw_customers, raw_products, raw_transactions
from caseworks_assets.ouchhungry.jobs import (
    daily_job,
    daily_schedule,
    delivery_deadline,
    monthly_job,
    monthly_schedule,
)
from caseworks_assets.ouchhungry.manifest import delivery_manifest
from caseworks_assets.ouchhungry.partitions import CASE as NAME
from caseworks_assets.ouchhungry.partitions import daily_partitions, monthly_partitions
from caseworks_assets.ouchhungry.product import daily_sales, monthly_city_sales, monthly_insights
from caseworks_assets.quality import pandera_check
from caseworks_assets.registry import Case

defs = dg.Definitions(
    assets=[
        raw_products,
        raw_customers,
        raw_transactions,
        clean_products,
        clean_customers,
        clean_transactions,
        daily_sales,
        monthly_city_sales,
        monthly_insights,
        daily_delivery,
        monthly_delivery,
        delivery_manifest,
    ],
    asset_checks=[
        *reconciliation_checks,
        pandera_check(
            dg.AssetKey([NAME, "transactions"]), columns.TRANSACTIONS_SCHEMA, partitions_def=daily_partitions
        ),
        pandera_check(dg.AssetKey([NAME, "daily_sales"]), columns.DAILY_SALES_SCHEMA, partitions_def=daily_partitions),
        pandera_check(
            dg.AssetKey([NAME, "monthly_city_sales"]),
            columns.MONTHLY_CITY_SALES_SCHEMA,
            partitions_def=monthly_partitions,
        ),
    ],
    jobs=[daily_job, monthly_job],
    schedules=[daily_schedule, monthly_schedule],
    sensors=[delivery_deadline],
)

CASE = Case(
    name=NAME,
    description="Partner data product: daily and monthly deliveries by SFTP, API and e-mail",
    defs=defs,
    write_sample=cli.write_sample,
    run=cli.run,
    validate_inputs=cli.validate_inputs,
    summarize=cli.summarize,
)
