"""One column contract: the Pandera schema, the Dagster column schema and the polars schema come from one spec."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandera.errors
import pandera.polars as pa
import polars as pl
import pytest

from caseworks_assets.governance import (
    Classification,
    ColumnSpec,
    RowRule,
    governance_metadata,
    pandera_schema,
    polars_schema,
)
from caseworks_assets.quality.repairs import Severity

CONTRACT = (
    ColumnSpec("id", "String", "key", Classification.INTERNAL, nullable=False, unique=True),
    ColumnSpec(
        "at", "Datetime", "instant", Classification.PUBLIC, time_zone="America/New_York", severity=Severity.WARNING
    ),
    ColumnSpec("rating", "Int64", "1-5", Classification.CONFIDENTIAL, checks=(pa.Check.in_range(1, 5),)),
)
EASTERN = pl.Datetime("us", "America/New_York")


def _frame(ids: list[str | None], ratings: list[int | None], zone: str = "America/New_York") -> pl.DataFrame:
    at = pl.Series("at", [datetime(2024, 1, 1)] * len(ids), dtype=pl.Datetime("us", zone))
    return pl.DataFrame({"id": ids, "at": at, "rating": ratings}, schema_overrides={"id": pl.String})


def test_one_spec_derives_the_pandera_dagster_and_polars_views() -> None:
    assert polars_schema(CONTRACT) == {"id": pl.String, "at": EASTERN, "rating": pl.Int64}

    schema = pandera_schema("t", CONTRACT, strict=True)
    schema.validate(_frame(["a", "b"], [1, None]))
    for bad in (_frame(["a", None], [1, 2]), _frame(["a", "a"], [1, 2]), _frame(["a", "b"], [1, 6])):
        with pytest.raises(pandera.errors.SchemaError):
            schema.validate(bad)
    with pytest.raises(pandera.errors.SchemaError):  # a UTC frame is not the declared Eastern column ...
        schema.validate(_frame(["a"], [1], zone="UTC"))
    pandera_schema("t", CONTRACT, any_time_zone=True).validate(_frame(["a"], [1], zone="UTC"))  # ... unless asked

    meta = governance_metadata(CONTRACT)
    columns = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert (columns["id"].constraints.nullable, columns["id"].constraints.unique) == (False, True)
    assert columns["rating"].constraints.nullable and len(columns["rating"].constraints.other) == 1
    assert columns["at"].type == "Datetime (America/New_York)"
    assert {n: c.tags["severity"] for n, c in columns.items()} == {"id": "error", "at": "warning", "rating": "error"}
    assert meta["classification"] == "confidential"


ITEM = pl.Struct({"day": pl.Date, "amount": pl.Float64})
NESTED = (
    ColumnSpec("id", "String", "key", nullable=False),
    ColumnSpec("low", "Int64", "at most high", nullable=False),
    ColumnSpec("high", "Int64", "at least low", nullable=False),
    ColumnSpec("items", pl.List(ITEM), "nested values", Classification.CONFIDENTIAL),
)
ORDERED = RowRule("low_at_most_high", pl.col("low") <= pl.col("high"))


def _nested(ids: list[str], lows: list[int], highs: list[int]) -> pl.DataFrame:
    items = [[{"day": datetime(2024, 1, 1).date(), "amount": 1.0}]] * len(ids)
    return pl.DataFrame({"id": ids, "low": lows, "high": highs, "items": items}, schema=polars_schema(NESTED))


def test_nested_types_and_row_rules_are_part_of_the_contract() -> None:
    """A list-of-struct column and a named rule across a row's columns, checked under their names."""
    assert polars_schema(NESTED)["items"] == pl.List(ITEM)
    schema = pandera_schema("t", NESTED, strict=True, unique=["id"], rows=[ORDERED])
    schema.validate(_nested(["a", "b"], [1, 2], [1, 3]))
    with pytest.raises(pandera.errors.SchemaErrors) as broken:
        schema.validate(_nested(["a", "b", "b"], [1, 5, 0], [1, 3, 0]), lazy=True)
    checks = set(broken.value.failure_cases["check"].cast(pl.String).to_list())
    assert "low_at_most_high" in checks and any("unique" in check for check in checks)
    with pytest.raises(pandera.errors.SchemaError):  # the nested type is checked too
        schema.validate(_nested(["a"], [1], [1]).with_columns(items=pl.Series([[1]], dtype=pl.List(pl.Int64))))
    columns = {c.name: c for c in governance_metadata(NESTED)["dagster/column_schema"].columns}
    assert columns["items"].type == str(pl.List(ITEM))


def test_no_case_writes_a_pandera_schema_by_hand() -> None:
    """Cases declare ColumnSpecs, nested types and rules across a row included; nothing is hand-written.

    The shared mechanisms build Pandera schemas for the cases: ``governance`` derives
    them from the contract, ``quality`` validates with them (a unique column alone).
    """
    package = Path(__file__).resolve().parents[2] / "caseworks_assets"
    shared = {"governance", "quality"}
    hand_written = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"pa\.(DataFrameSchema|Column)\(", path.read_text()) and path.parent.name not in shared
    )
    assert hand_written == []
