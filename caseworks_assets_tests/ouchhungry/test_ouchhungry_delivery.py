"""End to end against real servers: a day and a month delivered by SFTP, API and e-mail, exactly once."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from caseworks_assets.ouchhungry import columns
from caseworks_assets.ouchhungry.product import MERGED_CITY
from caseworks_assets.ouchhungry.simulate import simulate_customers
from caseworks_assets.resources.delivery.partner_api import idempotency_key
from caseworks_assets.settings import Settings
from caseworks_assets_tests.ouchhungry.kit import (
    PARTNER,
    SMALL,
    api_resource,
    build_defs,
    run_day,
    run_month,
    sftp_resource,
    smtp_resource,
)
from caseworks_assets_tests.ouchhungry.servers import Mailbox


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _delivery_metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == dg.AssetKey(["ouchhungry", name]):
            return {key: value.value for key, value in materialization.metadata.items()}
    raise AssertionError(f"{name} was not materialized")


def _defs_on_every_channel(settings, sshd, partner_api, smtp_port: int) -> dg.Definitions:
    """The case wired to the real SFTP server, partner API and SMTP server of the fixtures."""
    return build_defs(
        settings, sftp=sftp_resource(sshd), partner_api=api_resource(partner_api), smtp=smtp_resource(smtp_port)
    )


def _manifest(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(
            "select kind, partition, channel, file_name, status from ouchhungry.delivery_manifest "
            "order by kind, channel, file_name"
        ).fetchall()


def test_a_day_is_delivered_on_every_channel_and_a_rerun_sends_nothing(
    oh_settings, sshd, drop, partner_api, mailbox
) -> None:
    box, smtp_port = mailbox
    defs = _defs_on_every_channel(oh_settings, sshd, partner_api, smtp_port)
    instance = dg.DagsterInstance.ephemeral()

    first = run_day(defs, instance, "2025-01-06")
    assert first.success
    checks = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert checks == dict.fromkeys(
        [
            "products_reconciliation",
            "customers_reconciliation",
            "transactions_reconciliation",
            "transactions_schema",
            "daily_sales_schema",
            "volume_vs_trailing_mean",
            "null_rate",
            "quarantine_rate",
            "price_range",
            "no_duplicates",
        ],
        True,
    )

    local = oh_settings.out_dir / "ouchhungry/deliveries/daily/2025-01-06/ouchhungry_daily_sales_2025-01-06.csv"
    delivered = pl.read_csv(local)
    assert delivered.columns == [c.name for c in columns.DAILY_SALES]
    assert delivered.height > 0 and set(delivered["product"]) <= {"Hungry", "Ouch"}
    # SFTP: the same bytes under the final name, no temporary file left behind
    assert sorted(p.name for p in drop.iterdir()) == [local.name]
    assert (drop / local.name).read_bytes() == local.read_bytes()
    # API: one delivery, authorized, keyed by partition + content hash, carrying every row
    sha = _sha(local)
    assert list(partner_api.state.deliveries) == [idempotency_key("ouchhungry_daily_sales", "2025-01-06", sha)]
    body = partner_api.state.deliveries[idempotency_key("ouchhungry_daily_sales", "2025-01-06", sha)]
    assert body["sha256"] == sha and body["partition"] == "2025-01-06"
    assert len(body["rows"]) == delivered.height
    assert all(request["token_ok"] for request in partner_api.state.requests)
    # e-mail: one notice to the partner naming the file and its checksum
    (notice,) = box.wait_for(1)
    assert notice["To"] == PARTNER and "2025-01-06" in notice["Subject"]
    assert sha in Mailbox.text(notice)
    assert _manifest(oh_settings) == [
        ("daily", "2025-01-06", "api", local.name, "delivered"),
        ("daily", "2025-01-06", "email", "notice", "delivered"),
        ("daily", "2025-01-06", "sftp", local.name, "delivered"),
    ]

    remote_mtime = (drop / local.name).stat().st_mtime_ns
    second = run_day(defs, instance, "2025-01-06")
    assert second.success
    meta = _delivery_metadata(second, "daily_delivery")
    assert (meta["sent"], meta["skipped"]) == (0, 3)
    assert len(partner_api.state.requests) == 1
    assert len(box.wait_for(2, timeout=0.5)) == 1
    assert (drop / local.name).stat().st_mtime_ns == remote_mtime
    assert len(_manifest(oh_settings)) == 3


def _personal_values(customers: int) -> set[str]:
    """Every name, CPF (both forms), e-mail, phone (digits) and raw id of the simulated customers."""
    raw = simulate_customers(customers, 42)
    values: set[str] = set()
    for row in raw.iter_rows(named=True):
        values.add(row["full_name"])
        values.add(row["customer_id"])
        if row["cpf"]:
            digits = re.sub(r"\D", "", row["cpf"])
            values |= {digits, f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"}
        if row["email"]:
            values.add(row["email"])
        if row["phone"]:
            values.add(re.sub(r"\D", "", row["phone"])[-8:])  # the subscriber number in any format
    return {value for value in values if value}


def test_month_is_k_anonymous_and_nothing_delivered_holds_personal_data(
    oh_settings, sshd, drop, partner_api, mailbox
) -> None:
    box, smtp_port = mailbox
    defs = _defs_on_every_channel(oh_settings, sshd, partner_api, smtp_port)
    instance = dg.DagsterInstance.ephemeral()
    for day in ("2025-02-03", "2025-02-04"):
        assert run_day(defs, instance, day).success
    month = run_month(defs, instance, "2025-02-01")
    assert month.success

    folder = oh_settings.out_dir / "ouchhungry/deliveries/monthly/2025-02"
    city = pl.read_csv(folder / "ouchhungry_monthly_city_sales_2025-02.csv")
    insights = pl.read_csv(folder / "ouchhungry_monthly_insights_2025-02.csv")
    # k-anonymity: every named city reached at least 5 buyers; the rest is one bucket per product
    assert city.filter(pl.col("city") != MERGED_CITY)["customers_reached"].min() >= 5
    assert city.filter(pl.col("city") == MERGED_CITY).group_by("product").len()["len"].to_list() == [1, 1]
    # the month adds up to the two delivered days
    days = pl.concat(
        [pl.read_csv(p) for p in (oh_settings.out_dir / "ouchhungry/deliveries/daily").glob("2025-02-*/*.csv")]
    )
    for product in ("Hungry", "Ouch"):
        assert (
            city.filter(pl.col("product") == product)["units"].sum()
            == days.filter(pl.col("product") == product)["units"].sum()
        )
        assert (
            city.filter(pl.col("product") == product)["customers_reached"].sum()
            == days.filter(pl.col("product") == product)["customer_pseudonym"].n_unique()
        )
    assert sorted(insights["product"]) == ["Hungry", "Ouch"]
    assert insights["units_mom_pct"].is_null().all()  # no January partition: no month-over-month
    assert sorted(p.name for p in drop.iterdir()) == sorted(
        [
            "ouchhungry_daily_sales_2025-02-03.csv",
            "ouchhungry_daily_sales_2025-02-04.csv",
            "ouchhungry_monthly_city_sales_2025-02.csv",
            "ouchhungry_monthly_insights_2025-02.csv",
        ]
    )
    assert len(partner_api.state.deliveries) == 4
    assert len(box.wait_for(3)) == 3

    delivered_texts = [path.read_text() for path in drop.iterdir()]
    delivered_texts += [json.dumps(request["body"], ensure_ascii=False) for request in partner_api.state.requests]
    delivered_texts += [Mailbox.text(message) + str(message["Subject"]) for message in box.messages]
    personal = _personal_values(SMALL["customers"])
    leaks = {value for value in personal for text in delivered_texts if value in text}
    assert leaks == set()
    forbidden = {"customer_id", "full_name", "cpf", "email", "phone", "cep", "birth_date"}
    assert forbidden.isdisjoint(city.columns) and forbidden.isdisjoint(insights.columns)


def test_channels_configured_only_through_the_environment(
    oh_settings, sshd, drop, partner_api, mailbox, monkeypatch
) -> None:
    """The resources ``build_resources`` makes from the Settings of CASEWORKS_* variables reach the real servers."""
    box, smtp_port = mailbox
    variables = {
        "CASEWORKS_SFTP_HOST": "127.0.0.1",
        "CASEWORKS_SFTP_PORT": str(sshd.port),
        "CASEWORKS_SFTP_USER": sshd.user,
        "CASEWORKS_SFTP_PRIVATE_KEY": str(sshd.private_key),
        "CASEWORKS_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
        "CASEWORKS_SFTP_REMOTE_DIR": str(drop),
        "CASEWORKS_PARTNER_API_URL": partner_api.url,
        "CASEWORKS_PARTNER_API_USER": partner_api.state.username,
        "CASEWORKS_PARTNER_API_PASSWORD": partner_api.state.password,
        "CASEWORKS_SMTP_HOST": "127.0.0.1",
        "CASEWORKS_SMTP_PORT": str(smtp_port),
        "CASEWORKS_SMTP_SECURITY": "none",
        "CASEWORKS_SMTP_FROM": "caseworks@caseworks.example",
        "CASEWORKS_PARTNER_EMAILS": PARTNER,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    defs = build_defs(Settings.from_env())
    resources = defs.resources or {}
    # secrets stay references to the variables (the UI shows names, never the secret); the rest are settings
    assert resources["partner_api"].password == dg.EnvVar("CASEWORKS_PARTNER_API_PASSWORD")
    assert resources["sftp"].private_key == dg.EnvVar("CASEWORKS_SFTP_PRIVATE_KEY")
    assert resources["sftp"].host == "127.0.0.1" and resources["smtp"].port == smtp_port
    assert run_day(defs, dg.DagsterInstance.ephemeral(), "2025-01-08").success
    assert [p.name for p in drop.iterdir()] == ["ouchhungry_daily_sales_2025-01-08.csv"]
    assert len(partner_api.state.deliveries) == 1
    assert box.wait_for(1)[0]["To"] == PARTNER
    assert not (oh_settings.out_dir / "outbox").exists()
