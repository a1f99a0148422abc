"""The platform case's definitions: its assets, checks, job, schedule and the alert sensors, and its ``CASE``."""

import dagster as dg

from caseworks_assets.platform import cli
from caseworks_assets.platform.assets import ALL_ASSETS
from caseworks_assets.platform.assets import CASE as NAME
from caseworks_assets.platform.checks import ALL_CHECKS
from caseworks_assets.platform.jobs import SENSORS, platform_job, platform_schedule
from caseworks_assets.platform.powerbi import powerbi_definitions
from caseworks_assets.registry import Case

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[platform_job],
    schedules=[platform_schedule],
    sensors=SENSORS,
)

CASE = Case(
    name=NAME,
    description="Monitoring, cost and optimization of the pipelines themselves; alerts for every job",
    defs=defs,
    write_sample=cli.write_sample,
    run=cli.run,
    validate_inputs=cli.validate_inputs,
    summarize=cli.summarize,
    # Power BI's semantic models and their resource when its workspace id is set (the one resource of the case
    # that is not shared); the location loads without network either way (see powerbi.py)
    configured=powerbi_definitions,
)
