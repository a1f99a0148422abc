"""The Dagster UI in a real browser: Debian's Chromium driven by Playwright.

``dagster dev`` (webserver and daemon) serves the code location over a small
demo instance: ``caseworks run support`` has run once into it. The browser
then does what a user does: reads the lineage, a table's columns with their
classifications and its checks, a partitions view, and materializes an asset
with the "Materialize" button. Screenshots go to ``test-output/browser/``
(ignored by git).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests

from caseworks_assets.code_location import build_definitions
from caseworks_assets.instance import ensure_dagster_home
from caseworks_assets.registry import registered_cases
from caseworks_assets.settings import Settings
from caseworks_assets_tests.conftest import free_port
from caseworks_assets_tests.deploy.servers import PROJECT_ROOT, Process, wait_until

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "browser"
REPORT = dg.AssetKey(["support", "support_report"])
PARTITIONED = dg.AssetKey(["ouchhungry", "daily_sales"])
TO_MATERIALIZE = dg.AssetKey(["ouchhungry", "raw_products"])  # unpartitioned, no upstream: one cheap step


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dagster dev`` on 127.0.0.1 over a demo instance where support has run; yields the UI's URL."""
    work = tmp_path_factory.mktemp("browser")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORKS_", "DAGSTER_"))}
    env = {
        **keep,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "CASEWORKS_OUT_DIR": str(work / "out"),
        "CASEWORKS_DATA_DIR": str(work / "data"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        ensure_dagster_home()  # the caseworks instance config, as `caseworks ui` writes it
    finally:
        os.environ.clear()
        os.environ.update(saved)
    cli = [sys.executable, "-m", "caseworks_assets.cli"]
    subprocess.run([*cli, "sample", "support", "--out", str(work / "data" / "support"), "--rows", "200"],
                   env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)  # fmt: skip
    subprocess.run([*cli, "run", "support", "--out-dir", str(work / "out")],
                   env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)  # fmt: skip
    port = free_port()
    dev = Process(
        "dagster-dev",
        [str(Path(sys.executable).with_name("dagster")), "dev", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(PROJECT_ROOT / "workspace.yaml")],
        env,
        work,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:

        def serving() -> bool:
            dev.check_alive()
            try:
                return requests.get(f"{url}/server_info", timeout=2).ok
            except requests.ConnectionError:
                return False

        wait_until(serving, 240, "dagster dev to serve the UI", interval=2)
        yield url
    finally:
        dev.stop()


FIRST_VISIT_DIALOG = "Join the Dagster community"


def _handle_first_visit_dialog(page) -> None:
    """Dagster's first-visit dialog (community, newsletter) covers the page: skip it whenever it shows."""
    skip = page.get_by_role("button", name="Skip", exact=True)
    page.add_locator_handler(page.get_by_text(FIRST_VISIT_DIALOG), lambda: skip.click())
    try:  # it opens a moment after the first page: skip it there, so screenshots show the page
        skip.wait_for(state="visible", timeout=20_000)
    except Exception:
        return
    skip.click()
    expect_hidden = page.get_by_text(FIRST_VISIT_DIALOG)
    expect_hidden.wait_for(state="hidden", timeout=10_000)


def _goto(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")


def _run_status(url: str, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    body = requests.post(f"{url}/graphql", json={"query": query, "variables": {"id": run_id}}, timeout=60).json()
    return body["data"]["runOrError"]["status"]


def _run_ids(url: str) -> set[str]:
    query = "query { runsOrError { ... on Runs { results { runId } } } }"
    body = requests.post(f"{url}/graphql", json={"query": query}, timeout=60).json()
    return {run["runId"] for run in body["data"]["runsOrError"]["results"]}


def test_ui_in_chromium_shows_lineage_schema_checks_partitions_and_materializes(ui: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    defs = build_definitions(Settings.from_env())
    checks = sorted(key.name for key in defs.resolve_asset_graph().asset_check_keys if key.asset_key == REPORT)
    report_spec = next(spec for spec in defs.resolve_all_asset_specs() if spec.key == REPORT)
    columns = report_spec.metadata["dagster/column_schema"].columns
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)

            # the global lineage: one group per registered case
            _goto(page, f"{ui}/asset-groups")
            _handle_first_visit_dialog(page)
            for case in registered_cases():
                expect(page.get_by_text(case, exact=True).first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "lineage.png")

            # support_report: its column schema with each column's classification, then its checks
            _goto(page, f"{ui}/assets/{REPORT.to_user_string()}")
            for column in columns:
                expect(page.get_by_text(column.name, exact=True).first).to_be_visible()
            for classification in {column.tags["classification"] for column in columns}:
                expect(page.get_by_text(re.compile(rf"\b{classification}\b")).first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "support_report_columns.png", full_page=True)
            _goto(page, f"{ui}/assets/{REPORT.to_user_string()}?view=checks")
            for check in checks:
                expect(page.get_by_text(check, exact=True).first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "support_report_checks.png", full_page=True)

            # a partitioned asset's partitions view
            _goto(page, f"{ui}/assets/{PARTITIONED.to_user_string()}?view=partitions")
            expect(page.get_by_text(re.compile(r"partitions", re.IGNORECASE)).first).to_be_visible()
            expect(page.get_by_text(re.compile(r"\d{4}-\d{2}-\d{2}")).first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "daily_sales_partitions.png", full_page=True)

            # "Materialize" on an unpartitioned asset; the run it launches succeeds
            _goto(page, f"{ui}/assets/{TO_MATERIALIZE.to_user_string()}")
            before = _run_ids(ui)
            materialize = page.locator("button", has_text=re.compile(r"^\s*Materialize\s*$")).first
            expect(materialize).to_be_enabled()
            page.screenshot(path=SCREENSHOTS / "raw_products.png")
            materialize.click()
            new_runs = wait_until(lambda: _run_ids(ui) - before, 60, "the run launched by Materialize", interval=1)
            (run_id,) = new_runs
            status = wait_until(
                lambda: (s := _run_status(ui, run_id)) in {"SUCCESS", "FAILURE", "CANCELED"} and s,
                300,
                f"run {run_id} launched from the UI to finish",
                interval=2,
            )
            _goto(page, f"{ui}/runs/{run_id}")
            expect(page.get_by_text("Success").first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / "materialize_run.png")
            assert status == "SUCCESS"
        finally:
            browser.close()
