"""Read the Dagster instance's own records into polars frames: runs, steps, materializations and check results.

Everything goes through the instance's public APIs (``get_run_records``,
``get_run_step_stats``, ``get_event_records``, ``fetch_run_status_changes``),
so the same code reads a laptop's SQLite instance and the deployment's
PostgreSQL one. A day is the UTC day a run started (or was created, if it never
started); the frames carry ``day`` and ``month`` so each daily partition selects
its rows and the monthly figures group on one column.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

PAGE = 1000

RUN_SCHEMA = {
    "run_id": pl.String,
    "job_name": pl.String,
    "status": pl.String,
    "case": pl.String,
    "partition": pl.String,
    "root_run_id": pl.String,
    "is_retry": pl.Boolean,
    "created_at": pl.Datetime("us", "UTC"),
    "queued_at": pl.Datetime("us", "UTC"),
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
}
STEP_SCHEMA = {
    "run_id": pl.String,
    "job_name": pl.String,
    "step_key": pl.String,
    "status": pl.String,
    "attempts": pl.Int64,
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
}
ACTIVITY_SCHEMA = {
    "timestamp": pl.Datetime("us", "UTC"),
    "asset_key": pl.String,
    "event": pl.String,
    "run_id": pl.String,
    "step_key": pl.String,
    "partition": pl.String,
    "check_name": pl.String,
    "passed": pl.Boolean,
    "severity": pl.String,
    "rows": pl.Int64,
    "bytes": pl.Int64,
    "bytes_billed": pl.Int64,
}

#: Metadata keys read as rows, bytes written and bytes billed, first found wins.
ROW_KEYS = ("dagster/row_count", "rows", "row_count", "loaded")
BYTE_KEYS = ("bytes", "size_bytes", "dagster/size_bytes", "total_bytes", "file_bytes")
BILLED_KEYS = ("bytes_billed", "bigquery/bytes_billed", "bytes_processed")


def _time(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _day_columns(frame: pl.DataFrame, at: str) -> pl.DataFrame:
    return frame.with_columns(day=pl.col(at).dt.date(), month=pl.col(at).dt.strftime("%Y-%m"))


def _status_times(instance: dg.DagsterInstance, event_type: dg.DagsterEventType) -> dict[str, float]:
    """Run id -> timestamp of its first ``event_type`` status event (enqueued, starting)."""
    seen: dict[str, float] = {}
    cursor = None
    while True:
        result = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=event_type), limit=PAGE, cursor=cursor, ascending=True
        )
        for record in result.records:
            seen.setdefault(record.run_id, record.timestamp)
        if not result.has_more:
            return seen
        cursor = result.cursor


def _run_records(instance: dg.DagsterInstance) -> Iterator[dg.RunRecord]:
    cursor = None
    while True:
        records = instance.get_run_records(limit=PAGE, cursor=cursor, ascending=True)
        yield from records
        if len(records) < PAGE:
            return
        cursor = records[-1].dagster_run.run_id


def read_runs(instance: dg.DagsterInstance, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Every run of every job, with its status, duration and queue wait; only days in ``[start, end)`` if given.

    The queue wait runs from the run's enqueueing (or, for runs launched
    without the queue, its launch) to its start; runs executed in process
    (the CLI, tests) have neither, so their wait is null, not zero.
    """
    enqueued = _status_times(instance, dg.DagsterEventType.RUN_ENQUEUED)
    starting = _status_times(instance, dg.DagsterEventType.RUN_STARTING)
    rows = []
    for record in _run_records(instance):
        run = record.dagster_run
        queued = enqueued.get(run.run_id, starting.get(run.run_id))
        rows.append(
            {
                "run_id": run.run_id,
                "job_name": run.job_name,
                "status": run.status.value,
                "case": run.tags.get("caseworks/case"),
                "partition": run.tags.get("dagster/partition"),
                "root_run_id": run.root_run_id or run.run_id,
                "is_retry": run.parent_run_id is not None,
                "created_at": record.create_timestamp.astimezone(UTC),
                "queued_at": _time(queued),
                "started_at": _time(record.start_time),
                "ended_at": _time(record.end_time),
            }
        )
    frame = pl.DataFrame(rows, schema=RUN_SCHEMA)
    frame = frame.with_columns(
        duration_s=(pl.col("ended_at") - pl.col("started_at")).dt.total_microseconds() / 1e6,
        queue_wait_s=(pl.col("started_at") - pl.col("queued_at")).dt.total_microseconds() / 1e6,
        at=pl.coalesce("started_at", "created_at"),
    )
    frame = _day_columns(frame, "at").drop("at")
    return _window(frame, start, end)


def _window(frame: pl.DataFrame, start: date | None, end: date | None) -> pl.DataFrame:
    if start is not None:
        frame = frame.filter(pl.col("day") >= start)
    if end is not None:
        frame = frame.filter(pl.col("day") < end)
    return frame


def asset_of_step(step_key: pl.Expr) -> pl.Expr:
    """The asset a step builds, from Dagster's op naming (``case__name`` -> ``case/name``)."""
    return step_key.str.replace_all("__", "/")


STEP_EVENTS = (
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_RESTARTED,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
)
TERMINAL = ["STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"]


def read_steps(instance: dg.DagsterInstance, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Every step: first start, last end, final status and attempts, from the step events; days in ``[start, end)``.

    The same figures as ``get_run_step_stats``, read with one event query per
    event type instead of one per run: on a PostgreSQL (or one-file SQLite)
    instance of 10,000 runs that is seconds instead of minutes. A step's day is
    the day it started.
    """
    rows = []
    for kind in STEP_EVENTS:
        for record in _events(instance, kind):
            entry = record.event_log_entry
            if entry.step_key:
                rows.append((entry.run_id, entry.job_name, entry.step_key, kind.value, _time(entry.timestamp)))
    events = pl.DataFrame(
        rows,
        schema={
            "run_id": pl.String,
            "job_name": pl.String,
            "step_key": pl.String,
            "event": pl.String,
            "at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    terminal = pl.col("event").is_in(TERMINAL)
    frame = (
        events.sort("at")
        .group_by("run_id", "step_key")
        .agg(
            job_name=pl.col("job_name").first(),
            status=pl.col("event").filter(terminal).last().str.strip_prefix("STEP_"),
            attempts=pl.col("event").is_in(["STEP_START", "STEP_RESTARTED"]).sum().cast(pl.Int64),
            started_at=pl.col("at").filter(pl.col("event") == "STEP_START").min(),
            ended_at=pl.col("at").filter(terminal).max(),
        )
        .with_columns(status=pl.col("status").fill_null("IN_PROGRESS"))
        .select(list(STEP_SCHEMA))
        .cast(STEP_SCHEMA)
    )
    frame = frame.with_columns(
        asset_key=asset_of_step(pl.col("step_key")),
        duration_s=(pl.col("ended_at") - pl.col("started_at")).dt.total_microseconds() / 1e6,
        at=pl.coalesce("started_at", "ended_at"),
    )
    frame = _day_columns(frame, "at").drop("at").filter(pl.col("day").is_not_null())
    return _window(frame, start, end).sort("started_at", "run_id")


def _number(metadata: dict, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = metadata.get(key)
        raw = getattr(value, "value", value)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return int(raw)
    return None


def _events(instance: dg.DagsterInstance, event_type: dg.DagsterEventType) -> list[dg.EventLogRecord]:
    """Every event of ``event_type`` in the instance, oldest first.

    ``get_event_records`` is the one query across every asset (Dagster's
    ``fetch_materializations`` wants one asset key per call); its advice to use
    the latter is silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return list(instance.get_event_records(dg.EventRecordsFilter(event_type=event_type), ascending=True))


def read_activity(instance: dg.DagsterInstance, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Materializations, observations and check evaluations per asset, with rows and bytes from their metadata.

    A ``freshness_miss`` observation (written by the freshness sensor) becomes
    an event of that name, so freshness misses are counted like any activity.
    """
    rows = []
    kinds = (
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_OBSERVATION,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    )
    for kind in kinds:
        for record in _events(instance, kind):
            entry = record.event_log_entry
            data = entry.dagster_event.event_specific_data if entry.dagster_event else None
            row = {
                "timestamp": _time(entry.timestamp),
                "run_id": entry.run_id or None,
                "step_key": entry.step_key,
                "partition": None,
                "check_name": None,
                "passed": None,
                "severity": None,
            }
            if kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                metadata = dict(data.metadata or {})
                row.update(
                    asset_key=data.asset_key.to_user_string(),
                    event="check",
                    check_name=data.check_name,
                    passed=bool(data.passed),
                    severity=data.severity.value if data.severity else None,
                    partition=data.partition,
                )
            else:
                event = (
                    data.materialization
                    if kind == dg.DagsterEventType.ASSET_MATERIALIZATION
                    else data.asset_observation
                )
                metadata = dict(event.metadata or {})
                name = "materialization" if kind == dg.DagsterEventType.ASSET_MATERIALIZATION else "observation"
                if "caseworks/freshness_miss" in metadata:
                    name = "freshness_miss"
                row.update(asset_key=event.asset_key.to_user_string(), event=name, partition=event.partition)
            row.update(
                rows=_number(metadata, ROW_KEYS),
                bytes=_number(metadata, BYTE_KEYS),
                bytes_billed=_number(metadata, BILLED_KEYS),
            )
            rows.append(row)
    frame = _day_columns(pl.DataFrame(rows, schema=ACTIVITY_SCHEMA), "timestamp")
    return _window(frame, start, end).sort("timestamp")
