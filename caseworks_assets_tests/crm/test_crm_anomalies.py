"""Anomalous interaction volumes: the robust score, the check, and the sensor's alert through SMTP or the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from aiosmtpd.controller import Controller

from caseworks_assets.crm import anomalies
from caseworks_assets.crm.jobs import SERVING_KEY, crm_interaction_anomalies
from caseworks_assets.crm.serving import CrmServing, snapshot_folder
from caseworks_assets.crm.store import ServingData, publish_snapshot
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource
from caseworks_assets_tests.conftest import free_port
from caseworks_assets_tests.ouchhungry.kit import DATA_TEAM, smtp_resource
from caseworks_assets_tests.ouchhungry.servers import Mailbox

START = date(2019, 3, 1)


def _daily(channel: str, counts: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"channel": channel, "day": [START + timedelta(days=i) for i in range(len(counts))], "interactions": counts},
        schema={"channel": pl.String, "day": pl.Date, "interactions": pl.Int64},
    )


def test_a_spike_and_a_drop_are_flagged_ordinary_noise_is_not() -> None:
    busy = [100 + (i % 5) for i in range(40)]
    busy[30] = 0  # an outage
    quiet = [2, 1, 3, 2, 2, 1, 2, 3, 2, 2, 5, 2, 1, 2, 2, 3, 2, 40, 2, 2]  # 5 is noise, 40 a spike
    daily = pl.concat([_daily("Call", busy), _daily("Email", quiet)])
    flagged = anomalies.anomalies(daily)
    assert sorted(flagged.select("channel", "day").rows()) == [
        ("Call", START + timedelta(days=30)),
        ("Email", START + timedelta(days=17)),
    ]
    assert anomalies.anomalies(_daily("Chat", [40] + [2] * 5)).is_empty()  # too little history to judge


def test_days_without_interactions_count_as_zero() -> None:
    sparse = _daily("Bird", [3] * 20).filter(pl.col("day") != START + timedelta(days=10))
    scored = anomalies.scores(sparse)
    assert scored.height == 20 and scored.filter(pl.col("day") == START + timedelta(days=10))["interactions"][0] == 0


def _publish_with_spike(out: Path) -> None:
    days = [datetime(2019, 5, 1) + timedelta(days=i, hours=9) for i in range(30)]
    started = days + [datetime(2019, 5, 20, 10, m) for m in range(30)]  # 31 e-mails on 20 May
    interactions = pl.DataFrame({"customer_id": 1, "channel": "Email", "started_at": started}).with_columns(
        pl.col("started_at").dt.date().alias("day"),
        pl.col("started_at").dt.date().dt.truncate("1mo").alias("month"),
        pl.lit(None, dtype=pl.String).alias("topic"),
    )
    customers = pl.DataFrame({"customer_id": [1], "occupation": ["x"], "customer_type": ["Business"]})
    publish_snapshot(snapshot_folder(out), ServingData.from_clean(customers, interactions))


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def _evaluate(instance: dg.DagsterInstance, out: Path, smtp: SMTPResource, cursor: str | None = None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "crm_serving": CrmServing(out_root=str(out)),
            "smtp": smtp,
            "outbox": OutboxResource(root=str(out / "outbox")),
        },
    )
    return crm_interaction_anomalies(context), context.cursor


def test_sensor_alerts_the_data_team_once_per_anomalous_day(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    with dg.DagsterInstance.ephemeral() as instance:
        skipped, _ = _evaluate(instance, tmp_path, smtp_resource(port))
        assert "not been published" in skipped.skip_message
        _publish_with_spike(tmp_path)
        instance.report_runless_asset_event(dg.AssetMaterialization(SERVING_KEY))
        result, cursor = _evaluate(instance, tmp_path, smtp_resource(port))
        assert "alerted 1 anomalous" in result.skip_message
        [message] = box.wait_for(1)
        assert message["Subject"].startswith("[caseworks ALERT] crm anomaly")
        assert DATA_TEAM in message["To"]
        assert "2019-05-20 Email: 31 interactions" in Mailbox.text(message)
        again, _ = _evaluate(instance, tmp_path, smtp_resource(port), cursor)
        assert "no new publication" in again.skip_message
        instance.report_runless_asset_event(dg.AssetMaterialization(SERVING_KEY))
        republished, _ = _evaluate(instance, tmp_path, smtp_resource(port), cursor)
        assert republished.skip_message == "no anomalous channel-day"  # the same day is not alerted twice
        assert len(box.wait_for(2, timeout=0.5)) == 1


def test_without_smtp_the_alert_lands_in_the_outbox(tmp_path: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        _publish_with_spike(tmp_path)
        instance.report_runless_asset_event(dg.AssetMaterialization(SERVING_KEY))
        result, _ = _evaluate(instance, tmp_path, SMTPResource())
    assert "outbox" in result.skip_message
    [mail] = (tmp_path / "outbox" / "email").iterdir()
    assert "2019-05-20 Email" in mail.read_text()
