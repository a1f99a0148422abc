"""Synthetic support inputs: a small hand-made core plus, on request, generated volume.

The core (always written) is small enough to check by hand and exercises every
rule of the case:

* an interaction at 01:30 UTC on the 1st that belongs to the previous month in
  Eastern time (``K1`` on 2025-02-01, ``L5`` on 2025-04-01, EDT);
* both DST switches: two calls at 01:30 local on 2024-11-03 (EDT then EST) and
  calls either side of 2025-03-09 07:00 UTC;
* a dimension deleted while still referenced (contact center ``CC3``, deleted
  in 2025-03 with a delete row that carries only its id);
* dimensions renamed in a delta (``CC2`` -> Boston Harbor, department of
  ``SC2`` -> Customer Care), a category without department;
* an interaction moved to another contact center by an update (``I10``), an
  interaction deleted (``I11``), a call without resolution/end/duration (``J6``);
* tables without a delta in some months (agents only in 2025-02, ...);
* actions in mixed case and with spaces;
* values written the way real exports write them, all losslessly repairable
  (see :data:`AS_EXPORTED`): ratings ``4.0`` / ``2.0`` / a blank, durations with
  spaces or ``.0``, timestamps with an explicit ``+00:00`` / ``-05:00`` offset
  or, as a SQL dump writes them, with no zone (UTC, as the source's contract says);
  and one unreadable optional rating (``L2``: ``n/a``), nulled with a warning.
  None of them changes the report.

The initial extract is the state at the end of 2024-12; deltas bring 2025-01
to 2025-03. ``rows`` adds that many generated interactions to the initial
extract and ``rows // 10`` changes to each monthly delta (adds, updates and
id-only deletes), deterministic for ``seed``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from caseworks_assets.support.layout import TABLES

DELTA_MONTHS = ("202501", "202502", "202503")

CONTACT_CENTERS = [
    ("CC1", "Atlanta Hub", "Atlanta, GA"),
    ("CC2", "Boston Center", "Boston, MA"),
    ("CC3", "Charlotte Point", "Charlotte, NC"),
]
SERVICE_CATEGORIES = [
    ("SC1", "Billing", "Finance"),
    ("SC2", "Technical", "Support"),
    ("SC3", "Returns", "Logistics"),
    ("SC4", "Onboarding", None),
]
AGENTS = [
    ("AG1", "Ana Lima", "CC1", "2021-03-15", "SC1"),
    ("AG2", "Ben Ortiz", "CC1", "2022-07-01", "SC2"),
    ("AG3", "Cara Diaz", "CC2", "2020-01-20", "SC2"),
    ("AG4", "Dan Wu", "CC2", "2023-05-10", "SC3"),
    ("AG5", "Eve Park", "CC3", "2019-11-11", "SC1"),
]

# id, start (UTC), channel, category, agent, center, resolution +min, end +min, duration, rating
Call = tuple[str, str, str, str | None, str, str, int | None, int | None, float | None, int | None]
INITIAL_INTERACTIONS: list[Call] = [
    ("I1", "2024-11-03T05:30:00Z", "phone", "SC1", "AG1", "CC1", 10, 12, 12, 4),  # 01:30 EDT
    ("I2", "2024-11-03T06:30:00Z", "phone", "SC2", "AG3", "CC2", 8, 28, 28, 3),  # 01:30 EST (after fall back)
    ("I3", "2024-11-20T15:00:00Z", "chat", "SC3", "AG4", "CC2", 10, 12, None, 5),
    ("I4", "2024-12-02T14:00:00Z", "phone", "SC1", "AG1", "CC1", 8, 10, 10, 5),
    ("I5", "2024-12-05T16:00:00Z", "phone", "SC2", "AG3", "CC2", 10, 35, 35, 2),
    ("I6", "2024-12-10T13:00:00Z", "email", "SC4", "AG2", "CC1", 30, 31, None, None),
    ("I7", "2024-12-15T18:00:00Z", "phone", "SC3", "AG5", "CC3", 9, 11, 11, 4),
    ("I8", "2024-12-20T20:00:00Z", "phone", "SC1", "AG4", "CC2", 5, 30, 30, 3),
    ("I9", "2024-12-22T15:00:00Z", "chat", None, "AG2", "CC1", 4, 5, None, 4),
    ("I10", "2024-12-28T17:00:00Z", "phone", "SC2", "AG3", "CC2", 6, 20, 20, 4),
    ("I11", "2024-12-29T14:00:00Z", "phone", "SC1", "AG1", "CC1", 7, 9, 9, 5),
]
DELTA_INTERACTIONS: dict[str, list[tuple[str, Call | str]]] = {
    "202501": [
        ("add", ("J1", "2025-01-06T15:00:00Z", "phone", "SC1", "AG1", "CC1", 8, 10, 10, 4)),
        ("ADD", ("J2", "2025-01-08T16:00:00Z", "phone", "SC2", "AG3", "CC2", 12, 40, 40, 2)),
        (" add", ("J3", "2025-01-10T14:00:00Z", "chat", "SC3", "AG4", "CC2", 5, 6, None, 5)),
        ("add", ("J4", "2025-01-15T19:00:00Z", "Email", "SC5", "AG2", "CC1", 20, 21, None, None)),
        ("add", ("J5", "2025-01-20T13:00:00Z", "phone", "SC1", "AG5", "CC3", 6, 8, 8, 4)),
        ("add", ("J6", "2025-01-22T21:00:00Z", "phone", "SC2", "AG3", "CC2", None, None, None, None)),
        ("Update ", ("I10", "2024-12-28T17:00:00Z", "phone", "SC2", "AG3", "CC1", 6, 20, 20, 4)),  # moved
        ("add", ("J7", "2025-01-28T15:00:00Z", "Phone", "SC2", "AG2", "CC1", 7, 9, 9, 5)),
    ],
    "202502": [
        ("add", ("K1", "2025-02-01T01:30:00Z", "phone", "SC1", "AG4", "CC2", 6, 25, 25, 3)),  # Jan 31 EST
        ("add", ("K2", "2025-02-04T15:00:00Z", "phone", "SC1", "AG1", "CC1", 9, 11, 11, 4)),
        ("add", ("K3", "2025-02-11T16:00:00Z", "chat", "SC2", "AG6", "CC3", 5, 6, None, 3)),
        ("add", ("K4", "2025-02-14T17:00:00Z", "phone", "SC2", "AG3", "CC2", 10, 45, 45, 2)),
        ("add", ("K5", "2025-02-20T18:00:00Z", "phone", "SC5", "AG2", "CC2", 6, 8, 8, 5)),
        ("delete", "I11"),
        ("add", ("K6", "2025-02-25T14:00:00Z", "email", "SC3", "AG4", "CC2", 30, 31, None, None)),
    ],
    "202503": [
        ("add", ("L1", "2025-03-09T06:30:00Z", "phone", "SC1", "AG1", "CC1", 7, 9, 9, 5)),  # 01:30 EST
        ("add", ("L2", "2025-03-09T07:30:00Z", "phone", "SC2", "AG3", "CC2", 10, 40, 40, 3)),  # 03:30 EDT
        ("add", ("L3", "2025-03-12T14:00:00Z", "chat", "SC1", "AG2", "CC2", 3, 4, None, 4)),
        ("add", ("L4", "2025-03-18T15:00:00Z", "phone", "SC3", "AG4", "CC2", 8, 30, 30, 3)),
        ("add", ("L5", "2025-04-01T01:30:00Z", "phone", "SC1", "AG1", "CC1", 8, 10, 10, 4)),  # Mar 31 EDT
        ("add", ("L6", "2025-03-20T16:00:00Z", "phone", "SC2", "AG6", "CC3", 5, 7, 7, 4)),
    ],
}
DIMENSION_DELTAS: dict[str, dict[str, list[tuple]]] = {
    "service_categories": {
        "202501": [("SC2", "Technical", "Customer Care", "update"), ("SC5", "Retention", "Sales", "add")],
    },
    "contact_centers": {
        "202502": [("CC2", "Boston Harbor", "Boston, MA", "UPDATE")],
        "202503": [("CC3", None, None, " delete ")],
    },
    "agents": {
        "202502": [
            ("AG6", "Fay Chen", "CC3", "2025-02-03", "SC5", "add"),
            ("AG2", "Ben Ortiz", "CC2", "2022-07-01", "SC2", "update"),
            ("AG5", None, None, None, None, "delete"),
        ],
    },
}


#: How the export wrote some core values (same meaning as the clean form; the report does not change).
AS_EXPORTED: dict[str, dict[str, str]] = {
    "J1": {"agent_resolution_timestamp": "2025-01-06T15:08:00+00:00"},
    "K2": {"satisfaction_rating": "4.0", "call_duration_minutes": " 11 "},
    "K4": {
        "satisfaction_rating": "2.0",
        "interaction_start": "2025-02-14T17:00:00+00:00",
        "interaction_end": "2025-02-14T12:45:00-05:00",
    },
    "K5": {"satisfaction_rating": " ", "call_duration_minutes": "8.0", "interaction_start": "2025-02-20 18:00:00"},
    "L2": {"satisfaction_rating": "n/a"},
}
#: Share of generated rows written each dirty way (per column), as seen in real exports.
DIRTY_RATE = 0.02


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _interaction_row(call: Call) -> dict[str, str | None]:
    iid, start, channel, category, agent, center, resolved, ended, duration, rating = call
    begin = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    written = begin + timedelta(minutes=(ended or 0) + 1)
    return {
        "interaction_id": iid,
        "timestamp": _iso(written),
        "channel": channel,
        "category_id": category,
        "agent_id": agent,
        "contact_center_id": center,
        "interaction_start": start,
        "agent_resolution_timestamp": _iso(begin + timedelta(minutes=resolved)) if resolved is not None else None,
        "interaction_end": _iso(begin + timedelta(minutes=ended)) if ended is not None else None,
        "call_duration_minutes": None if duration is None else f"{duration:g}",
        "satisfaction_rating": None if rating is None else str(rating),
    } | AS_EXPORTED.get(iid, {})


def _frame(table: str, rows: list[tuple], *, delta: bool) -> pl.DataFrame:
    columns = list(TABLES[table].delta_columns if delta else TABLES[table].columns)
    return pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")


def _core_interactions_delta(month: str) -> pl.DataFrame:
    rows = []
    for action, change in DELTA_INTERACTIONS[month]:
        if isinstance(change, str):
            row = dict.fromkeys(TABLES["interactions"].columns)
            row["interaction_id"] = change
        else:
            row = _interaction_row(change)
        rows.append({**row, "action": action})
    return pl.DataFrame(rows, schema={c: pl.String for c in TABLES["interactions"].delta_columns})


def _generated_interactions(
    rng: np.random.Generator, n: int, prefix: str, month_start: datetime, days: int
) -> pl.DataFrame:
    """``n`` random interactions starting within ``days`` days of ``month_start`` (vectorized)."""
    offsets = rng.integers(0, days * 24 * 3600, n)
    work = rng.integers(2, 30, n)
    after = rng.integers(0, 20, n)
    channels = np.array(["phone", "phone", "chat", "email"])[rng.integers(0, 4, n)]
    start = pl.lit(month_start.replace(tzinfo=None)) + pl.duration(seconds=pl.Series(offsets))
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return pl.DataFrame(
        {
            "n": np.arange(n),
            "work": work,
            "after": after,
            "channel": channels,
            "category": rng.integers(1, 6, n),
            "agent": rng.integers(1, 6, n),
            "center": rng.integers(1, 3, n),
            "rating": rng.integers(1, 6, n),
        }
    ).select(
        (pl.lit(prefix) + pl.col("n").cast(pl.String).str.zfill(8)).alias("interaction_id"),
        (start + pl.duration(minutes=pl.col("work") + pl.col("after") + 1)).dt.strftime(fmt).alias("timestamp"),
        pl.col("channel"),
        ("SC" + pl.col("category").cast(pl.String)).alias("category_id"),
        ("AG" + pl.col("agent").cast(pl.String)).alias("agent_id"),
        ("CC" + pl.col("center").cast(pl.String)).alias("contact_center_id"),
        start.dt.strftime(fmt).alias("interaction_start"),
        (start + pl.duration(minutes=pl.col("work"))).dt.strftime(fmt).alias("agent_resolution_timestamp"),
        (start + pl.duration(minutes=pl.col("work") + pl.col("after"))).dt.strftime(fmt).alias("interaction_end"),
        pl.when(pl.col("channel") == "phone")
        .then((pl.col("work") + pl.col("after")).cast(pl.String))
        .alias("call_duration_minutes"),
        pl.col("rating").cast(pl.String).alias("satisfaction_rating"),
    )


def _as_exported(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """Generated rows with about :data:`DIRTY_RATE` of some values written as real exports write them.

    Ratings as ``4.0`` or a blank, durations as `` 12 `` or ``12.0``, and
    timestamps with ``+00:00`` instead of ``Z``: every one losslessly repairable,
    so the report is the same as for the clean form.
    """
    n = frame.height

    def pick() -> pl.Series:
        return pl.Series(rng.random(n) < DIRTY_RATE)

    rating, duration = pl.col("satisfaction_rating"), pl.col("call_duration_minutes")
    return frame.with_columns(
        pl.when(pick())
        .then(rating + ".0")
        .when(pick())
        .then(pl.lit(" "))
        .otherwise(rating)
        .alias(rating.meta.output_name()),
        pl.when(pick())
        .then(pl.concat_str([pl.lit(" "), duration, pl.lit(" ")]))
        .when(pick())
        .then(duration + ".0")
        .otherwise(duration)
        .alias("call_duration_minutes"),
        *(
            pl.when(pick()).then(pl.col(c).str.replace("Z$", "+00:00")).otherwise(pl.col(c)).alias(c)
            for c in ("interaction_start", "agent_resolution_timestamp", "interaction_end")
        ),
    )


def _generated_delta(rng: np.random.Generator, n: int, month: str, existing: int) -> pl.DataFrame:
    """``n`` changes for ``month``: 70% adds, 20% full-row updates, 10% id-only deletes of generated ids."""
    start = datetime(int(month[:4]), int(month[4:]), 1, 5, tzinfo=UTC)
    adds = _generated_interactions(rng, n * 7 // 10, f"X{month}", start, 27).with_columns(pl.lit("add").alias("action"))
    n_updates, n_deletes = n * 2 // 10, n - n * 7 // 10 - n * 2 // 10
    picked = rng.choice(existing, size=min(existing, n_updates + n_deletes), replace=False)
    updates = _generated_interactions(rng, n_updates, "X", start, 27).with_columns(
        pl.Series("interaction_id", [f"X{i:08d}" for i in picked[:n_updates]], dtype=pl.String),
        pl.lit("update").alias("action"),
    )
    deletes = pl.DataFrame(
        {"interaction_id": [f"X{i:08d}" for i in picked[n_updates:]], "action": ["delete"] * len(picked[n_updates:])}
    )
    changes = pl.concat([_as_exported(rng, adds), _as_exported(rng, updates)], how="diagonal")
    return pl.concat([changes, deletes], how="diagonal").select(TABLES["interactions"].delta_columns)


def write_sample(out_dir: Path, rows: int | None = None, seed: int = 42) -> None:
    """Write the sample input folder (see the module docstring) into ``out_dir``."""
    initial, delta = out_dir / "initial", out_dir / "delta"
    initial.mkdir(parents=True, exist_ok=True)
    delta.mkdir(parents=True, exist_ok=True)
    _frame("contact_centers", CONTACT_CENTERS, delta=False).write_csv(initial / "contact_centers.csv")
    _frame("service_categories", SERVICE_CATEGORIES, delta=False).write_csv(initial / "service_categories.csv")
    _frame("agents", AGENTS, delta=False).write_csv(initial / "agents.csv")

    rng = np.random.default_rng(seed)
    core = pl.DataFrame(
        [_interaction_row(call) for call in INITIAL_INTERACTIONS],
        schema={c: pl.String for c in TABLES["interactions"].columns},
    )
    generated = rows or 0
    if generated:
        extra = _generated_interactions(rng, generated, "X", datetime(2024, 10, 1, tzinfo=UTC), 91)
        core = pl.concat([core, _as_exported(rng, extra)])
    core.write_csv(initial / "interactions.csv")

    for month in DELTA_MONTHS:
        changes = _core_interactions_delta(month)
        if generated:
            changes = pl.concat([changes, _generated_delta(rng, generated // 10, month, generated)])
        changes.write_csv(delta / f"interactions_delta_{month}.csv")
    for table, months in DIMENSION_DELTAS.items():
        for month, changes in months.items():
            _frame(table, changes, delta=True).write_csv(delta / f"{table}_delta_{month}.csv")
