"""The crm job (every asset, from the export to the published serving store) and the anomaly alert sensor."""

import json

import dagster as dg
import polars as pl

from caseworks_assets.alerts import send_alert
from caseworks_assets.crm import anomalies
from caseworks_assets.crm.alerts import anomaly_alert, daily_from_store
from caseworks_assets.crm.columns import CASE
from caseworks_assets.crm.queries import reader_for
from caseworks_assets.crm.serving import CrmServing
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource

SERVING_KEY = dg.AssetKey([CASE, "serving_store"])

crm_job = dg.define_asset_job(
    f"{CASE}_job",
    selection=dg.AssetSelection.groups(CASE),
    description="Read the export, clean it (quarantining what cannot be repaired), migrate and load the serving "
    "store, and publish it to the API.",
)


@dg.sensor(
    name=f"{CASE}_interaction_anomalies",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After each publication of the serving store, scores interactions per channel and day against "
    "their trailing 28 days (median/MAD) and alerts the data team (CASEWORKS_ALERT_EMAILS, else the outbox) "
    "once per anomalous channel-day.",
)
def crm_interaction_anomalies(
    context: dg.SensorEvaluationContext, crm_serving: CrmServing, smtp: SMTPResource, outbox: OutboxResource
) -> dg.SkipReason:
    records = context.instance.fetch_materializations(SERVING_KEY, limit=1).records
    if not records:
        return dg.SkipReason("the serving store has not been published yet")
    storage_id = records[0].storage_id
    cursor = json.loads(context.cursor) if context.cursor else {}
    if cursor.get("storage_id") == storage_id:
        return dg.SkipReason("no new publication since the last evaluation")
    reader = reader_for(crm_serving.database_url or None, crm_serving.folder())
    flagged = anomalies.anomalies(daily_from_store(reader))
    alerted = set(cursor.get("alerted", []))
    keys = [f"{channel}/{day}" for channel, day in flagged.select("channel", "day").iter_rows()]
    new = flagged.filter(pl.Series([k not in alerted for k in keys], dtype=pl.Boolean))
    message = "no anomalous channel-day"
    if new.height:
        alert = anomaly_alert(new, reader.version())
        sent_to = send_alert(alert, smtp, outbox)
        message = f"alerted {new.height} anomalous channel-day(s) to {sent_to}"
    context.update_cursor(json.dumps({"storage_id": storage_id, "alerted": sorted(alerted | set(keys))[-1000:]}))
    return dg.SkipReason(message)
