"""Jobs and the sensor that applies newly landed months in order.

``support_job`` covers the whole group (the CLI runs it over the months with
the month assets selected, one run per consecutive range, the last of which
also publishes the outputs). The sensor watches the input folder: it
registers new months as partitions and requests the months not yet applied in
one run over their range, once the first one's predecessor is materialized,
then refreshes the outputs after the last month.
"""

import json
from typing import Any

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from caseworks_assets.registry import InputError
from caseworks_assets.resources import CaseInputs
from caseworks_assets.support.assets import MONTHS, OUTPUT_ASSETS, PARTITIONED_ASSETS, state_key
from caseworks_assets.support.layout import CASE, TABLES, discover

MONTH_SELECTION = dg.AssetSelection.assets(*PARTITIONED_ASSETS)
OUTPUT_SELECTION = dg.AssetSelection.assets(*OUTPUT_ASSETS)

support_job = dg.define_asset_job(
    "support_job",
    selection=dg.AssetSelection.groups(CASE),
    description="Everything of the support case; run with a month partition and the month assets selected, "
    "or without a partition for the final tables, report, answers and exports.",
)
support_months_job = dg.define_asset_job(
    "support_months_job",
    selection=MONTH_SELECTION,
    description="Apply one month: read its files, build every table's state on the previous month's.",
)
support_outputs_job = dg.define_asset_job(
    "support_outputs_job",
    selection=OUTPUT_SELECTION,
    description="Publish the latest applied month: final tables, report, answers and exports.",
)


def _applied(instance: dg.DagsterInstance) -> set[str]:
    """Months whose state is materialized for every table."""
    per_table = [instance.get_materialized_partitions(state_key(table)) for table in TABLES]
    return set.intersection(*per_table) if per_table else set()


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags of a single run over the partitions ``first``..``last`` (what a single-run backfill sets)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def months_target(first: str, last: str) -> dict[str, Any]:
    """How a run targets the months ``first``..``last``: a partition key for one, range tags for several."""
    return {"partition_key": first} if first == last else {"tags": partition_range_tags(first, last)}


def _months_request(first: str, last: str) -> dg.RunRequest:
    """One run applying ``first``..``last`` in order."""
    run_key = f"support-month-{first}" if first == last else f"support-months-{first}-{last}"
    return dg.RunRequest(run_key=run_key, job_name=support_months_job.name, **months_target(first, last))


@dg.sensor(
    jobs=[support_months_job, support_outputs_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Registers months that land in the support input folder and applies them in order, "
    "in one run over the months not yet applied.",
)
def support_months_sensor(context: dg.SensorEvaluationContext, inputs: CaseInputs) -> dg.SensorResult | dg.SkipReason:
    try:
        layout = discover(inputs.dir_for(CASE))
    except InputError as error:
        return dg.SkipReason(f"input folder not usable: {error}")
    known = set(context.instance.get_dynamic_partitions(MONTHS.name))
    new = [m for m in layout.months if m not in known]
    applied = _applied(context.instance)
    pending = [m for m in layout.months if m not in applied]
    cursor = json.loads(context.cursor) if context.cursor else {}
    run_requests: list[dg.RunRequest] = []
    if pending:
        first, last, before = pending[0], layout.months[-1], layout.previous(pending[0])
        if first > cursor.get("requested", "") and (before is None or before in applied):
            run_requests.append(_months_request(first, last))
            cursor["requested"] = last
    elif layout.months and cursor.get("published") != layout.months[-1]:
        run_requests.append(
            dg.RunRequest(run_key=f"support-outputs-{layout.months[-1]}", job_name=support_outputs_job.name)
        )
        cursor["published"] = layout.months[-1]
    if not new and not run_requests:
        return dg.SkipReason("no new month to apply")
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[MONTHS.build_add_request(new)] if new else [],
        cursor=json.dumps(cursor, sort_keys=True),
    )
