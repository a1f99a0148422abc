"""The platform case's input is a Dagster instance; its sample is one, with a synthetic history.

``caseworks sample platform --out DIR --rows N`` writes a Dagster home in
``DIR`` (``dagster.yaml`` plus its SQLite files, every run in one event-log
database) holding ``N`` runs over the last 60 days, written through Dagster's
APIs (:mod:`caseworks_assets.platform.history`). ``caseworks run platform
--data-dir DIR`` then reports on that instance. Without ``--rows`` (the demo)
nothing synthetic is written: the demo's platform report is about the runs the
other cases just made, so the folder only gets a note saying so.
"""

from __future__ import annotations

import json
from pathlib import Path

NOTE = "README.txt"


def instance_yaml(home: Path) -> str:
    """A Dagster instance in ``home`` whose runs share one event-log database (read across runs in one query)."""
    history = home / "history"
    return f"""\
# Written by `caseworks sample platform`: a synthetic instance history.
telemetry:
  enabled: false
run_storage:
  module: caseworks_assets.instance_storage
  class: CachedEngineSqliteRunStorage
  config:
    base_dir: {json.dumps(str(history))}
event_log_storage:
  module: caseworks_assets.instance_storage
  class: CachedEngineConsolidatedSqliteEventLogStorage
  config:
    base_dir: {json.dumps(str(history / "events"))}
"""


def write_sample(out_dir: Path, rows: int | None, seed: int) -> None:
    """A Dagster home with ``rows`` synthetic runs in ``out_dir`` (see the module docstring); a note when None."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if rows is None:
        (out_dir / NOTE).write_text(
            "caseworks platform reports on the current Dagster instance (DAGSTER_HOME) when this folder holds no\n"
            "dagster.yaml. `caseworks sample platform --out DIR --rows N` writes a synthetic instance here instead.\n",
            encoding="utf-8",
        )
        return
    from caseworks_assets.platform.history import open_instance, write_history

    home = out_dir.absolute()
    (home / "dagster.yaml").write_text(instance_yaml(home), encoding="utf-8")
    with open_instance(home) as instance:
        write_history(instance, rows, seed=seed)
