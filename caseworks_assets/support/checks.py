"""Asset checks of the support case, each evaluated in the step that builds its asset.

Per month (on each ``<table>_state`` partition), declared on ``support_month``
and evaluated as the month is applied, before anything downstream is written:
nothing lost (``reconciliation``: read = applied + quarantined, blocking),
``unique_<id>`` (blocking; the final tables are copies of a month's state, so
they inherit it) and the ``valid_actions`` and ``known_ids`` warnings. On the
published tables: the Pandera schemas (blocking, so a broken final never
reaches the report), the report's totals reconciling with ``interactions_final``
(blocking, so answers and exports never show numbers that disagree with the
data), and the share of ``Unknown`` dimension values (a warning).

Why in-step rather than separate ``@asset_check`` steps: each would load
millions of rows back from the warehouse that the asset's step already holds,
and pay a step of orchestration; a blocking check declared on the asset still
fails its step, so downstream assets do not run.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from caseworks_assets.quality import validate_frame
from caseworks_assets.support.keys import REPORT_KEY, final_key
from caseworks_assets.support.layout import TABLES
from caseworks_assets.support.report import reconciliation, unknown_counts
from caseworks_assets.support.schemas import FINAL_SCHEMAS, REPORT_SCHEMA

#: Above this share of interactions with an Unknown contact center or department the report warns.
MAX_UNKNOWN_SHARE = 0.25

FINAL_SCHEMA_CHECKS = {
    table: dg.AssetCheckSpec(
        f"{table}_final_schema",
        asset=final_key(table),
        blocking=True,
        description=f"Pandera schema {FINAL_SCHEMAS[table].name!r}: types, nulls and value rules, on the rows "
        "published to the warehouse (the month's snapshot, validated as it is loaded).",
    )
    for table in TABLES
}

REPORT_SCHEMA_CHECK = dg.AssetCheckSpec(
    "support_report_schema",
    asset=REPORT_KEY,
    blocking=True,
    description=f"Pandera schema {REPORT_SCHEMA.name!r}: types, nulls and value rules.",
)
REPORT_RECONCILES_CHECK = dg.AssetCheckSpec(
    "report_reconciles",
    asset=REPORT_KEY,
    blocking=True,
    description="Report totals (interactions, calls, call minutes) equal the same totals over interactions_final.",
)
UNKNOWN_VALUES_CHECK = dg.AssetCheckSpec(
    "unknown_dimension_values",
    asset=REPORT_KEY,
    description=f"Counts interactions whose contact center or department is Unknown (missing or deleted "
    f"dimension); warns above {MAX_UNKNOWN_SHARE:.0%}.",
)
REPORT_CHECKS = [REPORT_SCHEMA_CHECK, REPORT_RECONCILES_CHECK, UNKNOWN_VALUES_CHECK]


def _for(spec: dg.AssetCheckSpec, result: dg.AssetCheckResult) -> dg.AssetCheckResult:
    """``result`` addressed to ``spec``'s asset and check (a step with several assets must say which)."""
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=result.passed,
        severity=result.severity,
        metadata=result.metadata,
        description=result.description,
    )


def final_schema(table: str, frame: pl.DataFrame | pl.LazyFrame) -> dg.AssetCheckResult:
    """``<table>_final_schema``: the published rows against the table's Pandera schema."""
    return _for(FINAL_SCHEMA_CHECKS[table], validate_frame(frame, FINAL_SCHEMAS[table]))


def report_schema(support_report: pl.DataFrame) -> dg.AssetCheckResult:
    """``support_report_schema``: the report against its Pandera schema."""
    return _for(REPORT_SCHEMA_CHECK, validate_frame(support_report, REPORT_SCHEMA))


def report_reconciles(
    support_report: pl.DataFrame,
    interactions: pl.DataFrame | pl.LazyFrame,
    figures: dict[str, float] | None = None,
) -> dg.AssetCheckResult:
    """``report_reconciles``: no interaction lost or counted twice by the report's joins.

    ``figures``: :func:`~caseworks_assets.support.report.reconciliation` when the caller has it already.
    """
    figures = figures or reconciliation(support_report, interactions)
    mismatches = [
        name
        for name in ("interactions", "calls", "call_duration")
        if abs(figures[f"report_{name}"] - figures[f"final_{name}"]) > 1e-6
    ]
    return dg.AssetCheckResult(
        asset_key=REPORT_KEY,
        check_name=REPORT_RECONCILES_CHECK.name,
        passed=not mismatches,
        metadata=figures,
        description="report and interactions_final agree" if not mismatches else f"mismatch in {', '.join(mismatches)}",
    )


def unknown_dimension_values(support_report: pl.DataFrame) -> dg.AssetCheckResult:
    """``unknown_dimension_values``: warns when too many interactions have no known center or department."""
    counts = unknown_counts(support_report)
    share = counts["unknown_interactions"] / counts["total_interactions"] if counts["total_interactions"] else 0.0
    return dg.AssetCheckResult(
        asset_key=REPORT_KEY,
        check_name=UNKNOWN_VALUES_CHECK.name,
        passed=share <= MAX_UNKNOWN_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={**counts, "unknown_share": round(share, 4)},
        description=f"{counts['unknown_interactions']} of {counts['total_interactions']} interactions "
        f"({share:.1%}) have an Unknown contact center or department",
    )


__all__ = [
    "FINAL_SCHEMA_CHECKS",
    "MAX_UNKNOWN_SHARE",
    "REPORT_CHECKS",
    "final_schema",
    "report_reconciles",
    "report_schema",
    "unique_key_result",
    "unknown_dimension_values",
]


def unique_key_result(
    key: str, duplicates: pl.DataFrame, rows: int, asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckResult:
    """``unique_<key>``: each id once in the state (deltas are upserts by id), evaluated as the state is built.

    ``duplicates`` is :func:`duplicated_ids` of the state, ``rows`` its number of rows.
    """
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=f"unique_{key}",
        passed=duplicates.is_empty(),
        metadata={
            "rows": rows,
            "duplicate_ids": duplicates.height,
            "sample": ", ".join(duplicates[key].head(10).cast(pl.String).to_list()),
        },
        description=f"{duplicates.height} duplicated {key} value(s)",
    )
