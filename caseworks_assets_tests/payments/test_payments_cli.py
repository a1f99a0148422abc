"""The CLI end to end: run, rotate-keys, stream --process."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from caseworks_assets.cli import main
from caseworks_assets.governance import KeyRing, KeyRingError
from caseworks_assets.governance.lake_encryption import read_sealed, sealed_with
from caseworks_assets.payments.checks import CHECKS
from caseworks_assets.payments.cli import summarize
from caseworks_assets.payments.definitions import ASSETS


def _opened(out: Path, ring: KeyRing) -> dict[str, list[str]]:
    """The restricted JSON of the raw and the restricted lake files, opened with ``ring``."""
    lake = out / "lake" / "payments"
    return {
        name: read_sealed(str(lake / part), ring).column("restricted_metadata").to_pylist()
        for name, part in (("raw", "raw/payments.parquet"), ("clean", "clean/payments_restricted.parquet"))
    }


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
    plain = _opened(out, KeyRing.parse(k1))
    assert json.loads(plain["raw"][0])["ip_address"] == "203.0.113.7"

    k2 = KeyRing.generate_spec("k2")
    monkeypatch.setenv("CASEWORKS_ENCRYPTION_KEYS", f"{k2},{k1}")
    assert main(["rotate-keys", "--out-dir", str(out)]) == 0
    report = capsys.readouterr().out
    assert "payments.parquet: 8 of 8 re-sealed with key 'k2'" in report  # the raw file: every row
    assert "payments_restricted.parquet: 3 of 3 re-sealed with key 'k2'" in report
    for part in ("raw/payments.parquet", "clean/payments_restricted.parquet"):
        assert sealed_with(str(out / "lake" / "payments" / part)) == "k2"
    assert _opened(out, KeyRing.parse(k2)) == plain  # exact with the new key alone
    with pytest.raises(KeyRingError):
        _opened(out, KeyRing.parse(k1))
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
            for t in ("stream_transactions", "stream_payments", "stream_pending_payments", "stream_quarantine")
        ]
    # as the batch path: 10 rejected records and P5 waiting for its transaction; 3 warnings: an unreadable fee
    # (nulled, row kept) and two empty currencies
    assert counts == [3, 3, 1, 13]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        warned = con.execute(
            "select rule from payments.stream_quarantine where severity = 'warning' order by rule"
        ).fetchall()
    assert warned == [("fee_amount_number",), ("repaired_blank_to_null",), ("repaired_blank_to_null",)]
