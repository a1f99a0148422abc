"""Run the delinquency job once, on the Spark master of ``CASEWORKS_SPARK_MASTER``, into ``CASEWORKS_OUT_DIR``.

``python -m caseworks_assets_tests.deploy.spark_job_run`` -- one process per
master, because a JVM keeps its first master. The resources are the code
location's own (``build_resources``), from the environment; the inputs are the
delinquency tests' hand-checked edge cases. Prints the summary row as JSON.
"""

import json
import sys
from pathlib import Path

import dagster as dg

from caseworks_assets.payments.delinquency import (
    ALL_FLAGS_TAGS,
    DELINQUENCY_ASSETS,
    DELINQUENCY_CHECKS,
    JOB_NAME,
    delinquency_job,
    delinquency_run_config,
)
from caseworks_assets.resources import LakeResource, build_resources
from caseworks_assets.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "payments_delinquency"))
from payments_delinquency_cases import D, edge_payments, edge_transactions

if __name__ == "__main__":
    settings = Settings.from_env()
    lake = LakeResource(root=settings.lake_root)
    lake.write_parquet(edge_transactions(), "payments", "clean", "transactions.parquet")
    lake.write_parquet(edge_payments(), "payments", "clean", "payments.parquet")
    defs = dg.Definitions(
        assets=DELINQUENCY_ASSETS,
        asset_checks=DELINQUENCY_CHECKS,
        jobs=[delinquency_job],
        resources=build_resources(settings, keys=["io_manager", "lake", "outputs", "spark"]),
    )
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=delinquency_run_config(D), tags=ALL_FLAGS_TAGS, instance=dg.DagsterInstance.ephemeral()
    )
    summary = next(m.metadata for m in result.asset_materializations_for_node("payments__delinquency_summary"))
    print(json.dumps({"success": result.success, "pct_delinquent": summary["pct_delinquent"].value}))
