"""The Dagster instance shared by the CLI, ``make ui`` and the daemon."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from caseworks_assets.resources.warehouse import WAREHOUSE_POOL

DEFAULT_DAGSTER_HOME = ".dagster_home"

# One warehouse writer at a time across every run of the instance, so a
# multi-partition backfill queues on the pool instead of dying on DuckDB's lock.
INSTANCE_YAML = f"""\
# Written by caseworks; edit freely, it is not overwritten.
concurrency:
  pools:
    granularity: op
    default_limit: 1
  runs:
    max_concurrent_runs: 4
telemetry:
  enabled: false
# Dagster's SQLite storage, keeping its database engines (see caseworks_assets/instance_storage.py);
# remove these two entries to use Dagster's own classes on the same files.
run_storage:
  module: caseworks_assets.instance_storage
  class: CachedEngineSqliteRunStorage
event_log_storage:
  module: caseworks_assets.instance_storage
  class: CachedEngineSqliteEventLogStorage
# pool used by warehouse writers: {WAREHOUSE_POOL}
"""


def ensure_dagster_home() -> Path:
    """Point ``DAGSTER_HOME`` at a persistent folder and give it the caseworks config."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
