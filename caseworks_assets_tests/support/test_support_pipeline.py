"""The bundled sample through Dagster, month by month, checked against figures worked out by hand.

The expected report below was computed by hand from the sample's records (see
caseworks_assets/support/sample.py): final dimensions (CC2 renamed Boston
Harbor in 2025-02, CC3 deleted in 2025-03, SC2's department renamed Customer
Care in 2025-01, SC4 without department), I10 moved to CC1, I11 deleted, K1
(2025-02-01 01:30 UTC) counted in 2025-01 and L5 (2025-04-01 01:30 UTC) in
2025-03, Eastern time.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from support_testkit import lake_snapshot, make_run, make_settings, warehouse_table

from caseworks_assets.support.assets import OUTPUT_ASSETS, PARTITIONED_ASSETS, state_key
from caseworks_assets.support.cli import run as run_support
from caseworks_assets.support.keys import REPORT_KEY
from caseworks_assets.support.sample import write_sample

MONTHS = ["2024-12", "2025-01", "2025-02", "2025-03"]

# month, contact_center_name, department, total_interactions, total_calls, total_call_duration
EXPECTED_REPORT = [
    ("2024-11", "Atlanta Hub", "Finance", 1, 1, 12.0),  # I1
    ("2024-11", "Boston Harbor", "Customer Care", 1, 1, 28.0),  # I2
    ("2024-11", "Boston Harbor", "Logistics", 1, 0, 0.0),  # I3 chat
    ("2024-12", "Atlanta Hub", "Customer Care", 1, 1, 20.0),  # I10, moved from CC2 to CC1
    ("2024-12", "Atlanta Hub", "Finance", 1, 1, 10.0),  # I4 (I11 deleted)
    ("2024-12", "Atlanta Hub", "Unknown", 2, 0, 0.0),  # I6 (SC4 no department), I9 (no category)
    ("2024-12", "Boston Harbor", "Customer Care", 1, 1, 35.0),  # I5
    ("2024-12", "Boston Harbor", "Finance", 1, 1, 30.0),  # I8
    ("2024-12", "Unknown", "Logistics", 1, 1, 11.0),  # I7 at deleted CC3
    ("2025-01", "Atlanta Hub", "Customer Care", 1, 1, 9.0),  # J7
    ("2025-01", "Atlanta Hub", "Finance", 1, 1, 10.0),  # J1
    ("2025-01", "Atlanta Hub", "Sales", 1, 0, 0.0),  # J4 email
    ("2025-01", "Boston Harbor", "Customer Care", 2, 2, 40.0),  # J2 40 + J6 (no duration)
    ("2025-01", "Boston Harbor", "Finance", 1, 1, 25.0),  # K1, 2025-02-01 01:30Z = Jan 31 EST
    ("2025-01", "Boston Harbor", "Logistics", 1, 0, 0.0),  # J3 chat
    ("2025-01", "Unknown", "Finance", 1, 1, 8.0),  # J5 at CC3
    ("2025-02", "Atlanta Hub", "Finance", 1, 1, 11.0),  # K2
    ("2025-02", "Boston Harbor", "Customer Care", 1, 1, 45.0),  # K4
    ("2025-02", "Boston Harbor", "Logistics", 1, 0, 0.0),  # K6 email
    ("2025-02", "Boston Harbor", "Sales", 1, 1, 8.0),  # K5
    ("2025-02", "Unknown", "Customer Care", 1, 0, 0.0),  # K3 chat at CC3
    ("2025-03", "Atlanta Hub", "Finance", 2, 2, 19.0),  # L1 9 + L5 10 (2025-04-01 01:30Z = Mar 31 EDT)
    ("2025-03", "Boston Harbor", "Customer Care", 1, 1, 40.0),  # L2
    ("2025-03", "Boston Harbor", "Finance", 1, 0, 0.0),  # L3 chat
    ("2025-03", "Boston Harbor", "Logistics", 1, 1, 30.0),  # L4
    ("2025-03", "Unknown", "Customer Care", 1, 1, 7.0),  # L6 at CC3
]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("support_pipeline")
    write_sample(make_settings(root).data_dir / "support")
    instance = dg.DagsterInstance.ephemeral()
    case_run = make_run(root, instance, fmt="parquet")
    run_support(case_run)
    return root, instance, case_run


def test_report_matches_hand_computed_figures(full_run):
    root, _, _ = full_run
    report = warehouse_table(root, "support_report").sort("month", "contact_center_name", "department")
    assert report.rows() == EXPECTED_REPORT
    assert sum(row[3] for row in EXPECTED_REPORT) == 29


def test_final_state_of_every_table(full_run):
    root, _, _ = full_run
    centers = dict(
        warehouse_table(root, "contact_centers_final").select("contact_center_id", "contact_center_name").rows()
    )
    assert centers == {"CC1": "Atlanta Hub", "CC2": "Boston Harbor"}  # CC2 renamed, CC3 deleted by id only
    departments = dict(warehouse_table(root, "service_categories_final").select("category_id", "department").rows())
    assert departments == {"SC1": "Finance", "SC2": "Customer Care", "SC3": "Logistics", "SC4": None, "SC5": "Sales"}
    agents = warehouse_table(root, "agents_final")
    assert sorted(agents["agent_id"]) == ["AG1", "AG2", "AG3", "AG4", "AG6"]
    assert agents.filter(pl.col("agent_id") == "AG2")["contact_center_id"].item() == "CC2"
    interactions = warehouse_table(root, "interactions_final")
    assert interactions.height == 29 and interactions["interaction_id"].n_unique() == 29
    assert "I11" not in interactions["interaction_id"].to_list()
    assert interactions.filter(pl.col("interaction_id") == "I10")["contact_center_id"].item() == "CC1"
    j6 = interactions.filter(pl.col("interaction_id") == "J6").row(0, named=True)
    assert j6["interaction_end"] is None and j6["call_duration_minutes"] is None
    assert set(interactions["channel"]) == {"phone", "chat", "email"}  # "Phone", "Email" normalized


def test_timestamps_are_eastern_across_both_dst_switches(full_run):
    root, _, _ = full_run
    snapshot = lake_snapshot(root, "interactions", "2025-03")
    assert snapshot.schema["interaction_start"] == pl.Datetime("us", "America/New_York")
    starts = dict(
        snapshot.select("interaction_id", pl.col("interaction_start").dt.strftime("%Y-%m-%dT%H:%M:%S%:z")).rows()
    )
    assert starts["I1"] == "2024-11-03T01:30:00-04:00"  # before fall back
    assert starts["I2"] == "2024-11-03T01:30:00-05:00"  # same wall time, after fall back
    assert starts["L1"] == "2025-03-09T01:30:00-05:00"  # before spring forward
    assert starts["L2"] == "2025-03-09T03:30:00-04:00"  # after spring forward
    assert starts["K1"] == "2025-01-31T20:30:00-05:00"
    assert starts["L5"] == "2025-03-31T21:30:00-04:00"


def test_months_are_partitions_and_every_check_passes(full_run):
    _, instance, case_run = full_run
    assert instance.get_dynamic_partitions("support_months") == MONTHS
    for table in ("agents", "contact_centers", "service_categories", "interactions"):
        assert instance.get_materialized_partitions(state_key(table)) == set(MONTHS)
    evaluations = [e for result in case_run.results for e in result.get_asset_check_evaluations()]
    names = {e.check_name for e in evaluations}
    assert {
        "reconciliation",
        "valid_actions",
        "known_ids",
        "unique_interaction_id",
        "unique_agent_id",
        "report_reconciles",
        "support_report_schema",
        "interactions_final_schema",
        "quarantine_schema",
    } <= names
    failed = [(e.asset_key.to_user_string(), e.check_name, e.description) for e in evaluations if not e.passed]
    assert failed == []


def test_month_metadata_counts_the_changes(full_run):
    _, instance, _ = full_run

    def metadata(table: str, month: str) -> dict:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=state_key(table), asset_partitions=[month]), limit=1
        ).records
        return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}

    february = metadata("interactions", "2025-02")
    assert (february["adds"], february["updates"], february["deletes"]) == (6, 0, 1)
    assert (february["rows_before"], february["rows_after"]) == (18, 23)  # 11 + 7 in January, +6 -1
    assert february["rows_read"] == february["rows_loaded"] + february["rows_quarantined"] == 7
    # the export's formats (sample.AS_EXPORTED) are repaired and counted, with examples, not quarantined
    assert february["rows_quarantined"] == 0
    assert february["repair/integral_decimal/satisfaction_rating"] == 2  # K2 4.0, K4 2.0
    assert february["repair/blank_to_null/satisfaction_rating"] == 1  # K5
    assert february["repair/trimmed/call_duration_minutes"] == 1  # K2 " 11 "
    assert february["repair/utc_offset/interaction_start"] == 1  # K4 +00:00
    assert february["repair/utc_offset/interaction_end"] == 1  # K4 -05:00
    assert february["repair/utc_by_contract/interaction_start"] == 1  # K5 without zone
    assert february["repairs"]["satisfaction_rating"]["integral_decimal"]["examples"] == ["'4.0' -> 4", "'2.0' -> 2"]
    march = metadata("interactions", "2025-03")
    assert (march["rows_quarantined"], march["values_warned"]) == (0, 1)  # L2's rating "n/a": nulled, row kept
    assert metadata("interactions", "2025-01")["repair/utc_offset/agent_resolution_timestamp"] == 1  # J1
    march_centers = metadata("contact_centers", "2025-03")
    assert (march_centers["deletes"], march_centers["unknown_deletes"], march_centers["rows_after"]) == (1, 0, 2)
    assert metadata("agents", "2025-03")["rows_read"] == 0  # no agents delta in March


def test_an_unreadable_optional_value_is_a_warning_in_the_quarantine_table(full_run):
    root, _, _ = full_run
    rows = warehouse_table(root, "quarantine")
    warnings = rows.filter(pl.col("severity") == "warning")
    # every repaired value of a loaded row is shown as a warning: what was read, and from what
    repaired = warnings.filter(pl.col("rule").str.starts_with("repaired_"))
    assert repaired.filter(pl.col("month") == "2025-02").select("line", "rule", "column", "reason").rows() == [
        (3, "repaired_trimmed", "call_duration_minutes", "' 11 ' read as 11.0"),
        (3, "repaired_integral_decimal", "satisfaction_rating", "'4.0' read as 4"),
        (
            5,
            "repaired_utc_offset",
            "interaction_end",
            "'2025-02-14T12:45:00-05:00' read as 2025-02-14 17:45:00.000000+00:00",
        ),
        (
            5,
            "repaired_utc_offset",
            "interaction_start",
            "'2025-02-14T17:00:00+00:00' read as 2025-02-14 17:00:00.000000+00:00",
        ),
        (5, "repaired_integral_decimal", "satisfaction_rating", "'2.0' read as 2"),
        (
            6,
            "repaired_utc_by_contract",
            "interaction_start",
            "'2025-02-20 18:00:00' read as 2025-02-20 18:00:00.000000+00:00",
        ),
        (6, "repaired_blank_to_null", "satisfaction_rating", "' ' read as null"),
    ]
    assert all(
        '"interaction_id":"K' in record for record in repaired.filter(pl.col("month") == "2025-02")["raw_record"]
    )
    warning = warnings.filter(~pl.col("rule").str.starts_with("repaired_"))
    assert warning.select("month", "table", "line", "rule", "column").rows() == [
        ("2025-03", "interactions", 3, "bad_satisfaction_rating", "satisfaction_rating")
    ]
    assert warning["source_file"].item().endswith("interactions_delta_202503.csv")
    assert '"satisfaction_rating":"n/a"' in warning["raw_record"].item()
    state = lake_snapshot(root, "interactions", "2025-03")
    assert state.filter(pl.col("interaction_id") == "L2")["satisfaction_rating"].to_list() == [None]
    ratings = dict(
        state.filter(pl.col("interaction_id").is_in(["K2", "K4", "K5"]))
        .select("interaction_id", "satisfaction_rating")
        .iter_rows()
    )
    assert ratings == {"K2": 4, "K4": 2, "K5": None}


def test_answers_are_computed_from_the_data(full_run):
    root, _, case_run = full_run
    markdown = (make_settings(root).out_dir / "support" / "support_answers.md").read_text()
    # Q1 2025 per center (hand count): Boston Harbor 4+3+3, Atlanta Hub 3+1+2, Unknown 1+1+1
    assert "| Boston Harbor | 4 | 3 | 3 | 10 |" in markdown
    assert "| Atlanta Hub | 3 | 1 | 2 | 6 |" in markdown
    assert "| Unknown | 1 | 1 | 1 | 3 |" in markdown
    assert "**2025-01** with **8** interactions" in markdown
    # Boston Harbor phone calls with a duration: 40, 25, 45, 8, 40, 30 -> 188 / 6 = 31.33 min;
    # after resolution 28, 19, 35, 2, 30, 22 -> 22.67 min; agent work 12, 6, 10, 6, 10, 8 -> 8.67 min.
    assert "**Boston Harbor** has the longest average call: **31.33 min**" in markdown
    assert "| Boston Harbor | 7 | 6 | 31.33 | 22.67 | 8.67 | 72 |" in markdown
    # Atlanta Hub: durations 10, 9, 11, 9, 10 -> 9.8; work 8, 7, 9, 7, 8 -> 7.8; after resolution 2.0
    assert "| Atlanta Hub | 5 | 5 | 9.80 | 2.00 | 7.80 | 20 |" in markdown
    # the cause is chosen by the numbers: here the time after resolution, not the agents
    assert "Why: **time on the line after the agent resolved the request** explains it" in markdown
    assert "longer agent work time" not in markdown
    answers_event = case_run.results[-1].asset_materializations_for_node("support__support_answers")[0]
    assert answers_event.metadata["answers"].value == markdown


def test_rerunning_a_month_does_not_apply_it_twice(full_run):
    root, _, case_run = full_run
    keys = [key for asset in PARTITIONED_ASSETS for key in asset.keys]
    before = {m: lake_snapshot(root, "interactions", m) for m in ("2025-02", "2025-03")}
    case_run.execute("support_job", partition_key="2025-02", asset_selection=keys)
    for month, frame in before.items():  # the same rows (a state is a set of ids: its row order is not kept)
        assert_frame_equal(
            lake_snapshot(root, "interactions", month).sort("interaction_id"), frame.sort("interaction_id")
        )
    assert lake_snapshot(root, "contact_centers", "2025-02").height == 3  # CC3 deleted only in March


def test_parquet_exports_keep_the_eastern_time_zone(full_run):
    root, _, _ = full_run
    folder = make_settings(root).out_dir / "support"
    names = (
        "agents_final",
        "contact_centers_final",
        "service_categories_final",
        "interactions_final",
        "support_report",
    )
    assert all((folder / f"{name}.parquet").exists() for name in names)
    interactions = pl.read_parquet(folder / "interactions_final.parquet")
    assert interactions.schema["interaction_start"] == pl.Datetime("us", "America/New_York")
    assert_frame_equal(
        interactions.sort("interaction_id"), lake_snapshot(root, "interactions", "2025-03").sort("interaction_id")
    )
    assert pl.read_parquet(folder / "support_report.parquet").rows() == EXPECTED_REPORT


def test_consecutive_months_run_as_one_range_like_a_ui_backfill(full_run):
    """The CLI applies the four months in one run over their range, the run a backfill from the UI makes
    (single-run policy), so months that build on each other are never launched side by side; the same run
    then publishes the last month (outputs are not partitioned)."""
    _, instance, case_run = full_run
    assert PARTITIONED_ASSETS[0].backfill_policy == dg.BackfillPolicy.single_run()
    months_run = case_run.results[0]  # later tests add runs of their own
    tags = instance.get_run_by_id(months_run.run_id).tags
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "2024-12",
        "2025-03",
    )
    known = {
        e.check_name: e for e in months_run.get_asset_check_evaluations() if e.asset_key == state_key("interactions")
    }["known_ids"]
    per_month = known.metadata["months"].value
    assert list(per_month) == MONTHS and known.passed and known.metadata["failed_months"].value == ""
    assert per_month["2025-02"]["unknown_deletes"] == 0
    published = {e.asset_key: e.partition for e in months_run.get_asset_materialization_events() if e.partition is None}
    assert set(published) == {key for asset in OUTPUT_ASSETS for key in asset.keys}
    assert instance.get_latest_materialization_event(REPORT_KEY).run_id == months_run.run_id


def test_an_initial_extract_typed_into_spill_files_gives_the_same_tables(full_run, tmp_path, monkeypatch):
    """Big initial extracts spill their typed rows to files (months.SPILL_ABOVE_BYTES); the sample's does not."""
    from caseworks_assets.support import months

    spilled = []

    def typed_changes(spec, raw, **options):
        spilled.append(options.get("spill") is not None)
        return months_typed_changes(spec, raw, **options)

    months_typed_changes = months.typed_changes
    monkeypatch.setattr(months, "typed_changes", typed_changes)
    monkeypatch.setattr(months, "SPILL_ABOVE_BYTES", 0)
    write_sample(make_settings(tmp_path).data_dir / "support")
    run_support(make_run(tmp_path, dg.DagsterInstance.ephemeral(), fmt="parquet"))
    assert spilled.count(True) == 4  # the four tables' initial extracts, each typed into files
    in_memory_root = full_run[0]
    for table in (
        "support_report",
        *(f"{name}_final" for name in ("agents", "contact_centers", "service_categories", "interactions")),
    ):
        assert_frame_equal(
            warehouse_table(tmp_path, table), warehouse_table(in_memory_root, table), check_row_order=False
        )
