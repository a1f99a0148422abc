"""Faults against real servers: each failure is retried where it helps, alerted, and never delivers twice."""

from __future__ import annotations

import dagster as dg
import pytest

from caseworks_assets.resources.delivery import PartnerAPIError, SFTPDeliveryError
from caseworks_assets.runner import failure_summary
from caseworks_assets_tests.ouchhungry.kit import (
    DATA_TEAM,
    api_resource,
    build_defs,
    evaluate_failure_sensor,
    run_day,
    sftp_resource,
    smtp_resource,
)
from caseworks_assets_tests.ouchhungry.servers import Mailbox, free_port, write_ed25519_key

DAY = "2025-01-07"


def test_sftp_down_is_retried_then_alerted_while_the_api_still_delivers(
    oh_settings, sshd, drop, partner_api, mailbox
) -> None:
    box, smtp_port = mailbox
    smtp = smtp_resource(smtp_port)
    dead_port = free_port()
    down = sftp_resource(sshd, port=dead_port)
    defs = build_defs(oh_settings, sftp=down, partner_api=api_resource(partner_api), smtp=smtp)
    instance = dg.DagsterInstance.ephemeral()

    result = run_day(defs, instance, DAY)
    assert not result.success
    summary = failure_summary(result)
    assert f"127.0.0.1:{dead_port}" in summary and "unreachable after 3 attempts" in summary
    assert len(partner_api.state.deliveries) == 1  # the API channel is independent of SFTP
    assert box.wait_for(1, timeout=0.3) == []  # no partner notice while a channel is missing

    evaluate_failure_sensor(defs, instance, result, oh_settings, smtp)
    (alert,) = box.wait_for(1)
    assert alert["To"] == DATA_TEAM and "connection failure" in alert["Subject"]
    text = Mailbox.text(alert)
    assert f"127.0.0.1:{dead_port}" in text and "unreachable" in text  # what
    assert f"partition {DAY}" in text and "ouchhungry__daily_delivery" in text  # where
    assert "NEXT STEP:" in text and "re-run the partition" in text

    # the server is back: the re-run sends only what is missing
    defs = build_defs(oh_settings, sftp=sftp_resource(sshd), partner_api=api_resource(partner_api), smtp=smtp)
    assert run_day(defs, instance, DAY).success
    assert [p.name for p in drop.iterdir()] == [f"ouchhungry_daily_sales_{DAY}.csv"]
    assert len(partner_api.state.requests) == 1
    messages = box.wait_for(2)
    assert len(messages) == 2 and "delivered" in messages[1]["Subject"]


def test_api_500_then_200_delivers_exactly_once(oh_settings, partner_api) -> None:
    partner_api.state.fail_next = [500]
    defs = build_defs(oh_settings, partner_api=api_resource(partner_api))
    result = run_day(defs, dg.DagsterInstance.ephemeral(), DAY)
    assert result.success
    keys = [request["key"] for request in partner_api.state.requests]
    assert len(keys) == 2 and keys[0] == keys[1]  # the retry reuses the idempotency key
    assert list(partner_api.state.deliveries) == [keys[0]]


def test_api_4xx_is_not_retried_and_alerts_a_delivery_failure(oh_settings, partner_api, mailbox) -> None:
    box, smtp_port = mailbox
    smtp = smtp_resource(smtp_port)
    partner_api.state.fail_next = [422]
    defs = build_defs(oh_settings, partner_api=api_resource(partner_api), smtp=smtp)
    instance = dg.DagsterInstance.ephemeral()
    result = run_day(defs, instance, DAY)
    assert not result.success
    assert len(partner_api.state.requests) == 1
    assert "HTTP 422" in failure_summary(result) and "Not retried" in failure_summary(result)

    evaluate_failure_sensor(defs, instance, result, oh_settings, smtp)
    (alert,) = box.wait_for(1)  # the alert only: no partner notice while the API lacks the data
    assert alert["To"] == DATA_TEAM and "delivery failure" in alert["Subject"]
    assert "HTTP 422" in Mailbox.text(alert) and "fix the payload" in Mailbox.text(alert)


def test_expired_token_is_refreshed(partner_api) -> None:
    api = api_resource(partner_api)
    first = api.deliver("ds", "2025-01-01", "a" * 64, {"rows": []})
    partner_api.state.tokens.clear()  # the partner revokes every token
    second = api.deliver("ds", "2025-01-02", "b" * 64, {"rows": []})
    assert first["status"] == second["status"] == 200
    assert partner_api.state.token_requests == 2
    assert len(partner_api.state.deliveries) == 2


def test_wrong_api_password_fails_without_retrying(partner_api) -> None:
    api = api_resource(partner_api, password="wrong")
    with pytest.raises(PartnerAPIError, match="refused the credentials"):
        api.deliver("ds", "2025-01-01", "a" * 64, {"rows": []})
    assert partner_api.state.token_requests == 1 and partner_api.state.requests == []


def test_changed_host_key_is_refused_and_alerted(oh_settings, sshd, drop, mailbox, tmp_path) -> None:
    box, smtp_port = mailbox
    smtp = smtp_resource(smtp_port)
    impostor = tmp_path / "known_hosts"
    impostor.write_text(sshd.known_hosts_line(write_ed25519_key(tmp_path / "other_key")))
    defs = build_defs(oh_settings, sftp=sftp_resource(sshd, known_hosts=str(impostor)), smtp=smtp)
    instance = dg.DagsterInstance.ephemeral()

    result = run_day(defs, instance, DAY)
    assert not result.success
    assert "host key CHANGED" in failure_summary(result)
    assert list(drop.iterdir()) == []

    evaluate_failure_sensor(defs, instance, result, oh_settings, smtp)
    (alert,) = box.wait_for(1)
    text = Mailbox.text(alert)
    assert "host key CHANGED" in text and f"127.0.0.1:{sshd.port}" in text
    assert "CASEWORKS_SFTP_KNOWN_HOSTS" in text


def test_unknown_host_is_refused_at_once(sshd, drop, tmp_path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    local = tmp_path / "file.csv"
    local.write_text("a,b\n1,2\n")
    with pytest.raises(SFTPDeliveryError, match="not found in known_hosts") as error:
        sftp_resource(sshd, known_hosts=str(empty)).upload(local)
    assert error.value.kind == "host_key"
    assert list(drop.iterdir()) == []


def test_smtp_down_fails_the_run_with_a_clear_error(oh_settings) -> None:
    dead_port = free_port()
    defs = build_defs(oh_settings, smtp=smtp_resource(dead_port))
    result = run_day(defs, dg.DagsterInstance.ephemeral(), DAY)
    assert not result.success
    summary = failure_summary(result)
    assert "could not send e-mail" in summary and f"smtp://127.0.0.1:{dead_port}" in summary
    assert "Next step" in summary


def test_a_malformed_export_fails_extraction_and_alerts(oh_settings, mailbox) -> None:
    box, smtp_port = mailbox
    smtp = smtp_resource(smtp_port, partner_emails="")
    export = oh_settings.data_dir / "ouchhungry" / "transactions" / f"{DAY}.csv"
    export.parent.mkdir(parents=True)
    export.write_text("transaction_id;sold_at\nT1;2025-01-07\n")
    defs = build_defs(oh_settings, smtp=smtp)
    instance = dg.DagsterInstance.ephemeral()
    result = run_day(defs, instance, DAY)
    assert not result.success
    assert f"{export} line 1 (header) lacks columns" in failure_summary(result)

    evaluate_failure_sensor(defs, instance, result, oh_settings, smtp)
    (alert,) = box.wait_for(1)
    assert "extraction failure" in alert["Subject"]
    text = Mailbox.text(alert)
    assert str(export) in text and "ouchhungry__raw_transactions" in text and "source export" in text
