"""Running a case through the Dagster instance, as the CLI and the demo do.

Runs go through jobs of the loaded ``Definitions`` and are recorded in the
instance, so they appear in the UI next to runs launched there.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from caseworks_assets.recovery import INVOCATION_TAG, process_tags, remove_staged_files
from caseworks_assets.registry import InputError
from caseworks_assets.resources.warehouse import WAREHOUSE_POOL

#: Console log level of CLI runs; every event is in the instance (the UI) whatever this is.
LOG_LEVEL_ENV = "CASEWORKS_LOG_LEVEL"


def console_logging(level: str | None = None) -> dict[str, Any]:
    """Run config for Dagster's console logger: quiet by default, the UI keeps the full log."""
    chosen = (level or os.environ.get(LOG_LEVEL_ENV) or "ERROR").upper()
    return {"loggers": {"console": {"config": {"log_level": chosen}}}}


class CaseRunFailed(RuntimeError):
    """A run of the case failed; the message is the failing step and its error."""


class CaseRunCanceled(CaseRunFailed):
    """The run was stopped by SIGINT or SIGTERM and recorded as canceled."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def failure_summary(result: dg.ExecuteInProcessResult) -> str:
    """One line per failed step or failed blocking check, for humans."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            message = error.message.strip() if error else "unknown error"
            cause = error.cause if error else None
            while cause is not None:
                message = cause.message.strip()
                cause = cause.cause
            lines.append(f"{event.step_key}: {message}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            lines.append(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed")
    return "; ".join(lines) or "the run failed"


@dataclass
class CaseRun:
    """One invocation of a case: its folders, options, instance and definitions."""

    case: str
    data_dir: Path
    out_dir: Path
    instance: dg.DagsterInstance
    defs: dg.Definitions
    fmt: str = "parquet"
    months: Sequence[str] | None = None
    as_of: date | None = None
    echo: Callable[[str], None] = print
    selection: str | None = None
    results: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    def selected(self, job: dg.JobDefinition, keys: Sequence[dg.AssetKey] | None) -> Sequence[dg.AssetKey] | None:
        """``keys`` (or the whole job) narrowed to :attr:`selection`, if one was given.

        Assets that can only be materialized together with a selected one are
        added. Raises :class:`InputError` for selection text Dagster cannot
        parse or that names nothing the case materializes.
        """
        if not self.selection:
            return keys
        graph = self.defs.resolve_asset_graph()
        try:
            # an asset built in one step with others (a multi-asset that cannot be subset) brings them along,
            # as the UI does when it is selected there
            chosen = dg.AssetSelection.from_string(self.selection).required_multi_asset_neighbors().resolve(graph)
        except Exception as error:  # Dagster raises several types for bad selection text
            raise InputError(f"--select {self.selection!r}: {error}") from error
        candidates = set(keys) if keys is not None else set(job.asset_layer.executable_asset_keys)
        narrowed = sorted(candidates & chosen)
        if not narrowed:
            raise InputError(f"--select {self.selection!r} names no asset of this {self.case} run")
        return narrowed

    def execute(
        self,
        job_name: str,
        *,
        partition_key: str | None = None,
        run_config: Mapping[str, Any] | None = None,
        asset_selection: Sequence[dg.AssetKey] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Execute ``job_name`` in process on the instance; raise :class:`CaseRunFailed` on failure."""
        from caseworks_assets.run_watch import RunWatch, cancel_after_interrupt

        job = self.defs.resolve_job_def(job_name)
        invocation = uuid.uuid4().hex
        watch = RunWatch(
            self.instance,
            invocation,
            [WAREHOUSE_POOL],
            echo=_to_stderr,
            on_exit=lambda: remove_staged_files(self.out_dir),
        )
        with watch:
            result = job.execute_in_process(
                run_config={**console_logging(), **(run_config or {})},
                instance=self.instance,
                partition_key=partition_key,
                asset_selection=self.selected(job, asset_selection),
                tags={
                    "caseworks/case": self.case,
                    "caseworks/source": "cli",
                    **process_tags(),
                    INVOCATION_TAG: invocation,
                    **(tags or {}),
                },
                raise_on_error=False,
            )
        self.results.append(result)
        if watch.signal is not None:
            cancel_after_interrupt(self.instance, result.dagster_run, watch.signal)
            remove_staged_files(self.out_dir)
            raise CaseRunCanceled(f"{self.case}: stopped on {signal.Signals(watch.signal).name}", watch.signal)
        if not result.success:
            where = f" (partition {partition_key})" if partition_key else ""
            raise CaseRunFailed(f"{self.case}{where}: {failure_summary(result)}")
        return result
