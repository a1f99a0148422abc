"""The months sensor: registers landed months and applies those not yet applied in one ranged run, in order."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from caseworks_assets.resources import CaseInputs
from caseworks_assets.support.assets import state_key
from caseworks_assets.support.jobs import partition_range_tags, support_months_sensor
from caseworks_assets.support.layout import TABLES
from caseworks_assets.support.sample import write_sample


@pytest.fixture
def landing(tmp_path):
    data = tmp_path / "support"
    write_sample(data)
    return data, dg.DagsterInstance.ephemeral(), CaseInputs(root=str(tmp_path))


def _tick(instance, inputs, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"inputs": inputs})
    return support_months_sensor(context)


def _applied(instance, month):
    for table in TABLES:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=state_key(table), partition=month))


def test_sensor_applies_months_in_order_then_publishes(landing):
    data, instance, inputs = landing
    first = _tick(instance, inputs, None)
    assert first.dynamic_partitions_requests[0].partition_keys == ["2024-12", "2025-01", "2025-02", "2025-03"]
    [months] = first.run_requests  # every month not applied yet, in one run over their range
    assert (months.job_name, months.partition_key) == ("support_months_job", None)
    assert months.tags == partition_range_tags("2024-12", "2025-03")
    instance.add_dynamic_partitions("support_months", list(first.dynamic_partitions_requests[0].partition_keys))

    # Requested but not applied yet: nothing more is requested.
    waiting = _tick(instance, inputs, first.cursor)
    assert isinstance(waiting, dg.SkipReason)

    for month in ("2024-12", "2025-01", "2025-02", "2025-03"):
        _applied(instance, month)
    publish = _tick(instance, inputs, first.cursor)
    assert [(r.partition_key, r.job_name) for r in publish.run_requests] == [(None, "support_outputs_job")]
    assert isinstance(_tick(instance, inputs, publish.cursor), dg.SkipReason)

    # A new month lands: it becomes a partition and is requested alone.
    april = data / "delta" / "interactions_delta_202504.csv"
    april.write_text((data / "delta" / "interactions_delta_202503.csv").read_text())
    landed = _tick(instance, inputs, publish.cursor)
    assert landed.dynamic_partitions_requests[0].partition_keys == ["2025-04"]
    assert [r.partition_key for r in landed.run_requests] == ["2025-04"]
    assert json.loads(landed.cursor)["requested"] == "2025-04"


def test_sensor_waits_for_the_month_a_new_one_builds_on(landing):
    """Months land while the previous range is still running: nothing is requested until it is applied."""
    data, instance, inputs = landing
    first = _tick(instance, inputs, None)
    instance.add_dynamic_partitions("support_months", list(first.dynamic_partitions_requests[0].partition_keys))
    for month in ("2024-12", "2025-01"):
        _applied(instance, month)
    (data / "delta" / "interactions_delta_202504.csv").write_text(
        (data / "delta" / "interactions_delta_202503.csv").read_text()
    )
    landed = _tick(instance, inputs, first.cursor)
    assert landed.run_requests == []  # 2025-02 and 2025-03 were requested with the range and are not applied yet
    assert landed.dynamic_partitions_requests[0].partition_keys == ["2025-04"]


def test_sensor_skips_an_unusable_folder(tmp_path):
    result = _tick(dg.DagsterInstance.ephemeral(), CaseInputs(root=str(tmp_path)), None)
    assert isinstance(result, dg.SkipReason) and "input folder not found" in result.skip_message
