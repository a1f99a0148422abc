"""The support case's definitions: its assets, jobs and sensor, and its ``CASE``."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.registry import Case
from caseworks_assets.support import cli
from caseworks_assets.support.assets import ALL_ASSETS
from caseworks_assets.support.jobs import support_job, support_months_job, support_months_sensor, support_outputs_job
from caseworks_assets.support.layout import CASE as NAME
from caseworks_assets.support.layout import validate_inputs
from caseworks_assets.support.sample import write_sample

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[support_job, support_months_job, support_outputs_job],
    sensors=[support_months_sensor],
)

CASE = Case(
    name=NAME,
    description="Monthly deltas of customer support interactions",
    defs=defs,
    write_sample=write_sample,
    run=cli.run,
    validate_inputs=validate_inputs,
    summarize=cli.summarize,
    formats=("csv", "json", "parquet"),
)
