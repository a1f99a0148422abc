"""Alerts to the data team: run failures (extraction, validation, connection, delivery) and missed deadlines.

Every alert answers three questions in its first lines: what failed, where
(job, partition, step, host) and what to do next. Alerts go through the code
location's alert channel (:mod:`caseworks_assets.alerts`: ``CASEWORKS_ALERT_EMAILS``
through SMTP, or the outbox); its run-failure sensor, which watches every job,
describes ouchhungry's failed runs with :func:`alert_for_run`.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from caseworks_assets.alerts import Alert, failed_checks, failed_steps, run_location, send_alert
from caseworks_assets.ouchhungry.manifest import DeliveryManifest
from caseworks_assets.ouchhungry.partitions import CASE, START_DATE, TIMEZONE
from caseworks_assets.resources import LakeResource
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource

NEXT_STEPS = {
    "extraction": "check the source export / extraction logs for the partition, then re-run the partition.",
    "validation": "open the failed check in the Dagster UI (metadata shows the failing rows), fix the source data or "
    "the rule, then re-run the partition. Nothing was delivered.",
    "connection": "check that the partner endpoint is up and reachable and the credentials/host key are right, then "
    "re-run the partition; channels that already delivered are skipped.",
    "delivery": "read the error, fix the payload or configuration, then re-run the partition; channels that already "
    "delivered are skipped.",
    "deadline": "look for the partition's run in the Dagster UI: if it failed, follow its failure alert; if there is "
    "none, check that the schedule is running and launch the partition by hand.",
}


def _stage_of_step(step_key: str) -> str:
    name = step_key.removeprefix(f"{CASE}__")
    if name.startswith("raw_"):
        return "extraction"
    if name.endswith("delivery"):
        return "delivery"
    return "validation"


def alert_for_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Alert:
    """The alert for a failed run: its failed steps and blocking checks, classified by stage.

    The code location's run-failure sensor (:data:`caseworks_assets.alerts.run_failure_alert`)
    calls this for ouchhungry's runs.
    """
    where = run_location(run)
    checks = failed_checks(instance, run.run_id)
    failures = failed_steps(instance, run.run_id)
    if checks:
        step = failures[0][0] if failures else "-"
        return Alert("validation", "; ".join(checks), f"{where}, step {step}", NEXT_STEPS["validation"], case=CASE)
    if not failures:
        return Alert(
            "delivery", f"run {run.run_id} failed before any step ran", where, NEXT_STEPS["delivery"], case=CASE
        )
    step, message, meta = failures[0]
    stage = str(meta.get("alert_stage") or _stage_of_step(step))
    host = f", {meta['where']}" if meta.get("where") else ""
    details = "\n".join(f"- {s}: {m}" for s, m, _ in failures[1:])
    return Alert(
        stage,
        message,
        f"{where}, step {step}{host}",
        str(meta.get("next_step") or NEXT_STEPS[stage]),
        details,
        case=CASE,
    )


# --------------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class DeadlinePolicy:
    """When a partition must have been delivered, in São Paulo time."""

    daily_deadline_hour: int = 9  # the day after, 3 h after the 06:00 schedule
    monthly_deadline_hour: int = 12  # on the 1st of the next month
    lookback_days: int = 3


def overdue_partitions(
    now: datetime, manifest: DeliveryManifest, policy: DeadlinePolicy | None = None
) -> list[tuple[str, str, datetime]]:
    """(kind, partition key, deadline) of recent partitions past their deadline and not delivered."""
    policy = policy or DeadlinePolicy()
    zone = ZoneInfo(TIMEZONE)
    local = now.astimezone(zone)
    start = date.fromisoformat(START_DATE)
    due: list[tuple[str, str, datetime]] = []
    for offset in range(policy.lookback_days, 0, -1):
        day = local.date() - timedelta(days=offset)
        deadline = datetime.combine(day + timedelta(days=1), time(policy.daily_deadline_hour), zone)
        if day >= start and local >= deadline:
            due.append(("daily", day.isoformat(), deadline))
    month = (local.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    deadline = datetime.combine(local.date().replace(day=1), time(policy.monthly_deadline_hour), zone)
    if month >= start and local >= deadline:
        due.append(("monthly", month.isoformat(), deadline))
    return [(kind, key, when) for kind, key, when in due if not manifest.is_delivered(kind, key)]


def build_deadline_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{CASE}_delivery_deadline",
        minimum_interval_seconds=900,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Alerts the data team once per partition not delivered by its deadline "
        "(daily: 09:00 the next day; monthly: 12:00 on the 1st; America/Sao_Paulo).",
    )
    def delivery_deadline(
        context: dg.SensorEvaluationContext, lake: LakeResource, smtp: SMTPResource, outbox: OutboxResource
    ):
        alerted: list[str] = json.loads(context.cursor) if context.cursor else []
        late = [
            item
            for item in overdue_partitions(datetime.now(ZoneInfo(TIMEZONE)), DeliveryManifest(lake))
            if f"{item[0]}/{item[1]}" not in alerted
        ]
        for kind, key, deadline in late:
            job = f"{CASE}_job" if kind == "daily" else f"{CASE}_monthly_job"
            alert = Alert(
                "deadline",
                f"{kind} partition {key} not delivered by its deadline {deadline:%Y-%m-%d %H:%M} {TIMEZONE}",
                f"job {job}, partition {key}, channels sftp/api/email (no partner notice in the delivery manifest)",
                NEXT_STEPS["deadline"],
                case=CASE,
            )
            send_alert(alert, smtp, outbox)
            alerted.append(f"{kind}/{key}")
        context.update_cursor(json.dumps(alerted[-100:]))
        if not late:
            return dg.SkipReason("every partition past its deadline was delivered (or already alerted)")
        return dg.SkipReason(f"alerted {len(late)} late partition(s): {', '.join(k + '/' + p for k, p, _ in late)}")

    return delivery_deadline
