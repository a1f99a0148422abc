"""The crm asset checks: Pandera schemas of the clean tables and "nothing lost" per table.

The reconciliation (rows read = loaded + quarantined) reads the counters the
clean step wrote; ``quarantine_matches_counters`` recounts the stored quarantine
per table, so a counter that lies cannot hide a lost record.
"""

import dagster as dg
import pandera.polars as pa
import polars as pl

from caseworks_assets.crm import anomalies
from caseworks_assets.crm.assets import key
from caseworks_assets.crm.columns import CASE
from caseworks_assets.crm.rules import CHANNEL_PATTERN
from caseworks_assets.quality import pandera_check, reconciliation_check

CUSTOMERS_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(pl.Int64, nullable=False, unique=True),
        "occupation": pa.Column(pl.String, nullable=True),
        "customer_type": pa.Column(pl.String, nullable=True),
    },
    name=f"{CASE}.customers",
    strict=True,
)
INTERACTIONS_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(pl.Int64, nullable=False),
        "channel": pa.Column(pl.String, pa.Check.str_matches(CHANNEL_PATTERN), nullable=False),
        "started_at": pa.Column(pl.Datetime("us"), nullable=False),
        "day": pa.Column(pl.Date, nullable=False),
        "month": pa.Column(pl.Date, nullable=False),
        "topic": pa.Column(pl.String, nullable=True),
    },
    name=f"{CASE}.interactions",
    strict=True,
)
PRODUCTS_SCHEMA = pa.DataFrameSchema(
    {"month": pa.Column(pl.Date, nullable=False, unique=True), "product": pa.Column(pl.String, nullable=False)},
    name=f"{CASE}.products",
    strict=True,
)
SCHEMAS = {"customers": CUSTOMERS_SCHEMA, "interactions": INTERACTIONS_SCHEMA, "products": PRODUCTS_SCHEMA}


@dg.asset_check(
    asset=key("quarantine"),
    name="quarantine_matches_counters",
    blocking=True,
    description="The stored quarantine holds, per table, exactly the rows the clean step counted as quarantined.",
)
def quarantine_matches_counters(context: dg.AssetCheckExecutionContext, quarantine: pl.DataFrame):
    stored = dict(quarantine.group_by("table").len().iter_rows())
    counted = {}
    for table in SCHEMAS:
        event = context.instance.get_latest_materialization_event(key(table))
        entry = event.asset_materialization.metadata.get("rows_quarantined") if event else None
        counted[table] = int(entry.value) if entry is not None else None
    wrong = {t: (stored.get(t, 0), n) for t, n in counted.items() if n is None or stored.get(t, 0) != n}
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={"stored": dg.MetadataValue.json(stored), "counted": dg.MetadataValue.json(counted)},
        description="quarantine matches the counters"
        if not wrong
        else f"stored != counted for {', '.join(f'{t} ({s} != {n})' for t, (s, n) in wrong.items())}",
    )


@dg.asset_check(
    asset=key("interactions"),
    name="interaction_volumes",
    blocking=False,
    description="Interactions per channel and day within their trailing distribution (robust median/MAD score); "
    "a warning lists the anomalous channel-days, which the anomaly sensor also alerts.",
)
def interaction_volumes(interactions: pl.DataFrame) -> dg.AssetCheckResult:
    flagged = anomalies.anomalies(anomalies.daily_counts(interactions))
    lines = anomalies.describe(flagged)
    return dg.AssetCheckResult(
        passed=flagged.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "anomalous_days": flagged.height,
            "anomalies": dg.MetadataValue.md("\n".join(f"- {x}" for x in lines) or "none"),
        },
        description=f"{flagged.height} anomalous channel-day(s)" + (f"; worst: {lines[0]}" if lines else ""),
    )


CHECKS = [
    interaction_volumes,
    *(pandera_check(key(table), schema) for table, schema in SCHEMAS.items()),
    *(reconciliation_check(key(table)) for table in SCHEMAS),
    quarantine_matches_counters,
]
