"""Alerts to the data team: run failures (extraction, validation, connection, delivery) and missed deadlines.

Every alert answers three questions in its first lines: what failed, where
(job, partition, step, host) and what to do next. Alerts go to
``CASEWORKS_ALERT_EMAILS`` through the SMTP resource, or to the outbox when
SMTP is not configured.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from caseworks_assets.ouchhungry.manifest import DeliveryManifest
from caseworks_assets.ouchhungry.partitions import CASE, START_DATE, TIMEZONE
from caseworks_assets.resources import LakeResource
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource, send_alert_mail

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


@dataclass(frozen=True)
class Alert:
    stage: str
    what: str
    where: str
    next_step: str
    details: str = ""

    @property
    def subject(self) -> str:
        return f"[caseworks ALERT] {CASE} {self.stage} failure: {self.what[:90]}"

    @property
    def body(self) -> str:
        text = f"WHAT FAILED: {self.what}\nWHERE: {self.where}\nNEXT STEP: {self.next_step}\n"
        return text + (f"\nDETAILS:\n{self.details}\n" if self.details else "")


def send_alert(alert: Alert, smtp: SMTPResource, outbox: OutboxResource) -> str:
    """E-mail the data team, else the outbox: :func:`~caseworks_assets.resources.delivery.send_alert_mail`."""
    return send_alert_mail(alert.subject, alert.body, smtp, outbox)


def _error_text(error) -> str:
    message = error.message.strip() if error else "unknown error"
    while error is not None and error.cause is not None:
        error = error.cause
        message += f" | caused by: {error.message.strip()}"
    return message


def _stage_of_step(step_key: str) -> str:
    name = step_key.removeprefix(f"{CASE}__")
    if name.startswith("raw_"):
        return "extraction"
    if name.endswith("delivery"):
        return "delivery"
    return "validation"


def alert_for_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Alert:
    """The alert for a failed run: its failed steps and blocking checks, classified by stage."""
    partition = run.tags.get("dagster/partition", "-")
    where = f"job {run.job_name}, partition {partition}, run {run.run_id}"
    checks = []
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            checks.append(
                f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
                f"{evaluation.description or 'failed'}"
            )
    failures = []
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = entry.dagster_event.step_failure_data
        meta = {k: v.value for k, v in (data.user_failure_data.metadata if data.user_failure_data else {}).items()}
        failures.append((entry.step_key or "?", _error_text(data.error), meta))
    if checks:
        step = failures[0][0] if failures else "-"
        return Alert("validation", "; ".join(checks), f"{where}, step {step}", NEXT_STEPS["validation"])
    if not failures:
        return Alert("delivery", f"run {run.run_id} failed before any step ran", where, NEXT_STEPS["delivery"])
    step, message, meta = failures[0]
    stage = str(meta.get("alert_stage") or _stage_of_step(step))
    host = f", {meta['where']}" if meta.get("where") else ""
    details = "\n".join(f"- {s}: {m}" for s, m, _ in failures[1:])
    return Alert(
        stage, message, f"{where}, step {step}{host}", str(meta.get("next_step") or NEXT_STEPS[stage]), details
    )


def build_failure_sensor(jobs: list) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=f"{CASE}_failure_alert",
        monitored_jobs=jobs,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="E-mails the data team when an OuchHungry run fails: what, where and the next step.",
    )
    def failure_alert(context: dg.RunFailureSensorContext, smtp: SMTPResource, outbox: OutboxResource):
        alert = alert_for_run(context.instance, context.dagster_run)
        sent_to = send_alert(alert, smtp, outbox)
        context.log.info(f"alert for run {context.dagster_run.run_id} sent to {sent_to}")

    return failure_alert


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
            )
            send_alert(alert, smtp, outbox)
            alerted.append(f"{kind}/{key}")
        context.update_cursor(json.dumps(alerted[-100:]))
        if not late:
            return dg.SkipReason("every partition past its deadline was delivered (or already alerted)")
        return dg.SkipReason(f"alerted {len(late)} late partition(s): {', '.join(k + '/' + p for k, p, _ in late)}")

    return delivery_deadline
