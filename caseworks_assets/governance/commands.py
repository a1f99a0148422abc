"""``caseworks rotate-keys``: re-seal every registered encrypted file and table with the active key."""

from __future__ import annotations

from collections.abc import Callable

from caseworks_assets.governance.encryption import KeyRingError
from caseworks_assets.governance.keys import keyring_from_env
from caseworks_assets.governance.rotation import RotationResult, rotate_all
from caseworks_assets.settings import Settings, SettingsError


def rotate_keys(settings: Settings, echo: Callable[[str], None] = print) -> list[RotationResult]:
    """Re-seal every encrypted lake file and local warehouse table with the active key."""
    try:
        ring = keyring_from_env()
    except KeyRingError as error:
        raise SettingsError(str(error)) from error
    warehouse = str(settings.warehouse_path) if settings.env == "local" and settings.warehouse_path.exists() else None
    if settings.env != "local":
        echo("warehouse tables: only the local DuckDB warehouse is rotated in place; BigQuery tables are not")
    results = rotate_all(ring, settings.lake_root, warehouse)
    for result in results:
        echo(f"{result.target}: {result.rotated} of {result.rows} re-sealed with key {ring.active_id!r}")
    return results
