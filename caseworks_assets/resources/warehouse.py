"""Warehouse IO managers: DuckDB on a laptop, BigQuery in production.

Assets return polars frames and name their schema through their key prefix
(``support/support_report`` lands in ``support.support_report``, a BigQuery
dataset per case). Both IO managers are single definitions selected by
``CASEWORKS_ENV``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import polars as pl
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_duckdb_polars import DuckDBPolarsIOManager
from dagster_gcp import BigQueryIOManager
from dagster_gcp_pandas import BigQueryPandasTypeHandler

from caseworks_assets.resources.lake_tables import BigQueryLakeTableTypeHandler

#: The warehouse's kind tag in the UI, following the environment the definitions load in.
WAREHOUSE_KIND = "bigquery" if os.environ.get("CASEWORKS_ENV", "local").strip() == "prod" else "duckdb"

#: Pool that serializes warehouse writes: DuckDB allows one writer per file, so
#: a multi-partition backfill must not open it from several processes at once.
WAREHOUSE_POOL = "caseworks_warehouse"


class BigQueryPolarsTypeHandler(DbTypeHandler[pl.DataFrame]):
    """Stores polars frames in BigQuery through the maintained pandas handler."""

    def __init__(self) -> None:
        self._pandas = BigQueryPandasTypeHandler()

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection):
        return self._pandas.handle_output(context, table_slice, obj.to_pandas(), connection)

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pl.DataFrame:
        return pl.from_pandas(self._pandas.load_input(context, table_slice, connection))

    @property
    def supported_types(self) -> Sequence[type]:
        return [pl.DataFrame]


class BigQueryPolarsIOManager(BigQueryIOManager):
    """BigQuery IO manager whose assets exchange polars frames."""

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [BigQueryPolarsTypeHandler(), BigQueryPandasTypeHandler(), BigQueryLakeTableTypeHandler()]

    @staticmethod
    def default_load_type() -> type:
        return pl.DataFrame


__all__ = ["WAREHOUSE_KIND", "WAREHOUSE_POOL", "BigQueryPolarsIOManager", "DuckDBPolarsIOManager"]
