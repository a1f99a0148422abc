"""The platform job, its daily schedule, and the code location's alert sensors.

``platform_job`` builds the history partitions of the days it targets (one
day, or a range in one run) and recomputes every figure over the whole
history. The alert sensors watch every job and asset of the code location;
they are defined once in :mod:`caseworks_assets.alerts` and shipped with this
case, whose subject is the pipelines themselves.
"""

import dagster as dg

from caseworks_assets.alerts import ALERT_SENSORS
from caseworks_assets.platform.assets import CASE

#: Tags Dagster sets on a single run over a partition range (what a single-run backfill does).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

platform_job = dg.define_asset_job(
    f"{CASE}_job",
    selection=dg.AssetSelection.groups(CASE),
    description="The instance's history for the targeted days, then costs, KPIs, hints and the dashboard.",
    tags={"caseworks/case": CASE},
)

platform_schedule = dg.build_schedule_from_partitioned_job(
    platform_job, name=f"{CASE}_daily_schedule", hour_of_day=7, minute_of_hour=0
)


def days_target(first: str, last: str) -> dict:
    """How a run targets the days ``first``..``last``: a partition key for one, range tags for several."""
    if first == last:
        return {"partition_key": first}
    return {"tags": {RANGE_START_TAG: first, RANGE_END_TAG: last}}


SENSORS = list(ALERT_SENSORS)
