"""The BigQuery warehouse IO manager (production): polars frames in, polars frames out.

Kept apart from :mod:`~caseworks_assets.resources.warehouse` because importing
``dagster_gcp`` (and through it ``google.cloud.bigquery`` and pandas) costs half
a second that a local run, which never talks to BigQuery, should not pay.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_gcp import BigQueryIOManager
from dagster_gcp_pandas import BigQueryPandasTypeHandler

from caseworks_assets.resources.lake_tables import BigQueryLakeTableTypeHandler, wants_lazy


class BigQueryPolarsTypeHandler(DbTypeHandler[pl.DataFrame | pl.LazyFrame]):
    """Stores polars frames in BigQuery through the maintained pandas handler (a lazy frame is collected)."""

    def __init__(self) -> None:
        self._pandas = BigQueryPandasTypeHandler()

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame | pl.LazyFrame, connection
    ):
        frame = obj.collect() if isinstance(obj, pl.LazyFrame) else obj
        return self._pandas.handle_output(context, table_slice, frame.to_pandas(), connection)

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pl.DataFrame | pl.LazyFrame:
        frame = pl.from_pandas(self._pandas.load_input(context, table_slice, connection))
        return frame.lazy() if wants_lazy(context) else frame

    @property
    def supported_types(self) -> Sequence[type]:
        return [pl.DataFrame, pl.LazyFrame]


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


__all__ = ["BigQueryPolarsIOManager", "BigQueryPolarsTypeHandler"]
