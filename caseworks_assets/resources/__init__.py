"""Every resource and IO manager of the code location, each defined once.

``build_resources`` builds from a :class:`~caseworks_assets.settings.Settings`
alone (secrets as ``EnvVar``) and returns the resource dictionary for ``Definitions``. The
keys are the contract the assets rely on:

* ``io_manager`` -- the warehouse (DuckDB file locally, BigQuery in prod); one
  schema/dataset per case, taken from the asset key prefix.
* ``lake_io_manager`` -- Parquet under the lake root (folder or ``gs://``).
* ``lake`` -- the same root for assets that manage lake files themselves.
* ``inputs`` / ``outputs`` -- per-case input folders and export folders.
* ``spark`` -- a lazily started Spark session (``local[*]`` or a cluster master).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import EnvVar
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler

from caseworks_assets.governance.keys import privacy_resource
from caseworks_assets.resources.files import CaseInputs, CaseOutputs
from caseworks_assets.resources.lake import LakeIOManager, LakeResource
from caseworks_assets.resources.lake_tables import (
    DuckDBLakeTableTypeHandler,
    DuckDBLakeViewPolarsTypeHandler,
    LakeTable,
    LakeViewDuckDbClient,
)
from caseworks_assets.resources.warehouse import (
    SERVING_STORE_KIND,
    WAREHOUSE_KIND,
    WAREHOUSE_POOL,
    DuckDBPolarsIOManager,
)
from caseworks_assets.settings import GCP_CREDENTIALS_ENV, Settings, case_data_env

if TYPE_CHECKING:
    from dagster_pyspark import LazyPySparkResource

    from caseworks_assets.resources.bigquery import BigQueryPolarsIOManager


class LocalWarehouseIOManager(DuckDBPolarsIOManager):
    """The DuckDB warehouse; creates the file's folder on first use, not at import."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        """Polars frames (views over lake files read from the file), plus :class:`LakeTable` outputs."""
        return [DuckDBLakeViewPolarsTypeHandler(), DuckDBLakeTableTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return self._io_manager(LakeViewDuckDbClient())

    @contextmanager
    def yield_for_execution(self, context) -> Iterator[DbIOManager]:
        """For a run (in-process: all its steps; multi-process: one step), the warehouse file stays open.

        Opened by the first load or store and closed when the run or step
        ends, failed or not. Until then another process opening the file
        waits for it: Dagster's client retries for up to about 100 s.
        """
        client = LakeViewDuckDbClient(keep_open=True)
        self.setup_for_execution(context)
        try:
            yield self._io_manager(client)
        finally:
            client.close()
            self.teardown_after_execution(context)

    def _io_manager(self, client: LakeViewDuckDbClient) -> DbIOManager:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return DbIOManager(
            db_client=client,
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
        gcp_credentials=EnvVar(GCP_CREDENTIALS_ENV) if settings.has_secret(GCP_CREDENTIALS_ENV) else None,
    )


def spark_resource(settings: Settings) -> LazyPySparkResource:
    """Spark on ``local[*]`` by default, a cluster master through ``CASEWORKS_SPARK_MASTER``."""
    from dagster_pyspark import LazyPySparkResource

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


def _delivery(name: str, settings: Settings) -> Any:
    """A delivery channel resource, from the settings (unset host/URL -> the outbox under ``<out_dir>``)."""
    from caseworks_assets.resources import delivery

    return getattr(delivery, name).from_settings(settings)


def _outbox(settings: Settings) -> Any:
    from caseworks_assets.resources.delivery import OutboxResource

    return OutboxResource(root=str(settings.out_dir / "outbox"))


def build_resources(settings: Settings | None = None, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The resource dictionary for ``Definitions``, from ``settings``: every resource, or those in ``keys``.

    A resource is built, and its library (Spark, SSH, HTTP) imported, only
    when asked for: a command about one case binds what that case requires.
    """
    settings = settings or Settings.from_env()
    overrides = {case: str(folder) for case, folder in settings.case_data_dirs if folder != settings.data_dir / case}
    factories: dict[str, Callable[[], Any]] = {
        "io_manager": lambda: warehouse_io_manager(settings),
        "lake_io_manager": lambda: LakeIOManager(root=settings.lake_root),
        "lake": lambda: LakeResource(root=settings.lake_root),
        "inputs": lambda: CaseInputs(root=str(settings.data_dir), overrides=overrides),
        "outputs": lambda: CaseOutputs(root=str(settings.out_dir)),
        "spark": lambda: spark_resource(settings),
        # pseudonym key and encryption key ring (governance), EnvVars
        "privacy": lambda: privacy_resource(settings),
        # delivery channels
        "sftp": lambda: _delivery("SFTPResource", settings),
        "partner_api": lambda: _delivery("PartnerAPIResource", settings),
        "smtp": lambda: _delivery("SMTPResource", settings),
        "outbox": lambda: _outbox(settings),
    }
    wanted = set(factories if keys is None else keys)
    return {key: build() for key, build in factories.items() if key in wanted}


__all__ = [
    "SERVING_STORE_KIND",
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
