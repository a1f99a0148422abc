"""The platform case's input is a Dagster instance's history; its sample is a synthetic one, as data.

``caseworks sample platform --out DIR --rows N`` writes ``DIR/history.json``:
``N`` planned runs over 60 days (when, outcome, rows written, queue wait),
deterministic for the seed. ``caseworks run platform --data-dir DIR`` writes
that history into a Dagster home next to it (``DIR/instance``, once per
history file, through Dagster's APIs) and reports on it. Without ``--rows``
(the demo) nothing synthetic is written: the demo reports on the runs the
other cases just made, so the folder only gets a note saying so.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

NOTE = "README.txt"
HISTORY = "history.json"
DAYS = 60


def plan_history(runs: int, *, days: int = 60, seed: int = 42) -> list[dict]:
    """The synthetic runs as data, deterministic for ``seed``: when (seconds before "now"), kind, rows, wait.

    About 1 in 12 runs fails a step and 1 in 15 fails its check; the orders
    table grows over the period (a growing table), runs wait in the queue for
    a few seconds to a few minutes, and the last tenth of the history runs 2.5
    times slower (a p95 regression).
    """
    rng = random.Random(seed)
    plan = []
    span = days * 86400
    for i in range(runs):
        roll = rng.random()
        plan.append(
            {
                "run_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "seconds_ago": round(span - span * (i + rng.random()) / max(runs, 1), 3),
                "kind": "step_failure" if roll < 1 / 12 else "check_failure" if roll < 1 / 12 + 1 / 15 else "success",
                "rows": int(1000 * (1 + 2 * i / max(runs, 1))),
                "queue_wait_s": rng.choice([1, 2, 5, 30, 90, 240]),
                "slowdown": 2.5 if i > runs * 0.9 else 1.0,
            }
        )
    return plan


def write_sample(out_dir: Path, rows: int | None, seed: int) -> None:
    """``history.json`` with ``rows`` planned runs in ``out_dir`` (see the module docstring); a note when None."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if rows is None:
        (out_dir / NOTE).write_text(
            "caseworks platform reports on the current Dagster instance (DAGSTER_HOME) when this folder holds\n"
            "neither history.json nor dagster.yaml. `caseworks sample platform --out DIR --rows N` writes a\n"
            "synthetic history here instead.\n",
            encoding="utf-8",
        )
        return
    plan = plan_history(rows, days=DAYS, seed=seed)
    document = {"format": "caseworks-platform-history/1", "seed": seed, "days": DAYS, "runs": plan}
    (out_dir / HISTORY).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def instance_yaml(home: Path) -> str:
    """A Dagster instance in ``home`` whose runs share one event-log database (read across runs in one query)."""
    from caseworks_assets.instance import storage_yaml  # imports Dagster: only when an instance is made

    return "# Written by `caseworks run platform` from a synthetic history.json.\ntelemetry:\n  enabled: false\n" + (
        storage_yaml(home, consolidated_events=True)
    )
