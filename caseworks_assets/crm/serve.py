"""``caseworks serve crm``: the interactions API with uvicorn over the published serving store."""

from __future__ import annotations

import logging
import sys

from caseworks_assets.crm.api import ACCESS_LOG, create_app
from caseworks_assets.crm.queries import reader_for
from caseworks_assets.crm.serving import snapshot_folder
from caseworks_assets.settings import CRM_API_KEYS_ENV, Settings


def build_app(settings: Settings):
    """The API over the store the settings name (PostgreSQL URL, else the snapshots under the out dir)."""
    reader = reader_for(settings.crm_database_url, snapshot_folder(settings.out_dir))
    return create_app(reader, settings.crm_api_keys)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    if not settings.crm_api_keys:
        print(f"caseworks: warning: {CRM_API_KEYS_ENV} is empty, every /api request will get 401", file=sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False
    store = "PostgreSQL" if settings.crm_database_url else f"snapshots in {snapshot_folder(settings.out_dir)}"
    print(f"crm API on http://{host}:{port} over {store}; OpenAPI at /openapi.json", file=sys.stderr)
    uvicorn.run(build_app(settings), host=host, port=port, access_log=False, log_level="warning")
