"""The dbt project inside Dagster: its translator and the two ``@dbt_assets`` that run it.

Lineage: the raw assets are dbt's sources (``callcenter/raw_<table>``), so the
graph runs raw -> staging -> ``call_history``, ``marketing_details``,
``attendance_details``. dbt runs in two steps because ``call_history`` has
daily partitions and the others none:

* ``callcenter_dbt_models``: the staging tables, ``marketing_details`` and
  ``attendance_details`` (whose calls are the staged calls: ``call_history``
  may hold only the days built so far);
* ``callcenter_dbt_call_history``: ``call_history``, one run for any range of
  days (``BackfillPolicy.single_run``), the range passed as dbt vars
  ``start_date``/``end_date``; the model replaces exactly those days.

Each step runs ``dbt build`` on its models, so dbt's tests on them run right
after and surface as the models' asset checks.

DuckDB has one writer per file: dbt writes a file of its own
(``Settings.dbt_warehouse_path``) and reads the raw tables from the lake files
the warehouse's views read, so dbt never opens Dagster's warehouse file, which
the IO manager keeps open for the run. The steps share the warehouse pool, so
two dbt processes never write dbt's file at once.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from caseworks_assets.callcenter.columns import CASE
from caseworks_assets.callcenter.dbt_env import PROJECT_DIR, dbt_environment, dbt_executable, prepare_manifest
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL
from caseworks_assets.settings import Settings

#: One partition per day of calls. The first day is early enough for any export the case has seen.
DAYS = dg.DailyPartitionsDefinition(start_date="2018-01-01", end_offset=1)

DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)
MANIFEST = prepare_manifest()


class CallcenterTranslator(DagsterDbtTranslator):
    """dbt nodes as ``callcenter/<name>`` in the ``callcenter`` group; sources are the raw assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([CASE, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return CASE

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # the manifest is parsed once for DuckDB; the kind follows the environment the definitions load in
        return spec.replace_attributes(kinds={"dbt", WAREHOUSE_KIND})


TRANSLATOR = CallcenterTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


#: dbt's global flags: no check of ``require-dbt-version`` at each start, no progress colours in the logs.
GLOBAL_FLAGS = ["--no-version-check", "--no-use-colors"]

#: One resource for the process: it asks ``dbt --version`` (a whole dbt start, about 3 CPU seconds) once
#: and caches the answer, so a run's two dbt steps pay for it once, not once each.
DBT = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable(), global_config_flags=GLOBAL_FLAGS)


def dbt_resource() -> DbtCliResource:
    return DBT


def window_vars(start: str, end: str) -> dict[str, str]:
    """dbt vars of the days [start, end) that ``call_history`` rebuilds."""
    return {"start_date": start, "end_date": end}


#: The run tags Dagster sets on a run of one partition, or of a range of partitions (a single-run backfill).
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_window(context: dg.AssetExecutionContext) -> dict[str, str] | None:
    """The days the run targets (its partition tags) as dbt vars, for a step whose assets have no partitions.

    Both dbt steps of a run pass the same vars: dbt re-parses the whole project
    when its vars change, so with equal vars the second step reuses the parse of
    the first (``partial_parse.msgpack`` in the run's target folder). The models
    of the unpartitioned step do not read the vars.
    """
    tags = context.run.tags
    first = tags.get(RANGE_START_TAG) or tags.get(PARTITION_TAG)
    last = tags.get(RANGE_END_TAG) or tags.get(PARTITION_TAG)
    if not first or not last:
        return None
    start, end = DAYS.time_window_for_partition_key(first).start, DAYS.time_window_for_partition_key(last).end
    return window_vars(start.date().isoformat(), end.date().isoformat())


def _build(context: dg.AssetExecutionContext, variables: dict[str, str] | None = None) -> Iterator[Any]:
    """``dbt build`` of the step's models and their tests; artifacts and logs under ``<out_dir>/callcenter/dbt``.

    The run's dbt steps share one target folder, so a step finds the parse the
    step before it left there (see :func:`run_window`).
    """
    # a test runs in the step of the model it is declared on, once every model it reads exists
    args = ["build", "--indirect-selection", "buildable", *(["--vars", json.dumps(variables)] if variables else [])]
    settings = Settings.from_env()
    target = settings.case_out_dir(CASE) / "dbt" / context.run.run_id[:8]
    with dbt_environment(settings):
        yield from dbt_resource().cli(args, context=context, target_path=target).stream()


@dbt_assets(
    manifest=MANIFEST,
    select="staging marketing_details attendance_details",
    dagster_dbt_translator=TRANSLATOR,
    name="callcenter_dbt_models",
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext) -> Iterator[Any]:
    yield from _build(context, run_window(context))


@dbt_assets(
    manifest=MANIFEST,
    select="call_history",
    dagster_dbt_translator=TRANSLATOR,
    name="callcenter_dbt_call_history",
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def dbt_call_history(context: dg.AssetExecutionContext) -> Iterator[Any]:
    """One dbt run over the run's days, however many: a backfill of a range is one run of this step."""
    window = context.partition_time_window
    yield from _build(context, window_vars(window.start.date().isoformat(), window.end.date().isoformat()))


DBT_ASSETS = [dbt_models, dbt_call_history]
