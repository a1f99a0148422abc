"""The plain rules by hand: KPIs, the cost model, each optimization hint and each scaling recommendation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from caseworks_assets.platform import costs, hints, kpis
from caseworks_assets.platform.collect import ACTIVITY_SCHEMA, RUN_SCHEMA

NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
MODEL = costs.CostModel()


def _runs(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame([{k: r.get(k) for k in RUN_SCHEMA} for r in rows], schema=RUN_SCHEMA)
    return frame.with_columns(
        duration_s=(pl.col("ended_at") - pl.col("started_at")).dt.total_microseconds() / 1e6,
        queue_wait_s=(pl.col("started_at") - pl.col("queued_at")).dt.total_microseconds() / 1e6,
        day=pl.col("started_at").dt.date(),
        month=pl.col("started_at").dt.strftime("%Y-%m"),
    )


def _run(job: str, status: str, start: datetime, seconds: float, wait: float | None = None) -> dict:
    return {
        "run_id": f"{job}-{start.isoformat()}",
        "job_name": job,
        "status": status,
        "started_at": start,
        "ended_at": start + timedelta(seconds=seconds),
        "queued_at": None if wait is None else start - timedelta(seconds=wait),
        "created_at": start,
    }


def _activity(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame([{k: r.get(k) for k in ACTIVITY_SCHEMA} for r in rows], schema=ACTIVITY_SCHEMA)
    return frame.with_columns(day=pl.col("timestamp").dt.date(), month=pl.col("timestamp").dt.strftime("%Y-%m"))


def _steps(rows: list[tuple[str, str, str, datetime, float]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "job_name": pl.String,
            "step_key": pl.String,
            "status": pl.String,
            "started_at": pl.Datetime("us", "UTC"),
            "duration_s": pl.Float64,
        },
        orient="row",
    )
    return frame.with_columns(
        asset_key=pl.col("step_key").str.replace_all("__", "/"), month=pl.col("started_at").dt.strftime("%Y-%m")
    )


DAY1, DAY2 = datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 3, 2, 6, tzinfo=UTC)
RUNS = _runs(
    [
        _run("a_job", "SUCCESS", DAY1, 10),
        _run("a_job", "SUCCESS", DAY1 + timedelta(hours=1), 20),
        _run("a_job", "FAILURE", DAY2, 30),
        _run("a_job", "SUCCESS", DAY2 + timedelta(hours=1), 40),
        _run("b_job", "CANCELED", DAY2, 5),
        _run("b_job", "STARTED", DAY2 + timedelta(hours=2), 5),  # still running: not in the success rate
    ]
)


def test_kpis_by_hand() -> None:
    activity = _activity(
        [
            {"timestamp": DAY1, "asset_key": "x/t", "event": "check", "passed": False},
            {"timestamp": DAY1, "asset_key": "x/t", "event": "check", "passed": True},
            {"timestamp": DAY2, "asset_key": "x/t", "event": "freshness_miss"},
            {
                "timestamp": datetime(2026, 1, 5, tzinfo=UTC),
                "asset_key": "x/t",
                "event": "materialization",
                "bytes": 100,
            },
            {
                "timestamp": datetime(2026, 2, 5, tzinfo=UTC),
                "asset_key": "x/t",
                "event": "materialization",
                "bytes": 150,
            },
        ]
    )
    cost_table = pl.DataFrame(
        {"month": ["2026-01", "2026-02", "2026-02"], "asset_key": ["x/t", "x/t", "y/u"], "total_usd": [2.0, 1.0, 2.0]}
    )
    table = kpis.compute_kpis(RUNS, activity, cost_table)
    assert kpis.kpi_value(table, "success_rate", "a_job") == 0.75
    assert kpis.kpi_value(table, "success_rate", "b_job") == 0.0
    assert kpis.kpi_value(table, "success_rate") == 3 / 5
    # a_job durations 10, 20, 30, 40: p50 = 25; p95 = 30 + 0.85 * 10 (position 0.95 * 3 = 2.85)
    assert kpis.kpi_value(table, "p50_duration", "a_job") == 25.0
    assert kpis.kpi_value(table, "p95_duration", "a_job") == pytest.approx(38.5)
    assert kpis.kpi_value(table, "failures", "all", "2026-03-01") == 0
    assert kpis.kpi_value(table, "failures", "all", "2026-03-02") == 1
    assert kpis.kpi_value(table, "checks_failed") == 1
    assert kpis.kpi_value(table, "freshness_misses") == 1
    assert kpis.kpi_value(table, "cost_per_asset", "y/u", "2026-02") == 2.0
    assert kpis.kpi_value(table, "cost_mom_growth", "all", "2026-02") == pytest.approx(0.5)  # 3 USD after 2
    assert kpis.kpi_value(table, "bytes_written_mom_growth", "all", "2026-02") == pytest.approx(0.5)  # 150 after 100


def test_cost_model_by_hand() -> None:
    steps = _steps(
        [("j", "x__t", "SUCCESS", DAY1, 3600.0), ("j", "payments__delinquency_evaluation", "SUCCESS", DAY1, 1800.0)]
    )
    activity = _activity(
        [
            {"timestamp": DAY1, "asset_key": "x/t", "event": "query", "bytes_billed": costs.TIB},
            {"timestamp": DAY1, "asset_key": "payments/delinquency_evaluation", "event": "materialization"},
        ]
    )
    storage = pl.DataFrame(
        {"asset_key": ["x/t", "x/old"], "bytes": [costs.GIB, 2 * costs.GIB], "days_since_change": [1, 200]}
    )
    table = costs.cost_estimates(steps, activity, storage, "2026-03", MODEL, spark_steps="delinquency_evaluation")
    row = table.filter(pl.col("asset_key") == "x/t").row(0, named=True)
    assert row["compute_usd"] == pytest.approx(0.0475)  # one vCPU-hour
    assert row["query_usd"] == pytest.approx(6.25)  # one TiB billed on demand
    assert row["storage_usd"] == pytest.approx(0.02)  # one active GiB-month
    assert row["total_usd"] == pytest.approx(0.0475 + 6.25 + 0.02)
    old = table.filter(pl.col("asset_key") == "x/old").row(0, named=True)
    assert old["storage_usd"] == pytest.approx(0.02)  # 2 GiB at the long-term price
    spark = table.filter(pl.col("asset_key") == "payments/delinquency_evaluation").row(0, named=True)
    assert spark["cpu_seconds"] == 0 and spark["spark_executor_seconds"] == 3600  # 2 executors for half an hour
    assert spark["spark_usd"] == pytest.approx(MODEL.spark_executor_usd_per_hour)
    checks = costs.cost_estimates(
        _steps([("j", "x__t_reconciles", "SUCCESS", DAY1, 36.0)]), activity, storage, "2026-03", MODEL
    )
    assert "j (other steps)" in checks["asset_key"].to_list()  # a check's op is charged to its job


def test_unused_asset_hint_needs_staleness_and_no_consumer() -> None:
    old = NOW - timedelta(days=45)
    activity = _activity(
        [
            {"timestamp": old, "asset_key": "x/stale", "event": "materialization"},
            {"timestamp": old, "asset_key": "x/read", "event": "materialization"},
            {"timestamp": NOW - timedelta(days=1), "asset_key": "x/fresh", "event": "materialization"},
        ]
    )
    storage = pl.DataFrame({"asset_key": ["x/stale"], "bytes": [10 * costs.GIB]})
    found = hints.unused_assets(activity, storage, {"x/read": 2}, NOW, MODEL, hints.HintPolicy())
    assert found["subject"].to_list() == ["x/stale"]
    assert found["estimated_saving_usd_month"][0] == pytest.approx(0.2)  # 10 GiB active storage
    assert "45 days ago" in found["evidence"][0]


def test_growing_table_hint() -> None:
    activity = _activity(
        [
            {
                "timestamp": datetime(2026, 1, 10, tzinfo=UTC),
                "asset_key": "x/big",
                "event": "materialization",
                "bytes": costs.GIB,
            },
            {
                "timestamp": datetime(2026, 2, 10, tzinfo=UTC),
                "asset_key": "x/big",
                "event": "materialization",
                "bytes": 2 * costs.GIB,
            },
            {
                "timestamp": datetime(2026, 1, 10, tzinfo=UTC),
                "asset_key": "x/flat",
                "event": "materialization",
                "bytes": 100,
            },
            {
                "timestamp": datetime(2026, 2, 10, tzinfo=UTC),
                "asset_key": "x/flat",
                "event": "materialization",
                "bytes": 110,
            },
        ]
    )
    found = hints.growing_tables(activity, MODEL, hints.HintPolicy())
    assert found["subject"].to_list() == ["x/big"]
    assert found["estimated_saving_usd_month"][0] == pytest.approx(0.02)  # the extra GiB a month
    assert "grew 100%" in found["evidence"][0]


def test_p95_regression_hint() -> None:
    rows = [("j", "x__slow", "SUCCESS", NOW - timedelta(days=10 + i), 10.0) for i in range(10)]
    rows += [("j", "x__slow", "SUCCESS", NOW - timedelta(days=1 + i % 5), 40.0) for i in range(7)]
    rows += [("j", "x__steady", "SUCCESS", NOW - timedelta(days=i + 1), 10.0) for i in range(20)]
    found = hints.p95_regressions(_steps(rows), NOW, MODEL, hints.HintPolicy())
    assert found["subject"].to_list() == ["j:x__slow"]
    # 30 s more per run, 7 runs a week -> 30.4 days a month
    assert found["estimated_saving_usd_month"][0] == pytest.approx(30 * 7 / 7 * 30.4 / 3600 * 0.0475)


def test_repeated_failures_hint() -> None:
    runs = _runs(
        [_run("flaky_job", "FAILURE", NOW - timedelta(days=d), 60) for d in (1, 2, 3)]
        + [_run("ok_job", "FAILURE", NOW - timedelta(days=1), 60)]
    )
    found = hints.repeated_failures(runs, NOW, MODEL, hints.HintPolicy())
    assert found["subject"].to_list() == ["flaky_job"]
    assert found["evidence"][0].startswith("3 failed runs in the last 7 days")
    assert found["estimated_saving_usd_month"][0] == pytest.approx(180 / 7 * 30.4 / 3600 * 0.0475)


def test_full_rebuild_hint() -> None:
    builds = [
        {"timestamp": NOW - timedelta(days=3 - i), "asset_key": "x/dim", "event": "materialization", "rows": r}
        for i, r in enumerate([10_000, 10_100, 10_200])
    ]
    partitioned = [
        {
            "timestamp": NOW - timedelta(days=3 - i),
            "asset_key": "x/fact",
            "event": "materialization",
            "rows": 10_000,
            "partition": f"2026-03-0{i + 1}",
        }
        for i in range(3)
    ]
    steps = _steps([("j", "x__dim", "SUCCESS", NOW - timedelta(days=d), 100.0) for d in range(3)])
    found = hints.full_rebuilds(_activity(builds + partitioned), steps, MODEL, hints.HintPolicy())
    assert found["subject"].to_list() == ["x/dim"]
    growth = 0.01  # median of +1.0% and +0.99%
    assert found["estimated_saving_usd_month"][0] == pytest.approx(300 * (1 - growth) / 3600 * 0.0475, rel=1e-2)


def test_every_hint_kind_has_evidence_and_a_saving() -> None:
    table = hints.optimization_hints(
        RUNS,
        _steps([]),
        _activity([]),
        pl.DataFrame({"asset_key": [], "bytes": []}, schema={"asset_key": pl.String, "bytes": pl.Int64}),
        {},
        NOW,
        MODEL,
    )
    assert table.columns == hints.HINT_COLUMNS and table.is_empty()  # nothing stale, nothing growing in this history


SMALL = hints.HintPolicy(min_runs_for_scaling=3)  # these hand-made histories are short


def test_scaling_recommendations() -> None:
    busy = _runs(
        [_run("j", "SUCCESS", DAY1 + timedelta(minutes=i), 600, wait=300) for i in range(4)]  # 4 at once, 5 min waits
    )
    spark = _steps([("j", "payments__delinquency_evaluation", "SUCCESS", DAY1, 1800.0)])
    billed = pl.DataFrame(
        {"month": ["2026-03"], "asset_key": ["x/t"], "bytes_billed": [2000 * costs.TIB], "query_usd": [2000 * 6.25]}
    )
    table = hints.scaling_recommendations(
        busy,
        spark,
        billed,
        max_concurrent_runs=4,
        warehouse_pool_limit=1,
        warehouse_engine="bigquery",
        spark_steps="delinquency_evaluation",
        model=MODEL,
        policy=SMALL,
    )
    by = {row["resource"]: row for row in table.iter_rows(named=True)}
    assert by["run queue (max_concurrent_runs)"]["recommended"] == "8"
    assert by["pool caseworks_warehouse"]["recommended"] == "4"  # the measured peak
    assert by["Spark executors (steps matching 'delinquency_evaluation')"]["recommended"] == "6"  # 2 * 1800 / 600
    assert by["BigQuery pricing"]["recommended"] == "100-slot reservation"  # 12,500 USD > 4,380 USD
    quiet = _runs([_run("j", "SUCCESS", DAY1 + timedelta(hours=i), 60, wait=1) for i in range(3)])
    table = hints.scaling_recommendations(
        quiet,
        _steps([]),
        billed.with_columns(bytes_billed=pl.lit(costs.TIB), query_usd=pl.lit(6.25)),
        max_concurrent_runs=4,
        warehouse_pool_limit=1,
        warehouse_engine="duckdb",
        spark_steps="delinquency_evaluation",
        model=MODEL,
        policy=SMALL,
    )
    by = {row["resource"]: row for row in table.iter_rows(named=True)}
    assert by["run queue (max_concurrent_runs)"]["recommended"] == "1"
    assert "pool caseworks_warehouse" not in by
    assert by["BigQuery pricing"]["recommended"] == "on-demand"


def test_peak_concurrency_does_not_count_back_to_back_runs() -> None:
    runs = _runs([_run("j", "SUCCESS", DAY1, 60), _run("k", "SUCCESS", DAY1 + timedelta(seconds=60), 60)])
    assert hints.peak_concurrency(runs) == 1
    assert date(2026, 3, 1) == runs["day"][0]


def test_too_short_a_history_recommends_no_queue_or_pool_change() -> None:
    few = _runs([_run("j", "SUCCESS", DAY1 + timedelta(minutes=i), 600, wait=300) for i in range(4)])
    table = hints.scaling_recommendations(
        few,
        _steps([]),
        pl.DataFrame(
            schema={"month": pl.String, "asset_key": pl.String, "bytes_billed": pl.Int64, "query_usd": pl.Float64}
        ),
        max_concurrent_runs=4,
        warehouse_pool_limit=1,
        warehouse_engine="bigquery",
        spark_steps="delinquency_evaluation",
        model=MODEL,
    )
    assert table.is_empty()
