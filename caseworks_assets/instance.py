"""The Dagster instance shared by the CLI, ``make ui`` and the daemon."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from caseworks_assets.locks import instance_lock, usable_folder
from caseworks_assets.resources.staging import staged_path
from caseworks_assets.resources.warehouse import WAREHOUSE_POOL
from caseworks_assets.settings import without

DEFAULT_DAGSTER_HOME = ".dagster_home"


def storage_yaml(home: Path, *, consolidated_events: bool = False) -> str:
    """The run and event-log storage entries of a ``dagster.yaml``: SQLite under ``home/history``.

    Through the classes of :mod:`caseworks_assets.instance_storage`; with
    ``consolidated_events`` every run's events share one database, which a
    reader of many runs' events (the platform case) queries at once.
    """
    history = home / "history"
    events, events_dir = (
        ("ConsolidatedSqliteEventLogStorage", history / "events")
        if consolidated_events
        else ("SqliteEventLogStorage", history / "runs")
    )
    if without("instance_storage"):  # Dagster's own classes, same files
        module, runs, prefix = "dagster._core.storage.runs", "dagster._core.storage.event_log", ""
    else:
        module, runs, prefix = "caseworks_assets.instance_storage", "caseworks_assets.instance_storage", "CachedEngine"
    return f"""\
run_storage:
  module: {module}
  class: {prefix}SqliteRunStorage
  config:
    base_dir: {json.dumps(str(history))}
event_log_storage:
  module: {runs}
  class: {prefix}{events}
  config:
    base_dir: {json.dumps(str(events_dir))}
"""


def instance_yaml(home: Path) -> str:
    """The ``dagster.yaml`` caseworks writes into a new ``DAGSTER_HOME``.

    One warehouse writer at a time across every run of the instance, so a
    multi-partition backfill queues on the pool instead of dying on DuckDB's
    lock; and Dagster's SQLite files at their usual place under ``home``,
    through the storage classes of :mod:`caseworks_assets.instance_storage`.
    """
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
# What the plain modules log (e.g. an input read with repaired bytes) goes into the run's log.
python_logs:
  managed_python_loggers:
    - caseworks
  python_log_level: INFO
# The daemon fails runs whose worker died and frees pool slots still held a minute after a run ended;
# `caseworks` itself does the same for its own runs before each run (caseworks_assets/recovery.py).
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 60
# Dagster's SQLite storage at its default place, keeping its database connections
# (caseworks_assets/instance_storage.py); remove these two entries for Dagster's own classes.
{storage_yaml(home)}# pool used by warehouse writers: {WAREHOUSE_POOL}
"""


def _home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).absolute()
    return usable_folder(home, "DAGSTER_HOME", "point it at a folder")


def ensure_dagster_home() -> Path:
    """Point ``DAGSTER_HOME`` at a persistent folder and give it the caseworks config.

    The config is written under the instance lock and renamed into place, so a
    second process starting at the same moment never reads half of it.
    """
    home = _home()
    config = home / "dagster.yaml"
    if not config.exists():
        with instance_lock(home):
            if not config.exists():
                with staged_path(config) as staging:
                    staging.write_text(instance_yaml(home))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> dg.DagsterInstance:
    """The instance of ``DAGSTER_HOME``, its databases created by one process at a time.

    Dagster creates each SQLite database and its schema on first use; two
    processes doing that at once on a new home made one fail
    (``UNIQUE constraint failed: alembic_version``). The run database and the
    event-log index are therefore opened once under the instance lock.
    """
    home = ensure_dagster_home()
    with instance_lock(home):
        instance = dg.DagsterInstance.get()
        instance.get_run_records(limit=1)
        instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return instance
