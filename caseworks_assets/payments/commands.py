"""``caseworks stream payments``: replay the inputs as micro-batches, optionally consuming them in process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from caseworks_assets.payments.stream import replay
from caseworks_assets.payments.stream_assets import LANDING_ENV, StreamLanding, batches, payments_stream_sensor
from caseworks_assets.recovery import process_tags


def tick_stream_sensor(instance: dg.DagsterInstance, landing: Path, cursor: str | None) -> dg.SensorResult:
    """Evaluate ``payments_stream_sensor`` once over ``landing`` and add the batch partitions it requests."""
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"payments_landing": StreamLanding(path=str(landing))},
    ) as context:
        result = payments_stream_sensor(context)
    assert isinstance(result, dg.SensorResult)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(batches.name, list(request.partition_keys))
    return result


class StreamConsumer:
    """Ticks ``payments_stream_sensor`` in process and runs what it requests (no daemon needed)."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, landing: Path) -> None:
        self.defs = defs
        self.instance = instance
        self.landing = landing
        self.cursor: str | None = None
        self.runs = 0

    def tick(self) -> list[str]:
        """Evaluate the sensor once; add its partitions; run its requests. Returns the partitions run."""
        result = tick_stream_sensor(self.instance, self.landing, self.cursor)
        self.cursor = result.cursor
        job = self.defs.resolve_job_def("payments_stream_job")
        done = []
        for request in result.run_requests or []:
            outcome = job.execute_in_process(
                instance=self.instance,
                partition_key=request.partition_key,
                tags={
                    **request.tags,
                    "dagster/run_key": request.run_key or "",
                    "caseworks/source": "stream",
                    **process_tags(),
                },
                raise_on_error=False,
            )
            if not outcome.success:
                from caseworks_assets.runner import CaseRunFailed, failure_summary

                raise CaseRunFailed(f"payments stream batch {request.partition_key}: {failure_summary(outcome)}")
            self.runs += 1
            done.append(str(request.partition_key))
        return done


def stream(
    data_dir: Path,
    landing: Path,
    *,
    batch_rows: int,
    interval: float,
    process: bool,
    echo: Callable[[str], None] = print,
) -> list[Path]:
    """Replay ``data_dir`` into ``landing``; with ``process`` also materialize each batch as it lands."""
    os.environ[LANDING_ENV] = str(landing.absolute())
    consumer = None
    if process:
        from caseworks_assets.code_location import build_definitions
        from caseworks_assets.instance import get_instance

        consumer = StreamConsumer(build_definitions(), get_instance(), landing.absolute())

    def landed(path: Path) -> None:
        echo(f"landed {path.name}")
        if consumer is not None:
            for partition in consumer.tick():
                echo(f"  materialized partition {partition}")

    return replay(data_dir, landing, batch_rows=batch_rows, interval=interval, on_batch=landed)
