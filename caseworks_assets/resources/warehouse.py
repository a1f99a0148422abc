"""Warehouse IO managers: DuckDB on a laptop, BigQuery in production.

Assets return polars frames and name their schema through their key prefix
(``support/support_report`` lands in ``support.support_report``, a BigQuery
dataset per case). Both IO managers are single definitions selected by
``Settings.env`` (``CASEWORKS_ENV``). The BigQuery one lives in
:mod:`~caseworks_assets.resources.bigquery` and is imported on first use
(``from caseworks_assets.resources.warehouse import BigQueryPolarsIOManager``
still works), so local runs do not pay for importing the Google Cloud client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster_duckdb_polars import DuckDBPolarsIOManager

if TYPE_CHECKING:
    from caseworks_assets.resources.bigquery import BigQueryPolarsIOManager, BigQueryPolarsTypeHandler
    from caseworks_assets.settings import Settings

#: Kind tag of an asset stored in the warehouse. It stands for the store the settings choose:
#: :func:`with_settings_kinds` replaces it by ``duckdb`` or ``bigquery`` when the definitions are built,
#: so importing a case reads no environment.
WAREHOUSE_KIND = "warehouse"
#: Kind tag of the crm serving store, replaced the same way by ``postgres`` or ``duckdb``.
SERVING_STORE_KIND = "serving_store"


def settings_kinds(settings: Settings) -> dict[str, str]:
    """What each kind tag that stands for a configured store means under ``settings``."""
    return {WAREHOUSE_KIND: settings.warehouse_kind, SERVING_STORE_KIND: settings.crm_serving_kind}


def with_settings_kinds(spec: dg.AssetSpec, settings: Settings) -> dg.AssetSpec:
    """``spec`` with its store kind tags replaced by the stores ``settings`` choose (other kinds unchanged)."""
    meaning = settings_kinds(settings)
    if not meaning.keys() & spec.kinds:
        return spec
    return spec.replace_attributes(kinds={meaning.get(kind, kind) for kind in spec.kinds})


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
    "SERVING_STORE_KIND",
    "WAREHOUSE_KIND",
    "WAREHOUSE_POOL",
    "BigQueryPolarsIOManager",
    "BigQueryPolarsTypeHandler",
    "DuckDBPolarsIOManager",
    "settings_kinds",
    "with_settings_kinds",
]
