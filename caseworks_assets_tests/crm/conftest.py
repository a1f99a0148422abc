"""Fixtures of the crm tests: the hand-written export, run once per module, and its published store."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseworks_assets.crm.queries import SnapshotReader
from caseworks_assets.crm.serving import snapshot_folder
from caseworks_assets_tests.crm.crm_kit import materialize_crm, write_fixture

KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def crm_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture export materialized end to end (assets and checks); the output folder."""
    root = tmp_path_factory.mktemp("crm")
    result = materialize_crm(write_fixture(root / "data"), root / "out")
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) >= 8 and all(evaluation.passed for evaluation in evaluations)
    return root / "out"


@pytest.fixture(scope="module")
def reader(crm_out: Path) -> SnapshotReader:
    return SnapshotReader(snapshot_folder(crm_out))
