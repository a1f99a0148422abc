"""Schedules and the deadline sensor, evaluated as the daemon would."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from caseworks_assets.ouchhungry.alerts import DeadlinePolicy, overdue_partitions
from caseworks_assets.ouchhungry.manifest import DeliveryManifest, DeliveryRecord
from caseworks_assets.resources import LakeResource
from caseworks_assets.resources.delivery import OutboxResource
from caseworks_assets_tests.ouchhungry.kit import build_defs, run_day, smtp_resource
from caseworks_assets_tests.ouchhungry.servers import Mailbox

SP = ZoneInfo("America/Sao_Paulo")


def test_daily_schedule_runs_the_previous_day_at_six_in_sao_paulo(oh_settings) -> None:
    schedule = build_defs(oh_settings).resolve_schedule_def("ouchhungry_daily_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "America/Sao_Paulo")
    tick = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime(2025, 3, 10, 6, tzinfo=SP))
    )
    assert [request.partition_key for request in tick.run_requests] == ["2025-03-09"]


def test_monthly_schedule_runs_the_previous_month_on_the_first(oh_settings) -> None:
    schedule = build_defs(oh_settings).resolve_schedule_def("ouchhungry_monthly_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 1 * *", "America/Sao_Paulo")
    tick = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime(2025, 4, 1, 6, tzinfo=SP))
    )
    assert [request.partition_key for request in tick.run_requests] == ["2025-03-01"]
    assert tick.run_requests[0].job_name in (None, "ouchhungry_monthly_job")


def _notice(manifest: DeliveryManifest, kind: str, partition: str) -> None:
    record = DeliveryRecord(kind, partition, "email", "outbox", "notice", "0" * 64, 0, "outbox", "2025-03-10T00:00:00")
    manifest.record(record, "outbox")


def test_overdue_partitions_follow_the_deadlines(tmp_path) -> None:
    manifest = DeliveryManifest(LakeResource(root=str(tmp_path / "lake")))
    at_ten = datetime(2025, 3, 10, 10, tzinfo=SP)
    due = [(kind, key) for kind, key, _ in overdue_partitions(at_ten, manifest)]
    assert due == [("daily", "2025-03-07"), ("daily", "2025-03-08"), ("daily", "2025-03-09"), ("monthly", "2025-02-01")]
    at_eight = datetime(2025, 3, 10, 8, tzinfo=SP)  # before 09:00: yesterday is not late yet
    assert [key for _, key, _ in overdue_partitions(at_eight, manifest, DeadlinePolicy(lookback_days=2))] == [
        "2025-03-08",
        "2025-02-01",
    ]
    _notice(manifest, "daily", "2025-03-09")
    _notice(manifest, "monthly", "2025-02-01")
    assert [key for _, key, _ in overdue_partitions(at_ten, manifest)] == ["2025-03-07", "2025-03-08"]
    assert overdue_partitions(datetime(2025, 1, 1, 12, tzinfo=SP), manifest) == []  # before the first partition


def test_deadline_sensor_alerts_once_and_stops_after_delivery(oh_settings, mailbox) -> None:
    box, smtp_port = mailbox
    defs = build_defs(oh_settings)
    lake = LakeResource(root=oh_settings.lake_root)
    resources = {
        "lake": lake,
        "smtp": smtp_resource(smtp_port),
        "outbox": OutboxResource(root=str(oh_settings.out_dir / "outbox")),
    }
    sensor = defs.resolve_sensor_def("ouchhungry_delivery_deadline")
    instance = dg.DagsterInstance.ephemeral()
    expected = overdue_partitions(datetime.now(SP), DeliveryManifest(lake))
    assert expected  # the lookback always holds a day whose deadline passed

    first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources))
    messages = box.wait_for(len(expected))
    assert len(messages) == len(expected)
    for message, (kind, key, _) in zip(messages, expected, strict=True):
        text = Mailbox.text(message)
        assert f"{kind} partition {key} not delivered by its deadline" in text and "NEXT STEP:" in text

    again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
    assert len(box.wait_for(len(expected) + 1, timeout=0.3)) == len(expected)  # alerted once per partition
    assert again.skip_message and "every partition" in again.skip_message

    yesterday = (datetime.now(SP) - timedelta(days=1)).date().isoformat()
    assert run_day(defs, instance, yesterday).success  # delivered (to the outbox) late but delivered
    assert yesterday not in [key for _, key, _ in overdue_partitions(datetime.now(SP), DeliveryManifest(lake))]
