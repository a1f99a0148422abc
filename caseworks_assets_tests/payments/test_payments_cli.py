"""The CLI end to end: run, rotate-keys, stream --process."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from caseworks_assets.cli import main
from caseworks_assets.governance import KeyRing, KeyRingError
from caseworks_assets.payments.case import summarize
from caseworks_assets.payments.checks import CHECKS
from caseworks_assets.payments.definitions import ASSETS


def _sealed_values(out: Path) -> dict[str, list[str]]:
    lake = out / "lake" / "payments"
    found = {
        "raw": pl.read_parquet(lake / "raw" / "payments.parquet")["restricted_metadata"].to_list(),
        "clean": pl.read_parquet(lake / "clean" / "payments_restricted.parquet")["restricted_metadata"].to_list(),
    }
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        for table in ("raw_payments", "payments_restricted"):
            query = f"select restricted_metadata from payments.{table} order by source_line"
            found[table] = [r[0] for r in con.execute(query).fetchall()]
    return found


def test_run_then_rotate_keys(payments_setup, keys, monkeypatch, capsys):
    """Ingestion through Dagster (delinquency has its own tests), then ``caseworks rotate-keys``."""
    settings, _, resources = payments_setup
    out = settings.out_dir
    result = dg.materialize([*ASSETS, *CHECKS], resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    summary = summarize(None)  # type: ignore[arg-type]
    assert "transactions: 3 loaded, 6 quarantined" in summary
    assert "payments: 3 loaded, 5 quarantined" in summary
    k1 = keys["CASEWORKS_ENCRYPTION_KEYS"]
    before = _sealed_values(out)
    plain = {name: KeyRing.parse(k1).decrypt_values(values) for name, values in before.items()}
    assert json.loads(plain["raw"][0])["ip_address"] == "203.0.113.7"

    k2 = KeyRing.generate_spec("k2")
    monkeypatch.setenv("CASEWORKS_ENCRYPTION_KEYS", f"{k2},{k1}")
    assert main(["rotate-keys", "--out-dir", str(out)]) == 0
    report = capsys.readouterr().out
    assert "8 of 8 value(s) re-sealed with key 'k2'" in report  # raw payments, lake and warehouse
    after = _sealed_values(out)
    for name, values in after.items():
        assert all(v.startswith("k2:") for v in values), name
        assert KeyRing.parse(k2).decrypt_values(values) == plain[name], name
        with pytest.raises(KeyRingError):
            KeyRing.parse(k1).decrypt_values(values)
    assert main(["rotate-keys", "--out-dir", str(out)]) == 0
    assert "0 of 8" in capsys.readouterr().out


def test_rotate_keys_refuses_to_guess_in_prod(caseworks_env, monkeypatch, capsys):
    monkeypatch.setenv("CASEWORKS_ENV", "prod")
    monkeypatch.setenv("CASEWORKS_LAKE_ROOT", "gs://bucket/lake")
    monkeypatch.setenv("CASEWORKS_BQ_PROJECT", "p")
    monkeypatch.delenv("CASEWORKS_ENCRYPTION_KEYS", raising=False)
    assert main(["rotate-keys"]) == 2
    assert "CASEWORKS_ENCRYPTION_KEYS is required" in capsys.readouterr().err


def test_stream_command_lands_and_materializes_each_batch(payments_setup, tmp_path, capsys):
    settings, data_dir, _ = payments_setup
    landing = tmp_path / "landing_cli"
    code = main(
        ["stream", "payments", "--data-dir", str(data_dir), "--landing", str(landing), "--batch-rows", "10",
         "--interval", "0", "--process", "--out-dir", str(settings.out_dir)]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in landing.iterdir()) == ["batch-000001.ndjson", "batch-000002.ndjson"]
    assert "materialized partition batch-000002.ndjson" in capsys.readouterr().out
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = [
            con.execute(f"select count(*) from payments.{t}").fetchone()[0]
            for t in ("stream_transactions", "stream_payments", "stream_quarantine")
        ]
    assert counts == [3, 5, 9]
