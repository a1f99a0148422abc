"""How ``caseworks`` drives the platform case.

The case's input is a Dagster instance. ``--data-dir DIR`` names a Dagster
home (a folder with ``dagster.yaml``, e.g. written by ``caseworks sample
platform --out DIR --rows N``): the report is about that instance, and the
platform run is recorded there too. Without one (no folder, or the demo's
folder holding only a note) the report is about the current instance
(``DAGSTER_HOME``), which holds every case's runs: ``caseworks demo`` runs
this case last for that reason.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from caseworks_assets.platform import collect
from caseworks_assets.platform.assets import CASE, START_DATE
from caseworks_assets.platform.jobs import days_target, platform_job
from caseworks_assets.platform.sample import NOTE, write_sample
from caseworks_assets.registry import InputError

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun

__all__ = ["run", "summarize", "validate_inputs", "write_sample"]


def is_dagster_home(data_dir: Path) -> bool:
    return (data_dir / "dagster.yaml").is_file()


def validate_inputs(data_dir: Path) -> None:
    """A Dagster home, or a folder that is absent or holds only the demo's note (the current instance then)."""
    if not data_dir.exists() or is_dagster_home(data_dir):
        return
    if not data_dir.is_dir():
        raise InputError(
            f"{data_dir}: not a folder (the platform case reads a Dagster home: a folder with dagster.yaml)"
        )
    others = [p.name for p in data_dir.iterdir() if p.name != NOTE]
    if others:
        raise InputError(
            f"{data_dir}: no dagster.yaml, so this is not a Dagster home (found {', '.join(sorted(others)[:5])}); "
            "point --data-dir at a DAGSTER_HOME, or leave it out to report on the current instance"
        )


def history_days(instance: dg.DagsterInstance) -> tuple[str, str]:
    """First and last day to build: the first day with a run (not before the partitions start) to today (UTC)."""
    today = datetime.now(UTC).date()
    runs = collect.read_runs(instance)
    first = runs["day"].min() if runs.height else today
    first = max(first, date.fromisoformat(START_DATE))  # type: ignore[type-var]
    return first.isoformat(), today.isoformat()


def run(case_run: CaseRun) -> None:
    """Build every day of the instance's history in one run, then the figures and the dashboard."""
    if is_dagster_home(case_run.data_dir):
        os.environ["DAGSTER_HOME"] = str(case_run.data_dir.absolute())
        case_run.instance = dg.DagsterInstance.get()
        case_run.echo(f"[platform] reporting on the instance in {case_run.data_dir}")
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
