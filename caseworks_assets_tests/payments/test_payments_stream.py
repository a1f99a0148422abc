"""Streaming emulation: replay order, each batch materialized once, and the stream ending as the batch path does."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from payments_records import SECRETS, _pay, _tx, write_records
from test_payments_pipeline import _materialize

from caseworks_assets.governance import KeyRing
from caseworks_assets.payments.commands import tick_stream_sensor
from caseworks_assets.payments.stream import replay
from caseworks_assets.payments.stream_assets import (
    STREAM_ASSETS,
    STREAM_CHECKS,
    batches,
    stream_batch,
)

TABLES = ("stream_transactions", "stream_payments", "stream_pending_payments", "stream_quarantine")


@pytest.fixture
def stream(payments_setup, tmp_path: Path):
    settings, data_dir, resources = payments_setup
    staged = tmp_path / "staged"  # the replay writes here; tests deliver files into landing themselves
    files = replay(data_dir, staged, batch_rows=5, interval=0)
    landing = Path(resources["payments_landing"].path)
    landing.mkdir(parents=True)
    instance = dg.DagsterInstance.ephemeral()
    return settings, resources, files, landing, instance


_REJECTED = {"stream_quarantine": " where severity = 'error'"}


class Stream:
    def __init__(self, settings, resources, landing: Path, instance: dg.DagsterInstance) -> None:
        self.settings, self.resources, self.landing, self.instance = settings, resources, landing, instance
        self.cursor: str | None = None
        self.run_keys: list[str] = []

    def tick(self) -> list[str]:
        result = tick_stream_sensor(self.instance, self.landing, self.cursor)
        self.cursor = result.cursor
        ran = []
        for request in result.run_requests:
            outcome = dg.materialize(
                [*STREAM_ASSETS, *STREAM_CHECKS],
                partition_key=request.partition_key,
                resources=self.resources,
                instance=self.instance,
            )
            assert outcome.success
            assert all(e.passed for e in outcome.get_asset_check_evaluations())
            self.run_keys.append(request.run_key)
            ran.append(request.partition_key)
        return ran

    def counts(self) -> dict[str, int]:
        """Rows per stream table (the warehouse IO manager creates no table for an empty first output).

        The quarantine counts its rejected rows only: warnings belong to loaded rows.
        """
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as con:
            existing = {
                r[0]
                for r in con.execute("select table_name from duckdb_tables() where schema_name = 'payments'").fetchall()
            }
            return {
                t: con.execute(f"select count(*) from payments.{t}" + _REJECTED.get(t, "")).fetchone()[0]
                if t in existing
                else 0
                for t in TABLES
            }

    def rows(self, table: str, columns: str) -> list:
        """One value per row for one column, a tuple per row for several."""
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as con:
            rows = con.execute(f"select {columns} from payments.{table} order by 1").fetchall()
        return [r[0] if len(r) == 1 else r for r in rows]


def _deliver(source: Path, landing: Path, name: str | None = None) -> Path:
    target = landing / (name or source.name)
    shutil.copyfile(source, target)
    return target


def test_replay_orders_records_by_event_time_in_batches(stream):
    _, _, files, _, _ = stream
    assert [f.name for f in files] == [f"batch-00000{i}.ndjson" for i in (1, 2, 3, 4)]
    records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(records) == 17 and [len(f.read_text().splitlines()) for f in files] == [5, 5, 5, 2]
    assert [r.get("transaction_id") if r["_type"] == "transaction" else r["payment_id"] for r in records] == [
        "T1", "T3", "T4", "T6", "T7", "T8", "T9",
        "P1", "P2", "P3", "P4", "P5", "P7", "P8",
        "T2",  # 2024-02-01
        "T5", "P6",  # unreadable dates last
    ]  # fmt: skip


def test_each_batch_once_even_when_delivered_twice(stream):
    settings, resources, files, landing, instance = stream
    consumer = Stream(settings, resources, landing, instance)
    _deliver(files[0], landing)
    _deliver(files[1], landing)
    assert consumer.tick() == ["batch-000001.ndjson", "batch-000002.ndjson"]
    after_two = consumer.counts()
    assert sum(after_two.values()) == 10  # 10 lines read = loaded + quarantined
    _deliver(files[0], landing)  # same name, same bytes again
    _deliver(files[1], landing, "batch-000002-resent.ndjson")  # same bytes, new name
    assert consumer.tick() == []
    assert consumer.counts() == after_two
    # a forced re-run of a partition replaces its rows instead of adding them
    dg.materialize([stream_batch], partition_key="batch-000001.ndjson", resources=resources, instance=instance)
    assert consumer.counts() == after_two
    assert instance.get_dynamic_partitions(batches.name) == ["batch-000001.ndjson", "batch-000002.ndjson"]


def test_out_of_order_batches_all_load_exactly_once(stream):
    settings, resources, files, landing, instance = stream
    consumer = Stream(settings, resources, landing, instance)
    for index in (3, 0):
        _deliver(files[index], landing)
    assert consumer.tick() == ["batch-000001.ndjson", "batch-000004.ndjson"]
    for index in (2, 1):
        _deliver(files[index], landing)
    assert consumer.tick() == ["batch-000002.ndjson", "batch-000003.ndjson"]
    assert consumer.tick() == []
    # the batch path's rules: P4 pays the quarantined T3; P5's transaction TX-NOPE has not landed, so P5 waits
    assert consumer.rows("stream_transactions", "transaction_id") == ["T1", "T2", "T8"]
    assert consumer.rows("stream_payments", "payment_id") == ["P1", "P2", "P8"]
    assert consumer.rows("stream_pending_payments", "raw_record->>'payment_id'") == ["P5"]
    counts = {"stream_transactions": 3, "stream_payments": 3, "stream_pending_payments": 1, "stream_quarantine": 10}
    assert consumer.counts() == counts
    assert len(set(consumer.run_keys)) == 4
    # restricted fields: sealed in the landed files, and only in the restricted table of clean payments
    landed = [p.read_bytes() for p in Path(resources["lake"].path("payments", "stream").path).rglob("*.parquet")]
    assert landed and not any(secret.encode() in data for data in landed for secret in SECRETS)
    sealed = dict(consumer.rows("stream_payments_restricted", "payment_id, restricted_metadata"))
    assert sorted(sealed) == ["P1", "P2", "P8"]
    assert SECRETS[0] in KeyRing.parse(os.environ["CASEWORKS_ENCRYPTION_KEYS"]).decrypt_values([sealed["P1"]])[0]


def test_corrupt_batch_is_quarantined_and_the_stream_goes_on(stream):
    settings, resources, files, landing, instance = stream
    consumer = Stream(settings, resources, landing, instance)
    lines = files[0].read_text().splitlines()
    corrupt = landing / "batch-000001.ndjson"
    corrupt.write_text(
        "\n".join([lines[0], '{"_type": "transaction", "transaction_id": "TX-BROKEN",', "[1, 2]", *lines[1:]]) + "\n"
    )
    assert consumer.tick() == ["batch-000001.ndjson"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        bad = con.execute(
            "select rule, source_line, record_type from payments.stream_quarantine "
            "where record_type = 'unknown' order by source_line"
        ).fetchall()
    assert bad == [("malformed_json", 2, "unknown"), ("not_an_object", 3, "unknown")]
    assert sum(consumer.counts().values()) == 7  # 5 records + 2 bad lines, all accounted for
    _deliver(files[1], landing)
    assert consumer.tick() == ["batch-000002.ndjson"]
    assert sum(consumer.counts().values()) == 12


def test_corrected_redelivery_replaces_its_partition(stream):
    settings, resources, files, landing, instance = stream
    consumer = Stream(settings, resources, landing, instance)
    target = _deliver(files[0], landing)
    assert consumer.tick() == ["batch-000001.ndjson"]
    target.write_text("\n".join(files[0].read_text().splitlines()[:2]) + "\n")  # the producer re-sends a fix
    assert consumer.tick() == ["batch-000001.ndjson"]
    assert sum(consumer.counts().values()) == 2


def _verdicts(settings, clean: dict[str, str], quarantine: dict[str, str]) -> dict[str, list]:
    """Clean ids and (id, rule) of rejected records per table, as sorted lists (a repeated id counts twice)."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        out = {name: sorted(r[0] for r in con.execute(sql).fetchall()) for name, sql in clean.items()}
        for name, sql in quarantine.items():
            out[name] = sorted(con.execute(sql).fetchall())
    return out


def test_any_batch_order_ends_as_the_batch_path(payments_setup, tmp_path: Path):
    """Payments before their transactions, a later duplicate that wins and is bad, a quoted Infinity."""

    from caseworks_assets.payments.stream_assets import LANDED

    settings, data_dir, resources = payments_setup
    more = [_tx("T1", amount=-1, transaction_date="2024-03-01"), _tx("T10", amount="Infinity"), _tx("T11")]
    write_records(data_dir / "transactions_more.ndjson", more)
    pays = [_pay("P8", "T8", payment_date="2023-01-01"), _pay("P9", "T11"), _pay("P10", "T10")]
    write_records(data_dir / "payments_more.ndjson", pays)
    assert _materialize(resources).success
    tx_id, pay_id = "raw_record->>'transaction_id'", "raw_record->>'payment_id'"
    errors = "where severity = 'error'"
    batch = _verdicts(
        settings,
        {"tx": "select transaction_id from payments.transactions", "pay": "select payment_id from payments.payments"},
        {
            "tx_q": f"select {tx_id}, rule from payments.transactions_quarantine {errors}",
            "pay_q": f"select {pay_id}, rule from payments.payments_quarantine {errors}",
        },
    )
    assert ("T1", "duplicate_id") in batch["tx_q"] and ("P1", "transaction_quarantined") in batch["pay_q"]

    lines = [line for f in replay(data_dir, tmp_path / "replayed", batch_rows=100, interval=0) for line in
             f.read_text().splitlines()]  # fmt: skip
    payments_first = sorted(lines, key=lambda line: json.loads(line)["_type"] != "payment")
    for order in (lines, lines[::-1], payments_first):
        landing = Path(resources["payments_landing"].path)
        shutil.rmtree(landing, ignore_errors=True)
        shutil.rmtree(resources["lake"].path(*LANDED).path, ignore_errors=True)
        landing.mkdir(parents=True)
        consumer = Stream(settings, resources, landing, dg.DagsterInstance.ephemeral())
        pending = []
        for number, start in enumerate(range(0, len(order), 5), 1):
            (landing / f"batch-{number:06d}.ndjson").write_text("\n".join(order[start : start + 5]) + "\n")
            assert consumer.tick() == [f"batch-{number:06d}.ndjson"]
            pending.append(consumer.counts()["stream_pending_payments"])
        if order is payments_first:
            assert pending[0] == 4  # the first five payments but P3 (amount 0) wait for their transactions
        stream = _verdicts(
            settings,
            {"tx": "select transaction_id from payments.stream_transactions",
             "pay": "select payment_id from payments.stream_payments"},
            {
                "tx_q": f"select {tx_id}, rule from payments.stream_quarantine {errors} "
                "and record_type = 'transaction'",
                # a payment still pending when the stream ends is what the batch path calls transaction_unknown
                "pay_q": f"select {pay_id}, rule from payments.stream_quarantine {errors} and record_type = 'payment' "
                f"union all select {pay_id}, rule from payments.stream_pending_payments",
            },
        )  # fmt: skip
        assert stream == batch


def test_inputs_and_batches_that_are_not_all_utf8_are_replayed_and_read_as_written(payments_setup, tmp_path, caplog):
    """A Windows-1252 name in an input file and in a landed batch: read as written, never as replacement characters."""
    from caseworks_assets.payments.stream import parse_batch

    _, data_dir, _ = payments_setup
    extra = [_tx("T20", customer_id="CUST-José"), _pay("P20", "T20", customer_id="CUST-Conceição")]
    (data_dir / "transactions_cp1252.ndjson").write_bytes(json.dumps(extra[0], ensure_ascii=False).encode("cp1252"))
    (data_dir / "payments_cp1252.ndjson").write_bytes(json.dumps(extra[1], ensure_ascii=False).encode("cp1252"))
    with caplog.at_level("WARNING"):
        files = replay(data_dir, tmp_path / "replayed", batch_rows=1000, interval=0)
    records = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert {r["customer_id"] for r in records} >= {"CUST-José", "CUST-Conceição"}
    assert len({(r["_type"], r.get("transaction_id"), r.get("payment_id")) for r in records}) == len(records)
    assert [m for m in caplog.messages if "transactions_cp1252.ndjson: not all UTF-8 (first at line 1" in m]

    batch = tmp_path / "batch-000009.ndjson"
    batch.write_bytes((json.dumps({**extra[0], "_type": "transaction"}, ensure_ascii=False) + "\n").encode("cp1252"))
    parsed = parse_batch(batch, batch.name)
    assert parsed.transactions["customer_id"].to_list() == ["CUST-José"] and parsed.malformed.height == 0
