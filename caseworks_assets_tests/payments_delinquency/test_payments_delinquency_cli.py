"""``caseworks run payments --as-of``: ingestion, then delinquency at D, in one recorded run."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb

from caseworks_assets.cli import main
from caseworks_assets.payments.sample import write_sample


def test_run_payments_evaluates_delinquency_at_the_given_date(spark, caseworks_env, capsys):
    data_dir = caseworks_env.data_dir / "payments"
    write_sample(data_dir, 300, 3)
    out = caseworks_env.out_dir

    assert main(["run", "payments", "--data-dir", str(data_dir), "--out-dir", str(out), "--as-of", "2024-05-31"]) == 0

    printed = capsys.readouterr().out
    assert "delinquency at 2024-05-31:" in printed
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        spark_summary = con.execute("select * from payments.delinquency_summary").pl()
        reference = con.execute("select * from payments.delinquency_reference").pl()
        flags = dict(
            con.execute("select inadimplente, count(*) from payments.delinquent_clients group by 1").fetchall()
        )
        quarantined = con.execute("select count(*) from payments.transactions_quarantine").fetchone()[0]
    row = spark_summary.row(0, named=True)
    assert row["as_of"] == date(2024, 5, 31)
    assert spark_summary.equals(reference)
    assert flags.get(True, 0) == row["clients_delinquent"]
    assert sum(flags.values()) == row["clients_evaluated"] > 0
    assert f"{row['clients_delinquent']} of {row['clients_evaluated']} clients" in printed
    export = out / "payments" / "delinquent_clients"
    assert {p.name for p in export.iterdir()} == {"inadimplente=true", "inadimplente=false"}

    # Transactions ingestion could not evaluate (quarantined) are counted next to the summary.
    event = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey(["payments", "delinquency_summary"]))
    metadata = event.asset_materialization.metadata
    assert metadata["transactions_quarantined_by_ingestion"].value == quarantined > 0
    assert metadata["pct_delinquent"].value == row["pct_delinquent"]
