"""Bytes per table: DuckDB's table statistics locally, ``INFORMATION_SCHEMA.TABLE_STORAGE`` on BigQuery, lake files.

A table's asset key is ``<schema>/<table>`` (the warehouse schema is the case,
as is the lake's first folder), so the footprint joins the asset activity and
the cost model on one key.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

STORAGE_SCHEMA = {
    "layer": pl.String,
    "table_name": pl.String,
    "asset_key": pl.String,
    "rows": pl.Int64,
    "bytes": pl.Int64,
    "days_since_change": pl.Int64,
}

#: The production query (one region, the case datasets); logical bytes are what BigQuery bills by default.
BIGQUERY_STORAGE_SQL = """
SELECT
  table_schema,
  table_name,
  total_rows,
  active_logical_bytes + long_term_logical_bytes AS bytes,
  long_term_logical_bytes,
  DATE_DIFF(CURRENT_DATE(), DATE(storage_last_modified_time), DAY) AS days_since_change
FROM `{project}`.`region-{region}`.INFORMATION_SCHEMA.TABLE_STORAGE
WHERE table_schema IN UNNEST(@datasets) AND NOT deleted
"""


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=STORAGE_SCHEMA)


def duckdb_footprint(path: Path, schemas: list[str] | None = None) -> pl.DataFrame:
    """Rows and bytes of each base table in the DuckDB file: its distinct storage blocks times the block size.

    Views (tables published over lake files) hold no blocks: their bytes are
    the lake's. A missing file is an empty warehouse.
    """
    if not path.exists():
        return _frame([])
    rows = []
    # the configuration of the warehouse IO manager's connection: a run that holds the file open shares it
    with duckdb.connect(str(path), config={"custom_user_agent": "dagster"}) as connection:
        # tables written earlier in this run sit in the write-ahead log until a checkpoint; if another
        # connection is inside a transaction, what is on disk is measured
        with contextlib.suppress(duckdb.Error):
            connection.execute("CHECKPOINT")
        block_size = connection.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
        tables = connection.execute(
            "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT internal AND NOT temporary ORDER BY 1, 2"
        ).fetchall()
        for schema, table, estimated in tables:
            if schemas is not None and schema not in schemas:
                continue
            blocks = connection.execute(
                "SELECT count(DISTINCT block_id) FROM pragma_storage_info(?) WHERE persistent",
                [f'"{schema}"."{table}"'],
            ).fetchone()[0]
            rows.append(
                {
                    "layer": "warehouse",
                    "table_name": f"{schema}.{table}",
                    "asset_key": f"{schema}/{table}",
                    "rows": int(estimated),
                    "bytes": int(blocks) * int(block_size),
                    "days_since_change": None,
                }
            )
    return _frame(rows)


def lake_footprint(root: str, now: float | None = None) -> pl.DataFrame:
    """Bytes of the lake's files per table folder (``<case>/<table>...``), any filesystem fsspec knows."""
    import fsspec

    now = now or time.time()
    filesystem, base = fsspec.core.url_to_fs(root)
    if not filesystem.exists(base):
        return _frame([])
    sizes: dict[str, list[float]] = {}
    for name, info in filesystem.find(base, detail=True).items():
        parts = Path(name[len(base) :].lstrip("/")).parts
        if len(parts) < 2 or info.get("type") == "directory":
            continue
        table = f"{parts[0]}/{parts[1].split('.')[0]}"
        modified = info.get("mtime") or info.get("updated") or now
        modified = modified.timestamp() if isinstance(modified, datetime) else float(modified)
        entry = sizes.setdefault(table, [0, 0.0])
        entry[0] += int(info.get("size") or 0)
        entry[1] = max(entry[1], modified)
    rows = [
        {
            "layer": "lake",
            "table_name": table,
            "asset_key": table,
            "rows": None,
            "bytes": size,
            "days_since_change": int((now - modified) // 86400),
        }
        for table, (size, modified) in sorted(sizes.items())
    ]
    return _frame(rows)


def bigquery_footprint(project: str, region: str, datasets: list[str]) -> pl.DataFrame:  # pragma: no cover - cloud
    """The production footprint from ``INFORMATION_SCHEMA.TABLE_STORAGE`` (needs credentials and network)."""
    from google.cloud import bigquery

    client = bigquery.Client(project=project)
    job = client.query(
        BIGQUERY_STORAGE_SQL.format(project=project, region=region.lower()),
        job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ArrayQueryParameter("datasets", "STRING", datasets)]
        ),
    )
    rows = [
        {
            "layer": "warehouse",
            "table_name": f"{row.table_schema}.{row.table_name}",
            "asset_key": f"{row.table_schema}/{row.table_name}",
            "rows": row.total_rows,
            "bytes": row.bytes,
            "days_since_change": row.days_since_change,
        }
        for row in job.result()
    ]
    return _frame(rows)


def with_measured_at(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(measured_at=pl.lit(datetime.now(UTC)))


def dbt_bytes_billed(run_results: Path) -> pl.DataFrame:
    """Bytes billed per model from dbt's ``run_results.json`` (BigQuery's adapter response); empty when absent.

    The asset key is ``<schema>/<model name>`` as the dbt translator of the
    callcenter case names them; DuckDB runs report no bytes and yield nothing.
    """
    import json

    empty = pl.DataFrame(schema={"asset_key": pl.String, "bytes_billed": pl.Int64, "completed_at": pl.String})
    if not run_results.is_file():
        return empty
    document = json.loads(run_results.read_text(encoding="utf-8"))
    rows = []
    for result in document.get("results", []):
        billed = (result.get("adapter_response") or {}).get("bytes_billed")
        unique_id = result.get("unique_id", "")
        if billed is None or not unique_id.startswith("model."):
            continue
        timing = [t.get("completed_at") for t in result.get("timing", []) if t.get("completed_at")]
        package, name = unique_id.split(".")[1], unique_id.split(".")[-1]
        rows.append(
            {"asset_key": f"{package}/{name}", "bytes_billed": int(billed), "completed_at": max(timing, default=None)}
        )
    return pl.DataFrame(rows, schema=empty.schema) if rows else empty
