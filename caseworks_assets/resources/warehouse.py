"""Warehouse IO managers: DuckDB on a laptop, BigQuery in production.

Assets return polars frames and name their schema through their key prefix
(``support/support_report`` lands in ``support.support_report``, a BigQuery
dataset per case). Both IO managers are single definitions selected by
``CASEWORKS_ENV``. The BigQuery one lives in
:mod:`~caseworks_assets.resources.bigquery` and is imported on first use
(``from caseworks_assets.resources.warehouse import BigQueryPolarsIOManager``
still works), so local runs do not pay for importing the Google Cloud client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster_duckdb_polars import DuckDBPolarsIOManager

from caseworks_assets.settings import environment

if TYPE_CHECKING:
    from caseworks_assets.resources.bigquery import BigQueryPolarsIOManager, BigQueryPolarsTypeHandler

#: The warehouse's kind tag in the UI, following the environment the definitions load in.
WAREHOUSE_KIND = "bigquery" if environment() == "prod" else "duckdb"

#: Pool that serializes warehouse writes: DuckDB allows one writer per file, so
#: a multi-partition backfill must not open it from several processes at once.
WAREHOUSE_POOL = "caseworks_warehouse"

_BIGQUERY_NAMES = ("BigQueryPolarsIOManager", "BigQueryPolarsTypeHandler")


def __getattr__(name: str) -> Any:
    """The BigQuery classes, imported from their module the first time they are asked for."""
    if name in _BIGQUERY_NAMES:
        from caseworks_assets.resources import bigquery

        return getattr(bigquery, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "WAREHOUSE_KIND",
    "WAREHOUSE_POOL",
    "BigQueryPolarsIOManager",
    "BigQueryPolarsTypeHandler",
    "DuckDBPolarsIOManager",
]
