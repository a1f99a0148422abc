"""The crm asset checks: Pandera schemas of the clean tables and "nothing lost" per table.

The reconciliation (rows read = loaded + quarantined) reads the counters the
clean step wrote; ``quarantine_matches_counters`` recounts the stored quarantine
per table, so a counter that lies cannot hide a lost record.
"""

import dagster as dg
import polars as pl

from caseworks_assets.crm import anomalies
from caseworks_assets.crm.assets import key
from caseworks_assets.crm.columns import CASE, CUSTOMER_COLUMNS, INTERACTION_COLUMNS, PRODUCT_COLUMNS
from caseworks_assets.governance import pandera_schema
from caseworks_assets.quality import pandera_check, reconciliation_check

#: The clean tables' Pandera schemas, derived from their column contracts.
SCHEMAS = {
    table: pandera_schema(f"{CASE}.{table}", columns, strict=True)
    for table, columns in (
        ("customers", CUSTOMER_COLUMNS),
        ("interactions", INTERACTION_COLUMNS),
        ("products", PRODUCT_COLUMNS),
    )
}


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
