"""ParquetSink: dictionary encoding only where the data repeats, and a valid file even without rows."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from caseworks_assets.resources.parquet_sink import ParquetSink, repeating_columns


def _encodings(path) -> dict[str, set[str]]:
    metadata = pq.ParquetFile(path).metadata
    group = metadata.row_group(0)
    return {group.column(i).path_in_schema: set(group.column(i).encodings) for i in range(group.num_columns)}


def test_only_repeating_columns_are_dictionary_encoded(tmp_path):
    rows = 10_000
    table = pa.table(
        {
            "id": [f"T{i:08d}" for i in range(rows)],
            "status": ["paid", "late", "open", None][:4] * (rows // 4),
            "amount": [i * 0.5 for i in range(rows)],
        }
    )
    assert repeating_columns(table) == ["status"]
    path = tmp_path / "t.parquet"
    with ParquetSink(str(path), table.schema) as sink:
        sink.write_table(table.slice(0, 6_000))
        sink.write_table(table.slice(6_000))
    encodings = _encodings(path)
    assert "RLE_DICTIONARY" in encodings["status"]
    assert "RLE_DICTIONARY" not in encodings["id"] and "RLE_DICTIONARY" not in encodings["amount"]
    assert pq.read_table(path).equals(table)  # nothing lost across the two tables


def test_a_sink_given_no_rows_writes_an_empty_file_with_its_schema(tmp_path):
    schema = pa.schema([("id", pa.string()), ("amount", pa.float64())])
    path = tmp_path / "empty.parquet"
    ParquetSink(str(path), schema).close()
    read = pq.read_table(path)
    assert read.num_rows == 0 and read.schema.equals(schema)


def test_nested_columns_are_never_dictionary_encoded():
    table = pa.table({"record": [{"a": 1}] * 100, "kind": ["x"] * 100})
    assert repeating_columns(table) == ["kind"]
