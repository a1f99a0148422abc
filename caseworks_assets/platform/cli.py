"""How ``caseworks`` drives the platform case.

The case's input is a Dagster instance's history. ``--data-dir DIR`` is one of:

* a Dagster home (a folder with ``dagster.yaml``): the report is about that
  instance, and the platform run is recorded there too;
* a synthetic history (``history.json``, from ``caseworks sample platform --out
  DIR --rows N``): it is written once into the Dagster home ``DIR/instance``
  (again only when the file changes), which is then reported on;
* absent (no ``--data-dir``), or the demo's folder holding only its note: the
  report is about the current instance (``DAGSTER_HOME``), which holds every
  case's runs; ``caseworks demo`` runs this case last for that reason.

A ``--data-dir`` that does not exist is an error, not a silent fallback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from caseworks_assets.platform.assets import CASE, START_DATE
from caseworks_assets.platform.jobs import days_target, platform_job
from caseworks_assets.platform.sample import HISTORY, NOTE, instance_yaml, write_sample
from caseworks_assets.registry import InputError
from caseworks_assets.settings import Settings

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun

__all__ = ["run", "summarize", "validate_inputs", "write_sample"]


def is_dagster_home(data_dir: Path) -> bool:
    return (data_dir / "dagster.yaml").is_file()


def validate_inputs(data_dir: Path) -> None:
    """A Dagster home, a history.json, or no folder at all when none was named (the current instance then)."""
    if not data_dir.exists():
        if Settings.from_env().case_data_override(CASE):  # named with --data-dir (or its variable): it must exist
            raise InputError(
                f"{data_dir}: input folder not found (a Dagster home, or a history written by "
                "`caseworks sample platform --out DIR --rows N`; leave --data-dir out to report on the current "
                "instance)"
            )
        return
    if is_dagster_home(data_dir) or (data_dir / HISTORY).is_file():
        if (data_dir / HISTORY).is_file():
            _read_history(data_dir / HISTORY)
        return
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: not a folder (the platform case reads a Dagster home or a history.json)")
    others = [p.name for p in data_dir.iterdir() if p.name != NOTE]
    if others:
        raise InputError(
            f"{data_dir}: neither dagster.yaml nor {HISTORY} (found {', '.join(sorted(others)[:5])}); "
            "point --data-dir at a DAGSTER_HOME or a sample, or leave it out to report on the current instance"
        )


def _read_history(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"{path} line {error.lineno}: not valid JSON ({error.msg})") from error
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise InputError(f"{path}: not a caseworks platform history (no list of runs)")
    return document


def sample_instance(data_dir: Path) -> Path:
    """The Dagster home holding ``data_dir``'s history.json, written on first use (and when the file changes)."""
    source = data_dir / HISTORY
    home = data_dir / "instance"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    marker = home / "history.sha256"
    if marker.is_file() and marker.read_text().strip() == digest:
        return home
    from caseworks_assets.platform.history import open_instance, write_history

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml(home.absolute()), encoding="utf-8")
    with open_instance(home.absolute()) as instance:
        write_history(instance, _read_history(source)["runs"])
    marker.write_text(digest)
    return home


def history_days(instance: dg.DagsterInstance) -> tuple[str, str]:
    """First and last day to build: the first day a run started (not before the partitions start) to today (UTC)."""
    today = datetime.now(UTC).date()
    # runs that never started sort first: a page of the oldest is enough to find the first start
    starts = [r.start_time for r in instance.get_run_records(limit=100, order_by="start_time", ascending=True)]
    started = [s for s in starts if s is not None]
    first = datetime.fromtimestamp(min(started), UTC).date() if started else today
    first = max(first, date.fromisoformat(START_DATE))
    return first.isoformat(), today.isoformat()


def run(case_run: CaseRun) -> None:
    """Build every day of the instance's history in one run, then the figures and the dashboard."""
    home = None
    if is_dagster_home(case_run.data_dir):
        home = case_run.data_dir
    elif (case_run.data_dir / HISTORY).is_file():
        case_run.echo(f"[platform] synthetic history {case_run.data_dir / HISTORY}")
        home = sample_instance(case_run.data_dir)
    if home is not None:
        os.environ["DAGSTER_HOME"] = str(home.absolute())
        case_run.instance = dg.DagsterInstance.get()
        case_run.echo(f"[platform] reporting on the instance in {home}")
    else:
        case_run.echo("[platform] reporting on the current instance (DAGSTER_HOME)")
    first, last = history_days(case_run.instance)
    case_run.echo(f"[platform] days {first} .. {last}")
    case_run.execute(platform_job.name, **days_target(first, last))


def summarize(case_run: CaseRun) -> str:
    """The key figures, the hints' total saving and where the dashboard is."""
    lines = []
    for result in case_run.results:
        for event in result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            metadata = materialization.metadata
            if key == f"{CASE}/dashboard":
                lines.append(metadata["key_figures"].value)
                lines.append(f"dashboard: {metadata['path'].value}")
            elif key == f"{CASE}/optimization_hints":
                lines.append(
                    f"{metadata['dagster/row_count'].value} optimization hint(s), estimated saving "
                    f"{metadata['estimated_saving_usd_month'].value:,.4f} USD/month"
                )
            elif key == f"{CASE}/scaling_recommendations":
                lines.append(f"{metadata['dagster/row_count'].value} scaling recommendation(s)")
    return "\n".join(lines) or "(platform: nothing materialized)"
