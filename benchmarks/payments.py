"""Bare-DuckDB baseline for the payments case: copy the same JSON files to Parquet, nothing else.

``read_json`` with auto-detected types straight into ``COPY ... TO parquet``:
the floor any JSON ingestion on this machine can reach. The measured run
(``RUN_ARGS``) is ingest + clean: that read plus position tracking, encryption
of restricted metadata, cleaning with quarantine, the blocking checks and the
warehouse loads; the runner divides its wall time by this one's.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from caseworks_assets.payments.reader import input_files

#: The issue's scope: ingest + clean (raw, cleaned, restricted and quarantine tables with their checks);
#: role extracts and the Spark delinquency step have benchmarks of their own scale and are left out.
INGEST_AND_CLEAN = (
    "raw_transactions",
    "raw_payments",
    "transactions",
    "transactions_quarantine",
    "payments",
    "payments_restricted",
    "payments_quarantine",
)
ENGINE = "duckdb"
RUN_ARGS = ["--select", " or ".join(f'key:"payments/{name}"' for name in INGEST_AND_CLEAN)]


def baseline(data_dir: Path, out_dir: Path) -> dict:
    """Copy every transactions/payments JSON file to Parquet with DuckDB; return wall time and rows."""
    start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for kind in ("transactions", "payments"):
            files = [str(p) for p in input_files(data_dir, kind)]
            target = out_dir / f"{kind}.parquet"
            con.execute(f"COPY (SELECT * FROM read_json(?)) TO '{target}' (FORMAT parquet)", [files])
            rows[kind] = con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]  # type: ignore[index]
    return {"wall_s": round(time.perf_counter() - start, 3), "what": "duckdb read_json -> parquet", "rows": rows}
