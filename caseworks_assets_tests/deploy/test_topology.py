"""The code location on its production topology, without Docker.

PostgreSQL in a temporary folder, ``dagster code-server start`` (gRPC),
``dagster-webserver`` over a workspace pointing at it and ``dagster-daemon
run``, all on ``deploy/dagster.yaml`` and 127.0.0.1. The test then does through
the webserver's GraphQL what a user does in the UI, and the daemon does the
rest: a backfill of OuchHungry days runs to success; a schedule turned on
ticks; a sensor turned on requests a run; a failed run sends its alert.

The daily schedule fires at 06:00 São Paulo time, not within a test. So the
webserver, where the schedule is turned on, runs with its wall clock some hours
back, before the last 06:00 (:mod:`.shifted_clock`): the daemon, on the real
clock, finds that 06:00 due since the schedule was turned on and ticks at its
next pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caseworks_assets.alerts import run_failure_alert
from caseworks_assets.ouchhungry.jobs import daily_job, daily_schedule
from caseworks_assets.ouchhungry.partitions import TIMEZONE
from caseworks_assets.resources.warehouse import WAREHOUSE_POOL
from caseworks_assets.support.jobs import support_months_sensor
from caseworks_assets_tests.deploy.servers import (
    DEPLOY,
    PROJECT_ROOT,
    GraphQL,
    Topology,
    dagster_topology,
    postgres_server,
    wait_until,
)

pytestmark = pytest.mark.slow

LOCATION = {"repositoryLocationName": "caseworks", "repositoryName": "__repository__"}
BACKFILL_DAYS = ["2025-01-01", "2025-01-02"]
FAILING_DAY = "2025-01-03"
RUN_TIMEOUT_S = 420
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


def _before_last_six_oclock() -> tuple[float, datetime]:
    """The last 06:00 São Paulo before now, and a clock shift that puts the webserver 10 minutes before it."""
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo(TIMEZONE))
    cron = local.replace(hour=6, minute=0, second=0, microsecond=0)
    if cron > local:
        cron -= timedelta(days=1)
    return (cron - now).total_seconds() - 600, cron


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Topology, Path, datetime]]:
    """The topology; yields it, the output folder and the 06:00 the schedule owes a tick."""
    work = tmp_path_factory.mktemp("topology")
    out, data, home = work / "out", work / "data", work / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    # the support sensor watches this folder: a small sample of monthly deltas has landed
    subprocess.run(
        [sys.executable, "-m", "caseworks_assets.cli", "sample", "support", "--out", str(data / "support"),
         "--rows", "200"],
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, check=True, capture_output=True,
    )  # fmt: skip
    shift_s, cron = _before_last_six_oclock()
    with postgres_server() as postgres:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORKS_", "DAGSTER_"))}
        env = {
            **keep,
            **postgres.dagster_env(),
            "DAGSTER_HOME": str(home),
            "CASEWORKS_OUT_DIR": str(out),
            "CASEWORKS_DATA_DIR": str(data),
            "CASEWORKS_ALERT_EMAILS": "data-team@example.com",
        }
        with dagster_topology(env, work, webserver_clock_shift_s=shift_s) as topology:
            yield topology, out, cron


def _selector(**name: str) -> dict:
    return {**LOCATION, **name}


def _run_status(gql: GraphQL, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    return gql(query, id=run_id)["runOrError"]["status"]


def _wait_for_run(gql: GraphQL, topology: Topology, run_id: str) -> str:
    def finished() -> str | None:
        topology.check_alive()
        status = _run_status(gql, run_id)
        return status if status in TERMINAL else None

    return wait_until(finished, RUN_TIMEOUT_S, f"run {run_id} to finish", interval=2)


def _ticks(gql: GraphQL, kind: str, name: str) -> list[dict]:
    field, selector = (
        ("scheduleOrError", "scheduleSelector") if kind == "schedule" else ("sensorOrError", "sensorSelector")
    )
    type_name = "Schedule" if kind == "schedule" else "Sensor"
    state = "scheduleState" if kind == "schedule" else "sensorState"
    selector_type = "ScheduleSelector" if kind == "schedule" else "SensorSelector"
    query = f"""
    query($selector: {selector_type}!) {{ {field}({selector}: $selector) {{
      ... on {type_name} {{ {state} {{ status ticks(limit: 10) {{
        status runIds skipReason timestamp error {{ message }}
      }} }} }}
      ... on PythonError {{ message }}
    }} }}
    """
    name_key = "scheduleName" if kind == "schedule" else "sensorName"
    result = gql(query, selector=_selector(**{name_key: name}))[field]
    assert state in result, result
    return result[state]["ticks"]


def test_deployed_topology_runs_backfills_schedules_sensors_and_alerts(
    deployment: tuple[Topology, Path, datetime],
) -> None:
    topology, out, cron = deployment
    gql = GraphQL(topology)

    # the instance is the deployment's: runs are queued, the warehouse pool takes one writer
    pool = gql(
        "query($key: String) { instance { runQueuingSupported poolConfig { defaultPoolLimit } "
        "concurrencyLimit(concurrencyKey: $key) { slotCount limit } } }",
        key=WAREHOUSE_POOL,
    )["instance"]
    assert pool["runQueuingSupported"]
    assert pool["poolConfig"]["defaultPoolLimit"] == 1
    assert pool["concurrencyLimit"]["limit"] == 1

    # a backfill of two OuchHungry days, launched as the job page's "Launch backfill" does
    launched = gql(
        "mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) { __typename "
        "... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } "
        "... on PartitionSetNotFoundError { message } ... on InvalidStepError { invalidStepKey } } }",
        p={
            "selector": {
                "partitionSetName": f"{daily_job.name}_partition_set",
                "repositorySelector": LOCATION,
            },
            "partitionNames": BACKFILL_DAYS,
            # the launchpad's executor choice: each run's steps in one process (tiny days)
            "runConfigData": IN_PROCESS,
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    # turn the support sensor on: the months that landed in its folder are requested in one run
    started = gql(
        "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { "
        "... on Sensor { sensorState { status } } ... on PythonError { message } } }",
        s=_selector(sensorName=support_months_sensor.name),
    )["startSensor"]
    assert started.get("sensorState", {}).get("status") == "RUNNING", started

    def sensor_requested() -> list[str]:
        topology.check_alive()
        return [run for tick in _ticks(gql, "sensor", support_months_sensor.name) for run in tick["runIds"]]

    sensor_runs = wait_until(
        sensor_requested,
        180,
        "the support sensor to request a run",
        interval=3,
        explain=lambda: f"{_ticks(gql, 'sensor', support_months_sensor.name)}\n{topology.logs()}",
    )

    def backfill_done() -> dict | None:
        topology.check_alive()
        backfill = gql(
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { "
            "status runs { runId status tags { key value } } } } }",
            id=backfill_id,
        )["partitionBackfillOrError"]
        runs = backfill["runs"]
        if backfill["status"] != "REQUESTED" and runs and all(run["status"] in TERMINAL for run in runs):
            return backfill
        return None

    def backfill_state() -> str:
        query = (
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { "
            "status error { message } runs { runId status } } } "
            "runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
        )
        return f"{gql(query, id=backfill_id)}\n{topology.logs()}"

    backfill = wait_until(
        backfill_done, RUN_TIMEOUT_S, f"backfill {backfill_id} to finish", interval=3, explain=backfill_state
    )
    partitions = {
        tag["value"]: run["status"]
        for run in backfill["runs"]
        for tag in run["tags"]
        if tag["key"] == "dagster/partition"
    }
    assert partitions == dict.fromkeys(BACKFILL_DAYS, "SUCCESS"), f"{backfill}\n{topology.logs()}"
    assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill
    for day in BACKFILL_DAYS:  # the deliveries went to the outbox (channels not configured)
        assert any(day.replace("-", "") in p.name or day in p.name for p in (out / "outbox" / "sftp").iterdir())

    # a run that fails: the outbox folder of the SFTP channel is not writable (a file stands in its way)
    sftp_outbox = out / "outbox" / "sftp"
    shutil.move(sftp_outbox, out / "outbox" / "sftp.kept")
    sftp_outbox.write_text("not a folder")
    launched = gql(
        "mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename "
        "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }",
        p={
            "selector": {**LOCATION, "jobName": daily_job.name},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": FAILING_DAY}]},
            "runConfigData": IN_PROCESS,
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    failed_run = launched["run"]["runId"]
    assert _wait_for_run(gql, topology, failed_run) == "FAILURE"
    sftp_outbox.unlink()
    shutil.move(out / "outbox" / "sftp.kept", sftp_outbox)

    def alert_sent() -> list[Path]:
        topology.check_alive()
        mails = (out / "outbox" / "email").glob("*.txt")
        return [mail for mail in mails if failed_run in mail.read_text() and "[caseworks ALERT]" in mail.read_text()]

    alerts = wait_until(alert_sent, 180, f"the {run_failure_alert.name} alert for run {failed_run}", interval=3)
    alert = alerts[0].read_text()
    assert "To: data-team@example.com" in alert
    assert "WHAT FAILED:" in alert and f"partition {FAILING_DAY}" in alert and "NEXT STEP:" in alert

    # turn the daily schedule on, as the UI's toggle does (on the webserver's clock, before the last 06:00)
    started = gql(
        "mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) { "
        "... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message } } }",
        s=_selector(scheduleName=daily_schedule.name),
    )["startSchedule"]
    assert started.get("scheduleState", {}).get("status") == "RUNNING", started

    # the daemon ticked the schedule for the 06:00 due since it was turned on: the previous day's run
    def schedule_ticked() -> list[dict]:
        topology.check_alive()
        return [tick for tick in _ticks(gql, "schedule", daily_schedule.name) if tick["status"] != "STARTED"]

    ticks = wait_until(
        schedule_ticked,
        180,
        f"a tick of {daily_schedule.name}",
        interval=3,
        explain=lambda: f"{_ticks(gql, 'schedule', daily_schedule.name)}\n{topology.logs()}",
    )
    assert ticks[0]["status"] == "SUCCESS", ticks
    assert len(ticks[0]["runIds"]) == 1, ticks
    scheduled = gql(
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { jobName tags { key value } } } }",
        id=ticks[0]["runIds"][0],
    )["runOrError"]
    assert scheduled["jobName"] == daily_job.name
    tags = {tag["key"]: tag["value"] for tag in scheduled["tags"]}
    assert tags["dagster/partition"] == (cron - timedelta(days=1)).date().isoformat(), tags

    # the sensor's run applies the landed months: it succeeds too
    assert _wait_for_run(gql, topology, sensor_runs[0]) == "SUCCESS", topology.logs()
    # the scheduled run itself is not awaited: stopping the code server stops its run worker
