"""The lake resource: delivered files copied as they are, and frames kept by the process that wrote them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from caseworks_assets.resources import LakeResource


def test_a_delivered_file_is_copied_byte_for_byte_and_readable_as_a_local_file(tmp_path: Path) -> None:
    lake = LakeResource(root=str(tmp_path / "lake"))
    delivered = tmp_path / "in" / "agents.csv"
    delivered.parent.mkdir()
    delivered.write_bytes(b'agent_id,full_name\r\nA1,Jos\xc3\xa9\r\nA2,"Ann, Jr"\r\n')
    stored = lake.copy_in(delivered, "support", "raw_agents", "2025-01.csv")
    assert Path(stored.path).read_bytes() == delivered.read_bytes()
    assert not list(Path(stored.path).parent.glob(".*"))  # no staging file left behind
    with lake.local_file("support", "raw_agents", "2025-01.csv") as local:
        assert local.read_bytes() == delivered.read_bytes()


def test_key_value_metadata_is_read_from_the_footer_and_remove_forgets_a_file(tmp_path: Path) -> None:
    lake = LakeResource(root=str(tmp_path))
    frame = pl.DataFrame({"id": ["a", "b", "c"]})
    lake.write_parquet(frame, "t", "one.parquet", metadata={"caseworks.state_version": "v1"})
    assert lake.file_metadata("t", "one.parquet")["caseworks.state_version"] == "v1"
    assert lake.row_count("t", "one.parquet") == 3
    lake.write_parquet(frame, "t", "two.parquet")
    assert "caseworks.state_version" not in lake.file_metadata("t", "two.parquet")

    lake.remove("t", "one.parquet")
    assert not lake.exists("t", "one.parquet") and lake.exists("t", "two.parquet")
    lake.remove("t", "one.parquet")  # already gone: nothing to do


def test_a_remote_lake_copies_reads_and_removes_through_its_filesystem(tmp_path: Path) -> None:
    """The object-storage branches (``gs://`` in prod), on fsspec's in-memory filesystem: a delivered file is copied
    byte for byte, and readers that need a path get a temporary copy."""
    lake = LakeResource(root=f"memory://lake-{tmp_path.name}")
    assert not lake.is_local and lake.working_compression == "zstd"
    delivered = tmp_path / "delivered.csv"
    delivered.write_bytes(b"id,name\r\n1,\xc3\xa9\r\n")
    assert lake.copy_in(delivered, "raw", "x.csv").read_bytes() == delivered.read_bytes()
    with lake.local_file("raw", "x.csv") as local:
        assert local.read_bytes() == delivered.read_bytes() and local != delivered
    assert not local.exists()  # the temporary copy is gone once the block ends

    frame = pl.DataFrame({"id": ["a", "b"]})
    lake.write_parquet(frame, "t", "one.parquet", metadata={"caseworks.state_version": "v1"})
    assert lake.read_parquet("t", "one.parquet").equals(frame)
    assert lake.file_metadata("t", "one.parquet")["caseworks.state_version"] == "v1"
    assert lake.row_count("t", "one.parquet") == 2
    lake.remove("t", "one.parquet")
    assert not lake.exists("t", "one.parquet")
