"""Watching an in-process run: say what it waits for, and stop it promptly on SIGINT or SIGTERM.

Dagster's in-process executor turns SIGINT and SIGTERM into a flag that only a
running step reacts to; a step waiting for a pool slot never looks at it, so
the process used to ignore SIGTERM for as long as the slot was held. A
:class:`RunWatch` thread learns of every signal through
:func:`signal.set_wakeup_fd` (Dagster's handlers stay in place and still stop
a running step), gives the run :data:`GRACE_SECONDS` to end by itself, and
otherwise marks it canceled, frees its pool slots and ends the process. The
same thread tells the user, once per holder, which run holds a pool slot one
of the run's steps waits for, and since when.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable, Iterable
from types import TracebackType

import dagster as dg

from caseworks_assets.recovery import HOST_TAG, INVOCATION_TAG, PID_TAG, recover_dead_runs

GRACE_SECONDS = 5.0
POLL_SECONDS = 1.0
#: Exit code of a process ended by a signal, as shells report it.
SIGNAL_EXIT_BASE = 128


class RunWatch:
    """Context manager around one ``execute_in_process`` of the run tagged ``invocation``."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        invocation: str,
        pools: Iterable[str],
        echo: Callable[[str], None],
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.instance = instance
        self.invocation = invocation
        self.pools = list(pools)
        self.echo = echo
        self.on_exit = on_exit
        self.signal: int | None = None
        self._done = threading.Event()
        self._told: set[tuple[str, str]] = set()
        self._read_fd = self._write_fd = -1
        self._previous_fd = -1
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunWatch:
        if threading.current_thread() is threading.main_thread():
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._write_fd, False)
            self._previous_fd = signal.set_wakeup_fd(self._write_fd)
        self._thread = threading.Thread(target=self._watch, name="caseworks-run-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._done.set()
        if self._write_fd >= 0:
            # wake the thread's select now: otherwise every run ends up to POLL_SECONDS late
            with contextlib.suppress(BlockingIOError):
                os.write(self._write_fd, b"\0")
        if self._thread is not None:
            self._thread.join(timeout=POLL_SECONDS * 2)
        if self._write_fd >= 0:
            signal.set_wakeup_fd(self._previous_fd)
            os.close(self._read_fd)
            os.close(self._write_fd)

    # -- the watching thread -------------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._read_fd >= 0:
                ready, _, _ = select.select([self._read_fd], [], [], POLL_SECONDS)
                if ready and not self._done.is_set():
                    data = os.read(self._read_fd, 64)
                    signals = [s for s in data if s in (signal.SIGINT, signal.SIGTERM)]
                    if signals:
                        self._stop(signals[0])
                        return
            else:
                self._done.wait(POLL_SECONDS)
            if not self._done.is_set():
                # telling the user is best effort, never a reason to fail the run
                with contextlib.suppress(Exception):
                    self._report_pool_waits()

    def run(self) -> dg.DagsterRun | None:
        records = self.instance.get_run_records(dg.RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
        return records[0].dagster_run if records else None

    def _stop(self, signum: int) -> None:
        """Give the run :data:`GRACE_SECONDS` to stop by itself; else cancel it and end the process."""
        self.signal = signum
        name = signal.Signals(signum).name
        self.echo(f"caseworks: {name} received: stopping the run (at most {GRACE_SECONDS:.0f} s)")
        if self._done.wait(GRACE_SECONDS):
            return  # the run ended; the caller marks it canceled
        run = self.run()
        if run is not None:
            self.instance.report_run_canceled(run, message=f"caseworks stopped on {name}")
        if self.on_exit is not None:
            self.on_exit()
        self.echo(f"caseworks: run canceled: stopped on {name}; run the same command again to start over")
        if run is not None:
            # last, so that the step still waiting in the main thread has little time to queue again;
            # a place it queues anyway is freed by the next run's recovery (the run has ended)
            self.instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        os._exit(SIGNAL_EXIT_BASE + signum)

    def _report_pool_waits(self) -> None:
        run = self.run()
        if run is None or not self.pools:
            return
        storage = self.instance.event_log_storage
        for pool in self.pools:
            info = storage.get_concurrency_info(pool)
            waiting = [s for s in info.pending_steps if s.run_id == run.run_id and s.assigned_timestamp is None]
            if not waiting:
                continue
            for gone in recover_dead_runs(self.instance, [pool]):
                self.echo(f"caseworks: {gone.describe()}")
            holders = {p.run_id: p for p in info.pending_steps if p.assigned_timestamp is not None}
            for slot in info.claimed_slots:
                if slot.run_id == run.run_id or (slot.run_id, waiting[0].step_key) in self._told:
                    continue
                self._told.add((slot.run_id, waiting[0].step_key))
                self.echo(f"caseworks: {self._waiting_line(pool, waiting[0].step_key, slot, holders.get(slot.run_id))}")

    def _waiting_line(self, pool: str, step_key: str, slot, claim) -> str:
        holder = self.instance.get_run_by_id(slot.run_id)
        who = f"run {slot.run_id}"
        if holder is not None:
            who += f" ({holder.job_name}, step {slot.step_key}"
            if holder.tags.get(PID_TAG):
                who += f", pid {holder.tags[PID_TAG]} on {holder.tags.get(HOST_TAG)}"
            who += ")"
        since = (
            f" since {claim.assigned_timestamp.astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')}"
            if claim is not None and claim.assigned_timestamp
            else ""
        )
        return f"step {step_key} waits for a slot of pool {pool}: held by {who}{since}"


def cancel_after_interrupt(instance: dg.DagsterInstance, run: dg.DagsterRun | None, signum: int) -> None:
    """Record an interrupted run as canceled (it may have ended failed) and free its slots."""
    if run is None:
        return
    current = instance.get_run_by_id(run.run_id) or run
    if current.status != dg.DagsterRunStatus.CANCELED:
        instance.report_run_canceled(current, message=f"caseworks stopped on {signal.Signals(signum).name}")
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
