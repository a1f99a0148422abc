"""Delinquency benchmark: the Spark asset (``local[2]``) and the DuckDB SQL reference on the same data.

``python -m benchmarks.payments_delinquency --rows 5000000`` generates that many
cleaned transactions (and their payments) as Parquet in a lake, materializes
the Spark step ``payments/delinquency_evaluation`` through Dagster on
``local[2]``, runs the reference implementation on the same Parquet, and prints
both times and whether the per-client results, the violations and the summary
are equal. The JSON line it prints is also returned by :func:`run`.

The baseline is the fastest of several bare programs computing the same three
outputs from the same Parquet (``baselines`` in the JSON): the DuckDB
reference as the product runs it (polars frames registered in DuckDB), the same
SQL with DuckDB scanning the Parquet itself, and a polars lazy program.
``ratio_to_fastest`` divides the Spark step's time (JVM start excluded; it is
``spark_startup_s``) by the fastest one. Every program must give the Spark
step's exact results, or the benchmark fails. On a shared machine wall times
move a lot, so the CPU seconds each side used are reported too (``cpu_s``: the
Spark JVM's, read from ``/proc``, and this process's for each bare program)
with Spark's ratio to the program that used the fewest, which other programs running alongside disturb much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
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
from caseworks_assets.payments.delinquency.reference import ReferenceDelinquency, evaluate_reference_parquet
from caseworks_assets.payments.delinquency.rules import (
    COUNTED_PAYMENT_STATUS,
    CRITERION_1_DAYS,
    CRITERION_1_MONTHS,
    CRITERION_2_DAYS,
    CRITERION_2_MONTHS,
    OBLIGATION_STATUSES,
    TOLERANCE_CENTS,
    percentage,
)
from caseworks_assets.payments.delinquency.schemas import (
    CLIENT_ORDER,
    CLIENTS_SCHEMA,
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


def _cents(amount: pl.Expr) -> pl.Expr:
    return (amount * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)


def _money(cents: pl.Expr) -> pl.Expr:
    """Cents to currency units, correctly rounded like ``cents / 100.0`` in SQL (polars would multiply by 0.01)."""
    return (cents.cast(pl.Decimal(38, 2)) / 100).cast(pl.Float64)


def polars_program(transactions: str, payments: str, as_of: date) -> ReferenceDelinquency:
    """The rules as one polars lazy program over the Parquet files: a bare peer of the DuckDB reference."""
    d = pl.lit(as_of)
    from_3m, from_6m = d.dt.offset_by(f"-{CRITERION_1_MONTHS}mo"), d.dt.offset_by(f"-{CRITERION_2_MONTHS}mo")
    tx = pl.scan_parquet(transactions)
    pay = pl.scan_parquet(payments).with_columns(
        counted=(
            (pl.col("status") == COUNTED_PAYMENT_STATUS) & (pl.col("amount_paid") > 0) & (pl.col("payment_date") <= d)
        ).fill_null(False)
    )
    evaluable = pl.col("customer_id").is_not_null() & pl.col("due_date").is_not_null() & (pl.col("amount") > 0)
    is_obligation = pl.col("status").is_in(OBLIGATION_STATUSES).fill_null(False)
    obligations = tx.filter(
        is_obligation & evaluable & (pl.col("due_date") > from_6m) & (pl.col("due_date") <= d)
    ).select("transaction_id", "customer_id", "status", "amount", "due_date", _cents(pl.col("amount")).alias("owed"))
    settlement = (
        pay.filter("counted")
        .select("transaction_id", "payment_date", "payment_id", _cents(pl.col("amount_paid")).alias("cents"))
        .join(obligations.select("transaction_id", "owed"), on="transaction_id")
        .sort("transaction_id", "payment_date", "payment_id")
        .with_columns(so_far=pl.col("cents").cum_sum().over("transaction_id"))
        .group_by("transaction_id")
        .agg(
            paid_cents=pl.col("cents").sum(),
            settled_on=pl.col("payment_date").filter(pl.col("so_far") >= pl.col("owed") - TOLERANCE_CENTS).min(),
        )
    )
    days_late = pl.max_horizontal((pl.coalesce("settled_on", d) - pl.col("due_date")).dt.total_days(), 0)
    evaluated = (
        obligations.join(settlement, on="transaction_id", how="left")
        .with_columns(pl.col("paid_cents").fill_null(0), days_late=days_late.cast(pl.Int64))
        .with_columns(
            criterion_1=(pl.col("due_date") > from_3m) & (pl.col("days_late") > CRITERION_1_DAYS),
            criterion_2=pl.col("days_late") > CRITERION_2_DAYS,
            as_of=d,
        )
        .collect()
    )
    is_open = pl.col("settled_on").is_null()
    clients = (
        evaluated.group_by("customer_id")
        .agg(
            obligations=pl.len(),
            open_obligations=is_open.sum(),
            outstanding_amount=_money((pl.col("owed") - pl.col("paid_cents")).filter(is_open).sum()),
            worst_days_late=pl.col("days_late").max(),
            violations=(pl.col("criterion_1") | pl.col("criterion_2")).sum(),
            criterion_1=pl.col("criterion_1").any(),
            criterion_2=pl.col("criterion_2").any(),
        )
        .with_columns(inadimplente=pl.col("criterion_1") | pl.col("criterion_2"), as_of=d)
    )
    violating = evaluated.filter(pl.col("criterion_1") | pl.col("criterion_2"))
    their_payments = (
        pay.join(violating.lazy().select("transaction_id"), on="transaction_id", how="semi")
        .sort("transaction_id", "payment_date", "payment_id", "amount_paid", "status", nulls_last=False)
        .group_by("transaction_id", maintain_order=True)
        .agg(payments=pl.struct("payment_date", "payment_id", "amount_paid", "status", "counted"))
        .collect()
    )
    violations = violating.join(their_payments, on="transaction_id", how="left").with_columns(
        paid_by_as_of=_money(pl.col("paid_cents")), payments=pl.col("payments").fill_null([])
    )
    counted = pl.col("status") == COUNTED_PAYMENT_STATUS
    counts = pl.concat(
        [
            tx.select(not_evaluable=(is_obligation & ~evaluable.fill_null(False)).sum()),
            pay.select(
                total=pl.len(),
                counted=pl.col("counted").sum(),
                after=(counted & (pl.col("amount_paid") > 0) & (pl.col("payment_date") > d)).sum(),
            ),
        ],
        how="horizontal",
    ).collect()
    row = counts.row(0, named=True)
    delinquent = int(clients["inadimplente"].sum())
    summary = pl.select(
        as_of=d,
        window_3m_from=from_3m,
        window_6m_from=from_6m,
        clients_evaluated=clients.height,
        clients_criterion_1=int(clients["criterion_1"].sum()),
        clients_criterion_2=int(clients["criterion_2"].sum()),
        clients_delinquent=delinquent,
        pct_delinquent=percentage(delinquent, clients.height),
        obligations_in_window=evaluated.height,
        violating_transactions=violating.height,
        obligations_not_evaluable=row["not_evaluable"],
        payments_counted=row["counted"],
        payments_not_counted=row["total"] - row["counted"],
        payments_after_as_of=row["after"],
    )
    return ReferenceDelinquency(
        as_of,
        conform(clients, CLIENTS_SCHEMA).sort(CLIENT_ORDER),
        conform(violations, VIOLATIONS_SCHEMA).sort(VIOLATION_ORDER),
        conform(summary, SUMMARY_SCHEMA),
    )


def _differences(result: ReferenceDelinquency, clients: pl.DataFrame, violations: pl.DataFrame, summary: pl.DataFrame):
    """The outputs of ``result`` that differ from the Spark step's (empty: all equal)."""
    equal = {
        "clients": result.clients.equals(clients),
        "violations": result.violations.equals(violations),
        "summary": result.summary.equals(summary),
    }
    return [name for name, same in equal.items() if not same]


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; 0.0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _java_child() -> int:
    """The pid of the JVM this process started for Spark (0 when there is none)."""
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            if Path(f"/proc/{pid}/comm").read_text().strip() == "java":
                return int(pid)
    return 0


def run(rows: int, work_dir: Path, *, master: str = "local[2]", as_of: date | None = None, seed: int = 1) -> dict:
    """Generate ``rows`` transactions, time the Spark step and every bare program, check they all agree."""
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
    jvm = _java_child()
    jvm_cpu = _process_cpu_s(jvm)
    started = time.perf_counter()
    result = dg.materialize(
        [delinquency_evaluation],
        resources={"spark": spark, "lake": lake},
        instance=dg.DagsterInstance.ephemeral(),
        run_config=delinquency_run_config(as_of, assets=(EVALUATION_NAME,)),
    )
    spark_s = time.perf_counter() - started
    cpu_s = {"spark_jvm": round(_process_cpu_s(jvm) - jvm_cpu, 1)}
    if not result.success:
        raise RuntimeError("the Spark step failed")
    spark_clients = read_clients(lake.path(*LAKE_CLIENTS)).sort(CLIENT_ORDER)
    spark_violations = read_lake_folder(lake.path(*LAKE_VIOLATIONS), VIOLATIONS_SCHEMA).sort(VIOLATION_ORDER)
    spark_summary = conform(lake.read_parquet(*LAKE_SUMMARY), SUMMARY_SCHEMA)
    evaluated_at = spark_summary["as_of"][0]

    tx_path, pay_path = str(lake.path(*CLEAN_TRANSACTIONS)), str(lake.path(*CLEAN_PAYMENTS))
    programs = {
        "duckdb_reference": lambda: reference_from_lake(lake, evaluated_at),
        "duckdb_parquet": lambda: evaluate_reference_parquet(tx_path, pay_path, evaluated_at),
        "polars_lazy": lambda: polars_program(tx_path, pay_path, evaluated_at),
    }
    baselines: dict[str, float] = {}
    differing: dict[str, list[str]] = {}
    for name, program in programs.items():
        started, cpu = time.perf_counter(), _own_cpu_s()
        outcome = program()
        baselines[name] = round(time.perf_counter() - started, 2)
        cpu_s[name] = round(_own_cpu_s() - cpu, 1)
        if wrong := _differences(outcome, spark_clients, spark_violations, spark_summary):
            differing[name] = wrong
    if differing:
        raise AssertionError(f"the Spark step and the bare programs disagree: {differing}")
    fastest = min(baselines, key=baselines.__getitem__)
    summary = spark_summary.row(0, named=True)
    return {
        "benchmark": "payments_delinquency",
        "transactions": rows,
        "payments": lake.read_parquet(*CLEAN_PAYMENTS).height,
        "as_of": str(summary["as_of"]),
        "spark_master": master,
        "generate_s": round(generated_s, 2),
        "spark_startup_s": round(spark_startup_s, 2),
        "spark_s": round(spark_s, 2),
        "baselines": baselines,
        "fastest_baseline": fastest,
        "ratio_to_fastest": round(spark_s / baselines[fastest], 2),
        "reference_duckdb_s": baselines["duckdb_reference"],
        "cpu_s": cpu_s,
        "cpu_ratio_to_fewest": round(cpu_s["spark_jvm"] / max(min(cpu_s[name] for name in baselines), 0.1), 2),
        "all_equal": True,
        "clients_evaluated": summary["clients_evaluated"],
        "clients_delinquent": summary["clients_delinquent"],
        "pct_delinquent": summary["pct_delinquent"],
        "obligations_in_window": summary["obligations_in_window"],
        "violating_transactions": summary["violating_transactions"],
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
    for name, seconds in outcome["baselines"].items():
        print(f"{name}: {seconds} s")
    print(f"ratio to the fastest ({outcome['fastest_baseline']}): {outcome['ratio_to_fastest']}; results equal")
    print(json.dumps(outcome), flush=True)
    return outcome


if __name__ == "__main__":
    main()
