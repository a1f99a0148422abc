"""The delinquency assets through Dagster: one run for both flag partitions, exports, warehouse, failure isolation."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_pyspark import LazyPySparkResource
from payments_delinquency_cases import (
    EXPECTED_SUMMARY,
    SPARK_CONFIG,
    D,
    edge_payments,
    edge_transactions,
    expected_clients_frame,
)
from polars.testing import assert_frame_equal

from caseworks_assets.payments.delinquency import (
    ALL_FLAGS_TAGS,
    DELINQUENCY_ASSETS,
    DELINQUENCY_CHECKS,
    JOB_NAME,
    delinquency_job,
    delinquency_run_config,
)
from caseworks_assets.payments.delinquency.assets import (
    SPARK_RETRY_POLICY,
    delinquency_evaluation,
    delinquent_clients,
)
from caseworks_assets.payments.delinquency.schemas import CLIENTS_SCHEMA, conform
from caseworks_assets.resources import CaseOutputs, LakeResource, spark_resource, warehouse_io_manager
from caseworks_assets.settings import Settings

EVALUATION_STEP = "payments__delinquency_evaluation"


def resources_for(root: Path, spark_config: dict[str, str] = SPARK_CONFIG) -> dict:
    """The production resources pointed at ``root``, with the clean inputs written where ingestion puts them."""
    lake = LakeResource(root=str(root / "lake"))
    lake.write_parquet(edge_transactions(), "payments", "clean", "transactions.parquet")
    lake.write_parquet(edge_payments(), "payments", "clean", "payments.parquet")
    settings = Settings(
        env="local",
        out_dir=root / "out",
        data_dir=root / "data",
        warehouse_path=root / "out" / "warehouse.duckdb",
        lake_root=str(root / "lake"),
        spark_master="local[1]",
        bigquery_project=None,
        bigquery_location=None,
        gcp_credentials=None,
    )
    return {
        "io_manager": warehouse_io_manager(settings),
        "lake": lake,
        "outputs": CaseOutputs(root=str(root / "out")),
        "spark": LazyPySparkResource(spark_config=spark_config),
    }


@pytest.fixture(scope="module")
def job_run(spark, tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult, dg.DagsterInstance]:
    """The delinquency job run the way the CLI runs it: both flag partitions in one run, D from run config."""
    root = tmp_path_factory.mktemp("delinquency_job")
    instance = dg.DagsterInstance.ephemeral()
    defs = dg.Definitions(
        assets=DELINQUENCY_ASSETS,
        asset_checks=DELINQUENCY_CHECKS,
        jobs=[delinquency_job],
        resources=resources_for(root),
    )
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=delinquency_run_config(D), tags=ALL_FLAGS_TAGS, instance=instance
    )
    return root, result, instance


def _warehouse(root: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(root / "out" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def test_both_flag_partitions_materialize_in_one_run(job_run):
    _, result, _ = job_run
    assert result.success
    partitions = {m.partition for m in result.asset_materializations_for_node("payments__delinquent_clients")}
    assert partitions == {"true", "false"}
    # One step computed both partitions.
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert "payments__delinquent_clients" in steps
    assert len([e for e in result.all_events if e.step_key == "payments__delinquent_clients" and e.is_step_start]) == 1


def test_hive_export_under_out_payments(job_run):
    root, _, _ = job_run
    export = root / "out" / "payments" / "delinquent_clients"
    assert sorted(p.name for p in export.iterdir()) == ["inadimplente=false", "inadimplente=true"]
    frame = pl.read_parquet(
        export / "**" / "*.parquet", hive_partitioning=True, hive_schema={"inadimplente": pl.Boolean}
    )
    assert_frame_equal(
        conform(frame, CLIENTS_SCHEMA).sort("customer_id"), conform(expected_clients_frame(), CLIENTS_SCHEMA)
    )
    assert pl.read_parquet(export / "inadimplente=true" / "part-0.parquet").height == 14
    assert "inadimplente" not in pl.read_parquet(export / "inadimplente=false" / "part-0.parquet").columns
    # The Spark step itself wrote its Hive-partitioned client flags to the lake.
    lake_clients = root / "lake" / "payments" / "delinquency" / "clients"
    assert {p.name for p in lake_clients.iterdir() if p.is_dir()} == {"inadimplente=false", "inadimplente=true"}


def test_warehouse_tables(job_run):
    root, _, _ = job_run
    assert _warehouse(root, "select inadimplente, count(*) from payments.delinquent_clients group by 1 order by 1") == [
        (False, 4),
        (True, 14),
    ]
    assert _warehouse(root, "select count(*) from payments.delinquency_violations")[0][0] == 14
    for table in ("delinquency_summary", "delinquency_reference"):
        with duckdb.connect(str(root / "out" / "warehouse.duckdb"), read_only=True) as con:
            row = con.execute(f"select * from payments.{table}").pl().row(0, named=True)
        assert row == EXPECTED_SUMMARY, table
    payments = _warehouse(
        root,
        "select p.payment_id, p.counted from payments.delinquency_violations v, unnest(v.payments) as u(p) "
        "where v.transaction_id = 'T15' order by 1",
    )
    assert payments == [("P15a", False), ("P15b", False)]


def test_percentage_in_metadata_and_checks_pass(job_run):
    _, result, _ = job_run
    for node in ("payments__delinquency_summary", "payments__delinquent_clients", EVALUATION_STEP):
        for materialization in result.asset_materializations_for_node(node):
            assert materialization.metadata["pct_delinquent"].value == 77.78
            assert materialization.metadata["as_of"].value == "2024-05-31"
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "summary_matches_reference": True,
        "delinquent_clients_schema": True,
        "delinquency_violations_schema": True,
        "delinquency_summary_schema": True,
    }


def test_rematerializing_one_partition_replaces_only_it(job_run):
    root, _, instance = job_run
    export_true = root / "out" / "payments" / "delinquent_clients" / "inadimplente=true" / "part-0.parquet"
    before = export_true.stat().st_mtime_ns
    result = dg.materialize(
        [delinquent_clients], partition_key="false", resources=resources_for(root), instance=instance
    )
    assert result.success
    assert _warehouse(root, "select inadimplente, count(*) from payments.delinquent_clients group by 1 order by 1") == [
        (False, 4),
        (True, 14),
    ]
    assert export_true.stat().st_mtime_ns == before


def test_spark_failure_is_retried_and_does_not_stop_the_reference(spark, tmp_path):
    """A misconfigured Spark session fails the Spark step (after its retries); the Spark-free branch still runs."""
    broken = {**SPARK_CONFIG, "spark.sql.shuffle.partitions": "not-a-number"}
    result = dg.materialize(
        [*DELINQUENCY_ASSETS],
        resources=resources_for(tmp_path, broken),
        instance=dg.DagsterInstance.ephemeral(),
        run_config=delinquency_run_config(D),
        tags=ALL_FLAGS_TAGS,
        raise_on_error=False,
    )
    assert not result.success
    retries = [
        e for e in result.all_events if e.step_key == EVALUATION_STEP and e.event_type_value == "STEP_UP_FOR_RETRY"
    ]
    assert len(retries) == SPARK_RETRY_POLICY.max_retries == 2
    failure = next(e for e in result.all_events if e.step_key == EVALUATION_STEP and e.is_step_failure)
    assert "shuffle.partitions" in str(failure.step_failure_data.error)
    nodes = [f"payments__{a.key.path[-1]}" for a in DELINQUENCY_ASSETS]
    assert [node for node in nodes if result.asset_materializations_for_node(node)] == [
        "payments__delinquency_reference"
    ]
    # The Spark step's downstream never started; the reference step succeeded in the same run.
    started = {e.step_key for e in result.all_events if e.is_step_start}
    assert started == {EVALUATION_STEP, "payments__delinquency_reference"}
    assert result.is_node_success("payments__delinquency_reference")
    reference = result.output_for_node("payments__delinquency_reference")
    assert reference.row(0, named=True) == EXPECTED_SUMMARY


def test_a_bad_as_of_fails_clearly_without_retries(tmp_path):
    result = dg.materialize(
        [delinquency_evaluation],
        resources=resources_for(tmp_path),
        instance=dg.DagsterInstance.ephemeral(),
        run_config=delinquency_run_config("31/05/2024", assets=("delinquency_evaluation",)),
        raise_on_error=False,
    )
    assert not result.success
    events = [e for e in result.all_events if e.step_key == EVALUATION_STEP]
    assert not [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    failure = next(e for e in events if e.is_step_failure)
    assert "as_of must be a date YYYY-MM-DD, not '31/05/2024'" in str(failure.step_failure_data)


def test_retry_policy_backs_off_exponentially():
    assert SPARK_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert delinquency_evaluation.op.retry_policy == SPARK_RETRY_POLICY


def test_spark_master_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEWORKS_OUT_DIR", str(tmp_path))
    monkeypatch.delenv("CASEWORKS_SPARK_MASTER", raising=False)
    monkeypatch.delenv("CASEWORKS_ENV", raising=False)
    assert spark_resource(Settings.from_env()).spark_config["spark.master"] == "local[*]"
    monkeypatch.setenv("CASEWORKS_SPARK_MASTER", "spark://spark-master:7077")
    assert spark_resource(Settings.from_env()).spark_config["spark.master"] == "spark://spark-master:7077"
