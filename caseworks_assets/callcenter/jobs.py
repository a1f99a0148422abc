"""The callcenter job and how a run targets a range of days.

``callcenter_job`` covers the whole group. The CLI runs it once over the days
the calls span: the raw tables, the unpartitioned dbt models and the answers
run once, ``call_history`` once for the whole range (its backfill policy is a
single run). A backfill launched in the UI over some days does the same for
``call_history`` alone.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from caseworks_assets.callcenter.columns import CASE

callcenter_job = dg.define_asset_job(
    "callcenter_job",
    selection=dg.AssetSelection.groups(CASE),
    description="Everything of the callcenter case: raw tables, dbt build, answers both ways; run over a range "
    "of days (call_history's partitions), which dbt rebuilds in one invocation.",
)


def days_target(first: str, last: str) -> dict[str, Any]:
    """How a run targets the days ``first``..``last``: a partition key for one, range tags for several."""
    if first == last:
        return {"partition_key": first}
    return {"tags": {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}}
