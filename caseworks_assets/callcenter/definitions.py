"""The callcenter case's definitions: its assets (dbt's included), job and ``CASE``."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.callcenter import cli
from caseworks_assets.callcenter.assets import ALL_ASSETS
from caseworks_assets.callcenter.columns import CASE as NAME
from caseworks_assets.callcenter.jobs import callcenter_job
from caseworks_assets.callcenter.raw import validate_inputs
from caseworks_assets.callcenter.sample import write_sample
from caseworks_assets.registry import Case

defs = dg.Definitions(assets=ALL_ASSETS, jobs=[callcenter_job])

CASE = Case(
    name=NAME,
    description="Call center analytics remodelled by dbt, answered on the sources and on the model",
    defs=defs,
    write_sample=write_sample,
    run=cli.run,
    validate_inputs=validate_inputs,
    summarize=cli.summarize,
    formats=("csv", "parquet"),
)
