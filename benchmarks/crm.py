"""Benchmark of the crm case: the ETL against a bare polars program, then the API under load.

ETL: the case's run (read the export, clean with quarantine and checks, warehouse
tables, migrated serving snapshot) against :func:`baseline`, a bare program
reading the same files with the same reader, cleaning them with direct polars
expressions (no quarantine, no checks, no orchestration), writing the clean
tables as Parquet and the serving tables into a DuckDB file. The runner divides
the run's wall time by the baseline's.

API (:func:`after_runs`): ``caseworks serve crm`` is started on the published
snapshot; a bounded async ``httpx`` client sends ``GET /api/v1/interactions/{id}``
for random customers, :data:`CONCURRENCY` at a time, on loopback (5,000 requests at
1M interactions, fewer at small scale). Reported: p50, p99, requests per second, the
client's own CPU per request (client and server share the machine's cores),
next to the same question asked directly of the store (no HTTP): its SQL, and the snapshot's
in-memory channel counts the API answers it from.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

from caseworks_assets.crm import reader
from caseworks_assets.crm.rules import DATE_START_FORMATS

CONCURRENCY = 16
KEY = "benchmark-key"


def _clean_interactions(raw: pl.DataFrame, customers: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    text = pl.col("channel").str.strip_chars().str.replace_all(r"\s+", " ")
    started = pl.coalesce(
        [
            pl.col("date_start").str.strip_chars().str.strptime(pl.Datetime("us"), f, strict=False)
            for f in DATE_START_FORMATS
        ]
    )
    return (
        raw.select(
            pl.col("customer_id").str.strip_chars().str.replace(r"\.0*$", "").cast(pl.Int64, strict=False),
            (text.str.slice(0, 1).str.to_uppercase() + text.str.slice(1).str.to_lowercase()).alias("channel"),
            started.alias("started_at"),
        )
        .filter(
            pl.col("started_at").is_not_null()
            & pl.col("channel").str.contains(r"^[A-Z][a-z0-9]*(?:[ -][a-z0-9]+)*$")
            & ~pl.col("channel").str.to_lowercase().is_in(["unknown", "n/a", "na", "none", "null", "nan"])
            & pl.col("customer_id").is_in(customers["customer_id"].implode())
        )
        .unique(["customer_id", "started_at", "channel"], keep="first", maintain_order=True)
        .with_columns(pl.col("started_at").dt.date().alias("day"))
        .with_columns(pl.col("day").dt.truncate("1mo").alias("month"))
        .join(products.rename({"product": "topic"}), on="month", how="left")
    )


def baseline(data_dir: Path, out_dir: Path) -> dict:
    """Read, clean and write the same export with plain polars (and DuckDB for the serving file)."""
    start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = {table: reader.read_table(data_dir, table) for table in ("customers", "products", "interactions")}
    customers = (
        raw["customers"]
        .select(
            pl.col("customer_id").str.strip_chars().str.replace(r"\.0*$", "").cast(pl.Int64, strict=False),
            pl.col("occupation").str.strip_chars().replace("", None),
            pl.col("customer_type").str.strip_chars().replace("", None),
        )
        .drop_nulls("customer_id")
        .unique("customer_id", keep="first", maintain_order=True)
    )
    products = (
        raw["products"]
        .select(
            ("01-" + pl.col("month").str.strip_chars()).str.strptime(pl.Date, "%d-%m-%Y", strict=False).alias("month"),
            pl.col("product").str.strip_chars(),
        )
        .drop_nulls()
        .unique("month", keep="first", maintain_order=True)
    )
    interactions = _clean_interactions(raw["interactions"], customers, products)
    for name, frame in (("customers", customers), ("products", products), ("interactions", interactions)):
        frame.write_parquet(out_dir / f"{name}.parquet")
    with duckdb.connect(str(out_dir / "serving.duckdb")) as con:
        con.execute("CREATE TABLE customers AS SELECT * FROM customers ORDER BY customer_id")
        con.execute("CREATE TABLE interactions AS SELECT * FROM interactions ORDER BY customer_id, started_at")
    return {
        "wall_s": round(time.perf_counter() - start, 3),
        "what": "polars read-clean-write (parquet + DuckDB serving file)",
        "rows": {"customers": customers.height, "interactions": interactions.height},
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def _load(port: int, ids: list[int]) -> tuple[list[float], float, int, float]:
    """Send ``GET /api/v1/interactions/{id}`` for every id, :data:`CONCURRENCY` at a time.

    :data:`CONCURRENCY` workers share one queue of ids (not one task per request); each worker keeps one
    keep-alive connection in an ``httpx.AsyncClient`` of its own (a pool of one), so the client holds
    :data:`CONCURRENCY` connections and never more than :data:`CONCURRENCY` requests in flight. One client
    with a pool of :data:`CONCURRENCY` connections asks the same, but httpcore's pool scans every connection
    -- polling each idle socket -- whenever a request starts or ends: measured, that tripled the client's
    CPU per request (1.3 ms against 0.5 ms), and on cores shared with the server the client's own queueing
    was the latency tail. Returns the latencies in ms (each request timed from send to its whole answer),
    the wall seconds, the number of non-200 answers and the client's CPU seconds.
    """
    import httpx

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    latencies: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {KEY}"}
    base_url = f"http://127.0.0.1:{port}"
    clients = [httpx.AsyncClient(base_url=base_url, limits=limits, headers=headers) for _ in range(CONCURRENCY)]

    # every request is built once, before the clock starts (URL parsing and header merging are not the API's time)
    requests = {
        customer_id: clients[0].build_request("GET", f"/api/v1/interactions/{customer_id}") for customer_id in ids
    }

    async def worker(client: httpx.AsyncClient, queue: list[int]) -> None:
        nonlocal failures
        while queue:
            customer_id = queue.pop()
            begin = time.perf_counter()
            response = await client.send(requests[customer_id])
            latencies.append((time.perf_counter() - begin) * 1000)
            failures += response.status_code != 200

    try:
        # warm the connections and the server's first queries
        await asyncio.gather(
            *(worker(client, [customer_id]) for client, customer_id in zip(clients, ids, strict=False))
        )
        latencies.clear()
        failures = 0
        queue = list(reversed(ids))
        # This process read Dagster's event log and queried the store before: left in the collector's generations,
        # that heap made one full collection during the load stall every request in flight for about 180 ms.
        gc.collect()
        gc.freeze()
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(client, queue) for client in clients))
        return latencies, time.perf_counter() - start, failures, time.process_time() - cpu
    finally:
        gc.unfreeze()
        for client in clients:
            await client.aclose()


def _event_loop_run(coroutine):
    """Run ``coroutine`` on uvloop when installed (uvicorn's own loop, also cheaper for the client), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def after_runs(data_dir: Path, out_dir: Path, rows: int) -> dict:
    """Serve the published snapshot and load it; the same queries directly on the store for comparison."""
    from caseworks_assets.crm import queries
    from caseworks_assets.crm.serving import snapshot_folder

    folder = snapshot_folder(out_dir)
    store = queries.SnapshotReader(folder)
    customers = [row[0] for row in store.rows("SELECT customer_id FROM customers", {})]
    count = min(5000, max(100, rows // 200))
    rng = random.Random(42)
    ids = [rng.choice(customers) for _ in range(count)]

    direct, in_memory = [], []
    for customer_id in ids:  # the SQL on the store, as a request with a day range or a topic asks it
        begin = time.perf_counter()
        queries.customer_interactions_sql(store, customer_id, queries.Filters())
        direct.append((time.perf_counter() - begin) * 1000)
    queries.channel_counts(store)  # built once per snapshot, as the server does on its first request
    for customer_id in ids:  # the snapshot's in-memory counts, as the API answers this unfiltered request
        begin = time.perf_counter()
        queries.customer_interactions(store, customer_id, queries.Filters())
        in_memory.append((time.perf_counter() - begin) * 1000)

    port = _free_port()
    env = {**os.environ, "CASEWORKS_CRM_API_KEYS": KEY, "CASEWORKS_CRM_DATABASE_URL": ""}
    command = [sys.executable, "-m", "caseworks_assets.cli", "serve", "crm", "--out-dir", str(out_dir)]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("caseworks serve crm did not start")
            time.sleep(0.1)
        latencies, seconds, failures, client_cpu = _event_loop_run(_load(port, ids))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "api": {
            "requests": count,
            "concurrency": CONCURRENCY,
            "failed": failures,
            "p50_ms": _percentile(latencies, 0.50),
            "p99_ms": _percentile(latencies, 0.99),
            "mean_ms": round(statistics.fmean(latencies), 2),
            "requests_per_s": round(count / seconds, 1),
            "client_cpu_ms_per_request": round(client_cpu / count * 1000, 3),
            "direct_store_p50_ms": _percentile(direct, 0.50),
            "direct_store_p99_ms": _percentile(direct, 0.99),
            "direct_in_memory_counts_p50_ms": _percentile(in_memory, 0.50),
            "targets": {"p99_ms": 50, "requests_per_s": 500},
        }
    }
