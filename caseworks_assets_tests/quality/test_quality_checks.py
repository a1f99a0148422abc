"""The check factories, exercised through Dagster on an ephemeral instance.

A tiny asset is written to a real DuckDB warehouse (or the Parquet lake for the
partitioned case), its ``pandera_check`` / ``reconciliation_check`` run in the
same materialization, and the tests assert the check verdicts, the counts in
their metadata, and that a blocking failure keeps the downstream asset from
being materialized.
"""

from pathlib import Path

import dagster as dg
import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseworks_assets.quality import (
    QUARANTINE_TABLE_SCHEMA,
    Dedupe,
    Rule,
    apply_rules,
    is_cpf,
    pandera_check,
    pandera_column_schema,
    quality_metadata,
    reconciliation_check,
    validate_frame,
)
from caseworks_assets.resources import LakeIOManager
from caseworks_assets.resources.warehouse import DuckDBPolarsIOManager

PREFIX = ["qualitytest"]


class Customers(pa.DataFrameModel):
    customer_id: int = pa.Field(unique=True, ge=1, description="Customer key.")
    uf: str = pa.Field(isin=["SP", "RJ", "MG"], description="State code.", metadata={"classification": "public"})
    spend: float = pa.Field(ge=0, nullable=True, description="Total spend in BRL.")


GOOD = pl.DataFrame({"customer_id": [1, 2, 3], "uf": ["SP", "RJ", "MG"], "spend": [10.0, None, 0.0]})
BAD = pl.DataFrame({"customer_id": [1, 2, 2, 4], "uf": ["SP", "XX", "RJ", "YY"], "spend": [10.0, -5.0, 1.0, 2.0]})


def _warehouse(tmp_path: Path) -> dict[str, object]:
    return {"io_manager": DuckDBPolarsIOManager(database=str(tmp_path / "warehouse.duckdb"))}


def _graph(frame: pl.DataFrame):
    @dg.asset(key_prefix=PREFIX, group_name="qualitytest")
    def customers() -> pl.DataFrame:
        return frame

    @dg.asset(key_prefix=PREFIX, group_name="qualitytest", deps=[customers])
    def customer_report() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"built": True})

    return customers, customer_report, pandera_check(customers, Customers)


def _check_evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def test_pandera_check_passes_on_good_data_and_downstream_runs(tmp_path: Path) -> None:
    customers, report, check = _graph(GOOD)
    result = dg.materialize(
        [customers, report, check], instance=dg.DagsterInstance.ephemeral(), resources=_warehouse(tmp_path)
    )
    assert result.success
    evaluation = _check_evaluations(result)["customers_schema"]
    assert evaluation.passed
    assert evaluation.metadata["rows"].value == 3
    assert evaluation.metadata["failures"].value == 0
    assert _materialized(result) == {"qualitytest/customers", "qualitytest/customer_report"}


def test_blocking_pandera_check_fails_on_bad_data_and_stops_downstream(tmp_path: Path) -> None:
    customers, report, check = _graph(BAD)
    result = dg.materialize(
        [customers, report, check],
        instance=dg.DagsterInstance.ephemeral(),
        resources=_warehouse(tmp_path),
        raise_on_error=False,
    )
    evaluation = _check_evaluations(result)["customers_schema"]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    # hand count: duplicate id 2 (two cases), uf XX and YY, spend -5.0 -> 5 failure cases in 3 rows (indexes 1, 2, 3)
    assert evaluation.metadata["failures"].value == 5
    assert evaluation.metadata["failing_rows"].value == 3
    by_check = evaluation.metadata["failures_by_check"].value
    assert by_check == {
        "uf / isin(['SP', 'RJ', 'MG'])": 2,
        "customer_id / field_uniqueness": 2,
        "spend / greater_than_or_equal_to(0)": 1,
    }
    sample = evaluation.metadata["failure_sample"].value
    assert "| uf | isin(['SP', 'RJ', 'MG']) | XX | 1 | Column |" in sample
    assert "| spend | greater_than_or_equal_to(0) | -5.0 | 1 | Column |" in sample
    assert evaluation.description.startswith("5 failure case(s) in 3 row(s) of 4")
    assert not result.success  # the blocking failure fails the run ...
    assert _materialized(result) == {"qualitytest/customers"}  # ... and the report never ran on bad data


def test_non_blocking_check_lets_downstream_run(tmp_path: Path) -> None:
    customers, report, _ = _graph(BAD)
    check = pandera_check(customers, Customers, name="soft_schema", blocking=False)
    result = dg.materialize(
        [customers, report, check], instance=dg.DagsterInstance.ephemeral(), resources=_warehouse(tmp_path)
    )
    assert not _check_evaluations(result)["soft_schema"].passed
    assert _materialized(result) == {"qualitytest/customers", "qualitytest/customer_report"}


def test_validate_frame_reports_type_errors_and_missing_columns() -> None:
    result = validate_frame(pl.LazyFrame({"customer_id": ["a"], "spend": [1.0]}), Customers, sample=3)
    assert not result.passed
    checks = result.metadata["failures_by_check"].value
    assert any(name.startswith("customer_id / dtype") for name in checks)
    assert any("column_in_dataframe" in name for name in checks)


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 100])
def test_a_lazy_frame_validated_in_batches_fails_as_the_whole_frame_does(batch_rows: int) -> None:
    """Batches see every row rule; duplicates split across batches (id 2 in rows 1 and 2) are still found."""
    whole = validate_frame(BAD, Customers)
    batched = validate_frame(BAD.lazy(), Customers, batch_rows=batch_rows)
    assert not batched.passed
    for name in ("rows", "failures", "failing_rows", "failures_by_check"):
        assert batched.metadata[name] == whole.metadata[name], name
    assert batched.metadata["failures_by_check"].value["customer_id / field_uniqueness"] == 2
    assert validate_frame(GOOD.lazy(), Customers, batch_rows=batch_rows).passed
    assert not validate_frame(GOOD.clear().lazy().drop("uf"), Customers, batch_rows=batch_rows).passed


def test_validate_frame_accepts_a_partition_range_mapping() -> None:
    parts = {"2024-01-01": GOOD, "2024-01-02": BAD.head(2)}
    result = validate_frame(parts, Customers)
    assert not result.passed
    assert result.metadata["rows"].value == 5
    # GOOD + BAD's first two rows: duplicate ids 1 and 2 (4 cases), uf XX and spend -5.0 (1 each)
    assert result.metadata["failures"].value == 6


def test_pandera_column_schema_carries_descriptions_constraints_and_tags() -> None:
    schema = pandera_column_schema(Customers)
    columns = {column.name: column for column in schema.columns}
    assert list(columns) == ["customer_id", "uf", "spend"]
    assert columns["customer_id"].description == "Customer key."
    assert columns["customer_id"].constraints.unique is True
    assert columns["spend"].constraints.nullable is True
    assert columns["uf"].tags == {"classification": "public"}
    assert [c.name for c in QUARANTINE_TABLE_SCHEMA.columns] == [
        "row_number",
        "rule",
        "column",
        "reason",
        "raw_record",
        "severity",
    ]


# --------------------------------------------------------------------------- reconciliation

RAW = pl.DataFrame(
    {
        "id": [1, 2, 2, 3, 4],
        "cpf": ["529.982.247-25", "52998224725", "52998224725", "111.111.111-11", None],
    }
)


def _cleaned_asset(metadata_override: dict[str, object] | None = None):
    @dg.asset(key_prefix=PREFIX, group_name="qualitytest")
    def people() -> dg.Output[pl.DataFrame]:
        result = apply_rules(RAW, [Rule("cpf_valid", "cpf", valid=is_cpf)], Dedupe(keys=["id"]))
        metadata = {**quality_metadata(result), **(metadata_override or {})}
        return dg.Output(result.clean, metadata=metadata)

    return people


def test_reconciliation_check_passes_when_counts_add_up(tmp_path: Path) -> None:
    people = _cleaned_asset()
    result = dg.materialize(
        [people, reconciliation_check(people)], instance=dg.DagsterInstance.ephemeral(), resources=_warehouse(tmp_path)
    )
    evaluation = _check_evaluations(result)["reconciliation"]
    assert evaluation.passed
    # 5 read; 111.111.111-11 quarantined by cpf_valid, the second id 2 by duplicate; the null cpf is kept
    assert evaluation.metadata["rows_read"].value == 5
    assert evaluation.metadata["rows_loaded"].value == 3
    assert evaluation.metadata["rows_quarantined"].value == 2
    materialization = result.asset_materializations_for_node("qualitytest__people")[0]
    assert materialization.metadata["rule/cpf_valid"].value == 1
    assert materialization.metadata["rule/duplicate"].value == 1
    assert "cpf_valid" in materialization.metadata["quarantine_sample"].value


def test_reconciliation_check_fails_when_rows_are_lost(tmp_path: Path) -> None:
    people = _cleaned_asset({"rows_loaded": 2})
    result = dg.materialize(
        [people, reconciliation_check(people)],
        instance=dg.DagsterInstance.ephemeral(),
        resources=_warehouse(tmp_path),
        raise_on_error=False,
    )
    evaluation = _check_evaluations(result)["reconciliation"]
    assert not evaluation.passed
    assert evaluation.metadata["difference"].value == 1
    assert "1 row(s) lost" in evaluation.description


def test_reconciliation_check_fails_clearly_when_counters_are_missing(tmp_path: Path) -> None:
    @dg.asset(key_prefix=PREFIX, group_name="qualitytest")
    def bare() -> pl.DataFrame:
        return RAW

    result = dg.materialize(
        [bare, reconciliation_check(bare, read_key="lines_read")],
        instance=dg.DagsterInstance.ephemeral(),
        resources=_warehouse(tmp_path),
        raise_on_error=False,
    )
    evaluation = _check_evaluations(result)["reconciliation"]
    assert not evaluation.passed
    assert "lines_read, rows_loaded, rows_quarantined" in evaluation.description


# --------------------------------------------------------------------------- partitions

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")


@dg.asset(key_prefix=PREFIX, group_name="qualitytest", partitions_def=DAYS, io_manager_key="lake_io_manager")
def daily_sales(context: dg.AssetExecutionContext) -> dg.Output[pl.DataFrame]:
    day = context.partition_key
    # 2024-01-02 carries a negative amount and loses a row in its counters on purpose
    amounts = [5.0, -1.0] if day == "2024-01-02" else [5.0, 7.0]
    frame = pl.DataFrame({"day": [day, day], "amount": amounts})
    loaded = 1 if day == "2024-01-02" else 2
    return dg.Output(frame, metadata={"rows_read": 2, "rows_loaded": loaded, "rows_quarantined": 0})


SALES_SCHEMA = pa.DataFrameSchema({"day": pa.Column(str), "amount": pa.Column(float, pa.Check.ge(0))}, name="sales")


@pytest.mark.parametrize(("day", "passes"), [("2024-01-01", True), ("2024-01-02", False)])
def test_checks_on_a_partitioned_asset_see_only_their_partition(tmp_path: Path, day: str, passes: bool) -> None:
    instance = dg.DagsterInstance.ephemeral()
    resources = {"lake_io_manager": LakeIOManager(root=str(tmp_path / "lake"))}
    assets = [daily_sales, pandera_check(daily_sales, SALES_SCHEMA), reconciliation_check(daily_sales)]
    # another partition first, so "latest materialization" would be wrong if the partition were ignored
    other = "2024-01-03"
    assert dg.materialize(assets, instance=instance, resources=resources, partition_key=other).success
    result = dg.materialize(assets, instance=instance, resources=resources, partition_key=day, raise_on_error=False)
    evaluations = _check_evaluations(result)
    assert evaluations["daily_sales_schema"].passed is passes
    assert evaluations["daily_sales_schema"].metadata["rows"].value == 2  # one partition, not all of them
    assert evaluations["reconciliation"].passed is passes
    assert evaluations["daily_sales_schema"].partition == day


KEYED = pa.DataFrameSchema({"key": pa.Column(pl.String, nullable=True, unique=True)}, name="keyed")


@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", "f"])), max_size=8))
def test_unique_keys_proven_by_hashes_give_pandera_s_own_verdict(keys: list[str | None]) -> None:
    """validate_frame skips Pandera's row-by-row duplicate marking only for columns proven distinct."""
    frame = pl.DataFrame({"key": keys}, schema={"key": pl.String})
    try:
        KEYED.validate(frame, lazy=True)
        plain = True
    except pa.errors.SchemaErrors:
        plain = False
    result = validate_frame(frame, KEYED)
    assert result.passed == plain
    if not plain:
        assert "key / field_uniqueness" in result.metadata["failures_by_check"].value
