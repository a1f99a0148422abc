"""A tiny job to give an instance a known history: two successes, one failed step, one failed check."""

import dagster as dg


class Switch(dg.Config):
    fail: bool = False


@dg.asset(key=["tiny", "source"], group_name="tiny")
def source(config: Switch) -> dg.MaterializeResult:
    if config.fail:
        raise RuntimeError("source export not found")
    return dg.MaterializeResult(metadata={"dagster/row_count": 10, "bytes": 1000})


@dg.asset(
    key=["tiny", "report"],
    group_name="tiny",
    deps=[source],
    check_specs=[dg.AssetCheckSpec("reconciles", asset=["tiny", "report"])],
)
def report() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"dagster/row_count": 2, "bytes": 200},
        check_results=[dg.AssetCheckResult(check_name="reconciles", passed=False, description="2 rows off")],
    )


tiny_job = dg.define_asset_job("tiny_job", selection=[source, report], tags={"caseworks/case": "tiny"})
TINY = dg.Definitions(assets=[source, report], jobs=[tiny_job])


def run_tiny(instance: dg.DagsterInstance, fail: bool = False, tags: dict | None = None) -> dg.ExecuteInProcessResult:
    job = TINY.resolve_job_def("tiny_job")
    config = {"ops": {"tiny__source": {"config": {"fail": fail}}}}
    return job.execute_in_process(run_config=config, instance=instance, raise_on_error=False, tags=tags)
