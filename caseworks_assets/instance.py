"""The Dagster instance shared by the CLI, ``make ui`` and the daemon."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from caseworks_assets.resources.warehouse import WAREHOUSE_POOL

DEFAULT_DAGSTER_HOME = ".dagster_home"


def instance_yaml(home: Path) -> str:
    """The ``dagster.yaml`` caseworks writes into a new ``DAGSTER_HOME``.

    One warehouse writer at a time across every run of the instance, so a
    multi-partition backfill queues on the pool instead of dying on DuckDB's
    lock; and Dagster's SQLite files at their usual place under ``home``,
    through the storage classes of :mod:`caseworks_assets.instance_storage`.
    """
    history = home / "history"
    return f"""\
# Written by caseworks; edit freely, it is not overwritten.
concurrency:
  pools:
    granularity: op
    default_limit: 1
  runs:
    max_concurrent_runs: 4
telemetry:
  enabled: false
# Dagster's SQLite storage at its default place, keeping its database connections
# (caseworks_assets/instance_storage.py); remove these two entries for Dagster's own classes.
run_storage:
  module: caseworks_assets.instance_storage
  class: CachedEngineSqliteRunStorage
  config:
    base_dir: {json.dumps(str(history))}
event_log_storage:
  module: caseworks_assets.instance_storage
  class: CachedEngineSqliteEventLogStorage
  config:
    base_dir: {json.dumps(str(history / "runs"))}
# pool used by warehouse writers: {WAREHOUSE_POOL}
"""


def ensure_dagster_home() -> Path:
    """Point ``DAGSTER_HOME`` at a persistent folder and give it the caseworks config."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_yaml(home))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
