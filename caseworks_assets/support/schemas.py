"""Column contracts of the support case, declared once as :class:`~caseworks_assets.governance.ColumnSpec`.

The polars dtypes of the state snapshots (``STATE_SCHEMAS``), the Pandera
schemas of the checks and the ``dagster/column_schema`` metadata are derived
from these declarations by :mod:`caseworks_assets.governance.classification`.
Timestamps are Eastern wall time with offset in the lake and the exports; the
warehouse stores the same instants as ``TIMESTAMPTZ`` (read back in UTC), so
the warehouse-facing schemas accept any time zone.
"""

from __future__ import annotations

import dagster as dg
import pandera.polars as pa
import polars as pl

from caseworks_assets.governance import Classification, ColumnSpec, column_schema, pandera_schema, polars_schema
from caseworks_assets.quality.repairs import Severity
from caseworks_assets.support.layout import ACTIONS, EASTERN

CONFIDENTIAL = Classification.CONFIDENTIAL
ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _eastern(name: str, description: str, **contract) -> ColumnSpec:
    """An instant, stored in US Eastern time."""
    return ColumnSpec(name, "Datetime", description, time_zone=EASTERN, **contract)


def _key(name: str, what: str) -> ColumnSpec:
    return ColumnSpec(
        name, "String", f"Identifier of the {what}; the key deltas are applied by.", nullable=False, unique=True
    )


TABLE_COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "agents": (
        _key("agent_id", "agent"),
        ColumnSpec("full_name", "String", "Agent's full name.", CONFIDENTIAL, severity=WARNING),
        ColumnSpec("contact_center_id", "String", "Contact center the agent works in.", severity=WARNING),
        ColumnSpec("hire_date", "Date", "Date the agent was hired; null when unreadable (warning).", severity=WARNING),
        ColumnSpec("category_id", "String", "Service category the agent handles.", severity=WARNING),
    ),
    "contact_centers": (
        _key("contact_center_id", "contact center"),
        ColumnSpec("contact_center_name", "String", "Display name; the latest delta's name wins."),
        ColumnSpec("location", "String", "City of the contact center.", severity=WARNING),
    ),
    "service_categories": (
        _key("category_id", "service category"),
        ColumnSpec("category_name", "String", "Name of the service category.", severity=WARNING),
        ColumnSpec("department", "String", "Department that owns the category; missing means Unknown in the report."),
    ),
    "interactions": (
        _key("interaction_id", "interaction"),
        _eastern(
            "timestamp",
            "When the source system wrote the record (US Eastern, from UTC); null when unreadable (warning).",
            severity=WARNING,
        ),
        ColumnSpec("channel", "String", "Contact channel, lower case (phone, chat, email, ...)."),
        ColumnSpec("category_id", "String", "Service category of the interaction."),
        ColumnSpec("agent_id", "String", "Agent who handled the interaction.", severity=WARNING),
        ColumnSpec("contact_center_id", "String", "Contact center that handled the interaction."),
        _eastern(
            "interaction_start",
            "Start of the interaction (US Eastern); decides its report month.",
            nullable=False,
        ),
        _eastern(
            "agent_resolution_timestamp",
            "When the agent resolved the request (US Eastern); null when unreadable (warning, the call's "
            "agent-work measure then skips it).",
            severity=WARNING,
        ),
        _eastern(
            "interaction_end",
            "When the interaction ended (US Eastern); null when unreadable (warning).",
            severity=WARNING,
        ),
        ColumnSpec(
            "call_duration_minutes",
            "Float64",
            "Call length in minutes (phone calls); the report sums it, so an unreadable value quarantines the row.",
            checks=(pa.Check.ge(0),),
        ),
        ColumnSpec(
            "satisfaction_rating",
            "Int64",
            "Customer rating 1-5 (5.0 read as 5); optional: an unreadable or out-of-range rating is nulled "
            "with a warning, the interaction is kept.",
            checks=(pa.Check.in_range(1, 5),),
            severity=WARNING,
        ),
    ),
}

REPORT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "month",
        "String",
        "Month of interaction_start in US Eastern time (YYYY-MM).",
        nullable=False,
        checks=(pa.Check.str_matches(r"^\d{4}-\d{2}$"),),
    ),
    ColumnSpec(
        "contact_center_name",
        "String",
        "Contact center (final state); Unknown when missing or deleted.",
        nullable=False,
    ),
    ColumnSpec(
        "department",
        "String",
        "Department of the interaction's category (final state); Unknown when missing.",
        nullable=False,
    ),
    ColumnSpec("total_interactions", "Int64", "Interactions in the group.", nullable=False, checks=(pa.Check.ge(1),)),
    ColumnSpec("total_calls", "Int64", "Interactions on the phone channel.", nullable=False, checks=(pa.Check.ge(0),)),
    ColumnSpec(
        "total_call_duration",
        "Float64",
        "Sum of call_duration_minutes over phone calls (missing counts 0).",
        nullable=False,
        checks=(pa.Check.ge(0),),
    ),
)

QUARANTINE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("month", "String", "Month (partition) whose input held the row.", nullable=False),
    ColumnSpec("table", "String", "Source table of the row.", nullable=False),
    ColumnSpec("source_file", "String", "File the row was read from.", nullable=False),
    ColumnSpec("line", "Int64", "Line of the row in its file (the header is line 1).", nullable=False),
    ColumnSpec("rule", "String", "Rule that rejected the row.", nullable=False),
    ColumnSpec("column", "String", "Column the rule reads."),
    ColumnSpec("reason", "String", "Why the row was rejected."),
    ColumnSpec("raw_record", "String", "The row exactly as read, as JSON.", CONFIDENTIAL),
    ColumnSpec(
        "severity",
        "String",
        "error: the row was not applied; warning: the row was applied with this column's value nulled.",
        nullable=False,
        checks=(pa.Check.isin(["error", "warning"]),),
    ),
)


STATE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {table: polars_schema(cols) for table, cols in TABLE_COLUMNS.items()}


def _schema(name: str, columns: tuple[ColumnSpec, ...], *, any_time_zone: bool = False) -> pa.DataFrameSchema:
    return pandera_schema(f"support.{name}", columns, strict=True, any_time_zone=any_time_zone)


FINAL_SCHEMAS = {table: _schema(f"{table}_final", cols, any_time_zone=True) for table, cols in TABLE_COLUMNS.items()}
REPORT_SCHEMA = _schema("support_report", REPORT_COLUMNS)
QUARANTINE_SCHEMA = _schema("quarantine", QUARANTINE_COLUMNS)


def column_metadata(columns: tuple[ColumnSpec, ...]) -> dict[str, dg.TableSchema]:
    """``dagster/column_schema`` metadata for an asset holding ``columns``."""
    return {"dagster/column_schema": column_schema(columns)}


def raw_columns(table: str) -> tuple[ColumnSpec, ...]:
    """The raw asset's columns: every source column as text, plus action, file and line."""
    base = tuple(
        ColumnSpec(col.name, "String", f"{col.description} (as read)", col.classification)
        for col in TABLE_COLUMNS[table]
    )
    return (
        *base,
        ColumnSpec("action", "String", f"Change type as written in the file; valid: {', '.join(ACTIONS)} (any case)."),
        ColumnSpec("_source_file", "String", "File the row was read from.", nullable=False),
        ColumnSpec("_source_line", "Int64", "Line of the row in its file.", nullable=False),
    )


def state_columns(table: str) -> tuple[ColumnSpec, ...]:
    return TABLE_COLUMNS[table]
