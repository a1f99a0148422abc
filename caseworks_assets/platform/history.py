"""A synthetic instance history, written through Dagster's APIs, for samples, tests and benchmarks.

The history is planned as data first (:func:`caseworks_assets.platform.sample.plan_history`, deterministic
for a seed: what ``caseworks sample platform`` writes). To write it, a tiny
template job really runs three ways (materializations with row and byte
metadata, a failing step, a failing check), then its recorded events are
replayed into the planned runs with shifted timestamps (``add_run`` and
``handle_new_event``): the instance reads exactly like one the jobs made
themselves, over weeks of history, without running thousands of jobs.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg


class _Flaky(dg.Config):
    fail: bool = False
    rows: int = 100


def _template_defs() -> dg.Definitions:
    @dg.asset(key=["synthetic", "orders"], group_name="synthetic")
    def orders(config: _Flaky) -> dg.MaterializeResult:
        if config.fail:
            raise RuntimeError("source export not found")
        return dg.MaterializeResult(metadata={"dagster/row_count": config.rows, "bytes": config.rows * 120})

    @dg.asset(
        key=["synthetic", "orders_report"],
        group_name="synthetic",
        deps=[orders],
        check_specs=[dg.AssetCheckSpec("totals_reconcile", asset=["synthetic", "orders_report"])],
    )
    def orders_report(config: _Flaky) -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata={"dagster/row_count": config.rows // 10, "bytes": config.rows * 12},
            check_results=[dg.AssetCheckResult(check_name="totals_reconcile", passed=not config.fail)],
        )

    job = dg.define_asset_job("synthetic_job", selection=[orders, orders_report])
    return dg.Definitions(assets=[orders, orders_report], jobs=[job])


def _templates(instance: dg.DagsterInstance) -> dict[str, list[dg.EventLogEntry]]:
    """Run the template job three ways (success, failed step, failed check) and keep each run's events."""
    job = _template_defs().resolve_job_def("synthetic_job")
    kinds = {
        "success": {"orders": False, "report": False},
        "step_failure": {"orders": True, "report": False},
        "check_failure": {"orders": False, "report": True},
    }
    templates = {}
    for name, fail in kinds.items():
        config = {
            "ops": {
                "synthetic__orders": {"config": {"fail": fail["orders"]}},
                "synthetic__orders_report": {"config": {"fail": fail["report"]}},
            }
        }
        quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # one step fails on purpose
        result = job.execute_in_process(run_config={**config, **quiet}, instance=instance, raise_on_error=False)
        templates[name] = list(instance.all_logs(result.run_id))
        instance.delete_run(result.run_id)  # only the replayed runs make the history
    return templates


#: The events a run's record and the platform read (status, step timings, what was written and checked);
#: engine, log and output-handling events of the template are not replayed.
REPLAYED = {
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


def _scaled(entry: dg.EventLogEntry, run_id: str, at: float, rows: int) -> dg.EventLogEntry:
    """The template event moved to ``run_id`` at ``at``, with its materialization's rows and bytes scaled."""
    event = entry.dagster_event
    if event is not None and event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
        data = event.event_specific_data
        old = data.materialization
        ratio = rows / 100
        metadata = {
            key: (int(value.value * ratio) if key in ("dagster/row_count", "bytes") else value)
            for key, value in old.metadata.items()
        }
        scaled = dg.AssetMaterialization(asset_key=old.asset_key, metadata=metadata, partition=old.partition)
        event = event._replace(event_specific_data=data._replace(materialization=scaled))
    return entry._replace(run_id=run_id, timestamp=at, dagster_event=event)


def write_history(instance: dg.DagsterInstance, plan: list[dict], now: datetime | None = None) -> int:
    """Write the planned runs into ``instance``, ending at ``now``; returns the runs written."""
    now = now or datetime.now(UTC)
    templates = _templates(instance)
    for run in plan:
        template = templates[run["kind"]]
        run_id = run["run_id"]
        instance.add_run(
            dg.DagsterRun(
                job_name="synthetic_job",
                run_id=run_id,
                status=dg.DagsterRunStatus.NOT_STARTED,
                tags={"caseworks/case": "synthetic", "caseworks/source": "sample"},
            )
        )
        origin = template[0].timestamp
        launched = (now - timedelta(seconds=run["seconds_ago"])).timestamp()
        instance.handle_new_event(
            dg.EventLogEntry(
                error_info=None,
                level=20,
                user_message="",
                run_id=run_id,
                timestamp=launched,
                step_key=None,
                job_name="synthetic_job",
                dagster_event=dg.DagsterEvent(
                    event_type_value=dg.DagsterEventType.RUN_STARTING.value, job_name="synthetic_job"
                ),
            )
        )
        for entry in template:
            if entry.dagster_event is None or entry.dagster_event.event_type not in REPLAYED:
                continue
            shifted = launched + run["queue_wait_s"] + (entry.timestamp - origin) * 40 * run["slowdown"]
            instance.handle_new_event(_scaled(entry, run_id, shifted, run["rows"]))
    return len(plan)


@contextmanager
def open_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """The instance whose ``dagster.yaml`` is in ``home`` (DAGSTER_HOME restored afterwards)."""
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved
