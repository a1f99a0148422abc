"""The crm serving store as a Dagster resource: PostgreSQL when a URL is set, else DuckDB snapshots."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster import ConfigurableResource

from caseworks_assets.crm.columns import CASE
from caseworks_assets.crm.store import ServingData, load_postgres, publish_snapshot
from caseworks_assets.resources.warehouse import SERVING_STORE_KIND
from caseworks_assets.settings import CRM_DATABASE_URL_ENV, Settings

SERVING_FOLDER = "serving"
#: The serving store's kind tag in the UI; the code location names the store the settings choose
#: (``Settings.crm_serving_kind``: PostgreSQL in deployment or whenever its URL is set, else DuckDB).
SERVING_KIND = SERVING_STORE_KIND


def snapshot_folder(out_dir: Path) -> Path:
    """Where the DuckDB snapshots and their pointer live: ``<out_dir>/crm/serving``."""
    return out_dir / CASE / SERVING_FOLDER


class CrmServing(ConfigurableResource):
    """Where the crm API's data is published (``CASEWORKS_CRM_DATABASE_URL``; unset: snapshots under ``out_root``)."""

    database_url: str = ""
    out_root: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> CrmServing:
        """The URL (it holds a password) as an ``EnvVar`` when set; else snapshots under the settings' output folder."""
        url = dg.EnvVar(CRM_DATABASE_URL_ENV) if settings.crm_database_url else ""
        return cls(database_url=url, out_root=str(settings.out_dir))

    @property
    def kind(self) -> str:
        return "postgres" if self.database_url else "duckdb"

    def folder(self) -> Path:
        return snapshot_folder(Path(self.out_root) if self.out_root else Settings.from_env().out_dir)

    def publish(self, data: ServingData) -> dict[str, str]:
        """Migrate and load the store, then make the data current; what was published, for metadata."""
        if self.database_url:
            version, revision = load_postgres(self.database_url, data)
            return {"store": "postgresql", "version": version, "schema_revision": revision}
        version, path, revision = publish_snapshot(self.folder(), data)
        return {"store": "duckdb snapshot", "version": version, "schema_revision": revision, "path": str(path)}


def serving_definitions(settings: Settings) -> dg.Definitions:
    """The crm case's own resource, from the settings."""
    return dg.Definitions(resources={"crm_serving": CrmServing.from_settings(settings)})
