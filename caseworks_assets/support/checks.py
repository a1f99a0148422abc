"""Asset checks of the support case.

Per month (on each ``<table>_state`` partition): nothing lost (read = applied +
quarantined, blocking), plus the checks declared next to the asset and
evaluated on the new state before it is stored: ``unique_<id>`` (blocking; the
final tables are copies of a month's state, so they inherit it) and the
``valid_actions`` and ``known_ids`` warnings. On the published tables: the
Pandera schemas (blocking, so a broken final never reaches the report), the
report's totals reconciling with ``interactions_final`` (blocking, so answers
and exports never show numbers that disagree with the data), and the share of
``Unknown`` dimension values (a warning).
"""

import dagster as dg
import polars as pl

from caseworks_assets.quality import pandera_check, reconciliation_check
from caseworks_assets.resources import WAREHOUSE_POOL
from caseworks_assets.support.assets import REPORT_KEY, STATE_ASSETS, final_key
from caseworks_assets.support.changes import unique_key_result
from caseworks_assets.support.layout import TABLES
from caseworks_assets.support.report import reconciliation, unknown_counts
from caseworks_assets.support.schemas import FINAL_SCHEMAS, REPORT_SCHEMA

#: Above this share of interactions with an Unknown contact center or department the report warns.
MAX_UNKNOWN_SHARE = 0.25


@dg.asset_check(
    asset=REPORT_KEY,
    blocking=True,
    pool=WAREHOUSE_POOL,
    additional_ins={
        "interactions": dg.AssetIn(
            key=final_key("interactions"), metadata={"columns": ["channel", "call_duration_minutes"]}
        )
    },
    description="Report totals (interactions, calls, call minutes) equal the same totals over interactions_final.",
)
def report_reconciles(support_report: pl.DataFrame, interactions: pl.DataFrame) -> dg.AssetCheckResult:
    figures = reconciliation(support_report, interactions)
    mismatches = [
        name
        for name in ("interactions", "calls", "call_duration")
        if abs(figures[f"report_{name}"] - figures[f"final_{name}"]) > 1e-6
    ]
    return dg.AssetCheckResult(
        passed=not mismatches,
        metadata=figures,
        description="report and interactions_final agree" if not mismatches else f"mismatch in {', '.join(mismatches)}",
    )


@dg.asset_check(
    asset=REPORT_KEY,
    pool=WAREHOUSE_POOL,
    description=f"Counts interactions whose contact center or department is Unknown (missing or deleted "
    f"dimension); warns above {MAX_UNKNOWN_SHARE:.0%}.",
)
def unknown_dimension_values(support_report: pl.DataFrame) -> dg.AssetCheckResult:
    counts = unknown_counts(support_report)
    share = counts["unknown_interactions"] / counts["total_interactions"] if counts["total_interactions"] else 0.0
    return dg.AssetCheckResult(
        passed=share <= MAX_UNKNOWN_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={**counts, "unknown_share": round(share, 4)},
        description=f"{counts['unknown_interactions']} of {counts['total_interactions']} interactions "
        f"({share:.1%}) have an Unknown contact center or department",
    )


CHECKS = [
    *(reconciliation_check(asset, name="reconciliation") for asset in STATE_ASSETS),
    *(pandera_check(final_key(table), FINAL_SCHEMAS[table], name=f"{table}_final_schema") for table in TABLES),
    pandera_check(REPORT_KEY, REPORT_SCHEMA, name="support_report_schema"),
    report_reconciles,
    unknown_dimension_values,
]

__all__ = ["CHECKS", "MAX_UNKNOWN_SHARE", "unique_key_result"]
