"""Guardrails block delivery: thresholds computed by hand, and a failing check stops the partition."""

from __future__ import annotations

import dagster as dg
import polars as pl

from caseworks_assets.ouchhungry.guardrails import (
    GuardrailConfig,
    duplicates_check,
    null_rate_check,
    price_range_check,
    volume_check,
)
from caseworks_assets_tests.ouchhungry.kit import (
    build_defs,
    evaluate_failure_sensor,
    extract_config,
    run_day,
    smtp_resource,
)
from caseworks_assets_tests.ouchhungry.servers import Mailbox

CONFIG = GuardrailConfig()


def test_volume_band_around_the_trailing_mean() -> None:
    assert volume_check(50, [100, 100], CONFIG).passed  # two days of history: not enough to judge
    assert volume_check(50, [90, 100, 110], CONFIG).passed  # exactly 0.5 x mean 100
    failed = volume_check(49, [90, 100, 110], CONFIG)
    assert not failed.passed and failed.metadata["ratio"].value == 0.49
    assert volume_check(150, [100, 100, 100], CONFIG).passed and not volume_check(151, [100] * 3, CONFIG).passed


def test_null_price_and_duplicate_guardrails() -> None:
    frame = pl.DataFrame(
        {
            "transaction_id": ["t1", "t2", "t3", "t3"],
            "product": ["Hungry"] * 4,
            "city": ["Recife", "Não informada", "Natal", "Natal"],
            "unit_price": [4.0, 2.0, 9.5, 9.5],
            "list_price": [4.0, 4.0, 4.0, 4.0],
        }
    )
    nulls = null_rate_check(frame, ["city", "unit_price"], CONFIG)  # 1 of 4 rows has an unknown city
    assert not nulls.passed and nulls.metadata["null_rate"].value == 0.25
    prices = price_range_check(frame, CONFIG)  # 2.0 is exactly 0.5 x 4.0 (allowed); 9.5 > 8.0 twice
    assert not prices.passed and prices.metadata["rows_outside"].value == 2
    assert duplicates_check(frame, "transaction_id").metadata["duplicate_rows"].value == 1
    assert duplicates_check(frame.unique("transaction_id"), "transaction_id").passed


def _with_guardrails(**thresholds) -> dict:
    config = extract_config()
    config["ops"]["ouchhungry__daily_sales"] = {"config": thresholds}
    return config


def test_a_volume_drop_blocks_delivery_and_alerts(oh_settings, mailbox) -> None:
    box, smtp_port = mailbox
    smtp = smtp_resource(smtp_port, partner_emails="")  # only alerts should arrive here
    defs = build_defs(oh_settings)  # channels unconfigured: deliveries go to the outbox
    instance = dg.DagsterInstance.ephemeral()
    for day in ("2025-01-13", "2025-01-14", "2025-01-15"):
        assert run_day(defs, instance, day).success
    outbox = oh_settings.out_dir / "outbox"
    delivered_before = sorted(p.name for p in (outbox / "sftp").iterdir())

    result = run_day(defs, instance, "2025-01-16", extract_config(transactions_per_day=15))
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["volume_vs_trailing_mean"].passed
    assert checks["no_duplicates"].passed and checks["price_range"].passed
    assert not any(step.step_key == "ouchhungry__daily_delivery" for step in result.get_step_success_events())
    assert sorted(p.name for p in (outbox / "sftp").iterdir()) == delivered_before  # nothing delivered

    evaluate_failure_sensor(defs, instance, result, oh_settings, smtp)
    (alert,) = box.wait_for(1)
    text = Mailbox.text(alert)
    assert "validation failure" in alert["Subject"]
    assert "volume_vs_trailing_mean" in text and "trailing 3-day mean" in text and "partition 2025-01-16" in text
    assert "Nothing was delivered" in text


def test_a_quarantine_rate_above_the_limit_blocks_delivery(oh_settings) -> None:
    defs = build_defs(oh_settings)
    result = run_day(defs, dg.DagsterInstance.ephemeral(), "2025-01-13", _with_guardrails(max_quarantine_rate=0.01))
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    rate = checks["quarantine_rate"].metadata["quarantine_rate"].value
    assert not checks["quarantine_rate"].passed and rate > 0.01
    assert not (oh_settings.out_dir / "outbox").exists()
