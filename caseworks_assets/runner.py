"""Running a case through the Dagster instance, as the CLI and the demo do.

Runs go through jobs of the loaded ``Definitions`` and are recorded in the
instance, so they appear in the UI next to runs launched there.
"""

from __future__ import annotations

import re
import signal
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from caseworks_assets.recovery import INVOCATION_TAG, process_tags, remove_staged_files
from caseworks_assets.registry import InputError
from caseworks_assets.resources.warehouse import WAREHOUSE_POOL
from caseworks_assets.settings import SettingsError, log_level


def console_logging(level: str | None = None) -> dict[str, Any]:
    """Run config for Dagster's console logger: silent by default (the command prints one line per failure), the UI
    keeps the full log."""
    chosen = (level or log_level()).upper()
    return {"loggers": {"console": {"config": {"log_level": chosen}}}}


class CaseRunFailed(RuntimeError):
    """A run of the case failed; the message is the failing step and its error."""

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class CaseRunCanceled(CaseRunFailed):
    """The run was stopped by SIGINT or SIGTERM and recorded as canceled."""

    def __init__(self, message: str, signum: int, run_id: str | None = None) -> None:
        super().__init__(message, run_id)
        self.signum = signum


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _human_message(error: Any) -> str:
    """The message a person wrote for ``error``: the outermost error in its chain that is not Dagster's wrapper.

    Dagster wraps what a step raised in its own errors (``DagsterExecutionStepExecutionError``,
    ``DagsterResourceFunctionError``, ...); the error under them is the one our code or a library
    raised, and its message is the one meant for people (our errors keep the library's as their cause).
    Only its first line is kept, without the exception's class name.
    """
    chosen = error
    while chosen is not None and chosen.cls_name and chosen.cls_name.startswith("Dagster") and chosen.cause:
        chosen = chosen.cause
    if chosen is None:
        return "unknown error"
    lines = [line.strip() for line in chosen.message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else chosen.cls_name or "unknown error"
    name = re.escape(chosen.cls_name or "")
    return re.sub(rf"^[\w.]*{name}:\s*", "", first) if name else first


def failure_summary(result: dg.ExecuteInProcessResult) -> str:
    """One line per failed step, failed resource or failed blocking check, for humans."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            lines.append(f"{event.step_key}: {_human_message(event.step_failure_data.error)}")
        elif event.event_type_value == "RESOURCE_INIT_FAILURE":
            data = event.event_specific_data
            lines.append(f"starting the run's resources: {_human_message(getattr(data, 'error', None))}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            lines.append(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed")
    if not lines:
        failure = result.get_run_failure_event() if not result.success else None
        data = failure.event_specific_data if failure is not None else None
        if getattr(data, "error", None) is not None:
            lines.append(_human_message(data.error))  # type: ignore[union-attr]
    return "; ".join(dict.fromkeys(lines)) or "the run failed"


def _subclass_names(cls: type) -> set[str]:
    return {cls.__name__}.union(*(_subclass_names(sub) for sub in cls.__subclasses__()))


def failed_on_input(result: dg.ExecuteInProcessResult) -> bool:
    """Whether every failed step failed on an :class:`InputError` (a malformed input file): bad input, not a bug."""
    names = _subclass_names(InputError)
    failures = [e.step_failure_data.error for e in result.all_events if e.is_step_failure and e.step_failure_data]

    def on_input(error: Any) -> bool:
        while error is not None:
            if error.cls_name in names:
                return True
            error = error.cause
        return False

    return bool(failures) and all(on_input(error) for error in failures)


@contextmanager
def _config_errors() -> Iterator[None]:
    """A run whose configuration Dagster rejects (an unset ``EnvVar``, ...) is a settings error, in one line."""
    try:
        yield
    except dg.DagsterInvalidConfigError as error:
        reasons = [e.message.strip().splitlines()[0] for e in error.errors] or [str(error).splitlines()[0]]
        raise SettingsError("; ".join(reasons)) from error


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
        with watch, _config_errors():
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
            raise CaseRunCanceled(
                f"{self.case}: stopped on {signal.Signals(watch.signal).name}", watch.signal, result.run_id
            )
        if not result.success:
            where = f" (partition {partition_key})" if partition_key else ""
            message = f"{self.case}{where}: {failure_summary(result)}"
            if failed_on_input(result):
                raise InputError(f"{message}; fix the input and run the same command again")
            raise CaseRunFailed(message, result.run_id)
        return result
