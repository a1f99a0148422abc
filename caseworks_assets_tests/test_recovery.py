"""Crash recovery on a real SQLite instance: which runs give back their pool slots and queued places.

Dagster hands a freed slot to the oldest queued place of the pool. A place
left by a run that has ended (canceled while it waited, or killed) would get
that slot and keep it, and every later run would wait for it without a holder
to name; :func:`recover_dead_runs` must free it, and must leave live runs alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import dagster as dg

from caseworks_assets.recovery import process_tags, recover_dead_runs

POOL = "caseworks_warehouse"


def _run(instance: dg.DagsterInstance, tags: dict[str, str] | None = None) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name="payments_job", run_id=uuid.uuid4().hex, status=dg.DagsterRunStatus.STARTED)
    return instance.add_run(run._replace(tags=tags or {}))


def _dead_process_tags() -> dict[str, str]:
    """The tags a caseworks process writes, from a process that has since ended."""
    code = "import json; from caseworks_assets.recovery import process_tags; print(json.dumps(process_tags()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_queued_place_of_an_ended_run_is_freed_so_the_next_run_gets_the_slot() -> None:
    with dg.instance_for_test() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(POOL, 1)
        holder, canceled, later = _run(instance, process_tags()), _run(instance), _run(instance)
        assert storage.claim_concurrency_slot(POOL, holder.run_id, "step").is_claimed
        assert not storage.claim_concurrency_slot(POOL, canceled.run_id, "step").is_claimed
        instance.report_run_canceled(instance.get_run_by_id(canceled.run_id))

        # the holder ends; the slot goes to the oldest queued place, the canceled run's, and nobody claims it
        storage.free_concurrency_slots_for_run(holder.run_id)
        assert not storage.claim_concurrency_slot(POOL, later.run_id, "step").is_claimed

        recovered = recover_dead_runs(instance, [POOL])
        assert [(r.run_id, r.marked_failed) for r in recovered] == [(canceled.run_id, False)]
        assert "CANCELED" in recovered[0].describe() and "marked failed" not in recovered[0].describe()
        assert storage.claim_concurrency_slot(POOL, later.run_id, "step").is_claimed
        assert instance.get_run_by_id(canceled.run_id).status == dg.DagsterRunStatus.CANCELED


def test_a_dead_holder_is_marked_failed_and_a_live_one_is_left_alone() -> None:
    with dg.instance_for_test() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(POOL, 2)
        alive, dead = _run(instance, process_tags()), _run(instance, _dead_process_tags())
        for run in (alive, dead):
            assert storage.claim_concurrency_slot(POOL, run.run_id, "step").is_claimed

        recovered = recover_dead_runs(instance, [POOL])

        assert [(r.run_id, r.marked_failed) for r in recovered] == [(dead.run_id, True)]
        assert "killed or crashed" in recovered[0].describe()
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        holders = {slot.run_id for slot in storage.get_concurrency_info(POOL).claimed_slots}
        assert holders == {alive.run_id}
        assert recover_dead_runs(instance, [POOL]) == []
