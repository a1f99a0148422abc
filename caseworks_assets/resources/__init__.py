"""Every resource and IO manager of the code location, each defined once.

``build_resources`` reads :class:`~caseworks_assets.settings.Settings` (that is,
the environment) and returns the resource dictionary for ``Definitions``. The
keys are the contract the assets rely on:

* ``io_manager`` -- the warehouse (DuckDB file locally, BigQuery in prod); one
  schema/dataset per case, taken from the asset key prefix.
* ``lake_io_manager`` -- Parquet under the lake root (folder or ``gs://``).
* ``lake`` -- the same root for assets that manage lake files themselves.
* ``inputs`` / ``outputs`` -- per-case input folders and export folders.
* ``spark`` -- a lazily started Spark session (``local[*]`` or a cluster master).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import EnvVar
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler
from dagster_pyspark import LazyPySparkResource

from caseworks_assets.governance.keys import privacy_resource
from caseworks_assets.resources.delivery import OutboxResource, PartnerAPIResource, SFTPResource, SMTPResource
from caseworks_assets.resources.files import CaseInputs, CaseOutputs
from caseworks_assets.resources.lake import LakeIOManager, LakeResource
from caseworks_assets.resources.lake_tables import (
    DuckDBLakeTableTypeHandler,
    DuckDBLakeViewPolarsTypeHandler,
    LakeTable,
    LakeViewDuckDbClient,
)
from caseworks_assets.resources.warehouse import WAREHOUSE_KIND, WAREHOUSE_POOL, DuckDBPolarsIOManager
from caseworks_assets.settings import Settings, case_data_env

if TYPE_CHECKING:
    from caseworks_assets.resources.bigquery import BigQueryPolarsIOManager


class LocalWarehouseIOManager(DuckDBPolarsIOManager):
    """The DuckDB warehouse; creates the file's folder on first use, not at import."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        """Polars frames (views over lake files read from the file), plus :class:`LakeTable` outputs."""
        return [DuckDBLakeViewPolarsTypeHandler(), DuckDBLakeTableTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return DbIOManager(
            db_client=LakeViewDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="DuckDBIOManager",
        )


def warehouse_io_manager(settings: Settings) -> DuckDBPolarsIOManager | BigQueryPolarsIOManager:
    """The warehouse IO manager for the environment in ``settings``."""
    if settings.env == "local":
        return LocalWarehouseIOManager(database=str(settings.warehouse_path))
    from caseworks_assets.resources.bigquery import BigQueryPolarsIOManager  # imported only where BigQuery is used

    return BigQueryPolarsIOManager(
        project=settings.bigquery_project,
        location=settings.bigquery_location,
        gcp_credentials=EnvVar("CASEWORKS_GCP_CREDENTIALS") if settings.gcp_credentials else None,
    )


def spark_resource(settings: Settings) -> LazyPySparkResource:
    """Spark on ``local[*]`` by default, a cluster master through ``CASEWORKS_SPARK_MASTER``."""
    return LazyPySparkResource(
        spark_config={
            "spark.master": settings.spark_master,
            "spark.app.name": "caseworks",
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "8",
        }
    )


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """The resource dictionary for ``Definitions``, from the environment."""
    settings = settings or Settings.from_env()
    from caseworks_assets.registry import case_names

    overrides = {
        case: str(settings.case_data_dir(case))
        for case in case_names()
        if settings.case_data_dir(case) != settings.data_dir / case
    }
    return {
        "io_manager": warehouse_io_manager(settings),
        "lake_io_manager": LakeIOManager(root=settings.lake_root),
        "lake": LakeResource(root=settings.lake_root),
        "inputs": CaseInputs(root=str(settings.data_dir), overrides=overrides),
        "outputs": CaseOutputs(root=str(settings.out_dir)),
        "spark": spark_resource(settings),
        # pseudonym key and encryption key ring (governance), from the environment
        "privacy": privacy_resource(),
        # delivery channels (unset host/URL -> the outbox under <out_dir>/outbox)
        "sftp": SFTPResource.from_env(),
        "partner_api": PartnerAPIResource.from_env(),
        "smtp": SMTPResource.from_env(),
        "outbox": OutboxResource(root=str(settings.out_dir / "outbox")),
    }


__all__ = [
    "WAREHOUSE_KIND",
    "WAREHOUSE_POOL",
    "CaseInputs",
    "CaseOutputs",
    "LakeIOManager",
    "LakeResource",
    "LakeTable",
    "build_resources",
    "case_data_env",
    "spark_resource",
    "warehouse_io_manager",
]
