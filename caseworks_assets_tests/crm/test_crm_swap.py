"""Publishing a new snapshot while the API serves requests: no request fails, the new data is served after."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import duckdb
import httpx
import polars as pl
import uvicorn

from caseworks_assets.crm.api import create_app
from caseworks_assets.crm.queries import SnapshotReader
from caseworks_assets.crm.serving import snapshot_folder
from caseworks_assets.crm.store import ServingData, current_snapshot, publish_snapshot
from caseworks_assets_tests.conftest import free_port
from caseworks_assets_tests.crm.conftest import KEY


def _data(crm_out: Path, extra_emails: int) -> ServingData:
    """The fixture's serving data, with ``extra_emails`` more e-mails of customer 1."""
    path = current_snapshot(snapshot_folder(crm_out))
    with duckdb.connect(str(path), read_only=True) as con:
        customers = con.execute("select * from customers").pl()
        interactions = con.execute("select customer_id, channel, started_at, day, month, topic from interactions").pl()
    extra = pl.DataFrame(
        {
            "customer_id": [1] * extra_emails,
            "channel": ["Email"] * extra_emails,
            "started_at": [datetime(2019, 10, 20, 9, minute) for minute in range(extra_emails)],
        },
        schema={"customer_id": pl.Int64, "channel": pl.String, "started_at": pl.Datetime("us")},
    ).with_columns(
        pl.col("started_at").dt.date().alias("day"),
        pl.col("started_at").dt.date().dt.truncate("1mo").alias("month"),
        pl.lit("Mortgage").alias("topic"),
    )
    return ServingData.from_clean(customers, pl.concat([interactions, extra], how="vertical_relaxed"))


def test_snapshot_swap_under_load_fails_no_request_and_serves_the_new_data(crm_out: Path, tmp_path: Path) -> None:
    folder = tmp_path / "serving"
    first_version, _, _ = publish_snapshot(folder, _data(crm_out, 0))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(SnapshotReader(folder), [KEY]), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)
        stop = threading.Event()
        failures: list[str] = []
        emails: list[int] = []

        def hammer() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}) as c:
                while not stop.is_set():
                    response = c.get("/api/v1/interactions/1")
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                    else:
                        emails.append(response.json()["data"]["interactions"]["Email"])

        clients = [threading.Thread(target=hammer) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(0.3)
        versions = [publish_snapshot(folder, _data(crm_out, n))[0] for n in (5, 10)]
        time.sleep(0.3)
        stop.set()
        for client in clients:
            client.join(timeout=30)

        assert not failures, failures[:5]
        assert len(emails) > 20
        assert emails[0] == 1 and emails[-1] == 11  # old data before, the newest after
        assert set(emails) <= {1, 6, 11}  # every answer is one whole snapshot, never a mix
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["snapshot_version"] == versions[-1] != first_version
        assert len(list((folder / "snapshots").glob("*.duckdb"))) == 2  # the oldest went, the previous stays
    finally:
        server.should_exit = True
        thread.join(timeout=10)
