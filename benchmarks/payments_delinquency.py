"""Delinquency benchmark: the Spark asset (``local[2]``) and the DuckDB SQL reference on the same data.

``python -m benchmarks.payments_delinquency --rows 5000000`` generates that many
cleaned transactions (and their payments) as Parquet in a lake, materializes
the Spark step ``payments/delinquency_evaluation`` through Dagster on
``local[2]``, runs the reference implementation on the same Parquet, and prints
both times and whether the per-client results, the violations and the summary
are equal. The JSON line it prints is also returned by :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_pyspark import LazyPySparkResource

from caseworks_assets.payments.delinquency.assets import (
    EVALUATION_NAME,
    LAKE_CLIENTS,
    LAKE_SUMMARY,
    LAKE_VIOLATIONS,
    delinquency_evaluation,
    delinquency_run_config,
    read_clients,
    read_lake_folder,
    reference_from_lake,
)
from caseworks_assets.payments.delinquency.schemas import (
    CLIENT_ORDER,
    SUMMARY_SCHEMA,
    VIOLATION_ORDER,
    VIOLATIONS_SCHEMA,
    conform,
)
from caseworks_assets.payments.delinquency.synthetic import generate_clean_inputs
from caseworks_assets.payments.paths import CLEAN_PAYMENTS, CLEAN_TRANSACTIONS
from caseworks_assets.resources import LakeResource

#: The generated transactions span 2024; late payments run into 2025, so the data's own default D
#: (the latest date) would leave few obligations in the window. Evaluate at the end of the year instead.
DEFAULT_AS_OF = date(2024, 12, 31)


def _spark_config(master: str) -> dict[str, str]:
    return {
        "spark.master": master,
        "spark.app.name": "caseworks-delinquency-benchmark",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": "3g",
    }


def run(rows: int, work_dir: Path, *, master: str = "local[2]", as_of: date | None = None, seed: int = 1) -> dict:
    """Generate ``rows`` transactions, time both implementations, compare their outputs."""
    lake = LakeResource(root=str(work_dir / "lake"))
    started = time.perf_counter()
    transactions, payments = generate_clean_inputs(rows, seed=seed, days=365)
    lake.write_parquet(transactions, *CLEAN_TRANSACTIONS)
    lake.write_parquet(payments, *CLEAN_PAYMENTS)
    generated_s = time.perf_counter() - started
    del transactions, payments

    spark = LazyPySparkResource(spark_config=_spark_config(master))
    started = time.perf_counter()
    spark.spark_session.range(1).count()  # JVM start, timed apart from the work
    spark_startup_s = time.perf_counter() - started
    started = time.perf_counter()
    result = dg.materialize(
        [delinquency_evaluation],
        resources={"spark": spark, "lake": lake},
        instance=dg.DagsterInstance.ephemeral(),
        run_config=delinquency_run_config(as_of, assets=(EVALUATION_NAME,)),
    )
    spark_s = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("the Spark step failed")

    started = time.perf_counter()
    reference = reference_from_lake(lake, as_of)
    reference_s = time.perf_counter() - started

    spark_clients = read_clients(lake.path(*LAKE_CLIENTS))
    spark_violations = read_lake_folder(lake.path(*LAKE_VIOLATIONS), VIOLATIONS_SCHEMA)
    spark_summary = conform(lake.read_parquet(*LAKE_SUMMARY), SUMMARY_SCHEMA)
    equal = {
        "clients": spark_clients.sort(CLIENT_ORDER).equals(reference.clients),
        "violations": spark_violations.sort(VIOLATION_ORDER).equals(reference.violations),
        "summary": spark_summary.equals(reference.summary),
    }
    summary = reference.summary.row(0, named=True)
    return {
        "benchmark": "payments_delinquency",
        "transactions": rows,
        "payments": lake.read_parquet(*CLEAN_PAYMENTS).height,
        "as_of": str(summary["as_of"]),
        "spark_master": master,
        "generate_s": round(generated_s, 2),
        "spark_startup_s": round(spark_startup_s, 2),
        "spark_s": round(spark_s, 2),
        "reference_duckdb_s": round(reference_s, 2),
        "equal": equal,
        "all_equal": all(equal.values()),
        "clients_evaluated": summary["clients_evaluated"],
        "pct_delinquent": summary["pct_delinquent"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.payments_delinquency", description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000, help="transactions to generate (default 5M)")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=DEFAULT_AS_OF,
        help="evaluation date D (default 2024-12-31: the last day of the generated year)",
    )
    parser.add_argument("--work-dir", type=Path, help="keep the generated lake here (default: a temp folder)")
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="caseworks-bench-delinquency-"))
    outcome = run(args.rows, work, master=args.master, as_of=args.as_of)
    print(f"spark ({args.master}): {outcome['spark_s']} s (+ {outcome['spark_startup_s']} s JVM start)")
    print(f"reference (DuckDB SQL): {outcome['reference_duckdb_s']} s")
    print(f"results equal: {outcome['all_equal']} {outcome['equal']}")
    print(json.dumps(outcome), flush=True)
    return outcome


if __name__ == "__main__":
    main()
