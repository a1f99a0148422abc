"""Crash recovery: runs whose process is gone are marked failed and give back their pool slots.

A ``caseworks`` run executes in its own process and tags its Dagster run with
the host, pid and start time of that process (:func:`process_tags`). If the
process dies without ending the run (``kill -9``, an out-of-memory kill, a
power cut), the run stays STARTED forever and keeps its slot of the
``caseworks_warehouse`` pool, so every later warehouse step of the instance
waits for it. Before a run starts, :func:`recover_dead_runs` finds such runs on
this host, reports them failed with the reason, and frees their slots through
Dagster's public instance and event-log storage APIs. Slots still claimed by,
or places still queued for, runs that already ended are freed too: a queued
place of an ended run would otherwise be handed the next free slot and keep
it forever, so every later run would wait without a holder to name. A run
that waits for a slot calls this again while it waits (``run_watch.py``), so
a holder killed during the wait is recovered too. Runs of other hosts (a
deployed instance) are left to the daemon's run monitoring.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psutil

HOST_TAG = "caseworks/host"
PID_TAG = "caseworks/pid"
PROCESS_START_TAG = "caseworks/process_start"
INVOCATION_TAG = "caseworks/invocation"
UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
#: Suffix of the hidden files a write stages before renaming them into place (resources/staging.py).
STAGED_SUFFIX = ".tmp"


def _process_start(pid: int) -> str | None:
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def process_tags() -> dict[str, str]:
    """Tags that identify the process running a run: host, pid and the process's start time."""
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PROCESS_START_TAG: _process_start(os.getpid()) or "",
    }


def process_is_gone(tags: Mapping[str, str]) -> bool:
    """Whether the process named by ``tags`` (see :func:`process_tags`) no longer runs on this host.

    A pid reused by a later process does not count as alive: its start time differs.
    """
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False  # another host's run, or not a caseworks CLI run: not ours to judge
    started = _process_start(int(tags[PID_TAG]))
    return started is None or started != tags.get(PROCESS_START_TAG, started)


@dataclass(frozen=True)
class Recovered:
    run_id: str
    job_name: str
    reason: str
    #: False when the run had already ended and only its pool slots or queued places were freed.
    marked_failed: bool = True

    def describe(self) -> str:
        """One line for the user."""
        done = "marked failed and its pool slots freed" if self.marked_failed else "pool slots freed"
        return f"run {self.run_id} ({self.job_name}) {done}: {self.reason}"


def _pool_runs(instance: dg.DagsterInstance, pools: Iterable[str]) -> set[str]:
    """Runs that hold a slot of one of ``pools`` or have a place in its queue."""
    runs: set[str] = set()
    for pool in pools:
        info = instance.event_log_storage.get_concurrency_info(pool)
        runs |= {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}
    return runs


def recover_dead_runs(instance: dg.DagsterInstance, pools: Iterable[str] = ()) -> list[Recovered]:
    """Mark failed every unfinished run whose ``caseworks`` process is gone; free the slots of ended runs.

    Returns what was recovered, for the caller to tell the user.
    """
    recovered = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: socket.gethostname()})):
        run = record.dagster_run
        if not process_is_gone(run.tags):
            continue
        reason = (
            f"the caseworks process that ran it (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) "
            "ended without finishing it (killed or crashed); marked failed by a later caseworks run"
        )
        instance.report_run_failed(run, message=reason)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(Recovered(run.run_id, run.job_name, reason))
    if pools:
        for run_id in _pool_runs(instance, pools):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(run_id)
                if run is not None and not any(r.run_id == run_id for r in recovered):
                    reason = f"it still held or waited for a pool slot after it ended ({run.status.value})"
                    recovered.append(Recovered(run_id, run.job_name, reason, marked_failed=False))
    return recovered


def remove_staged_files(out_dir: Path) -> list[Path]:
    """Delete the half-written staging files a killed run left under ``out_dir`` (``.<name>.tmp``).

    Only safe while this process holds the output folder's lock
    (:func:`caseworks_assets.locks.out_dir_lock`): no other writer can be
    staging a file there then.
    """
    if not out_dir.is_dir():
        return []
    stale = [p for p in out_dir.rglob(f".*{STAGED_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
