"""The crm case's definitions: its assets, checks, job and sensor, and its ``CASE``."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.crm import cli
from caseworks_assets.crm.assets import ALL_ASSETS
from caseworks_assets.crm.checks import CHECKS
from caseworks_assets.crm.columns import CASE as NAME
from caseworks_assets.crm.jobs import crm_interaction_anomalies, crm_job
from caseworks_assets.crm.reader import validate_inputs
from caseworks_assets.crm.sample import write_sample
from caseworks_assets.crm.serving import serving_definitions
from caseworks_assets.registry import Case

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=CHECKS,
    jobs=[crm_job],
    sensors=[crm_interaction_anomalies],
)

CASE = Case(
    name=NAME,
    description="Customer interactions from a messy spreadsheet export, served by an authenticated HTTP API",
    defs=defs,
    write_sample=write_sample,
    run=cli.run,
    validate_inputs=validate_inputs,
    summarize=cli.summarize,
    configured=serving_definitions,
)
