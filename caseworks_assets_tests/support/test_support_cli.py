"""``caseworks run support`` and ``caseworks sample support`` in process, as a user would call them."""

from __future__ import annotations

import json

import polars as pl
import pytest

from caseworks_assets.cli import main


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """A private instance, data and out folder; the CLI's own environment changes are undone afterwards."""
    for name in ("CASEWORKS_WAREHOUSE", "CASEWORKS_LAKE_ROOT", "CASEWORKS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASEWORKS_ENV", "local")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CASEWORKS_OUT_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("CASEWORKS_SUPPORT_DATA_DIR", str(tmp_path / "unused"))
    return tmp_path


def _run(data, out, *extra):
    return main(["run", "support", "--data-dir", str(data), "--out-dir", str(out), *extra])


def test_cli_months_subset_then_every_month_as_json(cli_env, capsys):
    data, out = cli_env / "data", cli_env / "out"
    assert main(["sample", "support", "--out", str(data)]) == 0

    # --months 202501: the initial extract (2024-12) and January only.
    assert _run(data, out, "--format", "csv", "--months", "202501") == 0
    report = pl.read_csv(out / "support" / "support_report.csv")
    assert report["month"].max() == "2025-01"
    # January state: CC2 not yet renamed, I11 not yet deleted; 11 initial + 7 January adds.
    assert "Boston Center" in report["contact_center_name"].to_list()
    interactions = pl.read_csv(out / "support" / "interactions_final.csv", infer_schema=False)
    assert interactions.height == 18 and "I11" in interactions["interaction_id"].to_list()
    i1 = interactions.filter(pl.col("interaction_id") == "I1").row(0, named=True)
    assert i1["interaction_start"] == "2024-11-03T01:30:00-04:00"
    capsys.readouterr()  # discard the first run's output

    # Every month, as json.
    assert _run(data, out, "--format", "json") == 0
    printed = capsys.readouterr().out
    assert "**Boston Harbor** has the longest average call" in printed
    rows = json.loads((out / "support" / "interactions_final.json").read_text())
    assert len(rows) == 29
    l2 = next(r for r in rows if r["interaction_id"] == "L2")
    assert l2["interaction_start"] == "2025-03-09T03:30:00-04:00"
    json_report = json.loads((out / "support" / "support_report.json").read_text())
    assert sum(r["total_interactions"] for r in json_report) == 29
    assert {
        "month": "2025-03",
        "contact_center_name": "Atlanta Hub",
        "department": "Finance",
        "total_interactions": 2,
        "total_calls": 2,
        "total_call_duration": 19.0,
    } in json_report

    assert (out / "warehouse.duckdb").exists()
    # (parquet exports are checked on the pipeline test's run, whose format is parquet)


def test_cli_unknown_month_is_a_usage_error(cli_env, capsys):
    data = cli_env / "data"
    assert main(["sample", "support", "--out", str(data)]) == 0
    assert _run(data, cli_env / "out", "--months", "202507") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "202507" in err and "delta" in err


def test_sample_is_deterministic_and_scales(tmp_path):
    for name in ("a", "b"):
        assert main(["sample", "support", "--out", str(tmp_path / name), "--rows", "200", "--seed", "7"]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert len(files) == 4 + 3 + 4  # initial tables, interaction deltas, dimension deltas
    for path in files:
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()
    initial = pl.read_csv(tmp_path / "a" / "initial" / "interactions.csv")
    assert initial.height == 200 + 11
    delta = pl.read_csv(tmp_path / "a" / "delta" / "interactions_delta_202502.csv")
    assert delta.height == 20 + 7
    assert delta.filter(pl.col("action") == "delete").height == 2 + 1
