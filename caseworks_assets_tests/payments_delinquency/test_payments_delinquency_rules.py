"""The delinquency rules, pinned by hand-computed numbers and cross-checked Spark vs DuckDB SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from payments_delinquency_cases import (
    EXPECTED_SUMMARY,
    D,
    edge_payments,
    edge_transactions,
    expected_clients_frame,
)
from polars.testing import assert_frame_equal
from pyspark.sql import SparkSession

from caseworks_assets.payments.delinquency import spark_job
from caseworks_assets.payments.delinquency.reference import evaluate_reference
from caseworks_assets.payments.delinquency.rules import DelinquencyInputError
from caseworks_assets.payments.delinquency.schemas import (
    CLIENTS_SCHEMA,
    SUMMARY_SCHEMA,
    VIOLATIONS_SCHEMA,
    conform,
)
from caseworks_assets.payments.delinquency.synthetic import generate_clean_inputs


def run_spark(spark: SparkSession, folder: Path, tx: pl.DataFrame, pay: pl.DataFrame, as_of: date | None):
    """Evaluate on Spark from Parquet files (as the asset does); results as sorted polars frames."""
    tx.write_parquet(folder / "transactions.parquet")
    pay.write_parquet(folder / "payments.parquet")
    transactions, payments = spark_job.read_inputs(
        spark, str(folder / "transactions.parquet"), str(folder / "payments.parquet")
    )
    result = spark_job.evaluate(transactions, payments, as_of)
    result.evaluated.cache()
    clients = conform(pl.from_arrow(result.clients.toArrow()), CLIENTS_SCHEMA).sort("customer_id")
    violations = conform(pl.from_arrow(result.violations.toArrow()), VIOLATIONS_SCHEMA).sort("transaction_id")
    summary = conform(pl.DataFrame([result.summary()]), SUMMARY_SCHEMA)
    result.evaluated.unpersist()
    return result.as_of, clients, violations, summary


def run_reference(tx: pl.DataFrame, pay: pl.DataFrame, as_of: date | None):
    result = evaluate_reference(tx, pay, as_of)
    return result.as_of, result.clients, result.violations, result.summary


@pytest.fixture(scope="module")
def edge_results(spark, tmp_path_factory) -> dict[str, tuple]:
    """Both implementations on the edge-case data at D = 2024-05-31."""
    tx, pay = edge_transactions(), edge_payments()
    return {
        "spark": run_spark(spark, tmp_path_factory.mktemp("edge"), tx, pay, D),
        "reference": run_reference(tx, pay, D),
    }


@pytest.mark.parametrize("implementation", ["spark", "reference"])
def test_clients_match_hand_computed_flags(edge_results, implementation):
    _, clients, _, _ = edge_results[implementation]
    expected = conform(expected_clients_frame(), CLIENTS_SCHEMA)
    # C07 (due on D - 6 months), C10 (due after D), C18 (cancelled/refunded) and C21 (not evaluable) are absent.
    assert_frame_equal(clients, expected)


@pytest.mark.parametrize("implementation", ["spark", "reference"])
def test_summary_matches_hand_computed_counts(edge_results, implementation):
    _, _, _, summary = edge_results[implementation]
    assert summary.row(0, named=True) == EXPECTED_SUMMARY


@pytest.mark.parametrize("implementation", ["spark", "reference"])
def test_violations_carry_their_payments(edge_results, implementation):
    _, _, violations, _ = edge_results[implementation]
    assert violations["transaction_id"].to_list() == [
        "T01", "T02", "T04", "T05", "T06", "T08", "T11", "T13", "T15", "T16", "T17", "T20", "T30", "T31",
    ]  # fmt: skip
    rows = {row["transaction_id"]: row for row in violations.iter_rows(named=True)}

    # Failed and processing payments are listed but do not count: open at D, 51 days late.
    t15 = rows["T15"]
    assert (t15["settled_on"], t15["days_late"], t15["paid_by_as_of"]) == (None, 51, 0.0)
    assert [(p["payment_id"], p["status"], p["counted"]) for p in t15["payments"]] == [
        ("P15a", "failed", False),
        ("P15b", "processing", False),
    ]
    # A payment after D is listed, not counted: the transaction is open at D (exactly 30 days: criterion 2 only).
    t16 = rows["T16"]
    assert (t16["settled_on"], t16["days_late"], t16["criterion_1"], t16["criterion_2"]) == (None, 30, False, True)
    assert [(p["payment_date"], p["counted"]) for p in t16["payments"]] == [(date(2024, 6, 5), False)]
    # The 0.02 that brings 299.98 to 300.00 settles T13 on its date.
    t13 = rows["T13"]
    assert (t13["settled_on"], t13["days_late"], t13["paid_by_as_of"]) == (date(2024, 4, 20), 41, 300.0)
    # Payments of one day are ordered by payment_id.
    assert [p["payment_id"] for p in rows["T17"]["payments"]] == ["P17a", "P17b"]
    # A violating transaction with no payment at all has an empty list.
    assert rows["T05"]["payments"] == []


def test_spark_and_reference_agree_on_edge_cases(edge_results):
    for spark_frame, reference_frame in zip(edge_results["spark"], edge_results["reference"], strict=True):
        if isinstance(spark_frame, pl.DataFrame):
            assert_frame_equal(spark_frame, reference_frame)
        else:
            assert spark_frame == reference_frame


def test_month_end_window_does_not_move_to_month_end(spark, tmp_path):
    """D = 30 Apr: D - 3 months is 30 Jan (not 31 Jan), so a due date of 31 Jan is inside, 30 Jan outside."""
    tx, pay = edge_transactions(), edge_payments()
    as_of = date(2024, 4, 30)
    for _, clients, _, summary in (run_spark(spark, tmp_path, tx, pay, as_of), run_reference(tx, pay, as_of)):
        row = summary.row(0, named=True)
        assert (row["window_3m_from"], row["window_6m_from"]) == (date(2024, 1, 30), date(2023, 10, 30))
        flags = {r["customer_id"]: (r["worst_days_late"], r["criterion_1"]) for r in clients.iter_rows(named=True)}
        assert flags["C30"] == (91, False)
        assert flags["C31"] == (90, True)
        # Evaluated at 30 Apr, T02's payment on 2 May has not happened: open, 29 days late.
        assert flags["C02"] == (29, False)


def test_default_as_of_is_the_latest_valid_date(spark, tmp_path):
    tx, pay = edge_transactions(), edge_payments()
    spark_as_of = spark_job.evaluate(spark.createDataFrame(tx.to_arrow()), spark.createDataFrame(pay.to_arrow())).as_of
    reference_as_of = evaluate_reference(tx, pay).as_of
    # P16 on 2024-06-05 is the latest payment_date; the latest transaction_date is 2024-05-02.
    assert spark_as_of == reference_as_of == date(2024, 6, 5)


def test_no_valid_date_is_a_clear_error():
    tx = edge_transactions().with_columns(pl.lit(None, pl.Date).alias("transaction_date"))
    pay = edge_payments().with_columns(pl.lit(None, pl.Date).alias("payment_date"))
    with pytest.raises(DelinquencyInputError, match="no valid transaction_date or payment_date"):
        evaluate_reference(tx, pay, None)


def test_spark_equals_reference_on_generated_data(spark, tmp_path):
    """Thousands of generated transactions: partial/over/under payments around the tolerance, all statuses."""
    as_of = date(2024, 5, 31)
    tx, pay = generate_clean_inputs(3000, seed=7, customers=400)
    spark_result = run_spark(spark, tmp_path, tx, pay, as_of)
    reference_result = run_reference(tx, pay, as_of)
    for spark_frame, reference_frame in zip(spark_result[1:], reference_result[1:], strict=True):
        assert_frame_equal(spark_frame, reference_frame)
    summary = reference_result[3].row(0, named=True)
    # The generated data must actually exercise the rules, not agree on emptiness.
    assert summary["clients_evaluated"] > 100
    assert 0 < summary["clients_criterion_1"] < summary["clients_criterion_2"] < summary["clients_evaluated"]
    assert summary["payments_not_counted"] > 0
