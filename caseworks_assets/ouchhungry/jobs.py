"""Jobs, schedules and sensors of the case.

* ``ouchhungry_job`` -- a day: extraction, cleaning, the daily product, its
  guardrails, delivery and the manifest. Scheduled 06:00 São Paulo for the
  previous day. The unpartitioned product and customer tables are snapshots of
  the source, refreshed by every daily run.
* ``ouchhungry_monthly_job`` -- a month: city table, insights, delivery,
  manifest. Scheduled 06:00 on the 1st for the previous month.

A failed run of either job is alerted by the code location's run-failure
sensor (:mod:`caseworks_assets.alerts`), which describes it with
:func:`caseworks_assets.ouchhungry.alerts.alert_for_run`.
"""

import dagster as dg

from caseworks_assets.ouchhungry.alerts import build_deadline_sensor
from caseworks_assets.ouchhungry.partitions import CASE

_MANIFEST = dg.AssetSelection.assets(dg.AssetKey([CASE, "delivery_manifest"]))
_MONTHLY = dg.AssetSelection.assets(
    *[dg.AssetKey([CASE, name]) for name in ("monthly_city_sales", "monthly_insights", "monthly_delivery")]
)

daily_job = dg.define_asset_job(
    f"{CASE}_job",
    selection=dg.AssetSelection.groups(CASE) - _MONTHLY,
    description="One day of the OuchHungry data product, extraction to delivery.",
    tags={"caseworks/case": CASE},
)
monthly_job = dg.define_asset_job(
    f"{CASE}_monthly_job",
    selection=_MONTHLY | _MANIFEST,
    description="One month of the OuchHungry data product: city table, insights, delivery.",
    tags={"caseworks/case": CASE},
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_job, name=f"{CASE}_daily_schedule", hour_of_day=6, minute_of_hour=0
)
monthly_schedule = dg.build_schedule_from_partitioned_job(
    monthly_job, name=f"{CASE}_monthly_schedule", day_of_month=1, hour_of_day=6, minute_of_hour=0
)

delivery_deadline = build_deadline_sensor()
