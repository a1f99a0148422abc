"""The batch pipeline on hand-written inputs: nothing lost, every defect under its rule, governed outputs."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from payments_records import EXPECTED_PAY_QUARANTINE, EXPECTED_TX_QUARANTINE, SECRETS, _pay, _tx, write_records

from caseworks_assets.governance import KeyRing, KeyRingError, pseudonym
from caseworks_assets.governance.lake_encryption import KEY_ID_METADATA, read_sealed, sealed_with
from caseworks_assets.payments.checks import CHECKS
from caseworks_assets.payments.definitions import ASSETS
from caseworks_assets.payments.reader import MalformedInput


def _materialize(resources) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ASSETS, *CHECKS], resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


@pytest.fixture
def pipeline(payments_setup):
    settings, _data_dir, resources = payments_setup
    result = _materialize(resources)
    assert result.success
    return settings, result


def _materialization(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetMaterialization:
    return next(
        m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(["payments", name])
    ).materialization


def _sql(settings, query: str):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(query).fetchall()


def test_every_record_is_loaded_or_quarantined_under_its_rule(pipeline):
    settings, result = pipeline
    assert _sql(settings, "select transaction_id from payments.transactions order by 1") == [("T1",), ("T2",), ("T8",)]
    tx_rejects = "select rule, count(*) from payments.transactions_quarantine where severity = 'error' group by 1"
    assert dict(_sql(settings, tx_rejects)) == EXPECTED_TX_QUARANTINE
    # T2's empty currency is null by repair: shown as a warning on the loaded row, not a reject
    assert _sql(
        settings,
        "select source_line, rule, \"column\" from payments.transactions_quarantine where severity = 'warning'",
    ) == [(2, "repaired_blank_to_null", "currency")]
    assert _sql(settings, "select payment_id from payments.payments order by 1") == [("P1",), ("P2",), ("P8",)]
    assert dict(
        _sql(settings, "select rule, count(*) from payments.payments_quarantine where severity = 'error' group by 1")
    ) == (EXPECTED_PAY_QUARANTINE)
    # an unreadable fee (optional) is nulled and the payment loaded: a warning with its file and line, not a reject
    assert _sql(
        settings, "select rule, source_file, source_line from payments.payments_quarantine where severity = 'warning'"
    ) == [("fee_amount_number", "payments.json", 8), ("repaired_blank_to_null", "payments.json", 2)]
    # raw keeps every record with its file and position (NDJSON: the line)
    assert _sql(
        settings, "select source_file, count(*), max(source_line) from payments.raw_transactions group by 1 order by 1"
    ) == [("transactions.json", 7, 7), ("transactions_extra.ndjson", 2, 2)]
    assert _sql(
        settings, "select source_file, source_line from payments.transactions_quarantine where rule = 'due_date_valid'"
    ) == [("transactions_extra.ndjson", 2)]
    checks = {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        ("transactions", "reconciliation"): True,
        ("payments", "reconciliation"): True,
        ("transactions", "per_file_reconciliation"): True,
        ("payments", "per_file_reconciliation"): True,
        ("transactions", "transactions_schema"): True,
        ("payments", "payments_schema"): True,
    }


def test_repairs_types_and_null_currency(pipeline):
    settings, result = pipeline
    rows = _sql(
        settings,
        "select transaction_id, amount, currency, transaction_date, due_date, installments, discount_applied "
        "from payments.transactions order by 1",
    )
    assert [r[:3] for r in rows] == [("T1", 100.0, "BRL"), ("T2", 250.5, None), ("T8", 100.0, "USD")]
    assert str(rows[1][3]) == "2024-02-01" and str(rows[1][4]) == "2024-02-10"
    assert rows[0][5:] == (2, False)
    assert _sql(settings, "select amount_paid, currency, fee_amount from payments.payments order by payment_id") == [
        (50.0, "BRL", 1.5),
        (50.0, None, 1.5),
        (50.0, "BRL", None),
    ]
    tx_meta = _materialization(result, "transactions").metadata
    assert tx_meta["currency_null"].value == 1
    assert tx_meta["numeric_strings_repaired"].value == 1
    assert tx_meta["per_file"].value == {
        "transactions.json": {"read": 7, "loaded": 2, "quarantined": 5},
        "transactions_extra.ndjson": {"read": 2, "loaded": 1, "quarantined": 1},
    }


def test_clean_lake_files_follow_the_contract(pipeline, caseworks_env):
    settings, _ = pipeline
    lake = Path(settings.lake_root) / "payments" / "clean"
    tx = pl.read_parquet(lake / "transactions.parquet")
    assert tx.schema["amount"] == pl.Float64 and tx.schema["due_date"] == pl.Date
    assert tx.schema["installments"] == pl.Int64 and tx.schema["source_line"] == pl.Int64
    pay = pl.read_parquet(lake / "payments.parquet")
    assert pay.schema["payment_date"] == pl.Date and pay.schema["amount_paid"] == pl.Float64
    assert not {"reference_number", "ip_address", "user_agent", "restricted_metadata"} & set(pay.columns)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _readable_text(path: Path) -> str:
    """Every value of a Parquet file that can be read without a key, as CSV text."""
    parquet = pq.ParquetFile(path)
    sealed = parquet.schema_arrow.metadata and KEY_ID_METADATA in parquet.schema_arrow.metadata
    columns = [c for c in parquet.schema_arrow.names if not (sealed and c == "restricted_metadata")]
    return pl.read_parquet(path, columns=columns).write_csv()


def test_no_restricted_value_in_plain_anywhere_at_rest(pipeline):
    settings, _ = pipeline
    outputs = _files(settings.out_dir)
    assert outputs
    sealed_files = 0
    for path in outputs:
        if path.suffix == ".parquet":
            text = _readable_text(path)
            if sealed_with(str(path)):
                sealed_files += 1
                with pytest.raises(pl.exceptions.ComputeError, match="encrypted"):
                    pl.read_parquet(path)  # the sealed column does not open without the key ring
        elif path.name == "warehouse.duckdb":
            continue
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        assert not [s for s in SECRETS if s in text], path
        assert not [s for s in SECRETS if s.encode() in path.read_bytes()], path
    assert sealed_files == 2  # raw payments and the restricted table
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema='payments'"
        ).fetchall():
            dump = con.execute(f"select * from payments.{table}").pl().write_csv()
            assert not [s for s in SECRETS if s in dump], table


def test_role_outputs_follow_the_policy(pipeline, keys):
    settings, _ = pipeline
    roles = settings.out_dir / "payments" / "roles"
    analyst = pl.read_parquet(roles / "analyst" / "transactions.parquet")
    finance = pl.read_parquet(roles / "finance" / "transactions.parquet")
    key = keys["CASEWORKS_PSEUDONYM_KEY"].encode()
    assert finance["customer_id"].to_list() == ["CUST-T1", "CUST-T2", "CUST-T8"]
    assert analyst["customer_id"].to_list() == [pseudonym(c, key) for c in ["CUST-T1", "CUST-T2", "CUST-T8"]]
    assert not analyst["customer_id"].str.contains("CUST").any()
    assert analyst["sales_rep"].str.starts_with("p_").all()
    analyst_pay = pl.read_parquet(roles / "analyst" / "payments.parquet")
    assert analyst_pay["customer_id"].to_list()[0] == pseudonym("CUST-T1", key)
    for role in ("analyst", "finance"):
        for path in (roles / role).glob("*.parquet"):
            columns = set(pl.read_parquet_schema(path))
            assert not {"restricted_metadata", "reference_number", "ip_address", "user_agent"} & columns


def test_restricted_values_are_unreadable_without_the_key_and_exact_with_it(pipeline, keys):
    settings, _ = pipeline
    path = str(Path(settings.lake_root) / "payments" / "clean" / "payments_restricted.parquet")
    assert sealed_with(path) == "k1"
    ring = KeyRing.parse(keys["CASEWORKS_ENCRYPTION_KEYS"])
    opened = pl.from_arrow(read_sealed(path, ring))
    assert opened["key_id"].unique().to_list() == ["k1"]
    assert sorted(opened["payment_id"].to_list()) == ["P1", "P2", "P8"]  # the loaded payments, nothing else
    first = opened.filter(pl.col("payment_id") == "P1")["restricted_metadata"].item()
    assert json.loads(first) == {
        "reference_number": "REF-SECRET-1",
        "ip_address": "203.0.113.7",
        "user_agent": "Agent/1.0 secret-ua",
    }
    with pytest.raises(KeyRingError):
        read_sealed(path, KeyRing.parse(KeyRing.generate_spec("k2")))
    impostor = KeyRing.parse("k1:" + KeyRing.generate_spec("x").split(":", 1)[1])
    with pytest.raises(KeyRingError, match="does not open"):
        read_sealed(path, impostor)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:  # the warehouse view: no ciphertext
        columns = [r[0] for r in con.execute("describe payments.payments_restricted").fetchall()]
    assert "restricted_metadata" not in columns and {"payment_id", "key_id"} <= set(columns)


def test_malformed_file_fails_with_its_name_and_line(payments_setup):
    _settings, data_dir, resources = payments_setup
    (data_dir / "transactions_extra.ndjson").write_text(
        '{"transaction_id": "T8"}\n{"transaction_id": "T9",, "amount": 1}\n{"transaction_id": "T10"}\n'
    )
    result = _materialize(resources)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.cause.message  # type: ignore[union-attr]
    assert "transactions_extra.ndjson" in message and "line 2" in message
    assert issubclass(MalformedInput, ValueError)


def test_duplicate_ids_keep_the_latest_then_the_last_record_and_quarantine_the_others(payments_setup):
    settings, data_dir, resources = payments_setup
    later = [_tx("T1", amount=999.0, transaction_date="2024-03-01"), _tx("T8", amount=1.0), _tx("T8", amount=2.0)]
    write_records(data_dir / "transactions_more.ndjson", later)
    (data_dir / "payments_more.ndjson").write_text(json.dumps(_pay("P8", "T8", payment_date="2023-01-01")) + "\n")
    result = _materialize(resources)
    assert result.success
    assert _sql(settings, "select transaction_id, amount from payments.transactions order by 1") == [
        ("T1", 999.0),  # the latest transaction_date wins
        ("T2", 250.5),
        ("T8", 2.0),  # same date three times: the last in file order wins
    ]
    losers = _sql(
        settings,
        "select source_file, source_line, json_extract_string(raw_record, '$.kept_record') "
        "from payments.transactions_quarantine where rule = 'duplicate_id' order by 1, 2",
    )
    assert losers == [
        ("transactions.json", 1, "transactions_more.ndjson record 1"),
        ("transactions_extra.ndjson", 1, "transactions_more.ndjson record 3"),
        ("transactions_more.ndjson", 2, "transactions_more.ndjson record 3"),
    ]
    # P8 of 2023 is older than P8 of 2024: it is the one quarantined
    assert _sql(settings, "select source_file from payments.payments_quarantine where rule = 'duplicate_id'") == [
        ("payments_more.ndjson",)
    ]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations() if "reconciliation" in e.check_name}
    assert checks and all(checks.values())


def test_an_id_that_repeats_another_once_trimmed_is_a_duplicate_not_a_failed_run(payments_setup):
    """`` T2 `` is read as ``T2`` (a lossless repair): it competes with ``T2`` for the id, and the run goes on."""
    settings, data_dir, resources = payments_setup
    (data_dir / "transactions_more.ndjson").write_text(
        json.dumps(_tx(" T2 ", amount=7.0, transaction_date="2024-04-01")) + "\n"
    )
    result = _materialize(resources)
    assert result.success
    assert _sql(settings, "select amount from payments.transactions where transaction_id = 'T2'") == [(7.0,)]
    assert _sql(
        settings,
        "select source_file, json_extract_string(raw_record, '$.transaction_id') "
        "from payments.transactions_quarantine where rule = 'duplicate_id'",
    ) == [("transactions.json", "T2")]


def test_iso_timestamps_as_machines_write_them_are_dates_not_defects(payments_setup):
    """``...Z``, fractions and offsets (JavaScript's ``toISOString``, Python's ``isoformat``) keep the date written."""
    settings, data_dir, resources = payments_setup
    more = [
        _tx("T30", transaction_date="2024-03-01T09:15:00.000Z", due_date="2024-03-31T23:59:59-03:00"),
        _tx("T31", transaction_date="2024-03-02 08:00", due_date="2024-04-01T00:00:00+00:00"),
    ]
    write_records(data_dir / "transactions_iso.ndjson", more)
    pays = [_pay("P30", "T30", payment_date="2024-03-15T12:00:00.123456Z")]
    write_records(data_dir / "payments_iso.ndjson", pays)
    assert _materialize(resources).success
    assert _sql(
        settings,
        "select transaction_id, transaction_date::varchar, due_date::varchar from payments.transactions "
        "where transaction_id in ('T30', 'T31') order by 1",
    ) == [("T30", "2024-03-01", "2024-03-31"), ("T31", "2024-03-02", "2024-04-01")]
    assert _sql(settings, "select payment_date::varchar from payments.payments where payment_id = 'P30'") == [
        ("2024-03-15",)
    ]
    assert not _sql(
        settings,
        "select rule from payments.transactions_quarantine where source_file = 'transactions_iso.ndjson' "
        "union all select rule from payments.payments_quarantine where source_file = 'payments_iso.ndjson'",
    )


def test_a_status_in_another_case_and_a_date_with_slashes_are_read_not_quarantined(payments_setup):
    """``COMPLETED`` and `` Pending `` are statuses (read in lower case); ``2024/03/05`` is year/month/day, while
    ``05/03/2024`` (day or month first?) has two meanings and is still a defect."""
    settings, data_dir, resources = payments_setup
    more = [
        _tx("T50", status="COMPLETED", transaction_date="2024/03/05"),
        _tx("T51", status=" Pending "),
        _tx("T52", transaction_date="05/03/2024"),
    ]
    write_records(data_dir / "transactions_case.ndjson", more)
    write_records(data_dir / "payments_case.ndjson", [_pay("P50", "T50", status="Completed")])
    assert _materialize(resources).success
    assert _sql(
        settings,
        "select transaction_id, status, transaction_date::varchar from payments.transactions "
        "where transaction_id in ('T50', 'T51') order by 1",
    ) == [("T50", "completed", "2024-03-05"), ("T51", "pending", "2024-01-10")]
    assert _sql(settings, "select status from payments.payments where payment_id = 'P50'") == [("completed",)]
    assert _sql(
        settings,
        "select json_extract_string(raw_record, '$.transaction_id'), rule from payments.transactions_quarantine "
        "where source_file = 'transactions_case.ndjson' and severity = 'error'",
    ) == [("T52", "transaction_date_valid")]


def test_amounts_written_with_a_currency_mark_are_read_as_money(payments_setup):
    """``"$1,426.10"``, ``"USD 99.90"``: the currency is a field of its own, so a mark beside the number is dropped."""
    settings, data_dir, resources = payments_setup
    write_records(data_dir / "transactions_marks.ndjson", [_tx("T40", amount="$1,426.10", currency="USD")])
    pays = [_pay("P40", "T40", amount_paid="USD 99.90"), _pay("P41", "T40", amount_paid="USD")]
    write_records(data_dir / "payments_marks.ndjson", pays)
    assert _materialize(resources).success
    assert _sql(settings, "select amount from payments.transactions where transaction_id = 'T40'") == [(1426.1,)]
    assert _sql(settings, "select amount_paid from payments.payments where payment_id = 'P40'") == [(99.9,)]
    assert _sql(
        settings,
        "select json_extract_string(raw_record, '$.payment_id'), rule from payments.payments_quarantine "
        "where source_file = 'payments_marks.ndjson' and severity = 'error'",
    ) == [("P41", "amount_paid_number")]
