"""How states are kept: a range's earlier months as changes, read back as the states month-by-month runs write.

Facts from the bundled sample (caseworks_assets/support/sample.py): CC2 is
renamed Boston Harbor in 2025-02 and CC3 deleted in 2025-03.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from support_testkit import make_run, make_settings, warehouse_table

from caseworks_assets.resources import LakeResource
from caseworks_assets.runner import CaseRunFailed
from caseworks_assets.support.assets import OUTPUT_ASSETS, PARTITIONED_ASSETS
from caseworks_assets.support.cli import run as run_support
from caseworks_assets.support.layout import TABLES
from caseworks_assets.support.sample import write_sample
from caseworks_assets.support.states import (
    MonthOrderError,
    changes_parts,
    read_state,
    snapshot_parts,
    state_version,
    write_changes,
    write_snapshot,
)

MONTHS = ["2024-12", "2025-01", "2025-02", "2025-03"]
MONTH_KEYS = [key for asset in PARTITIONED_ASSETS for key in asset.keys]
OUTPUT_KEYS = [key for asset in OUTPUT_ASSETS for key in asset.keys]


def _lake(root) -> LakeResource:
    return LakeResource(root=make_settings(root).lake_root)


def _ranged(root):
    """The sample applied as the CLI applies it: one run over the four months, then the outputs."""
    write_sample(make_settings(root).data_dir / "support")
    case_run = make_run(root, dg.DagsterInstance.ephemeral())
    run_support(case_run)
    return case_run


@pytest.fixture(scope="module")
def ranged_and_monthly(tmp_path_factory):
    ranged_root, monthly_root = tmp_path_factory.mktemp("ranged"), tmp_path_factory.mktemp("monthly")
    _ranged(ranged_root)
    write_sample(make_settings(monthly_root).data_dir / "support")
    monthly = make_run(monthly_root, dg.DagsterInstance.ephemeral())
    monthly.instance.add_dynamic_partitions("support_months", MONTHS)
    for month in MONTHS:
        monthly.execute("support_job", partition_key=month, asset_selection=MONTH_KEYS)
    return ranged_root, monthly_root


def test_a_range_keeps_its_earlier_months_as_changes_and_its_ends_as_snapshots(ranged_and_monthly):
    ranged_root, monthly_root = ranged_and_monthly
    lake, monthly_lake = _lake(ranged_root), _lake(monthly_root)
    for table in TABLES:
        for month in ("2024-12", "2025-03"):  # the initial extract, and the month the finals and next run read
            assert lake.exists(*snapshot_parts(table, month)) and not lake.exists(*changes_parts(table, month))
        for month in ("2025-01", "2025-02"):
            assert lake.exists(*changes_parts(table, month)) and not lake.exists(*snapshot_parts(table, month))
        for month in MONTHS:  # single-month runs always write snapshots
            assert monthly_lake.exists(*snapshot_parts(table, month))
            assert not monthly_lake.exists(*changes_parts(table, month))


@pytest.mark.parametrize("month", MONTHS)
@pytest.mark.parametrize("table", list(TABLES))
def test_every_month_reads_back_as_the_state_a_month_by_month_run_wrote(ranged_and_monthly, table, month):
    ranged_root, monthly_root = ranged_and_monthly
    key = TABLES[table].key
    assert_frame_equal(
        read_state(_lake(ranged_root), table, month).sort(key),
        read_state(_lake(monthly_root), table, month).sort(key),
    )


def test_changes_read_back_with_the_months_renames_and_deletes(ranged_and_monthly):
    lake = _lake(ranged_and_monthly[0])

    def names(month: str) -> dict[str, str]:
        state = read_state(lake, "contact_centers", month)
        return dict(state.select("contact_center_id", "contact_center_name").iter_rows())

    assert names("2025-01")["CC2"] != "Boston Harbor"
    assert names("2025-02")["CC2"] == "Boston Harbor" and "CC3" in names("2025-02")
    assert "CC3" not in names("2025-03")


def test_applying_an_earlier_month_again_invalidates_the_later_months_kept_as_changes(tmp_path):
    case_run = _ranged(tmp_path)
    lake = _lake(tmp_path)
    february = read_state(lake, "interactions", "2025-02")

    case_run.execute("support_job", partition_key="2025-01", asset_selection=MONTH_KEYS)
    with pytest.raises(MonthOrderError, match="apply 2025-02 again"):
        read_state(lake, "interactions", "2025-02")
    with pytest.raises(CaseRunFailed, match="apply 2025-02 again"):
        case_run.execute("support_job", partition_key="2025-03", asset_selection=MONTH_KEYS)

    case_run.execute("support_job", partition_key="2025-02", asset_selection=MONTH_KEYS)
    key = TABLES["interactions"].key
    assert_frame_equal(read_state(lake, "interactions", "2025-02").sort(key), february.sort(key))
    case_run.execute("support_job", partition_key="2025-03", asset_selection=MONTH_KEYS)
    assert "CC3" not in read_state(lake, "contact_centers", "2025-03")["contact_center_id"].to_list()


def test_publishing_a_month_kept_as_changes_writes_its_snapshot_once(tmp_path):
    case_run = _ranged(tmp_path)
    lake = _lake(tmp_path)
    versions = {table: state_version(lake, table, "2025-02") for table in TABLES}
    case_run.execute(
        "support_job",
        asset_selection=OUTPUT_KEYS,
        run_config={
            "ops": {
                "support_final_state": {"config": {"month": "2025-02"}},
                "support__support_exports": {"config": {"fmt": "parquet"}},
            }
        },
    )
    for table, spec in TABLES.items():
        assert lake.exists(*snapshot_parts(table, "2025-02")) and not lake.exists(*changes_parts(table, "2025-02"))
        assert state_version(lake, table, "2025-02") == versions[table]  # the same state: 2025-03 still reads
        published = warehouse_table(tmp_path, f"{table}_final")
        expected = read_state(lake, table, "2025-02")
        assert published.height == expected.height
        assert sorted(published[spec.key].to_list()) == sorted(expected[spec.key].to_list())
    centers = warehouse_table(tmp_path, "contact_centers_final")
    assert "CC3" in centers["contact_center_id"].to_list()  # deleted only in 2025-03
    assert read_state(lake, "contact_centers", "2025-03").filter(pl.col("contact_center_id") == "CC3").is_empty()


def test_states_on_a_remote_lake_chain_changes_and_check_the_version_they_build_on(tmp_path):
    """Snapshots and changes through the lake's filesystem layer (fsspec memory here, ``gs://`` in prod)."""
    lake = LakeResource(root=f"memory://states-{tmp_path.name}")
    key = TABLES["contact_centers"].key
    december = pl.DataFrame({key: ["CC1", "CC2"], "contact_center_name": ["Atlanta", "Boston"], "location": ["A", "B"]})
    changes = pl.DataFrame(
        {
            key: ["CC2", "CC1", "CC3"],
            "contact_center_name": ["Boston Harbor", None, "Chicago"],
            "location": ["B", None, "C"],
            "action": ["update", "delete", "add"],
        }
    )
    write_snapshot(lake, "contact_centers", "2024-12", december, "v-dec")
    write_changes(lake, "contact_centers", "2025-01", changes, "v-jan", ("2024-12", "v-dec"))
    assert not lake.exists(*snapshot_parts("contact_centers", "2025-01"))
    january = read_state(lake, "contact_centers", "2025-01").sort(key)
    assert january.rows() == [("CC2", "Boston Harbor", "B"), ("CC3", "Chicago", "C")]

    write_snapshot(lake, "contact_centers", "2024-12", december, "v-dec-again")  # December applied again
    with pytest.raises(MonthOrderError, match="apply 2025-01 again"):
        read_state(lake, "contact_centers", "2025-01")
    write_snapshot(lake, "contact_centers", "2025-01", january, "v-jan-2")  # January applied again, in full
    assert not lake.exists(*changes_parts("contact_centers", "2025-01"))
    assert state_version(lake, "contact_centers", "2025-01") == "v-jan-2"


def test_the_business_rules_import_nothing_from_dagster():
    """The state logic, typing, report and answers are plain modules (CONTRIBUTING): the adapters hold Dagster."""
    import ast
    from pathlib import Path

    import caseworks_assets.support as support

    folder = Path(support.__file__).parent
    rules = ["answers", "changes", "exports", "layout", "months", "report", "sample", "states"]
    for name in rules:
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {module for module in imported if module.split(".")[0] == "dagster"}, name


def test_a_table_waits_for_its_own_snapshot_written_behind_not_for_another_tables(tmp_path):
    """The interactions snapshot of an initial extract is written while the next month is typed."""
    import threading

    from caseworks_assets.resources.overlap import WriteBehind
    from caseworks_assets.support.months import MonthStates

    gate = threading.Event()
    written: list[str] = []
    with WriteBehind(depth=1) as writes:
        states = MonthStates(_lake(tmp_path), None, writes, None, tmp_path)  # type: ignore[arg-type]
        states.write_behind("agents", written.append, "agents")
        states.write_behind("interactions", lambda: gate.wait(30) and written.append("interactions"))
        states.stored("agents")
        assert written == ["agents"]  # agents' files are readable while interactions' are still being written
        gate.set()
        states.stored("interactions")
        assert written == ["agents", "interactions"]
        states.close()
