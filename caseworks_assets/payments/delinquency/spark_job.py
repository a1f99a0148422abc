"""Delinquency at date D on Spark: the production implementation.

Reads the cleaned transactions and payments (Parquet in the lake), evaluates
every obligation due in the 6-month window (settlement date, days late,
criteria) and aggregates per client. The rules are the ones stated in
:mod:`.rules`; :mod:`.reference` implements them again in DuckDB SQL so the two
cross-check each other.

Everything is DataFrame expressions: one window (cumulative sum of counted
payments per transaction) and a handful of joins and aggregations, so the same
code runs on ``local[*]`` and on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from caseworks_assets.payments.delinquency.rules import (
    COUNTED_PAYMENT_STATUS,
    CRITERION_1_DAYS,
    CRITERION_1_MONTHS,
    CRITERION_2_DAYS,
    CRITERION_2_MONTHS,
    OBLIGATION_STATUSES,
    TOLERANCE_CENTS,
    DelinquencyInputError,
    percentage,
)

PAYMENTS_TYPE = "array<struct<payment_date:date,payment_id:string,amount_paid:double,status:string,counted:boolean>>"


@dataclass
class SparkDelinquency:
    """The lazily defined outputs of one evaluation; actions run when they are written or collected."""

    as_of: date
    clients: DataFrame
    violations: DataFrame
    evaluated: DataFrame
    transactions: DataFrame
    payments: DataFrame

    def summary(self) -> dict[str, Any]:
        """The summary row: four one-row aggregations cross-joined and collected in a single job."""
        d = F.lit(self.as_of)
        obligations = self.evaluated.agg(
            F.count(F.lit(1)).alias("obligations_in_window"),
            F.count(F.when(F.col("criterion_1") | F.col("criterion_2"), 1)).alias("violating_transactions"),
        )
        clients = self.clients.agg(
            F.count(F.lit(1)).alias("clients_evaluated"),
            F.count(F.when(F.col("criterion_1"), 1)).alias("clients_criterion_1"),
            F.count(F.when(F.col("criterion_2"), 1)).alias("clients_criterion_2"),
            F.count(F.when(F.col("inadimplente"), 1)).alias("clients_delinquent"),
        )
        transactions = self.transactions.agg(
            F.count(F.when(_is_obligation_status(F.col("status")) & ~_is_evaluable(), 1)).alias(
                "obligations_not_evaluable"
            )
        )
        payments = self.payments.agg(
            F.count(F.lit(1)).alias("payments_total"),
            F.count(F.when(F.col("counted"), 1)).alias("payments_counted"),
            F.count(F.when(_is_valid_completed_payment() & (F.col("payment_date") > d), 1)).alias(
                "payments_after_as_of"
            ),
        )
        row = (
            obligations.crossJoin(clients)
            .crossJoin(transactions)
            .crossJoin(payments)
            .select(
                "*",
                F.add_months(d, -CRITERION_1_MONTHS).alias("window_3m_from"),
                F.add_months(d, -CRITERION_2_MONTHS).alias("window_6m_from"),
            )
            .first()
            .asDict()
        )
        return {
            "as_of": self.as_of,
            "window_3m_from": row["window_3m_from"],
            "window_6m_from": row["window_6m_from"],
            "clients_evaluated": row["clients_evaluated"],
            "clients_criterion_1": row["clients_criterion_1"],
            "clients_criterion_2": row["clients_criterion_2"],
            "clients_delinquent": row["clients_delinquent"],
            "pct_delinquent": percentage(row["clients_delinquent"], row["clients_evaluated"]),
            "obligations_in_window": row["obligations_in_window"],
            "violating_transactions": row["violating_transactions"],
            "obligations_not_evaluable": row["obligations_not_evaluable"],
            "payments_counted": row["payments_counted"],
            "payments_not_counted": row["payments_total"] - row["payments_counted"],
            "payments_after_as_of": row["payments_after_as_of"],
        }


def _is_obligation_status(status: Column) -> Column:
    return F.coalesce(status.isin(*OBLIGATION_STATUSES), F.lit(False))


def _is_evaluable() -> Column:
    """A pending/completed transaction we can judge: customer, due date and amount > 0 known."""
    return F.coalesce(
        F.col("customer_id").isNotNull() & F.col("due_date").isNotNull() & (F.col("amount") > 0), F.lit(False)
    )


def _is_valid_completed_payment() -> Column:
    return F.coalesce(
        (F.col("status") == COUNTED_PAYMENT_STATUS) & (F.col("amount_paid") > 0) & F.col("payment_date").isNotNull(),
        F.lit(False),
    )


def _cents(amount: Column) -> Column:
    return F.round(amount * 100).cast("long")


def latest_valid_date(transactions: DataFrame, payments: DataFrame) -> date:
    """The default D: the latest known ``transaction_date`` or ``payment_date``."""
    latest_tx = transactions.agg(F.max("transaction_date")).first()[0]
    latest_pay = payments.agg(F.max("payment_date")).first()[0]
    candidates = [value for value in (latest_tx, latest_pay) if value is not None]
    if not candidates:
        raise DelinquencyInputError("no valid transaction_date or payment_date to default the evaluation date to")
    return max(candidates)


def evaluate(transactions: DataFrame, payments: DataFrame, as_of: date | None = None) -> SparkDelinquency:
    """Define the delinquency outputs at ``as_of`` (default: the latest valid date in the data)."""
    as_of = as_of or latest_valid_date(transactions, payments)
    d = F.lit(as_of)
    window_3m_from = F.add_months(d, -CRITERION_1_MONTHS)
    window_6m_from = F.add_months(d, -CRITERION_2_MONTHS)

    transactions = transactions.select("transaction_id", "customer_id", "amount", "due_date", "status")
    obligations = transactions.where(
        _is_obligation_status(F.col("status"))
        & _is_evaluable()
        & (F.col("due_date") > window_6m_from)
        & (F.col("due_date") <= d)
    ).withColumn("amount_cents", _cents(F.col("amount")))

    payments = payments.select("payment_id", "transaction_id", "amount_paid", "payment_date", "status").withColumn(
        "counted", _is_valid_completed_payment() & (F.col("payment_date") <= d)
    )
    in_order = Window.partitionBy("transaction_id").orderBy("payment_date", "payment_id")
    settlement = (
        payments.where("counted")
        .select("transaction_id", "payment_id", "payment_date", _cents(F.col("amount_paid")).alias("paid_cents"))
        .join(obligations.select("transaction_id", "amount_cents"), "transaction_id")
        .withColumn(
            "paid_so_far", F.sum("paid_cents").over(in_order.rowsBetween(Window.unboundedPreceding, Window.currentRow))
        )
        .groupBy("transaction_id")
        .agg(
            F.sum("paid_cents").alias("paid_cents"),
            F.min(F.when(F.col("paid_so_far") >= F.col("amount_cents") - TOLERANCE_CENTS, F.col("payment_date"))).alias(
                "settled_on"
            ),
        )
    )
    days_late = F.greatest(F.datediff(F.coalesce(F.col("settled_on"), d), F.col("due_date")), F.lit(0))
    evaluated = (
        obligations.join(settlement, "transaction_id", "left")
        .withColumn("paid_cents", F.coalesce(F.col("paid_cents"), F.lit(0).cast("long")))
        .withColumn("days_late", days_late.cast("long"))
        .withColumn("criterion_1", (F.col("due_date") > window_3m_from) & (F.col("days_late") > CRITERION_1_DAYS))
        .withColumn("criterion_2", F.col("days_late") > CRITERION_2_DAYS)
        .withColumn("as_of", d)
    )

    open_cents = F.when(F.col("settled_on").isNull(), F.col("amount_cents") - F.col("paid_cents")).otherwise(0)
    clients = (
        evaluated.groupBy("customer_id")
        .agg(
            F.count(F.lit(1)).alias("obligations"),
            F.count(F.when(F.col("settled_on").isNull(), 1)).alias("open_obligations"),
            (F.sum(open_cents) / 100.0).alias("outstanding_amount"),
            F.max("days_late").alias("worst_days_late"),
            F.count(F.when(F.col("criterion_1") | F.col("criterion_2"), 1)).alias("violations"),
            F.bool_or("criterion_1").alias("criterion_1"),
            F.bool_or("criterion_2").alias("criterion_2"),
        )
        .withColumn("inadimplente", F.col("criterion_1") | F.col("criterion_2"))
        .withColumn("as_of", d)
    )

    violating = evaluated.where(F.col("criterion_1") | F.col("criterion_2"))
    their_payments = (
        payments.join(F.broadcast(violating.select("transaction_id")), "transaction_id")
        .groupBy("transaction_id")
        .agg(
            F.sort_array(
                F.collect_list(F.struct("payment_date", "payment_id", "amount_paid", "status", "counted"))
            ).alias("payments")
        )
    )
    violations = violating.join(their_payments, "transaction_id", "left").select(
        "transaction_id",
        "customer_id",
        "status",
        "amount",
        "due_date",
        (F.col("paid_cents") / 100.0).alias("paid_by_as_of"),
        "settled_on",
        "days_late",
        "criterion_1",
        "criterion_2",
        "as_of",
        F.coalesce(F.col("payments"), F.array().cast(PAYMENTS_TYPE)).alias("payments"),
    )
    return SparkDelinquency(as_of, clients, violations, evaluated, transactions, payments)


def tune_session(session: SparkSession) -> None:
    """Adaptive query execution on, and shuffle partitions sized for the cores the session has.

    Two partitions per core keep every core busy through a skewed partition; AQE
    coalesces small shuffle outputs and turns a join into a broadcast when one side
    turns out small at run time, which static estimates over Parquet often miss.
    """
    session.conf.set("spark.sql.adaptive.enabled", "true")
    session.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "true")
    session.conf.set("spark.sql.shuffle.partitions", str(2 * max(1, session.sparkContext.defaultParallelism)))


def read_inputs(spark: SparkSession, transactions_path: str, payments_path: str) -> tuple[DataFrame, DataFrame]:
    """The cleaned transactions and payments as Spark DataFrames (a Parquet file or folder each)."""
    return spark.read.parquet(transactions_path), spark.read.parquet(payments_path)


def write_outputs(result: SparkDelinquency, clients_path: str, violations_path: str) -> None:
    """Write the clients Hive-partitioned by ``inadimplente`` and the violations, replacing earlier runs."""
    result.evaluated.cache()
    result.clients.cache()
    result.clients.write.mode("overwrite").partitionBy("inadimplente").parquet(clients_path)
    result.violations.write.mode("overwrite").parquet(violations_path)
