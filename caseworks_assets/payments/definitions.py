"""The payments case's definitions: every asset, check, job and sensor of the group, and its ``CASE``."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.payments import cli
from caseworks_assets.payments.checks import CHECKS as TABLE_CHECKS
from caseworks_assets.payments.delinquency import delinquency_defs
from caseworks_assets.payments.paths import CASE as CASE_NAME
from caseworks_assets.payments.roles import ROLE_EXTRACTS
from caseworks_assets.payments.sample import write_sample
from caseworks_assets.payments.stream_assets import (
    STREAM_ASSETS,
    STREAM_CHECKS,
    StreamLanding,
    payments_stream_job,
    payments_stream_sensor,
)
from caseworks_assets.payments.tables import ingest_payments, ingest_transactions
from caseworks_assets.registry import Case

ASSETS: list[dg.AssetsDefinition] = [ingest_transactions, ingest_payments, *ROLE_EXTRACTS]
CHECKS: list[dg.AssetChecksDefinition] = [*TABLE_CHECKS]

#: The batch pipeline: every asset of the group except the stream's batch partitions.
payments_job = dg.define_asset_job(
    "payments_job",
    selection=dg.AssetSelection.groups(CASE_NAME) - dg.AssetSelection.assets(*STREAM_ASSETS),
    description="Ingest, clean, govern (and, when present, evaluate delinquency) on the payments input folder.",
)


def build_defs() -> dg.Definitions:
    """The group: batch ingestion, governance, the stream's partitions and delinquency."""
    own = dg.Definitions(
        assets=[*ASSETS, *STREAM_ASSETS],
        asset_checks=[*CHECKS, *STREAM_CHECKS],
        jobs=[payments_job, payments_stream_job],
        sensors=[payments_stream_sensor],
        resources={"payments_landing": StreamLanding()},
    )
    return dg.Definitions.merge(own, delinquency_defs)


CASE = Case(
    name=CASE_NAME,
    description="Transactions and payments: lossless JSON ingestion, streaming, governance, delinquency",
    defs=build_defs(),
    write_sample=write_sample,
    run=cli.run,
    validate_inputs=cli.validate_inputs,
    summarize=cli.summarize,
)
