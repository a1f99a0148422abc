"""Alerts for every job, evaluated as the daemon would: one message per incident, through outbox or SMTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from caseworks_assets.alerts import check_failure_alert, freshness_alert, run_failure_alert
from caseworks_assets.instance import get_instance
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource
from caseworks_assets.settings import Settings
from caseworks_assets_tests.conftest import free_port
from caseworks_assets_tests.ouchhungry.servers import Mailbox
from caseworks_assets_tests.platform.kit import TINY, run_tiny


@pytest.fixture
def outbox(caseworks_env: Settings) -> OutboxResource:
    return OutboxResource(root=str(caseworks_env.out_dir / "outbox"))


def _mails(outbox: OutboxResource) -> list[str]:
    folder = Path(outbox.root) / "email"
    return [p.read_text() for p in sorted(folder.iterdir())] if folder.exists() else []


def _on_failure(instance: dg.DagsterInstance, run: dg.DagsterRun, resources: dict) -> None:
    """Evaluate the run-failure sensor for ``run`` as the daemon does when it sees the run's failure event."""
    failure = next(iter(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)))
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert.name,
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources=resources,
    ).for_run_failure()
    run_failure_alert(context)


def test_a_failed_run_of_any_job_alerts_once_when_its_last_retry_fails(outbox: OutboxResource) -> None:
    instance = get_instance()
    resources = {"smtp": SMTPResource(alert_emails="team@x.example"), "outbox": outbox}
    first = run_tiny(instance, fail=True, tags={"dagster/will_retry": "true"})
    _on_failure(instance, instance.get_run_by_id(first.run_id), resources)
    assert _mails(outbox) == []  # Dagster retries it: not an incident yet

    retry = run_tiny(instance, fail=True, tags={"dagster/retry_number": "1"})
    run = instance.get_run_by_id(retry.run_id)
    _on_failure(instance, run._replace(root_run_id=first.run_id, parent_run_id=first.run_id), resources)
    (mail,) = _mails(outbox)
    assert "To: team@x.example" in mail
    assert "Subject: [caseworks ALERT] tiny run failure: RuntimeError: source export not found" in mail
    assert f"WHERE: job tiny_job, partition -, run {retry.run_id}, step tiny__source" in mail
    assert f"failed after 2 attempts; first run {first.run_id}" in mail
    assert "NEXT STEP: open the run in the Dagster UI" in mail


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def test_repeated_check_failures_alert_once_per_streak_over_smtp(
    outbox: OutboxResource, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    smtp = SMTPResource(host="127.0.0.1", port=port, security="none", alert_emails="team@x.example")
    instance = get_instance()
    context = dg.build_sensor_context(instance=instance, resources={"smtp": smtp, "outbox": outbox})

    def tick() -> None:
        check_failure_alert(context)
        context.update_cursor(context.cursor)  # what the daemon stores between ticks

    run_tiny(instance)  # the report's check fails: one failure is not yet "repeated"
    tick()
    assert box.messages == []
    run_tiny(instance)
    tick()
    run_tiny(instance)  # the same streak goes on: no second message
    tick()
    (message,) = box.wait_for(1)
    assert (
        str(message["Subject"])
        .replace("\r\n", "")
        .startswith("[caseworks ALERT] tiny check failure: check reconciles on tiny/report failed 2")
    )
    assert "2 rows off" in Mailbox.text(message)
    assert _mails(outbox) == []


def test_freshness_misses_alert_once_per_stale_episode_and_are_recorded(outbox: OutboxResource) -> None:
    @dg.asset(key=["tiny", "hourly"], freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=1)))
    def hourly() -> int:
        return 1

    defs = dg.Definitions(assets=[hourly], sensors=[freshness_alert])
    instance = get_instance()
    resources = {"smtp": SMTPResource(), "outbox": outbox}
    context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(), resources=resources)
    freshness_alert(context)
    context.update_cursor(context.cursor)
    freshness_alert(context)  # same episode (never materialized): no second message
    (mail,) = _mails(outbox)
    assert "Subject: [caseworks ALERT] tiny freshness failure: tiny/hourly is overdue: never materialized" in mail
    observations = instance.fetch_observations(dg.AssetKey(["tiny", "hourly"]), limit=10).records
    assert len(observations) == 1  # the miss is on the asset, for the platform KPIs

    dg.materialize([hourly], instance=instance)  # fresh again: nothing to say
    freshness_alert(context)
    assert len(_mails(outbox)) == 1


def test_the_run_failure_sensor_watches_every_job_of_every_location() -> None:
    assert (
        run_failure_alert.monitor_all_code_locations
        if hasattr(run_failure_alert, "monitor_all_code_locations")
        else True
    )
    assert TINY.resolve_job_def("tiny_job") is not None
