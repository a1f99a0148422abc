"""The CLI: sample inputs, a run on them end to end (channels unconfigured -> outbox), clear input errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from caseworks_assets.cli import EXIT_USAGE, main
from caseworks_assets.ouchhungry.cli import DEMO_DAYS


def test_sample_is_deterministic_and_in_the_input_layout(tmp_path: Path) -> None:
    assert main(["sample", "ouchhungry", "--out", str(tmp_path / "a"), "--rows", "700", "--seed", "7"]) == 0
    assert main(["sample", "ouchhungry", "--out", str(tmp_path / "b"), "--rows", "700", "--seed", "7"]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert files == sorted(
        [Path("products.csv"), Path("customers.csv")]
        + [Path("transactions") / f"{day.isoformat()}.csv" for day in DEMO_DAYS]
    )
    for file in files:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    first_day = pl.read_csv(tmp_path / "a" / "transactions" / f"{DEMO_DAYS[0].isoformat()}.csv", infer_schema=False)
    assert first_day.height >= 175  # 700 rows over the 4 sample days, plus re-sent duplicates


def test_run_on_sample_delivers_to_the_outbox_and_says_so(
    oh_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    data = tmp_path / "sample"
    main(["sample", "ouchhungry", "--out", str(data), "--rows", "350"])
    for day in DEMO_DAYS[2:]:  # keep two days so the test stays quick
        (data / "transactions" / f"{day.isoformat()}.csv").unlink()
    out = tmp_path / "run"
    assert main(["run", "ouchhungry", "--data-dir", str(data), "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 daily partition(s) delivered" in printed
    assert "**Hungry** 2025-01" in printed and "**Ouch** 2025-01" in printed
    assert "channels not configured (sftp, api, email)" in printed
    sftp_outbox = sorted(p.name for p in (out / "outbox" / "sftp").iterdir())
    assert sftp_outbox == [
        f"ouchhungry_daily_sales_{DEMO_DAYS[0].isoformat()}.csv",
        f"ouchhungry_daily_sales_{DEMO_DAYS[1].isoformat()}.csv",
        "ouchhungry_monthly_city_sales_2025-01.csv",
        "ouchhungry_monthly_insights_2025-01.csv",
    ]
    assert len(list((out / "outbox" / "email").iterdir())) == 3
    # the extraction read the sample files, not the simulator
    delivered = pl.read_csv(out / "outbox" / "sftp" / sftp_outbox[0])
    assert delivered["sale_date"].unique().to_list() == [DEMO_DAYS[0].isoformat()]
    # nothing in the outbox carries a customer's name, CPF, e-mail, phone or raw id
    customers = pl.read_csv(data / "customers.csv", infer_schema=False)
    personal = {
        value
        for column in ("customer_id", "full_name", "cpf", "email", "phone")
        for value in customers[column].drop_nulls().to_list()
        if len(value) >= 6
    }
    texts = [path.read_text() for path in (out / "outbox").rglob("*") if path.is_file()]
    assert texts and not {value for value in personal for text in texts if value in text}


def test_a_broken_export_is_a_usage_error_naming_the_file(tmp_path: Path, capsys) -> None:
    data = tmp_path / "sample"
    main(["sample", "ouchhungry", "--out", str(data), "--rows", "70"])
    broken = data / "customers.csv"
    broken.write_text("customer_id,nome\nC000001,Ana\n")
    assert main(["run", "ouchhungry", "--data-dir", str(data), "--out-dir", str(tmp_path / "out")]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert str(broken) in error and "line 1" in error and "full_name" in error
