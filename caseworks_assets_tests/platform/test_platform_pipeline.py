"""The platform job on a small instance made through Dagster: the KPIs by hand, the tables, the dashboard file."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from caseworks_assets.code_location import build_definitions
from caseworks_assets.instance import get_instance
from caseworks_assets.platform.kpis import kpi_value
from caseworks_assets.settings import Settings
from caseworks_assets_tests.platform.kit import run_tiny


def _table(settings: Settings, name: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.sql(f"select * from platform.{name}").pl()


@pytest.mark.slow
def test_platform_job_reports_the_instance_history(caseworks_env: Settings) -> None:
    instance = get_instance()
    assert run_tiny(instance).success
    assert run_tiny(instance).success
    failed = run_tiny(instance, fail=True)
    assert not failed.success
    today = datetime.now(UTC).date().isoformat()

    defs = build_definitions(caseworks_env, cases=["platform"])
    result = defs.resolve_job_def("platform_job").execute_in_process(instance=instance, partition_key=today)
    assert result.success

    runs = _table(caseworks_env, "run_history")
    tiny = runs.filter(pl.col("job_name") == "tiny_job")
    assert tiny.height == 3
    assert sorted(tiny["status"].to_list()) == ["FAILURE", "SUCCESS", "SUCCESS"]
    assert tiny["case"].to_list() == ["tiny"] * 3
    assert tiny["queue_wait_s"].null_count() == 3  # executed in process: never queued, so no wait, not zero
    assert (tiny["duration_s"] > 0).all()

    kpis = _table(caseworks_env, "kpis")
    # by hand: 2 of the 3 finished tiny runs succeeded; the platform run itself is still running (not counted)
    assert kpi_value(kpis, "success_rate", "tiny_job") == pytest.approx(2 / 3)
    assert kpi_value(kpis, "failures", "all", today) == 1
    # the check failed in both successful runs (the failed run never reached the report)
    assert kpi_value(kpis, "checks_failed") == 2
    durations = sorted(tiny["duration_s"].to_list())
    assert kpi_value(kpis, "p50_duration", "tiny_job") == pytest.approx(durations[1])
    p95 = durations[1] + 0.9 * (durations[2] - durations[1])  # linear interpolation at 0.95 * (3 - 1)
    assert kpi_value(kpis, "p95_duration", "tiny_job") == pytest.approx(p95)

    steps = _table(caseworks_env, "step_history").filter(pl.col("job_name") == "tiny_job")
    assert steps.group_by("status").len().sort("status").rows() == [("FAILURE", 1), ("SUCCESS", 4)]
    activity = _table(caseworks_env, "asset_activity")
    written = activity.filter((pl.col("event") == "materialization") & (pl.col("asset_key") == "tiny/source"))
    assert written["rows"].to_list() == [10, 10] and written["bytes"].to_list() == [1000, 1000]

    footprint = _table(caseworks_env, "storage_footprint")
    assert footprint.filter(pl.col("asset_key") == "platform/run_history")["bytes"][0] > 0
    costs = _table(caseworks_env, "cost_estimates")
    assert costs.filter(pl.col("asset_key") == "tiny/source")["cpu_seconds"][0] > 0

    page = (caseworks_env.out_dir / "platform" / "dashboard.html").read_text()
    for chart in ("runs_per_day", "p95_duration", "cost_per_asset", "storage_growth"):
        assert f'data-chart="{chart}"' in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch: it opens offline
    figures = next(
        e.event_specific_data.materialization.metadata["key_figures"].value
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.to_user_string() == "platform/dashboard"
    )
    assert "**failed runs**: 1" in figures
