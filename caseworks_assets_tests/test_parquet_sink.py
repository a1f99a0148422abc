"""ParquetSink: dictionaries only where data repeats, statistics only where ranges prune, a valid empty file."""

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


def test_only_columns_with_ranges_get_min_max_statistics(tmp_path):
    """Numbers and dates keep the min/max a reader prunes row groups by; text columns are written without."""
    import datetime as dt

    table = pa.table(
        {
            "id": ["T2", "T1", None],
            "amount": [5.0, -1.5, None],
            "due": [dt.date(2024, 3, 1), dt.date(2024, 1, 31), None],
            "line": pa.array([7, 3, 9], pa.int64()),
        }
    )
    path = tmp_path / "s.parquet"
    with ParquetSink(str(path), table.schema) as sink:
        sink.write_table(table)
    group = pq.ParquetFile(path).metadata.row_group(0)
    stats = {group.column(i).path_in_schema: group.column(i).statistics for i in range(group.num_columns)}
    assert (stats["amount"].min, stats["amount"].max) == (-1.5, 5.0)
    assert (stats["due"].min, stats["due"].max) == (dt.date(2024, 1, 31), dt.date(2024, 3, 1))
    assert (stats["line"].min, stats["line"].max) == (3, 9)
    assert stats["id"] is None or not stats["id"].has_min_max
    assert pq.read_table(path).equals(table)


def test_a_sink_given_no_rows_writes_an_empty_file_with_its_schema(tmp_path):
    schema = pa.schema([("id", pa.string()), ("amount", pa.float64())])
    path = tmp_path / "empty.parquet"
    ParquetSink(str(path), schema).close()
    read = pq.read_table(path)
    assert read.num_rows == 0 and read.schema.equals(schema)


def test_nested_columns_are_never_dictionary_encoded():
    table = pa.table({"record": [{"a": 1}] * 100, "kind": ["x"] * 100})
    assert repeating_columns(table) == ["kind"]
