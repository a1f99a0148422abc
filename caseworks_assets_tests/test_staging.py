"""Files are published whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from upath import UPath

from caseworks_assets.resources.staging import staged_path, staged_writer


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.csv"
    target.parent.mkdir()
    target.write_text("previous\n")
    with pytest.raises(RuntimeError, match="disk full"), staged_path(target) as staging:
        staging.write_text("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.csv"]


def test_a_successful_write_replaces_the_file_through_a_lake_path(tmp_path: Path) -> None:
    target = UPath(tmp_path) / "lake" / "case" / "table.parquet"
    with staged_writer(target) as handle:
        handle.write(b"new bytes")
    assert target.read_bytes() == b"new bytes"
    assert [p.name for p in target.parent.iterdir()] == ["table.parquet"]
