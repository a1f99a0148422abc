"""The payments case's definitions: every asset, check, job and sensor of the group.

Other modules of the case (the delinquency subpackage) add themselves here:
append assets to ``ASSETS`` / checks to ``CHECKS``, or expose a ``defs`` in
``caseworks_assets.payments.delinquency`` -- it is merged automatically.
"""

from __future__ import annotations

import importlib
import importlib.util

import dagster as dg

from caseworks_assets.payments.checks import CHECKS as TABLE_CHECKS
from caseworks_assets.payments.paths import CASE
from caseworks_assets.payments.roles import ROLE_EXTRACTS
from caseworks_assets.payments.stream_assets import (
    STREAM_ASSETS,
    STREAM_CHECKS,
    StreamLanding,
    payments_stream_job,
    payments_stream_sensor,
)
from caseworks_assets.payments.tables import ingest_payments, ingest_transactions

ASSETS: list = [ingest_transactions, ingest_payments, *ROLE_EXTRACTS]
CHECKS: list = [*TABLE_CHECKS]

#: The batch pipeline: every asset of the group except the stream's batch partitions.
payments_job = dg.define_asset_job(
    "payments_job",
    selection=dg.AssetSelection.groups(CASE) - dg.AssetSelection.assets(*STREAM_ASSETS),
    description="Ingest, clean, govern (and, when present, evaluate delinquency) on the payments input folder.",
)


def _delinquency_defs() -> dg.Definitions | None:
    """``caseworks_assets.payments.delinquency.defs`` when that subpackage exists."""
    name = "caseworks_assets.payments.delinquency"
    if importlib.util.find_spec(name) is None:
        return None
    return getattr(importlib.import_module(name), "defs", None)


def build_defs() -> dg.Definitions:
    own = dg.Definitions(
        assets=[*ASSETS, *STREAM_ASSETS],
        asset_checks=[*CHECKS, *STREAM_CHECKS],
        jobs=[payments_job, payments_stream_job],
        sensors=[payments_stream_sensor],
        resources={"payments_landing": StreamLanding()},
    )
    extra = _delinquency_defs()
    return dg.Definitions.merge(own, extra) if extra is not None else own
