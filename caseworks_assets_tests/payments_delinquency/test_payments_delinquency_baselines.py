"""The delinquency benchmark's bare programs compute exactly what the reference computes (no Spark needed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from payments_delinquency_cases import EXPECTED_SUMMARY, D, edge_payments, edge_transactions
from polars.testing import assert_frame_equal

from benchmarks.payments_delinquency import polars_program
from caseworks_assets.payments.delinquency.reference import evaluate_reference, evaluate_reference_parquet
from caseworks_assets.payments.delinquency.synthetic import generate_clean_inputs


def _files(folder: Path, tx: pl.DataFrame, pay: pl.DataFrame) -> tuple[str, str]:
    tx.write_parquet(folder / "transactions.parquet")
    pay.write_parquet(folder / "payments.parquet")
    return str(folder / "transactions.parquet"), str(folder / "payments.parquet")


@pytest.mark.parametrize(
    ("data", "as_of"),
    [
        pytest.param(lambda: (edge_transactions(), edge_payments()), D, id="edge-cases"),
        pytest.param(lambda: generate_clean_inputs(3000, seed=11, customers=400), date(2024, 6, 30), id="generated"),
    ],
)
def test_bare_programs_equal_the_reference(tmp_path: Path, data, as_of: date):
    tx, pay = data()
    files = _files(tmp_path, tx, pay)
    reference = evaluate_reference(tx, pay, as_of)
    for program in (polars_program, evaluate_reference_parquet):
        result = program(*files, as_of)
        assert_frame_equal(result.clients, reference.clients)
        assert_frame_equal(result.violations, reference.violations)
        assert_frame_equal(result.summary, reference.summary)
    summary = reference.summary.row(0, named=True)
    if as_of == D:
        assert summary == {**summary, **EXPECTED_SUMMARY}  # the hand-computed numbers, not just agreement
    else:
        assert 0 < summary["clients_criterion_1"] < summary["clients_delinquent"] < summary["clients_evaluated"]
        assert summary["payments_not_counted"] > 0
