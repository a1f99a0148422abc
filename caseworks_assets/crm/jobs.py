"""The crm job: every asset of the group, from the export to the published serving store."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.crm.columns import CASE

crm_job = dg.define_asset_job(
    f"{CASE}_job",
    selection=dg.AssetSelection.groups(CASE),
    description="Read the export, clean it (quarantining what cannot be repaired), migrate and load the serving "
    "store, and publish it to the API.",
)
