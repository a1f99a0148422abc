"""The shortcuts taken for speed give the same answers as the plain way, and never hide a problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support_testkit import make_run, make_settings

from caseworks_assets.quality import may_repeat
from caseworks_assets.quality.repairs import read_instant
from caseworks_assets.runner import CaseRunFailed
from caseworks_assets.support.assets import PARTITIONED_ASSETS
from caseworks_assets.support.changes import duplicated_ids, parse_utc, to_eastern, with_eastern_instants
from caseworks_assets.support.jobs import partition_range_tags
from caseworks_assets.support.keys import QUARANTINE_KEY, state_key
from caseworks_assets.support.report import month_labels
from caseworks_assets.support.sample import write_sample

MONTH_KEYS = [key for asset in PARTITIONED_ASSETS for key in asset.keys]


def test_fast_timestamp_parse_reads_exactly_what_the_general_reader_reads():
    texts = [
        "2025-03-09T06:30:00Z",
        " 2025-03-09T06:30:00Z ",
        "2025-03-09T06:30:00.5Z",
        "2025-03-09T06:30:00.123456Z",
        "2024-02-29T23:59:59Z",
        "2025-02-29T00:00:00Z",
        "2025-03-09 06:30:00",
        "2025-03-09T06:30Z",
        "2025-03-09T06:30:00+01:00",
        "2025-03-09T01:30:00-05:00",
        "2025-03-09",
        "garbage",
        "",
        None,
    ]
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    result = frame.select(fast=parse_utc(pl.col("text")), general=read_instant(pl.col("text")))
    assert result["fast"].to_list() == result["general"].to_list()
    # whole seconds, padded, fractions, a leap day, no zone (UTC by contract), no seconds, the two explicit offsets
    assert result["fast"].is_not_null().sum() == 9
    assert result["fast"][6] == result["fast"][7] == datetime(2025, 3, 9, 6, 30, tzinfo=UTC)
    assert result["fast"][8] == datetime(2025, 3, 9, 5, 30, tzinfo=UTC)
    assert result["fast"][9] == datetime(2025, 3, 9, 6, 30, tzinfo=UTC)


def test_a_frame_reads_its_timestamps_as_each_column_would_be_read_alone():
    texts = ["2025-03-09T06:30:00Z", " 2025-11-02T06:30:00.5Z ", "garbage", None, "2025-03-09T07:00:00Z"]
    frame = pl.DataFrame(
        {
            "odd": texts,  # needs the general format for one value
            "plain": ["2025-03-09T06:30:00Z"] * 4 + [None],  # the fast parser reads it all
            "empty": [None] * 5,  # a column the CSV reader left without values
        }
    )
    read = with_eastern_instants(frame, {"odd": "odd_at", "plain": "plain_at", "empty": "empty_at"})
    for column in ("odd", "plain", "empty"):
        alone = frame.select(to_eastern(pl.col(column)))[column]
        assert read[f"{column}_at"].to_list() == alone.to_list()
        assert read[f"{column}_at"].dtype == pl.Datetime("us", "America/New_York")
    assert read["odd_at"].is_not_null().sum() == 3
    assert with_eastern_instants(frame, {}) is frame


def test_may_repeat_never_misses_a_repeat():
    assert not may_repeat(pl.Series(["I1", "I2", "I3"]))
    assert may_repeat(pl.Series(["I1", "I2", "I1"]))
    assert may_repeat(pl.Series(["I1", None, None]))


# Eastern month starts in UTC, and a microsecond either side: where a label changes
MONTH_STARTS = [
    datetime(year, month, 1, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC) + timedelta(microseconds=shift)
    for year in (2024, 2025)
    for month in range(1, 13)
    for shift in (-1, 0, 1)
]
# any instant of two years (DST switches included) to the microsecond, month starts, and missing ones
INSTANTS = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(MONTH_STARTS),
        st.datetimes(min_value=datetime(2023, 12, 31), max_value=datetime(2026, 1, 2), timezones=st.just(UTC)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(INSTANTS, st.sampled_from(["us", "ns", "ms"]))
def test_month_labels_are_strftime_in_eastern_time(instants, unit):
    eastern = pl.Series("t", instants, dtype=pl.Datetime(unit, "UTC")).dt.convert_time_zone("America/New_York")
    assert month_labels(eastern).to_list() == eastern.dt.strftime("%Y-%m").to_list()


def test_a_rewritten_snapshot_is_read_again_and_a_failed_blocking_check_stops_the_month(tmp_path):
    """The state kept in memory for the next month is not used once its file changed, and a duplicate id
    found by ``unique_interaction_id`` (blocking) stops the month before the quarantine is written."""
    write_sample(make_settings(tmp_path).data_dir / "support")
    case_run = make_run(tmp_path, dg.DagsterInstance.ephemeral())
    case_run.instance.add_dynamic_partitions("support_months", ["2024-12", "2025-01", "2025-02", "2025-03"])
    case_run.execute("support_job", partition_key="2024-12", asset_selection=MONTH_KEYS)
    snapshot = make_settings(tmp_path).out_dir / "lake" / "support" / "interactions_state" / "2024-12.parquet"
    state = pl.read_parquet(snapshot)
    pl.concat([state, state.head(1)]).write_parquet(snapshot)  # a duplicated id, written behind the run's back

    with pytest.raises(CaseRunFailed, match="unique_interaction_id"):
        case_run.execute("support_job", partition_key="2025-01", asset_selection=MONTH_KEYS)
    january = case_run.results[-1]
    failed = [(e.asset_key, e.check_name) for e in january.get_asset_check_evaluations() if not e.passed]
    assert (state_key("interactions"), "unique_interaction_id") in failed
    materialized = {e.asset_key for e in january.get_asset_materialization_events()}
    assert state_key("interactions") in materialized and QUARANTINE_KEY not in materialized


def test_a_failed_blocking_check_stops_a_range_at_its_month_and_names_what_ran_before(tmp_path, monkeypatch):
    """In a single run over several months, a blocking failure in the second stops there: its check result is
    recorded with the month, no month of the range is recorded as materialized, the error names what ran."""
    write_sample(make_settings(tmp_path).data_dir / "support")
    case_run = make_run(tmp_path, dg.DagsterInstance.ephemeral())
    case_run.instance.add_dynamic_partitions("support_months", ["2024-12", "2025-01", "2025-02", "2025-03"])
    case_run.execute("support_job", partition_key="2024-12", asset_selection=MONTH_KEYS)

    calls: list[str] = []

    def duplicating_in_february(frame, key):
        """A bug that duplicates an id, only when building the range's second contact centers state."""
        calls.append(key)
        if calls.count("contact_center_id") == 2:
            frame = pl.concat([frame, frame.head(1)]) if frame.height else pl.DataFrame({key: ["CC1", "CC1"]})
        return duplicated_ids(frame, key)

    monkeypatch.setattr("caseworks_assets.support.months.duplicated_ids", duplicating_in_february)
    with pytest.raises(
        CaseRunFailed, match=r"contact_centers for 2025-02: blocking check.*this run applied 2025-01 before it"
    ):
        case_run.execute("support_job", tags=partition_range_tags("2025-01", "2025-03"), asset_selection=MONTH_KEYS)
    ranged = case_run.results[-1]
    checks = {(e.asset_key, e.check_name): e for e in ranged.get_asset_check_evaluations()}
    unique = checks[(state_key("contact_centers"), "unique_contact_center_id")]
    assert not unique.passed and unique.metadata["failed_months"].value == "2025-02"
    assert set(unique.metadata["months"].value) == {"2025-01", "2025-02"}
    assert ranged.get_asset_materialization_events() == []
    assert case_run.instance.get_materialized_partitions(state_key("contact_centers")) == {"2024-12"}

    monkeypatch.undo()  # fixed: the same range again applies all three months
    case_run.execute("support_job", tags=partition_range_tags("2025-01", "2025-03"), asset_selection=MONTH_KEYS)
    assert case_run.instance.get_materialized_partitions(state_key("contact_centers")) == {
        "2024-12",
        "2025-01",
        "2025-02",
        "2025-03",
    }
