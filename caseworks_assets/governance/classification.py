"""The column contract: every column a case publishes, declared once as a :class:`ColumnSpec`.

A spec holds the column's name, type, nullability, uniqueness, checks,
description, classification and the data-quality severity of an unreadable
value. Everything else is derived from it, so type, nulls, rules and class
cannot disagree: the polars schema (:func:`polars_schema`), the Pandera schema
of the blocking checks (:func:`pandera_schema`), the ``dagster/column_schema``
shown in the UI (:func:`column_schema`: the classification is a column tag and
prefixes the description, the constraints are the Pandera ones), the table's
own class (its most sensitive column's) and the role projections in
:mod:`caseworks_assets.governance.policy`.

A column's type is a name (``String``, ``Date``, ...) or, for nested values, a
polars type (``pl.List(pl.Struct(...))``). Rules across columns of a row are
table-level :class:`RowRule` objects: named polars expressions that must hold on
every row, checked by the same Pandera schema under their names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine

from caseworks_assets.quality.repairs import NumberFormat, Severity


class Classification(IntEnum):
    """Sensitivity levels, ordered so that ``max`` gives the most sensitive."""

    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    RESTRICTED = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class ColumnSpec:
    """One published column.

    Attributes:
        name: column name.
        dtype: type as shown to users (e.g. ``String``, ``Float64``, ``Date``), or a polars type for
            nested values (e.g. ``pl.List(pl.Struct({...}))``), shown as polars prints it.
        description: what the column means.
        classification: sensitivity level.
        identifier: the column identifies a person (customer, employee); roles
            that may not see identities get it pseudonymized instead of dropped,
            so joins and distinct counts still work.
        encrypted: the stored value is ciphertext (``<key id>:<base64>``).
        severity: what an unreadable value does to its row (the data-quality contract):
            ``error`` quarantines the row (keys, values the outputs depend on),
            ``warning`` nulls the value and keeps the row with a warning (optional attributes).
        number_format: how the source writes the column's numbers; thousands separators and decimal
            commas are read only where it is declared (``plain`` reads neither).
        nullable, unique, checks: the published column's constraints; :func:`pandera_schema`
            derives the Pandera schema of a table from them, so type, nulls and rules are declared once.
        time_zone: for ``Datetime`` columns, the zone of the stored instants (``None``: wall clock).
    """

    name: str
    dtype: str | pl.DataType
    description: str
    classification: Classification = Classification.INTERNAL
    identifier: bool = False
    encrypted: bool = False
    severity: Severity = Severity.ERROR
    number_format: NumberFormat = NumberFormat.PLAIN
    nullable: bool = True
    unique: bool = False
    checks: tuple[Any, ...] = ()
    time_zone: str | None = None


POLARS_TYPES: dict[str, pl.DataType] = {
    "String": pl.String(),
    "Float64": pl.Float64(),
    "Int64": pl.Int64(),
    "Date": pl.Date(),
    "Boolean": pl.Boolean(),
    "Datetime": pl.Datetime("us"),
}


@dataclass(frozen=True)
class RowRule:
    """A rule across the columns of one row: ``rule`` (a boolean polars expression) holds on every row.

    Becomes a table-level Pandera check named ``name`` (also its error
    message), so a failure names the rule and the rows that break it.
    """

    name: str
    rule: pl.Expr

    def pandera_check(self) -> pa.Check:
        rule = self.rule
        return pa.Check(lambda data: data.lazyframe.select(rule), name=self.name, error=self.name)


def type_name(column: ColumnSpec) -> str:
    """The column's type as shown to users: its name, or the nested polars type as polars prints it."""
    if isinstance(column.dtype, pl.DataType):
        return str(column.dtype)
    return f"{column.dtype} ({column.time_zone})" if column.time_zone else column.dtype


def polars_type(column: ColumnSpec) -> pl.DataType:
    """The polars type of a column (a ``Datetime`` in its declared time zone; a nested type as declared)."""
    if isinstance(column.dtype, pl.DataType):
        return column.dtype
    if column.dtype == "Datetime":
        return pl.Datetime("us", column.time_zone)
    return POLARS_TYPES[column.dtype]


def polars_schema(columns: Sequence[ColumnSpec]) -> dict[str, pl.DataType]:
    """Column name -> polars type, in declaration order."""
    return {c.name: polars_type(c) for c in columns}


def pandera_schema(
    name: str,
    columns: Sequence[ColumnSpec],
    *,
    strict: bool = False,
    any_time_zone: bool = False,
    unique: Sequence[str] | None = None,
    rows: Sequence[RowRule] = (),
) -> pa.DataFrameSchema:
    """The Pandera schema of a table, derived from its column contracts (type, nulls, uniqueness, checks).

    ``any_time_zone`` accepts ``Datetime`` columns in any zone: a warehouse
    stores instants as ``TIMESTAMPTZ`` and reads them back in UTC. The
    classification and severity travel as column metadata, so
    :func:`~caseworks_assets.quality.pandera_column_schema` shows them too.
    Table-level rules: ``unique`` names the columns whose combination is the
    table's key, ``rows`` the rules every row must satisfy.
    """

    def dtype(column: ColumnSpec) -> Any:
        if column.dtype == "Datetime" and any_time_zone:
            return polars_engine.DateTime(time_zone_agnostic=True, time_unit="us")
        return polars_type(column)

    return pa.DataFrameSchema(
        {
            c.name: pa.Column(
                dtype(c),
                checks=list(c.checks),
                nullable=c.nullable,
                unique=c.unique,
                description=c.description,
                metadata={"classification": c.classification.label, "severity": c.severity.value},
            )
            for c in columns
        },
        name=name,
        strict=strict,
        unique=list(unique) if unique else None,
        checks=[rule.pandera_check() for rule in rows] or None,
    )


def table_classification(columns: Iterable[ColumnSpec]) -> Classification:
    """A table is as sensitive as its most sensitive column."""
    return max((c.classification for c in columns), default=Classification.PUBLIC)


def column_schema(columns: Sequence[ColumnSpec]) -> dg.TableSchema:
    """The ``dagster/column_schema`` value: type, constraints, classification as tag and in the description."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=type_name(c),
                description=f"[{c.classification.label}] {c.description}"
                + (" (encrypted: key id + AES-GCM ciphertext)" if c.encrypted else "")
                + (" (pseudonymized for roles without identity access)" if c.identifier else ""),
                tags={"classification": c.classification.label, "severity": c.severity.value},
                constraints=dg.TableColumnConstraints(
                    nullable=c.nullable, unique=c.unique, other=[str(check) for check in c.checks]
                ),
            )
            for c in columns
        ]
    )


def governance_metadata(columns: Sequence[ColumnSpec]) -> dict[str, object]:
    """Asset definition metadata: column schema, table class and the per-column classes."""
    return {
        "dagster/column_schema": column_schema(columns),
        "classification": table_classification(columns).label,
        "column_classification": dg.MetadataValue.json({c.name: c.classification.label for c in columns}),
    }


def governance_tags(columns: Sequence[ColumnSpec]) -> dict[str, str]:
    """Asset tags, so the UI can filter assets by their class."""
    return {"classification": table_classification(columns).label}


def column_names(columns: Sequence[ColumnSpec]) -> list[str]:
    return [c.name for c in columns]
