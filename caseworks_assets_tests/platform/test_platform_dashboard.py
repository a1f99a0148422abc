"""The dashboard opens offline in headless Chromium with every chart drawn and a clean console."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from caseworks_assets.platform.assets import write_dashboard
from caseworks_assets.platform.dashboard import render_dashboard
from caseworks_assets.platform.kpis import job_reliability

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CHARTS = ["runs_per_day", "p95_duration", "cost_per_asset", "storage_growth"]


def _page(tmp_path: Path) -> Path:
    start = datetime(2026, 2, 20, tzinfo=UTC)
    rows = [
        {
            "job_name": f"job_{i % 3}",
            "status": "FAILURE" if i % 5 == 0 else "SUCCESS",
            "started_at": start + timedelta(hours=9 * i),
            "duration_s": float(10 + i),
        }
        for i in range(30)
    ]
    runs = pl.DataFrame(rows).with_columns(day=pl.col("started_at").dt.date())
    activity = pl.DataFrame(
        {
            "timestamp": [start + timedelta(days=d) for d in range(10)],
            "asset_key": ["a/t"] * 10,
            "event": ["materialization"] * 10,
            "bytes": [1000 * (d + 1) for d in range(10)],
        }
    ).with_columns(day=pl.col("timestamp").dt.date())
    costs = pl.DataFrame(
        {"month": ["2026-02", "2026-03", "2026-03"], "asset_key": ["a/t", "a/t", "b/u"], "total_usd": [1.5, 2.0, 0.5]}
    )
    page = render_dashboard(
        generated_at=datetime(2026, 3, 1, tzinfo=UTC),
        figures={"runs": "30", "success rate": "80.0%"},
        runs=runs,
        reliability=job_reliability(runs),
        costs=costs,
        activity=activity,
        current_bytes=12_000,
        hints=pl.DataFrame({"kind": ["growing_table"], "subject": ["a/t"], "estimated_saving_usd_month": [0.5]}),
        recommendations=pl.DataFrame({"resource": ["run queue"], "current": ["4"], "recommended": ["8"]}),
    )
    return write_dashboard(tmp_path / "platform", page)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")
def test_dashboard_renders_every_chart_offline_without_console_errors(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = _page(tmp_path)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(path.as_uri())
            for chart in CHARTS:
                box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
                assert box is not None and box["width"] > 0 and box["height"] > 0, chart
            drawn = page.locator('svg[data-chart="runs_per_day"] rect').count()
            assert drawn >= 10  # bars per day and status, not an empty frame
            assert page.locator('svg[data-chart="storage_growth"] circle').count() == 10  # one per day
            assert page.locator('table[data-table="hints"] tbody tr').count() == 1
            assert "11.7 KiB" in page.content()  # the measured footprint is a key figure
        finally:
            browser.close()
    assert errors == []
    assert requests == [path.as_uri()]  # the page fetched nothing else
