"""The data team's alert channel, and the alerts every job of the code location gets.

One channel: ``CASEWORKS_ALERT_EMAILS`` through the SMTP resource, or the
outbox when SMTP is not configured. Every alert answers three questions in its
first lines: what failed, where (job, partition, step, asset) and what to do.

Three sensors cover every job and asset, one message per incident:

* :data:`run_failure_alert` -- a run of any job failed for good. A run that
  Dagster will retry (``dagster/will_retry``) is not an incident yet: the
  alert goes out when the last attempt fails, naming the attempts. A case
  that knows its failures better exposes ``alert_for_run(instance, run)`` in
  ``caseworks_assets.<case>.alerts`` (ouchhungry classifies extraction,
  validation, connection and delivery failures); other runs get the generic
  description of their failed steps and blocking checks.
* :data:`freshness_alert` -- an asset with a freshness policy is overdue: its
  last materialization is older than its policy's fail window, or Dagster's
  freshness evaluation marked it failed. One alert per stale episode (until it
  is materialized again); the miss is also recorded on the asset as an
  observation, which the platform KPIs count.
* :data:`check_failure_alert` -- the same asset check failed on consecutive
  evaluations (:data:`REPEATED_CHECK_FAILURES`, across runs and retries): one
  alert per streak.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from caseworks_assets.resources.delivery import OutboxResource, SMTPResource, send_alert_mail

ALERT_CHANNEL = "data-team"
REPEATED_CHECK_FAILURES = 2
#: Observation metadata key that records a freshness miss on the asset.
FRESHNESS_MISS_KEY = "caseworks/freshness_miss"

GENERIC_NEXT_STEP = (
    "open the run in the Dagster UI, read the failed step's error, fix the cause and re-execute the run "
    "from its failure."
)


@dataclass(frozen=True)
class Alert:
    """One message to the data team: what happened, where, and the next step, in its first lines.

    ``failure`` is false for an alert about the data rather than a failed
    run or step (crm's volume anomalies): the message then says what was
    seen, not what failed.
    """

    stage: str
    what: str
    where: str
    next_step: str
    details: str = ""
    case: str = "caseworks"
    failure: bool = True

    @property
    def subject(self) -> str:
        stage = f"{self.stage} failure" if self.failure else self.stage
        return f"[caseworks ALERT] {self.case} {stage}: {self.what[:90]}"

    @property
    def body(self) -> str:
        what = "WHAT FAILED" if self.failure else "WHAT"
        text = f"{what}: {self.what}\nWHERE: {self.where}\nNEXT STEP: {self.next_step}\n"
        return text + (f"\nDETAILS:\n{self.details}\n" if self.details else "")


def send_alert(alert: Alert, smtp: SMTPResource, outbox: OutboxResource) -> str:
    """E-mail the data team, else the outbox (:func:`~caseworks_assets.resources.delivery.send_alert_mail`)."""
    return send_alert_mail(alert.subject, alert.body, smtp, outbox)


def error_text(error) -> str:
    """An error's message followed by its causes' messages."""
    message = error.message.strip() if error else "unknown error"
    while error is not None and error.cause is not None:
        error = error.cause
        message += f" | caused by: {error.message.strip()}"
    return message


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The blocking checks that failed in a run, one line each."""
    lines = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            lines.append(
                f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
                f"{evaluation.description or 'failed'}"
            )
    return lines


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str, dict]]:
    """(step key, error text, user failure metadata) of each failed step of a run."""
    failures = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = entry.dagster_event.step_failure_data
        meta = {k: v.value for k, v in (data.user_failure_data.metadata if data.user_failure_data else {}).items()}
        failures.append((entry.step_key or "?", error_text(data.error), meta))
    return failures


def run_location(run: dg.DagsterRun) -> str:
    partition = run.tags.get("dagster/partition", "-")
    return f"job {run.job_name}, partition {partition}, run {run.run_id}"


def generic_alert_for_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Alert:
    """A failed run of a job with no case-specific description: its failed checks and steps."""
    case = run.tags.get("caseworks/case") or "caseworks"
    where = run_location(run)
    checks = failed_checks(instance, run.run_id)
    failures = failed_steps(instance, run.run_id)
    if checks:
        step = failures[0][0] if failures else "-"
        return Alert("validation", "; ".join(checks), f"{where}, step {step}", GENERIC_NEXT_STEP, case=case)
    if not failures:
        return Alert("run", f"run {run.run_id} failed before any step ran", where, GENERIC_NEXT_STEP, case=case)
    step, message, _ = failures[0]
    # the last cause is the user's own error ("source export not found"), the chain goes to the details
    cause = message.rsplit(" | caused by: ", 1)[-1]
    details = "\n".join(f"- {s}: {m}" for s, m, _ in failures)
    return Alert("run", cause, f"{where}, step {step}", GENERIC_NEXT_STEP, details, case=case)


def describer_for(run: dg.DagsterRun) -> Callable[[dg.DagsterInstance, dg.DagsterRun], Alert]:
    """The case's own ``alert_for_run`` (``caseworks_assets.<case>.alerts``) if it has one, else the generic one."""
    case = run.tags.get("caseworks/case")
    if case and case.isidentifier():
        try:
            module = importlib.import_module(f"caseworks_assets.{case}.alerts")
        except ModuleNotFoundError:
            module = None
        if module is not None and hasattr(module, "alert_for_run"):
            return module.alert_for_run
    return generic_alert_for_run


def alert_for_failed_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Alert | None:
    """The incident's alert, or None while Dagster will still retry the run (not an incident yet)."""
    if run.tags.get("dagster/will_retry", "").lower() == "true":
        return None
    alert = describer_for(run)(instance, run)
    if run.root_run_id and run.root_run_id != run.run_id:
        attempts = run.tags.get("dagster/retry_number")
        tried = f" after {int(attempts) + 1} attempts" if attempts and attempts.isdigit() else " on retry"
        alert = Alert(
            alert.stage,
            alert.what,
            f"{alert.where} (failed{tried}; first run {run.root_run_id})",
            alert.next_step,
            alert.details,
            alert.case,
        )
    return alert


@dg.run_failure_sensor(
    name="caseworks_run_failure_alert",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="E-mails the data team when a run of any job fails for good (once per incident, not per retry): "
    "what failed, where and the next step.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, smtp: SMTPResource, outbox: OutboxResource):
    run = context.dagster_run
    alert = alert_for_failed_run(context.instance, run)
    if alert is None:
        context.log.info(f"run {run.run_id} failed but will be retried: alerting when its last attempt fails")
        return
    sent_to = send_alert(alert, smtp, outbox)
    context.log.info(f"alert for run {run.run_id} sent to {sent_to}")


# --------------------------------------------------------------------------- freshness


def _cursor(context: dg.SensorEvaluationContext) -> dict:
    return json.loads(context.cursor) if context.cursor else {}


def stale_by_window(last_materialized: float | None, now: float, fail_window_s: float) -> bool:
    """A time-window policy is missed when the last materialization is older than the fail window (or never)."""
    return last_materialized is None or now - last_materialized > fail_window_s


def freshness_incidents(instance: dg.DagsterInstance, asset_graph, now: float) -> list[tuple[str, dg.AssetKey, str]]:
    """(incident key, asset, why) of every asset with a freshness policy that is overdue now."""
    nodes = [node for node in asset_graph.asset_nodes if node.is_materializable and node.freshness_policy is not None]
    if not nodes:
        return []
    states = instance.get_freshness_state_records([node.key for node in nodes])
    incidents = []
    for node in nodes:
        policy = node.freshness_policy
        latest = instance.get_latest_materialization_event(node.key)
        last = latest.timestamp if latest else None
        episode = f"{node.key.to_user_string()}@{last or 'never'}"
        state = states.get(node.key)
        fail_window = getattr(policy, "fail_window", None)
        if fail_window is not None and stale_by_window(last, now, fail_window.to_timedelta().total_seconds()):
            when = (
                "never materialized"
                if last is None
                else f"last materialized {datetime.fromtimestamp(last, UTC):%Y-%m-%d %H:%M} UTC"
            )
            incidents.append((episode, node.key, f"{when}, older than its {fail_window.to_timedelta()} fail window"))
        elif state is not None and state.freshness_state.value == "FAIL":
            incidents.append(
                (episode, node.key, f"Dagster's freshness evaluation failed it at {state.updated_at:%Y-%m-%d %H:%M}")
            )
    return incidents


@dg.sensor(
    name="caseworks_freshness_alert",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts the data team once per stale episode of an asset with a freshness policy, and records "
    "the miss on the asset (an observation the platform KPIs count).",
)
def freshness_alert(context: dg.SensorEvaluationContext, smtp: SMTPResource, outbox: OutboxResource):
    state = _cursor(context)
    alerted: list[str] = state.get("alerted", [])
    now = datetime.now(UTC).timestamp()
    fresh = [
        i for i in freshness_incidents(context.instance, context.repository_def.asset_graph, now) if i[0] not in alerted
    ]
    for key, asset, why in fresh:
        alert = Alert(
            "freshness",
            f"{asset.to_user_string()} is overdue: {why}",
            f"asset {asset.to_user_string()}",
            "look for the asset's last run in the Dagster UI: if it failed, follow its failure alert; if none ran, "
            "check the schedule or sensor that should materialize it and launch it by hand.",
            case=asset.path[0],
        )
        send_alert(alert, smtp, outbox)
        context.instance.report_runless_asset_event(
            dg.AssetObservation(asset_key=asset, metadata={FRESHNESS_MISS_KEY: why})
        )
        alerted.append(key)
    context.update_cursor(json.dumps({"alerted": alerted[-500:]}))
    return dg.SkipReason(f"{len(fresh)} new freshness miss(es) alerted" if fresh else "no new freshness miss")


# --------------------------------------------------------------------------- repeated check failures


def _evaluation_id(record: dg.EventLogRecord) -> str:
    entry = record.event_log_entry
    evaluation = entry.dagster_event.event_specific_data
    return f"{entry.timestamp}|{entry.run_id}|{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"


def check_streaks(records: list[dg.EventLogRecord], streaks: dict[str, dict], threshold: int) -> list[tuple[str, dict]]:
    """Advance each check's failure streak over ``records`` (oldest first); the streaks reaching ``threshold``.

    A pass ends a streak. A streak is reported once, when it reaches the
    threshold; its incident key is the check and the run of its first failure.
    """
    reached = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.passed:
            streaks.pop(key, None)
            continue
        streak = streaks.setdefault(key, {"count": 0, "first_run": record.event_log_entry.run_id, "errors": []})
        streak["count"] += 1
        streak["last_run"] = record.event_log_entry.run_id
        streak["errors"] = ([*streak["errors"], evaluation.description or ""])[-3:]
        if streak["count"] == threshold:
            reached.append((key, dict(streak)))
    return reached


@dg.sensor(
    name="caseworks_check_failure_alert",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Alerts the data team once when an asset check fails {REPEATED_CHECK_FAILURES} evaluations in a "
    "row (across runs and retries).",
)
def check_failure_alert(context: dg.SensorEvaluationContext, smtp: SMTPResource, outbox: OutboxResource):
    state = _cursor(context)
    streaks: dict[str, dict] = state.get("streaks", {})
    since, seen = state.get("since"), set(state.get("seen", []))
    # A time bound, not a storage id: SQLite's run-sharded event log numbers each run's events apart and
    # refuses id cursors. Evaluations of the last second already seen are remembered by run and check.
    records = [
        record
        for record in context.instance.get_event_records(
            dg.EventRecordsFilter(
                event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                after_timestamp=None if since is None else since - 1.0,
            ),
            limit=1000,
            ascending=True,
        )
        if _evaluation_id(record) not in seen
    ]
    records.sort(key=lambda record: record.timestamp)  # a streak is counted in time order, across runs
    reached = check_streaks(list(records), streaks, REPEATED_CHECK_FAILURES)
    for key, streak in reached:
        asset, check = key.rsplit(":", 1)
        errors = "; ".join(e for e in streak["errors"] if e) or "no description"
        alert = Alert(
            "check",
            f"check {check} on {asset} failed {streak['count']} times in a row: {errors}",
            f"asset {asset}, check {check}, runs {streak['first_run']} .. {streak['last_run']}",
            "open the check in the Dagster UI (its metadata shows the failing rows), fix the data or the rule, then "
            "re-run the asset.",
            case=asset.split("/")[0],
        )
        send_alert(alert, smtp, outbox)
    if records:
        since = records[-1].timestamp
        seen |= {_evaluation_id(r) for r in records}
    seen = {key for key in seen if float(key.split("|", 1)[0]) >= (since or 0) - 1.0}
    context.update_cursor(json.dumps({"since": since, "seen": sorted(seen), "streaks": streaks}))
    return dg.SkipReason(f"{len(reached)} repeated check failure(s) alerted" if reached else "no new repeated failure")


ALERT_SENSORS = [run_failure_alert, freshness_alert, check_failure_alert]
