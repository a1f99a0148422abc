"""Delinquency (inadimplência) of the ``payments`` case, evaluated on Spark at a date D.

* :mod:`.rules` -- the business rules and thresholds, stated once.
* :mod:`.spark_job` -- the PySpark implementation (production).
* :mod:`.reference` -- the independent DuckDB SQL implementation (cross-check).
* :mod:`.assets` -- the Dagster assets, checks and job; :data:`delinquency_defs` collects them.
"""

import dagster as dg

from caseworks_assets.payments.delinquency.assets import (
    ALL_FLAGS_TAGS,
    DELINQUENCY_ASSETS,
    DELINQUENCY_CHECKS,
    JOB_NAME,
    DelinquencyConfig,
    delinquency_job,
    delinquency_run_config,
)

delinquency_defs = dg.Definitions(assets=DELINQUENCY_ASSETS, asset_checks=DELINQUENCY_CHECKS, jobs=[delinquency_job])

__all__ = [
    "ALL_FLAGS_TAGS",
    "DELINQUENCY_ASSETS",
    "DELINQUENCY_CHECKS",
    "JOB_NAME",
    "DelinquencyConfig",
    "delinquency_defs",
    "delinquency_job",
    "delinquency_run_config",
]
