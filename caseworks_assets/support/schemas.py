"""Column contracts of the support case: Pandera schemas, polars dtypes and Dagster column metadata.

Each table is declared once (name, type, description, classification) and the
three views are derived from it: ``STATE_SCHEMAS`` (polars dtypes of the state
snapshots), ``pandera`` schemas for the checks, and ``dagster/column_schema``
metadata for the UI. Timestamps are Eastern wall time with offset in the lake
and the exports; the warehouse stores the same instants as ``TIMESTAMPTZ``
(read back in UTC), so the warehouse-facing schemas accept any time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine

from caseworks_assets.quality import pandera_column_schema
from caseworks_assets.quality.repairs import Severity
from caseworks_assets.support.layout import ACTIONS, EASTERN

EASTERN_TS = pl.Datetime("us", EASTERN)


@dataclass(frozen=True)
class Col:
    name: str
    dtype: pl.DataType
    description: str
    classification: str = "internal"
    nullable: bool = True
    unique: bool = False
    checks: tuple[pa.Check, ...] = ()
    #: what an unreadable value does to its row: ``error`` quarantines it (keys, values the report or
    #: answers count by), ``warning`` nulls the value and keeps the row with a warning (optional attributes)
    severity: Severity = Severity.ERROR


ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _key(name: str, what: str) -> Col:
    return Col(
        name, pl.String, f"Identifier of the {what}; the key deltas are applied by.", nullable=False, unique=True
    )


TABLE_COLUMNS: dict[str, tuple[Col, ...]] = {
    "agents": (
        _key("agent_id", "agent"),
        Col("full_name", pl.String, "Agent's full name.", "confidential", severity=WARNING),
        Col("contact_center_id", pl.String, "Contact center the agent works in.", severity=WARNING),
        Col("hire_date", pl.Date, "Date the agent was hired; null when unreadable (warning).", severity=WARNING),
        Col("category_id", pl.String, "Service category the agent handles.", severity=WARNING),
    ),
    "contact_centers": (
        _key("contact_center_id", "contact center"),
        Col("contact_center_name", pl.String, "Display name; the latest delta's name wins."),
        Col("location", pl.String, "City of the contact center.", severity=WARNING),
    ),
    "service_categories": (
        _key("category_id", "service category"),
        Col("category_name", pl.String, "Name of the service category.", severity=WARNING),
        Col("department", pl.String, "Department that owns the category; missing means Unknown in the report."),
    ),
    "interactions": (
        _key("interaction_id", "interaction"),
        Col(
            "timestamp",
            EASTERN_TS,
            "When the source system wrote the record (US Eastern, from UTC); null when unreadable (warning).",
            severity=WARNING,
        ),
        Col("channel", pl.String, "Contact channel, lower case (phone, chat, email, ...)."),
        Col("category_id", pl.String, "Service category of the interaction."),
        Col("agent_id", pl.String, "Agent who handled the interaction.", severity=WARNING),
        Col("contact_center_id", pl.String, "Contact center that handled the interaction."),
        Col(
            "interaction_start",
            EASTERN_TS,
            "Start of the interaction (US Eastern); decides its report month.",
            nullable=False,
        ),
        Col(
            "agent_resolution_timestamp",
            EASTERN_TS,
            "When the agent resolved the request (US Eastern); null when unreadable (warning, the call's "
            "agent-work measure then skips it).",
            severity=WARNING,
        ),
        Col(
            "interaction_end",
            EASTERN_TS,
            "When the interaction ended (US Eastern); null when unreadable (warning).",
            severity=WARNING,
        ),
        Col(
            "call_duration_minutes",
            pl.Float64,
            "Call length in minutes (phone calls); the report sums it, so an unreadable value quarantines the row.",
            checks=(pa.Check.ge(0),),
        ),
        Col(
            "satisfaction_rating",
            pl.Int64,
            "Customer rating 1-5 (5.0 read as 5); optional: an unreadable or out-of-range rating is nulled "
            "with a warning, the interaction is kept.",
            checks=(pa.Check.in_range(1, 5),),
            severity=WARNING,
        ),
    ),
}

REPORT_COLUMNS: tuple[Col, ...] = (
    Col(
        "month",
        pl.String,
        "Month of interaction_start in US Eastern time (YYYY-MM).",
        nullable=False,
        checks=(pa.Check.str_matches(r"^\d{4}-\d{2}$"),),
    ),
    Col(
        "contact_center_name",
        pl.String,
        "Contact center (final state); Unknown when missing or deleted.",
        nullable=False,
    ),
    Col(
        "department",
        pl.String,
        "Department of the interaction's category (final state); Unknown when missing.",
        nullable=False,
    ),
    Col("total_interactions", pl.Int64, "Interactions in the group.", nullable=False, checks=(pa.Check.ge(1),)),
    Col("total_calls", pl.Int64, "Interactions on the phone channel.", nullable=False, checks=(pa.Check.ge(0),)),
    Col(
        "total_call_duration",
        pl.Float64,
        "Sum of call_duration_minutes over phone calls (missing counts 0).",
        nullable=False,
        checks=(pa.Check.ge(0),),
    ),
)

QUARANTINE_COLUMNS: tuple[Col, ...] = (
    Col("month", pl.String, "Month (partition) whose input held the row.", nullable=False),
    Col("table", pl.String, "Source table of the row.", nullable=False),
    Col("source_file", pl.String, "File the row was read from.", nullable=False),
    Col("line", pl.Int64, "Line of the row in its file (the header is line 1).", nullable=False),
    Col("rule", pl.String, "Rule that rejected the row.", nullable=False),
    Col("column", pl.String, "Column the rule reads."),
    Col("reason", pl.String, "Why the row was rejected."),
    Col("raw_record", pl.String, "The row exactly as read, as JSON.", "confidential"),
    Col(
        "severity",
        pl.String,
        "error: the row was not applied; warning: the row was applied with this column's value nulled.",
        nullable=False,
        checks=(pa.Check.isin(["error", "warning"]),),
    ),
)


def polars_schema(columns: tuple[Col, ...]) -> dict[str, pl.DataType]:
    return {col.name: col.dtype for col in columns}


STATE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {table: polars_schema(cols) for table, cols in TABLE_COLUMNS.items()}


def pandera_schema(name: str, columns: tuple[Col, ...], *, any_time_zone: bool = False) -> pa.DataFrameSchema:
    """The Pandera schema of a table; ``any_time_zone`` for frames read back from the warehouse."""

    def dtype(col: Col):
        if isinstance(col.dtype, pl.Datetime) and any_time_zone:
            return polars_engine.DateTime(time_zone_agnostic=True, time_unit="us")
        return col.dtype

    return pa.DataFrameSchema(
        {
            col.name: pa.Column(
                dtype(col),
                nullable=col.nullable,
                unique=col.unique,
                checks=list(col.checks),
                description=col.description,
                metadata={"classification": col.classification},
            )
            for col in columns
        },
        name=f"support.{name}",
        strict=True,
    )


FINAL_SCHEMAS = {
    table: pandera_schema(f"{table}_final", cols, any_time_zone=True) for table, cols in TABLE_COLUMNS.items()
}
REPORT_SCHEMA = pandera_schema("support_report", REPORT_COLUMNS)
QUARANTINE_SCHEMA = pandera_schema("quarantine", QUARANTINE_COLUMNS)


def column_schema(columns: tuple[Col, ...]) -> dg.TableSchema:
    return pandera_column_schema(pandera_schema("columns", columns))


def column_metadata(columns: tuple[Col, ...]) -> dict[str, dg.TableSchema]:
    """``dagster/column_schema`` metadata for an asset holding ``columns``."""
    return {"dagster/column_schema": column_schema(columns)}


def raw_columns(table: str) -> tuple[Col, ...]:
    """The raw asset's columns: every source column as text, plus action, file and line."""
    base = tuple(
        Col(col.name, pl.String, f"{col.description} (as read)", col.classification) for col in TABLE_COLUMNS[table]
    )
    return (
        *base,
        Col("action", pl.String, f"Change type as written in the file; valid: {', '.join(ACTIONS)} (any case)."),
        Col("_source_file", pl.String, "File the row was read from.", nullable=False),
        Col("_source_line", pl.Int64, "Line of the row in its file.", nullable=False),
    )


def state_columns(table: str) -> tuple[Col, ...]:
    return TABLE_COLUMNS[table]
