"""The raw reader: the fast typed projections equal the record-by-record one, and non-objects fall back."""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from payments_records import PAYMENTS_ARRAY, TRANSACTIONS_ARRAY, write_records

from caseworks_assets.governance import KeyRing
from caseworks_assets.governance.lake_encryption import read_sealed
from caseworks_assets.payments import reader
from caseworks_assets.payments.columns import RESTRICTED_COLUMN
from caseworks_assets.payments.tables import ingest_transactions

#: Every field in the wrong JSON type at least once: numbers as text, objects and lists as ids, null metadata.
MIXED_TYPES = [
    *TRANSACTIONS_ARRAY,
    {"transaction_id": 17, "amount": [1, 2], "status": 1.5, "metadata": "not an object"},
    {"transaction_id": {"nested": True}, "amount": None, "metadata": {"installments": "3", "channel": 9}},
    {},
]


#: The same without the record whose metadata is a string: every nested value an object or null.
NESTED_OBJECTS = [
    *TRANSACTIONS_ARRAY,
    {"transaction_id": 17, "amount": [1, 2], "status": 1.5, "metadata": None},
    {"transaction_id": {"nested": True}, "amount": None, "metadata": {"installments": 3, "channel": {"a": [9]}}},
    {"metadata": {"sales_rep": None, "discount_applied": True, "other": "ignored"}},
    {},
]
Projection = reader.Projection


def _ingest(path: Path, kind: str, projection: reader.Projection, ring: KeyRing | None = None) -> pl.DataFrame:
    sink = io.BytesIO()
    with reader.raw_writer(sink, kind, ring) as writer:
        for table in reader.raw_batches([path], path.parent, kind, reader.IngestStats(), projection=projection):
            writer.write_table(table)
    sink.seek(0)
    if ring is None:
        return pl.read_parquet(sink)
    opened = pl.from_arrow(read_sealed(sink, ring))
    assert isinstance(opened, pl.DataFrame)
    return opened


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_typed_projection_equals_the_record_by_record_one(tmp_path: Path, suffix: str):
    path = write_records(tmp_path / f"transactions{suffix}", MIXED_TYPES)
    fast, robust = _ingest(path, "transactions", Projection.OBJECTS), _ingest(path, "transactions", Projection.RECORDS)
    assert fast.equals(robust)
    with pytest.raises(reader.NotAnObject, match="nested value"):  # metadata "not an object": no struct
        _ingest(path, "transactions", Projection.STRUCTS)
    assert fast["source_line"].to_list() == list(range(1, len(MIXED_TYPES) + 1))
    assert fast.filter(pl.col("source_line") == 8).row(0, named=True) | {"source_file": None} == {
        "source_file": None,
        "source_line": 8,
        "transaction_id": "17",
        "customer_id": None,
        "amount": "[1,2]",
        "currency": None,
        "transaction_date": None,
        "due_date": None,
        "payment_terms": None,
        "status": "1.5",
        "product_category": None,
        "sales_rep": None,
        "channel": None,
        "discount_applied": None,
        "installments": None,
    }
    assert fast.filter(pl.col("source_line") == 2)["amount"].item() == '"250.50"'  # a string stays quoted


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_nested_objects_read_as_structs_equal_the_other_projections(tmp_path: Path, suffix: str):
    path = write_records(tmp_path / f"transactions{suffix}", NESTED_OBJECTS)
    structs, objects, records = (_ingest(path, "transactions", p) for p in Projection)
    assert structs.equals(records) and objects.equals(records)
    nested = structs.filter(pl.col("source_line") == len(TRANSACTIONS_ARRAY) + 2).row(0, named=True)
    assert (nested["transaction_id"], nested["installments"], nested["channel"]) == (
        '{"nested":true}',
        "3",
        '{"a":[9]}',
    )
    assert structs.filter(pl.col("source_line") == len(TRANSACTIONS_ARRAY) + 3)["discount_applied"].item() == "true"


def test_restricted_fields_are_read_alike_on_both_paths(tmp_path: Path):
    ring = KeyRing.parse(KeyRing.generate_spec("k1"))
    path = tmp_path / "payments.json"
    path.write_text(json.dumps(PAYMENTS_ARRAY))
    fast, objects, robust = (_ingest(path, "payments", p, ring=ring) for p in Projection)
    assert fast.equals(robust) and objects.equals(robust)
    assert fast[RESTRICTED_COLUMN].null_count() == 0
    first = json.loads(fast[RESTRICTED_COLUMN][0])
    assert first == {
        "reference_number": "REF-SECRET-1",
        "ip_address": "203.0.113.7",
        "user_agent": "Agent/1.0 secret-ua",
    }


@pytest.mark.parametrize(
    "value", ['quote " and \\ backslash', "José", "tab\tnew\nline", "\x01control", "emoji 😀", "\u2028", "", None]
)
def test_the_restricted_object_is_the_text_json_object_gives(value: str | None):
    """The object spelled out around ``to_json`` escapes every value exactly as DuckDB's ``json_object`` does."""
    pairs = ", ".join(f"'{k}', _r[{i + 1}]" for i, k in enumerate(reader.RESTRICTED_FIELDS))
    with duckdb.connect() as con:
        ours, json_object = con.execute(
            f"SELECT {reader.RESTRICTED_PLAIN_SQL}, json_object({pairs})::VARCHAR "
            "FROM (SELECT [?, 'x', NULL]::VARCHAR[] AS _r)",
            [value],
        ).fetchone()
    assert ours == json_object
    assert json.loads(ours)["reference_number"] == value


def test_a_record_that_is_not_an_object_is_kept_at_its_position(payments_setup):
    settings, data_dir, resources = payments_setup
    records = [TRANSACTIONS_ARRAY[0], 7, "text", [1, 2], TRANSACTIONS_ARRAY[1]]
    (data_dir / "transactions.json").write_text(json.dumps(records))
    for projection in (Projection.STRUCTS, Projection.OBJECTS):
        with pytest.raises(reader.NotAnObject, match=r"transactions\.json"):
            _ingest(data_dir / "transactions.json", "transactions", projection)

    result = dg.materialize([ingest_transactions], resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    raw = pl.read_parquet(settings.lake_root + "/payments/raw/transactions.parquet")
    from_array = raw.filter(pl.col("source_file") == "transactions.json").sort("source_line")
    assert from_array["source_line"].to_list() == [1, 2, 3, 4, 5]
    assert from_array["transaction_id"].to_list() == ["T1", None, None, None, "T2"]
    assert raw.height == len(records) + 2  # plus transactions_extra.ndjson's two records
    clean = pl.read_parquet(settings.lake_root + "/payments/clean/transactions.parquet")
    quarantined = pl.read_parquet(settings.lake_root + "/payments/quarantine/transactions.parquet").filter(
        pl.col("severity") == "error"  # warnings belong to loaded rows
    )
    assert clean.height + quarantined.height == raw.height  # the non-objects are quarantined, not lost
    assert {3, 4} <= set(quarantined.filter(pl.col("source_file") == "transactions.json")["source_line"])
    raw_key = dg.AssetKey(["payments", "raw_transactions"])
    event = next(m for m in result.get_asset_materialization_events() if m.asset_key == raw_key)
    files = event.materialization.metadata["files"]
    assert files.data == {"transactions.json": 5, "transactions_extra.ndjson": 2}  # type: ignore[union-attr]


def test_non_finite_amounts_are_quarantined_with_their_rule(tmp_path: Path):
    """Unquoted ``Infinity`` / ``NaN`` (which JSON readers accept) read end to end, then meet the rules."""
    from caseworks_assets.payments.rules import TRANSACTION_RULES
    from caseworks_assets.quality import apply_rules

    lines = [json.dumps(record) for record in TRANSACTIONS_ARRAY[:4]]
    lines[0] = lines[0].replace('"amount": 100.0', '"amount": Infinity')
    lines[1] = lines[1].replace('"amount": "250.50"', '"amount": NaN')
    lines[3] = lines[3].replace('"amount": -5', '"amount": -Infinity')
    path = tmp_path / "transactions.ndjson"
    path.write_text("\n".join(lines) + "\n")
    raw = _ingest(path, "transactions", Projection.STRUCTS)
    assert raw["amount"].to_list()[:2] == ["Infinity", "NaN"]
    result = apply_rules(raw.drop("source_file", "source_line"), TRANSACTION_RULES)
    rules = dict(zip(result.quarantine["row_number"].to_list(), result.quarantine["rule"].to_list(), strict=True))
    assert rules == {1: "amount_finite", 2: "amount_finite", 3: "amount_number", 4: "amount_finite"}
    assert result.clean.is_empty()


def test_a_json_object_wrapping_the_records_is_refused_on_read(tmp_path: Path):
    path = tmp_path / "transactions.json"
    path.write_text(json.dumps({"transactions": TRANSACTIONS_ARRAY}, indent=1))
    with pytest.raises(reader.MalformedInput, match=r"transactions\.json: line 1: the top level is a JSON object"):
        _ingest(path, "transactions", Projection.STRUCTS)


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_a_utf8_byte_order_mark_is_read_past_by_every_projection(tmp_path: Path, suffix: str):
    """A file saved by a Windows editor starts with a BOM: the same records, at the same positions, as without it."""
    plain = write_records(tmp_path / f"transactions{suffix}", NESTED_OBJECTS)
    marked = tmp_path / "marked" / plain.name
    marked.parent.mkdir()
    marked.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    assert reader.json_format(marked) == reader.json_format(plain)
    reader.check_top_level(marked, marked.name, reader.KINDS["transactions"])
    for projection in Projection:
        assert _ingest(marked, "transactions", projection).equals(_ingest(plain, "transactions", projection))


def test_a_wrapped_document_behind_a_byte_order_mark_is_still_refused(tmp_path: Path):
    path = tmp_path / "transactions.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps({"transactions": TRANSACTIONS_ARRAY}).encode())
    with pytest.raises(reader.MalformedInput, match=r"the top level is a JSON object"):
        _ingest(path, "transactions", Projection.STRUCTS)


def test_a_file_that_is_not_all_utf8_is_read_again_from_its_repaired_copy(payments_setup, caplog):
    """A Windows-1252 name in a JSON export: read as written, every record once, under the file's own name."""
    settings, data_dir, resources = payments_setup
    records = [dict(TRANSACTIONS_ARRAY[0], customer_id="CUST-José"), TRANSACTIONS_ARRAY[1]]
    (data_dir / "transactions.json").write_bytes(json.dumps(records, ensure_ascii=False).encode("cp1252"))
    instance = dg.DagsterInstance.ephemeral()
    with caplog.at_level("WARNING"):
        result = dg.materialize([ingest_transactions], resources=resources, instance=instance)
    assert result.success
    raw = pl.read_parquet(settings.lake_root + "/payments/raw/transactions.parquet")
    from_array = raw.filter(pl.col("source_file") == "transactions.json").sort("source_line")
    assert from_array["customer_id"].to_list() == ["CUST-José", TRANSACTIONS_ARRAY[1]["customer_id"]]
    assert raw.height == len(records) + 2  # plus transactions_extra.ndjson's two records, each once
    assert [m for m in caplog.messages if "transactions.json: not all UTF-8 (first at line 1" in m]
    logged = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert [m for m in logged if "as Windows-1252 stands in); reading the transactions files again" in m]

    # the reader itself asks for the new pass once per new file (here: the file replaced, so a new copy)
    records[0]["customer_id"] = "CUST-Conceição"
    (data_dir / "transactions.json").write_bytes(json.dumps(records, ensure_ascii=False).encode("cp1252"))
    with pytest.raises(reader.ReadAgain, match=r"transactions\.json: not all UTF-8"):
        _ingest(data_dir / "transactions.json", "transactions", Projection.STRUCTS)
    again = _ingest(data_dir / "transactions.json", "transactions", Projection.STRUCTS)
    assert again["customer_id"].to_list()[0] == "CUST-Conceição"
